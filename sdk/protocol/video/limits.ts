/**
 * Kinesis Video Streams limits the gateway enforces and the producer plans
 * with. Sources: the API Reference pages of each action (field constraints)
 * and the Developer Guide's "Kinesis Video Streams service quotas"
 * (docs.aws.amazon.com/kinesisvideostreams/latest/dg/limits.html).
 */
import assert from 'node:assert/strict';

/** API Reference, CreateStream: StreamName 1-256 characters of [a-zA-Z0-9_.-]. */
export const streamNameLengthMax = 256;
export const streamNamePattern = '[a-zA-Z0-9_.-]+';
/** API Reference, CreateStream: DeviceName 1-128 characters, same pattern. */
export const deviceNameLengthMax = 128;
/** API Reference, CreateStream: MediaType 1-128 characters, `type/subtype[,type/subtype...]`. */
export const mediaTypeLengthMax = 128;
export const mediaTypePattern = '[\\w\\-\\.\\+]+/[\\w\\-\\.\\+]+(,[\\w\\-\\.\\+]+/[\\w\\-\\.\\+]+)*';
/** API Reference, CreateStream: KmsKeyId 1-2048 characters. */
export const kmsKeyIdLengthMax = 2048;
/** API Reference, StreamInfo: the Kinesis Video-managed key used when CreateStream names none. */
export const defaultKmsKeyAlias = 'aws/kinesisvideo';
/** API Reference, StreamARN: 1-1024 characters. */
export const streamArnLengthMax = 1024;
export const streamArnPattern = 'arn:[a-z\\d-]+:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+';
/** API Reference, DeleteStream/UpdateStream: CurrentVersion 1-64 characters of [a-zA-Z0-9]. */
export const versionLengthMax = 64;
/** API Reference, CreateStream: DataRetentionInHours at least 0 (0: no persistence); UpdateDataRetention: change at least 1. */
export const dataRetentionHoursMin = 0;
/** Developer Guide, service quotas: data is retained at most 10 years (87,600 hours). */
export const dataRetentionHoursMax = 87_600;
/** API Reference, ListStreams: MaxResults 1-10,000 (default 10,000). */
export const listStreamsResultsMax = 10_000;
/** API Reference, ListStreams: NextToken 0-512 characters. */
export const nextTokenLengthMax = 512;
/** API Reference, TagStream/TagResource: at most 50 tags per resource; keys 1-128, values 0-256 characters. */
export const tagsPerResourceMax = 50;
export const tagKeyLengthMax = 128;
export const tagValueLengthMax = 256;
export const tagPattern = '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*';
/** Developer Guide, service quotas: 10,000 streams per account (US East and US West). */
export const accountStreamsMax = 10_000;

/**
 * Developer Guide, service quotas, control plane: requests per second for the
 * whole account and for one stream (`undefined`: no stream-level limit);
 * beyond either, ClientLimitExceededException. TagResource, UntagResource and
 * ListTagsForResource are not in the video table; they take TagStream's
 * figures (the signaling-channel table gives them the same 50 and 5).
 */
export const controlPlaneRequestsPerSecondMax: Readonly<Record<string, { account: number; stream?: number }>> = Object.freeze({
  CreateStream: { account: 50 },
  DeleteStream: { account: 50, stream: 5 },
  DescribeStream: { account: 300, stream: 5 },
  GetDataEndpoint: { account: 300, stream: 5 },
  ListStreams: { account: 50 },
  ListTagsForStream: { account: 50, stream: 5 },
  TagStream: { account: 50, stream: 5 },
  UntagStream: { account: 50, stream: 5 },
  UpdateDataRetention: { account: 50, stream: 5 },
  UpdateStream: { account: 50, stream: 5 },
  TagResource: { account: 50, stream: 5 },
  UntagResource: { account: 50, stream: 5 },
  ListTagsForResource: { account: 50, stream: 5 },
});

/** Developer Guide, service quotas (media APIs): 5 PutMedia connections per second per stream. */
export const putMediaConnectionsPerSecondMax = 5;
/** Developer Guide, service quotas: 5 fragments per second per stream. */
export const fragmentsPerSecondMax = 5;
/** Developer Guide, service quotas: PutMedia data rate 12.5 MB/s per stream. */
export const putMediaBytesPerSecondMax = 12.5 * 1000 * 1000;
/** Developer Guide, service quotas: a fragment is at most 50 MB. */
export const fragmentBytesMax = 50 * 1000 * 1000;
/** Developer Guide, service quotas: a fragment lasts at most 10 s. */
export const fragmentDurationMsMax = 10_000;
/** PutMedia API Reference: at most 3 tracks per fragment (MORE_THAN_ALLOWED_TRACKS_FOUND, 4012, beyond), each with a frame in every fragment (FRAMES_MISSING_FOR_TRACK, 4011). */
export const tracksPerFragmentMax = 3;
/**
 * PutMedia API Reference: IDLE is sent while no data arrives, "periodically
 * for up to 30 seconds after the last received data"; then the request ends.
 * The period is not published; ours is 3 s.
 */
export const putMediaIdleAckIntervalMs = 3_000;
export const putMediaIdleTimeoutMs = 30_000;

/** Developer Guide, service quotas: 5 GetMedia calls per second per stream, 25 MB/s per session. */
export const getMediaCallsPerSecondMax = 5;
export const getMediaBytesPerSecondMax = 25 * 1000 * 1000;
/** API Reference, ListFragments: MaxResults 1-1000 (default 1000). */
export const listFragmentsResultsMax = 1000;
/** API Reference, GetMediaForFragmentList: 1-1000 fragment numbers per call. */
export const fragmentListMax = 1000;
/** API Reference, Fragment: FragmentNumber 1-128 digits. */
export const fragmentNumberLengthMax = 128;

/**
 * PutMedia acknowledgement ErrorIds (API Reference, PutMedia; names as the
 * Kinesis Video producer SDKs spell them). 4005 is deprecated ("more than one
 * track"): too many tracks is 4012 now. The gateway never sends 4003 (AWS
 * publishes no connection duration limit), 4009 (it keeps no per-fragment
 * metadata beyond the Cluster) or the KMS errors (no KMS here).
 */
export const putMediaErrorIds = {
  STREAM_READ_ERROR: 4000,
  MAX_FRAGMENT_SIZE_REACHED: 4001,
  MAX_FRAGMENT_DURATION_REACHED: 4002,
  MAX_CONNECTION_DURATION_REACHED: 4003,
  FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS: 4004,
  MULTI_TRACK_MKV: 4005,
  INVALID_MKV_DATA: 4006,
  INVALID_PRODUCER_TIMESTAMP: 4007,
  STREAM_NOT_ACTIVE: 4008,
  FRAGMENT_METADATA_LIMIT_REACHED: 4009,
  TRACK_NUMBER_MISMATCH: 4010,
  FRAMES_MISSING_FOR_TRACK: 4011,
  MORE_THAN_ALLOWED_TRACKS_FOUND: 4012,
  KMS_KEY_ACCESS_DENIED: 4500,
  KMS_KEY_DISABLED: 4501,
  KMS_KEY_VALIDATION_ERROR: 4502,
  KMS_KEY_UNAVAILABLE: 4503,
  KMS_KEY_INVALID_USAGE: 4504,
  KMS_KEY_INVALID_STATE: 4505,
  KMS_KEY_NOT_FOUND: 4506,
  INTERNAL_ERROR: 5000,
  ARCHIVAL_ERROR: 5001,
} as const;
export type PutMediaErrorCode = keyof typeof putMediaErrorIds;

assert(fragmentBytesMax <= putMediaBytesPerSecondMax * fragmentDurationMsMax / 1000, 'a maximal fragment must fit the data rate over its duration');
assert(putMediaIdleAckIntervalMs < putMediaIdleTimeoutMs);
