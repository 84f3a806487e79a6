/**
 * Shapes shared by the Kinesis Video Streams actions (field constraints from
 * the API Reference; the bounds live in sdk/protocol/video/limits.ts), and
 * the context every action gets.
 */
import * as l from '../../sdk/protocol/video/limits.ts';
import type { Shape } from '../http/validate.ts';
import type { Caller } from '../http/server.ts';
import type { VideoRegistry } from './registry.ts';

export const streamName: Shape = { type: 'string', min: 1, max: l.streamNameLengthMax, pattern: l.streamNamePattern };
export const streamArn: Shape = { type: 'string', min: 1, max: l.streamArnLengthMax, pattern: l.streamArnPattern };
export const resourceArn: Shape = { type: 'string', min: 1, max: l.streamArnLengthMax, pattern: 'arn:[a-z\\d-]+:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+' };
export const deviceName: Shape = { type: 'string', min: 1, max: l.deviceNameLengthMax, pattern: l.streamNamePattern };
export const mediaType: Shape = { type: 'string', min: 1, max: l.mediaTypeLengthMax, pattern: l.mediaTypePattern };
export const version: Shape = { type: 'string', min: 1, max: l.versionLengthMax, pattern: '[a-zA-Z0-9]+' };
export const nextToken: Shape = { type: 'string', min: 0, max: l.nextTokenLengthMax, pattern: '[a-zA-Z0-9+/=]*' };
export const tagKey = { type: 'string', min: 1, max: l.tagKeyLengthMax, pattern: l.tagPattern } as const;
export const tagValue: Shape = { type: 'string', min: 0, max: l.tagValueLengthMax, pattern: l.tagPattern };
export const tagMap: Shape = { type: 'map', key: tagKey, value: tagValue, min: 1, max: l.tagsPerResourceMax };
export const tagKeyList: Shape = { type: 'list', member: tagKey, min: 1, max: l.tagsPerResourceMax };

export interface VideoContext {
  registry: VideoRegistry;
  /** This gateway's URL, the data endpoint of every API (when the request's Host is unusable). */
  url: string;
}

export interface VideoCall {
  caller: Caller;
  /** The Host the client reached, and whether over TLS. */
  host?: string;
  secure?: boolean;
}

/** Stream tags as ListTagsForStream pages them: by key, `NextToken` the base64 of the last key. */
export function pageTags(tags: Record<string, string>, token: string | undefined, pageMax = l.tagsPerResourceMax): { Tags: Record<string, string>; NextToken?: string } {
  const after = token ? Buffer.from(token, 'base64').toString('utf8') : undefined;
  const keys = Object.keys(tags).sort().filter((k) => after === undefined || k > after);
  const page = keys.slice(0, pageMax);
  return { Tags: Object.fromEntries(page.map((k) => [k, tags[k]!])), ...(keys.length > pageMax ? { NextToken: Buffer.from(page.at(-1)!).toString('base64') } : {}) };
}
