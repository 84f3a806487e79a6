/**
 * Builds playback for a gateway: the session key (created once in the data
 * directory), the policy re-check for session URLs, the segment packager and
 * the lazily found ffmpeg; returns the REST actions and the GET routes to
 * mount. gateway.ts calls this once.
 */
import path from 'node:path';
import { locateFfmpeg, type FfmpegLocation } from '../../../sdk/video/ffmpeg.ts';
import type { Guard } from '../../http/server.ts';
import type { Logger } from '../../log.ts';
import type { Metrics } from '../../metrics.ts';
import type { VideoMetrics } from '../metrics.ts';
import { loadOrCreateSecret } from '../../storage/local/metadata-store.ts';
import type { PlaybackContext } from './context.ts';
import { playbackActions, playbackRoutes } from './index.ts';
import { SegmentPackager, segmentCacheBytesDefault } from './segments.ts';
import type { PlaybackStreams } from './source.ts';

export interface PlaybackSetup {
  dataDir: string;
  streams: PlaybackStreams;
  guard: Guard;
  log: Logger;
  /** The gateway's URL once it listens (session URLs fall back to it). */
  url(): string;
  now?: () => number;
  /** An explicit ffmpeg binary for GetImages (else TRIBUTARY_FFMPEG, ffmpeg-static, @ffmpeg-installer/ffmpeg, PATH). */
  ffmpegPath?: string;
  segmentCacheBytes?: number;
  metrics?: Metrics;
  /** Video metrics (the registry's): playback bytes by stream and action. */
  videoMetrics?: VideoMetrics;
}

export async function setupPlayback(o: PlaybackSetup): Promise<{ ctx: PlaybackContext; actions: ReturnType<typeof playbackActions>; routes: ReturnType<typeof playbackRoutes> }> {
  const sessionKey = await loadOrCreateSecret(path.join(o.dataDir, 'keys', 'playback.key'), 32);
  let ffmpeg: FfmpegLocation | undefined;
  const ctx: PlaybackContext = {
    streams: o.streams,
    sessionKey,
    now: o.now ?? Date.now,
    packager: new SegmentPackager(o.segmentCacheBytes ?? segmentCacheBytesDefault),
    allowed(accessKeyId, action, resource) {
      try {
        o.guard.authorize(o.guard.callerOf(accessKeyId), action, resource);
        return true;
      } catch {
        // Revoked key or narrowed policy: the session ends (the route answers NotAuthorizedException).
        return false;
      }
    },
    ffmpeg() {
      if (!ffmpeg) {
        ffmpeg = locateFfmpeg(o.ffmpegPath ? { ffmpegPath: o.ffmpegPath } : {});
        o.log.info('ffmpeg for GetImages', { ffmpeg: ffmpeg.ffmpeg, source: ffmpeg.source });
      }
      return ffmpeg;
    },
    get url() {
      return o.url();
    },
    observe(action, outcome, seconds) {
      o.metrics?.requests.inc({ service: 'kinesisvideo', action, outcome });
      o.metrics?.requestSeconds.observe({ action }, seconds);
    },
    sent(action, stream, bytes) {
      o.videoMetrics?.playbackOutgoingBytes.inc({ stream, action }, bytes);
    },
    internalError(action, err) {
      o.log.error('playback request failed', { action, err: String((err as Error)?.stack ?? err) });
    },
  };
  return { ctx, actions: playbackActions(ctx), routes: playbackRoutes(ctx) };
}
