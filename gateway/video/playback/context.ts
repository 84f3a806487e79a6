/**
 * What the playback actions and media routes share: the streams, the key
 * that signs session tokens, the clock, the segment packager, the policy
 * check used when a session URL is used, and ffmpeg for images.
 */
import type { FfmpegLocation } from '../../../sdk/video/ffmpeg.ts';
import type { SegmentPackager } from './segments.ts';
import type { PlaybackStreams } from './source.ts';

export interface PlaybackContext {
  streams: PlaybackStreams;
  /** HMAC key for session tokens (gateway data directory, keys/playback.key). */
  sessionKey: Buffer;
  now(): number;
  packager: SegmentPackager;
  /** Whether the principal (access key) still exists and its policy still grants `action` on `resource`. */
  allowed(accessKeyId: string, action: string, resource: string): boolean;
  /** The ffmpeg to decode images with; throws FFMPEG_NOT_FOUND when there is none. */
  ffmpeg(): FfmpegLocation;
  /** The gateway's own URL, for session URLs when the request does not say which host it reached. */
  url: string;
  /** Records one GET of a session URL (Prometheus: tributary_requests_total, tributary_request_duration_seconds). */
  observe?(action: string, outcome: string, seconds: number): void;
  /** Media bytes sent for `stream` by `action` (segments, init segments, clips): the Playback_OutgoingBytes metric. */
  sent?(action: string, stream: string, bytes: number): void;
  /** An unexpected failure (a bug, a disk error): logged with its stack; the client gets InternalFailure. */
  internalError?(action: string, err: unknown): void;
}

/** Who called, and how they reached the gateway (for the host of session URLs). */
export interface PlaybackCaller {
  accessKeyId: string;
  /** The Host the client sent, and whether it came over TLS. */
  host?: string;
  secure?: boolean;
}

/** The base of session URLs: the scheme and host the client used, else the gateway's own URL. */
export function baseUrlOf(ctx: PlaybackContext, caller: PlaybackCaller): string {
  if (caller.host && /^[A-Za-z0-9.\-:[\]]+$/.test(caller.host)) return `${caller.secure ? 'https' : 'http'}://${caller.host}`;
  return ctx.url;
}
