/** CreateDeliveryStream: DirectPut with an (Extended)S3 destination. */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import type { DeliveryStreamType } from '../../../sdk/protocol/firehose/limits.ts';
import { deliveryStreamArn, normaliseS3 } from '../model.ts';
import {
  DeliveryStreamEncryptionConfigurationInput, DeliveryStreamName, DeliveryStreamType as DeliveryStreamTypeShape, ExtendedS3DestinationConfiguration,
  KinesisStreamSourceConfiguration, openMembers, S3DestinationConfiguration, structure, TagList, unsupportedDestinations, type FirehoseAction,
} from '../shapes.ts';
import { checkDestination, refuseUnsupported, requireAllowedEndpoint } from './common.ts';
import { deliveryView, HttpEndpointDestinationConfiguration, httpEndpointFrom } from '../http-endpoint-model.ts';
import { RedshiftDestinationConfiguration, redshiftFromInput } from '../redshift-model.ts';
import { checkTags } from './tags.ts';

export const createDeliveryStream: FirehoseAction = {
  shape: structure({
    DeliveryStreamName: { ...DeliveryStreamName, required: true },
    DeliveryStreamType: DeliveryStreamTypeShape,
    KinesisStreamSourceConfiguration,
    DeliveryStreamEncryptionConfigurationInput,
    S3DestinationConfiguration,
    ExtendedS3DestinationConfiguration,
    HttpEndpointDestinationConfiguration,
    RedshiftDestinationConfiguration,
    ...openMembers(unsupportedDestinations),
    MSKSourceConfiguration: { type: 'structure', members: {} },
    Tags: TagList,
  }),
  async handle({ registry }, input) {
    const name = input.DeliveryStreamName as string;
    const type = (input.DeliveryStreamType as DeliveryStreamType | undefined) ?? 'DirectPut';
    if (type !== 'DirectPut' && type !== 'KinesisStreamAsSource') {
      throw new AwsError('InvalidArgumentException', `DeliveryStreamType ${type} is not supported by this gateway yet; use DirectPut or KinesisStreamAsSource.`);
    }
    const source = input.KinesisStreamSourceConfiguration as { KinesisStreamARN: string; RoleARN: string } | undefined;
    if (source && type !== 'KinesisStreamAsSource') {
      throw new AwsError('InvalidArgumentException', 'KinesisStreamSourceConfiguration is only allowed when DeliveryStreamType is KinesisStreamAsSource.');
    }
    if (!source && type === 'KinesisStreamAsSource') {
      throw new AwsError('InvalidArgumentException', 'KinesisStreamSourceConfiguration is required when DeliveryStreamType is KinesisStreamAsSource.');
    }
    refuseUnsupported(input, unsupportedDestinations);
    const given = [input.S3DestinationConfiguration, input.ExtendedS3DestinationConfiguration, input.HttpEndpointDestinationConfiguration, input.RedshiftDestinationConfiguration].filter(Boolean);
    if (given.length !== 1) throw new AwsError('InvalidArgumentException', 'Exactly one destination configuration is supported for a Firehose');
    const httpEndpoint = httpEndpointFrom(input);
    if (httpEndpoint) requireAllowedEndpoint(registry, httpEndpoint.EndpointConfiguration.Url);
    const redshift = input.RedshiftDestinationConfiguration ? redshiftFromInput(input.RedshiftDestinationConfiguration as Record<string, unknown>, registry.config.firehoseRedshift) : undefined;
    const destination = httpEndpoint ? deliveryView(httpEndpoint) : redshift ? redshift.destination : normaliseS3(given[0] as Record<string, unknown>);
    checkDestination(destination, registry.config.firehoseSchemas, { lambdas: registry.config.firehoseLambdas ?? {} });
    const enc = input.DeliveryStreamEncryptionConfigurationInput as { KeyType: string; KeyARN?: string } | undefined;
    if (enc) checkEncryptionInput(enc);
    if (enc && source) throw new AwsError('InvalidArgumentException', 'Server-side encryption is not supported for a delivery stream whose source is a Kinesis data stream.');
    const tags = (input.Tags as Array<{ Key: string; Value?: string }> | undefined) ?? [];
    checkTags(tags);
    const rt = await registry.create({
      name,
      type,
      ...(source ? { source: { KinesisStreamARN: source.KinesisStreamARN, RoleARN: source.RoleARN } } : {}),
      destination,
      ...(httpEndpoint ? { httpEndpoint } : {}),
      ...(redshift ? { redshift: redshift.redshift } : {}),
      encryption: enc ? { Status: 'ENABLED', KeyType: enc.KeyType, ...(enc.KeyARN ? { KeyARN: enc.KeyARN } : {}) } : { Status: 'DISABLED' },
      tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value ?? ''])),
    });
    return { DeliveryStreamARN: deliveryStreamArn(registry.config.region, registry.accountId, rt.meta.name) };
  },
};

/** AWS_OWNED_CMK takes no key; CUSTOMER_MANAGED_CMK needs one. */
export function checkEncryptionInput(enc: { KeyType: string; KeyARN?: string }): void {
  if (enc.KeyType === 'CUSTOMER_MANAGED_CMK' && !enc.KeyARN) {
    throw new AwsError('InvalidArgumentException', 'KeyARN must be provided when KeyType is CUSTOMER_MANAGED_CMK.');
  }
  if (enc.KeyType === 'AWS_OWNED_CMK' && enc.KeyARN) {
    throw new AwsError('InvalidArgumentException', 'KeyARN must not be provided when KeyType is AWS_OWNED_CMK.');
  }
}
