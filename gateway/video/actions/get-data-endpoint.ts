/**
 * GetDataEndpoint (POST /getDataEndpoint): every API of a stream is served by
 * this gateway, so the endpoint is the gateway's own URL — as the client
 * reached it (its Host), so that a client behind a name or a port mapping
 * gets an address it can use.
 */
import type { StructureShape } from '../../http/validate.ts';
import * as s from '../shapes.ts';

export const apiNames = [
  'PUT_MEDIA', 'GET_MEDIA', 'LIST_FRAGMENTS', 'GET_MEDIA_FOR_FRAGMENT_LIST', 'GET_HLS_STREAMING_SESSION_URL',
  'GET_DASH_STREAMING_SESSION_URL', 'GET_CLIP', 'GET_IMAGES',
] as const;

export const shape: StructureShape = {
  type: 'structure',
  members: { StreamName: s.streamName, StreamARN: s.streamArn, APIName: { type: 'string', required: true, enum: apiNames } },
};

export async function handle(ctx: s.VideoContext, input: Record<string, unknown>, call: s.VideoCall): Promise<{ DataEndpoint: string }> {
  ctx.registry.resolve(input);
  const host = call.host && /^[A-Za-z0-9.\-:[\]]+$/.test(call.host) ? call.host : undefined;
  return { DataEndpoint: host ? `${call.secure ? 'https' : 'http'}://${host}` : ctx.url };
}
