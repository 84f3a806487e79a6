/** DescribeDeliveryStream. */
import * as limits from '../../../sdk/protocol/firehose/limits.ts';
import { describe } from '../model.ts';
import { describeHttp } from '../http-endpoint-model.ts';
import { redshiftDestinationDescription } from '../redshift-model.ts';
import { DeliveryStreamName, DestinationId, structure, type FirehoseAction } from '../shapes.ts';

export const describeDeliveryStream: FirehoseAction = {
  shape: structure({
    DeliveryStreamName: { ...DeliveryStreamName, required: true },
    Limit: { type: 'integer', min: 1, max: limits.describeDestinationsLimitMax },
    ExclusiveStartDestinationId: DestinationId,
  }),
  handle({ registry }, input) {
    const rt = registry.resolve(input);
    const d = describe(rt.meta, registry.config.region, registry.accountId);
    if (rt.meta.httpEndpoint) d.Destinations = [{ DestinationId: limits.destinationIdFirst, HttpEndpointDestinationDescription: describeHttp(rt.meta.httpEndpoint) }];
    if (rt.meta.redshift) d.Destinations = [redshiftDestinationDescription({ ...rt.meta, redshift: rt.meta.redshift })];
    // One destination: starting after it leaves none.
    if (typeof input.ExclusiveStartDestinationId === 'string' && input.ExclusiveStartDestinationId >= limits.destinationIdFirst) d.Destinations = [];
    return { DeliveryStreamDescription: d };
  },
};
