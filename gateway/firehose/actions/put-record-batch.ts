/**
 * PutRecordBatch: up to 500 records and 4 MiB, durable in staging before the
 * answer. Records past the staging cap (a destination that has been down for
 * long) fail one by one with ServiceUnavailableException, as AWS fails
 * records it throttles; the caller retries those.
 */
import * as limits from '../../../sdk/protocol/firehose/limits.ts';
import { firehoseErrors } from '../../../sdk/protocol/firehose/errors.ts';
import { DeliveryStreamName, Record, structure, type FirehoseAction } from '../shapes.ts';
import { requireWritable } from './common.ts';

export const putRecordBatch: FirehoseAction = {
  shape: structure({
    DeliveryStreamName: { ...DeliveryStreamName, required: true },
    Records: { type: 'list', required: true, min: 1, max: limits.putRecordBatchEntriesMax, memberStr: 'com.amazonaws.firehose.model.Record', member: Record },
  }),
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    requireWritable(registry, rt);
    registry.metrics.incomingPutRequests.inc({ delivery_stream: rt.meta.name });
    const data = (input.Records as Array<{ Data: Buffer }>).map((r) => r.Data);
    let total = 0;
    for (const d of data) total += d.length;
    if (total > limits.putRecordBatchBytesMax) throw firehoseErrors.batchTooLarge();
    const { firstCounter, accepted } = await registry.put(rt, data);
    const RequestResponses = data.map((_, i) =>
      i < accepted ? { RecordId: registry.recordId(rt, firstCounter + i) } : { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' },
    );
    return { FailedPutCount: data.length - accepted, Encrypted: rt.meta.encryption.Status === 'ENABLED', RequestResponses };
  },
};
