/** ListDeliveryStreams: names in order, filtered by type, paged by ExclusiveStartDeliveryStreamName. */
import * as limits from '../../../sdk/protocol/firehose/limits.ts';
import { DeliveryStreamName, DeliveryStreamType, structure, type FirehoseAction } from '../shapes.ts';

export const listDeliveryStreams: FirehoseAction = {
  shape: structure({
    Limit: { type: 'integer', min: 1, max: limits.listDeliveryStreamsLimitMax },
    DeliveryStreamType,
    ExclusiveStartDeliveryStreamName: DeliveryStreamName,
  }),
  handle({ registry }, input) {
    const limit = (input.Limit as number | undefined) ?? limits.listDeliveryStreamsLimitDefault;
    const type = input.DeliveryStreamType as string | undefined;
    const after = input.ExclusiveStartDeliveryStreamName as string | undefined;
    const names = registry
      .list()
      .filter((rt) => type === undefined || rt.meta.type === type)
      .map((rt) => rt.meta.name)
      .sort()
      .filter((n) => after === undefined || n > after);
    return { DeliveryStreamNames: names.slice(0, limit), HasMoreDeliveryStreams: names.length > limit };
  },
};
