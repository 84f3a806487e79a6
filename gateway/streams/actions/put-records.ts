import { AwsError } from '../../../sdk/protocol/errors.ts';
import * as limits from '../../../sdk/protocol/streams/limits.ts';
import type { Shape } from '../../http/validate.ts';
import type { StreamRuntime } from '../model.ts';
import { HashKey, PartitionKey, streamTarget, structure, type StreamsAction } from '../shapes.ts';
import { putFrames, RecordFrames, routeFrames, type PutEntry } from '../write-path.ts';
import { requireWritable } from './common.ts';
import { parseIdempotencyKey, type PutRecordsAnswer, type PutTrace } from '../idempotency.ts';
import type { StreamRegistry } from '../registry.ts';
import type { Metrics } from '../../metrics.ts';

/** The model allows 10 MiB blobs; each stream's MaxRecordSizeInKiB (default 1 MiB) is checked after. */
export const dataShape = { type: 'blob', min: 0, max: 10 * 1024 * 1024 } as const satisfies Shape;

/** Per-stream record size, worded as the model constraint AWS reports for the default 1 MiB. */
export function checkRecordSize(rt: StreamRuntime, data: Buffer[], inList: boolean): void {
  const max = rt.meta.maxRecordSizeKiB * 1024;
  const errors: string[] = [];
  data.forEach((d, i) => {
    if (d.length > max && errors.length < 10) {
      const at = inList ? `records.${i + 1}.member.data` : 'data';
      errors.push(`Value 'java.nio.HeapByteBuffer[pos=0 lim=${d.length} cap=${d.length}]' at '${at}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
    }
  });
  if (errors.length) {
    throw new AwsError('ValidationException', `${errors.length} validation error${errors.length > 1 ? 's' : ''} detected: ${errors.join('; ')}`);
  }
}

/** One record's members, as PutRecord takes them and PutRecords takes each entry. */
export const putEntryMembers = {
  PartitionKey: { ...PartitionKey, required: true },
  ExplicitHashKey: HashKey,
  Data: { ...dataShape, required: true },
} as const;

export const putRecords: StreamsAction = {
  shape: structure({
    Records: {
      type: 'list',
      required: true,
      min: 1,
      max: limits.putRecordsEntriesMax,
      memberStr: 'com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310',
      member: structure(putEntryMembers),
    },
    ...streamTarget,
  }),
  async handle({ registry, metrics, idempotency }, input, request) {
    const rt = registry.resolve(input);
    if (request?.idempotencyKey !== undefined && idempotency) {
      const key = parseIdempotencyKey(request.idempotencyKey);
      return idempotency.run(request.caller.name, rt, key, request.bodyCrc ?? 0, (trace) => put(registry, metrics, rt, input, trace));
    }
    return put(registry, metrics, rt, input);
  },
};

async function put(registry: StreamRegistry, metrics: Metrics, rt: StreamRuntime, input: Record<string, unknown>, trace?: PutTrace): Promise<PutRecordsAnswer> {
  requireWritable(registry, rt);
  // Frames from the offload path; objects from the general one (CBOR).
  const cols = input.Records instanceof RecordFrames ? input.Records : RecordFrames.fromEntries(input.Records as PutEntry[]);
  checkRecordSizes(rt, cols);
  const total = cols.payloadBytes();
  if (total > limits.putRecordsBytesMax) throw new AwsError('InvalidArgumentException', 'Records size exceeds 5 MB limit');
  const shards = routeFrames(rt, cols);
  const reply = await putFrames(registry, rt, cols, shards, trace);
  // Every append settled and stored its records: no write refers to the frames any more.
  if (cols.release && reply.countOf('InternalFailure') === 0) {
    cols.release();
    cols.release = undefined;
  }
  const failed = reply.FailedRecordCount;
  const stream = { stream: rt.meta.name };
  metrics.incomingRecords.inc(stream, cols.count - failed);
  metrics.incomingBytes.inc(stream, total);
  const throttled = reply.countOf('ProvisionedThroughputExceededException');
  if (throttled) metrics.throttled.inc({ ...stream, direction: 'write' }, throttled);
  return reply;
}

/** checkRecordSize over frames: only a record over the stream's limit costs a Buffer. */
function checkRecordSizes(rt: StreamRuntime, cols: RecordFrames): void {
  const max = rt.meta.maxRecordSizeKiB * 1024;
  for (let i = 0; i < cols.count; i++) {
    if (cols.dataBytes(i) > max) return checkRecordSize(rt, Array.from({ length: cols.count }, (_, k) => cols.dataOf(k)), true);
  }
}
