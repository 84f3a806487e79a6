/** DeleteDeliveryStream: DELETING, then staged records are delivered and the stream is gone. */
import { DeliveryStreamName, structure, type FirehoseAction } from '../shapes.ts';

export const deleteDeliveryStream: FirehoseAction = {
  shape: structure({ DeliveryStreamName: { ...DeliveryStreamName, required: true }, AllowForceDelete: { type: 'boolean' } }),
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    if (rt.meta.status !== 'DELETING') await registry.beginDelete(rt);
    return {};
  },
};
