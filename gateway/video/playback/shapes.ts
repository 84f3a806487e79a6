/**
 * Input shapes of the archived-media playback actions, as the service model
 * of @aws-sdk/client-kinesis-video-archived-media declares them (min, max,
 * patterns and enums from the AWS API reference).
 */
import type { Shape } from '../../http/validate.ts';
import * as limits from './limits.ts';

export const streamName: Shape = { type: 'string', min: 1, max: 256, pattern: '[a-zA-Z0-9_.-]+' };
export const streamArn: Shape = { type: 'string', min: 1, max: 1024, pattern: 'arn:[a-z\\d-]+:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+' };
export const selectorType = ['PRODUCER_TIMESTAMP', 'SERVER_TIMESTAMP'] as const;
export const playbackMode = ['LIVE', 'LIVE_REPLAY', 'ON_DEMAND'] as const;
export const expires: Shape = { type: 'integer', min: limits.sessionExpiresSecondsMin, max: limits.sessionExpiresSecondsMax };
export const playlistMax: Shape = { type: 'long', min: 1, max: limits.playlistFragmentsMax };
export const timestampRange: Shape = { type: 'structure', members: { StartTimestamp: { type: 'timestamp' }, EndTimestamp: { type: 'timestamp' } } };
export const fragmentSelector: Shape = { type: 'structure', members: { FragmentSelectorType: { type: 'string', enum: selectorType }, TimestampRange: timestampRange } };
