/** PutRecord: one record, durable in staging before the answer. */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import { DeliveryStreamName, Record, structure, type FirehoseAction } from '../shapes.ts';
import { requireWritable } from './common.ts';

export const putRecord: FirehoseAction = {
  shape: structure({ DeliveryStreamName: { ...DeliveryStreamName, required: true }, Record: { ...Record, required: true } }),
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    requireWritable(registry, rt);
    registry.metrics.incomingPutRequests.inc({ delivery_stream: rt.meta.name });
    const data = (input.Record as { Data: Buffer }).Data;
    const { firstCounter, accepted } = await registry.put(rt, [data]);
    if (!accepted) throw new AwsError('ServiceUnavailableException', 'Slow down.');
    return { RecordId: registry.recordId(rt, firstCounter), Encrypted: rt.meta.encryption.Status === 'ENABLED' };
  },
};
