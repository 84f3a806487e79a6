/**
 * Kinesis Video playback on the gateway: the archived-media actions that
 * make sessions, clips and images (REST-JSON, mounted with the other video
 * actions) and the GET routes that session URLs point at.
 *
 * @example
 * const ctx: PlaybackContext = { streams, sessionKey, now: Date.now, packager: new SegmentPackager(), allowed, ffmpeg: () => locateFfmpeg(), url };
 * const routes = { ...restRoutes([{ ...videoService, actions: { ...videoService.actions, ...playbackActions(ctx) } }], o), ...playbackRoutes(ctx) };
 */
import type http from 'node:http';
import type { StructureShape } from '../../http/validate.ts';
import type { PlaybackCaller, PlaybackContext } from './context.ts';
import * as getClip from './get-clip.ts';
import * as getDash from './get-dash-streaming-session-url.ts';
import * as getHls from './get-hls-streaming-session-url.ts';
import * as getImages from './get-images.ts';

export { playbackRoutes } from './media-routes.ts';
export { SegmentPackager, segmentCacheBytesDefault } from './segments.ts';
export type { PlaybackContext } from './context.ts';
export type { PlaybackStream, PlaybackStreams, FragmentIndex } from './source.ts';

/** The shape of a REST-JSON action as gateway/http/rest.ts runs it. */
interface PlaybackAction {
  name: string;
  shape: StructureShape;
  handle(call: { input: Record<string, unknown>; caller: { accessKeyId: string }; req: http.IncomingMessage }): unknown;
}

function callerOf(call: { caller: { accessKeyId: string }; req: http.IncomingMessage }): PlaybackCaller {
  const host = call.req.headers.host ?? (call.req.headers[':authority'] as string | undefined);
  return { accessKeyId: call.caller.accessKeyId, ...(host ? { host } : {}), secure: Boolean((call.req.socket as { encrypted?: boolean }).encrypted) };
}

/** The playback actions by path, for the video REST service. */
export function playbackActions(ctx: PlaybackContext): Record<string, PlaybackAction> {
  return {
    '/getHLSStreamingSessionURL': { name: 'GetHLSStreamingSessionURL', shape: getHls.shape, handle: (call) => getHls.handle(ctx, call.input, callerOf(call)) },
    '/getDASHStreamingSessionURL': { name: 'GetDASHStreamingSessionURL', shape: getDash.shape, handle: (call) => getDash.handle(ctx, call.input, callerOf(call)) },
    '/getClip': {
      name: 'GetClip',
      shape: getClip.shape,
      handle: async (call) => {
        const clip = await getClip.handle(ctx, call.input);
        const length = clip.Payload.reduce((n, p) => n + p.length, 0);
        return { contentType: clip.ContentType, headers: { 'Content-Length': String(length) }, body: (async function* () { yield* clip.Payload; })() };
      },
    },
    '/getImages': { name: 'GetImages', shape: getImages.shape, handle: (call) => getImages.handle(ctx, call.input) },
  };
}
