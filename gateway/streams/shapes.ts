/**
 * Input shapes shared by the Data Streams actions, with the constraints of
 * the AWS service model (botocore `kinesis/2013-12-02/service-2.json`).
 */
import type { Shape, StructureShape } from '../http/validate.ts';
import * as limits from '../../sdk/protocol/streams/limits.ts';
import type { Metrics } from '../metrics.ts';
import type { Caller } from '../http/server.ts';
import type { IdempotencyTable } from './idempotency.ts';
import type { StreamRegistry } from './registry.ts';

export const StreamName = { type: 'string', min: 1, max: limits.streamNameLengthMax, pattern: limits.streamNamePattern } as const satisfies Shape;
export const StreamARN = { type: 'string', min: 1, max: limits.streamArnLengthMax, pattern: limits.streamArnPattern } as const satisfies Shape;
export const ShardId = { type: 'string', min: 1, max: 128, pattern: '[a-zA-Z0-9_.-]+' } as const satisfies Shape;
export const HashKey = { type: 'string', pattern: limits.hashKeyPattern } as const satisfies Shape;
export const SequenceNumber = { type: 'string', pattern: limits.sequenceNumberPattern } as const satisfies Shape;
export const PartitionKey = { type: 'string', min: 1, max: limits.partitionKeyLengthMax } as const satisfies Shape;
export const StreamId = { type: 'string', min: 1, max: 24, pattern: '[a-z0-9]{20}-[a-z0-9]{3}' } as const satisfies Shape;
export const TagKey = { type: 'string', min: 1, max: limits.tagKeyLengthMax } as const satisfies Shape;
export const TagValue = { type: 'string', min: 0, max: limits.tagValueLengthMax } as const satisfies Shape;
export const TagMap = { type: 'map', key: TagKey, value: TagValue, min: 1, max: 200 } as const satisfies Shape;
export const StreamModeDetails = {
  type: 'structure',
  members: { StreamMode: { type: 'string', required: true, enum: ['PROVISIONED', 'ON_DEMAND'] } },
} as const satisfies Shape;
export const MetricsNameList = {
  type: 'list',
  min: 1,
  max: 7,
  member: {
    type: 'string',
    enum: ['IncomingBytes', 'IncomingRecords', 'OutgoingBytes', 'OutgoingRecords', 'WriteProvisionedThroughputExceeded', 'ReadProvisionedThroughputExceeded', 'IteratorAgeMilliseconds', 'ALL'],
  },
} as const satisfies Shape;

/** The members every stream-addressed action takes. */
export const streamTarget = { StreamName, StreamARN, StreamId } as const;

export interface StreamsContext {
  registry: StreamRegistry;
  metrics: Metrics;
  /** Remembers idempotent PutRecords answers (absent: the header is ignored). */
  idempotency?: IdempotencyTable;
}

/** What the front door knows about a request beyond its input. */
export interface RequestInfo {
  caller: Caller;
  /** The `X-Tributary-Idempotency-Key` header, when sent. */
  idempotencyKey?: string;
  /** CRC-32C of the request body (computed only with an idempotency key). */
  bodyCrc?: number;
}

export interface StreamsAction {
  shape: StructureShape;
  handle(ctx: StreamsContext, input: Record<string, unknown>, request?: RequestInfo): unknown;
}

export function structure(members: Record<string, Shape>): StructureShape {
  return { type: 'structure', members };
}
