/**
 * StartDeliveryStreamEncryption / StopDeliveryStreamEncryption: the status
 * passes through ENABLING / DISABLING for the gateway's update delay. While
 * it is on, records are sealed in staging (FirehoseRegistry.put); PutRecord's
 * `Encrypted` reports ENABLED.
 */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import { DeliveryStreamEncryptionConfigurationInput, DeliveryStreamName, structure, type FirehoseAction } from '../shapes.ts';
import { checkEncryptionInput } from './create-delivery-stream.ts';
import { requireActive } from './common.ts';

export const startDeliveryStreamEncryption: FirehoseAction = {
  shape: structure({ DeliveryStreamName: { ...DeliveryStreamName, required: true }, DeliveryStreamEncryptionConfigurationInput }),
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    requireActive(registry, rt);
    const enc = (input.DeliveryStreamEncryptionConfigurationInput as { KeyType: string; KeyARN?: string } | undefined) ?? { KeyType: 'AWS_OWNED_CMK' };
    checkEncryptionInput(enc);
    if (rt.meta.type === 'KinesisStreamAsSource') {
      throw new AwsError('InvalidArgumentException', 'Server-side encryption is not supported for a delivery stream whose source is a Kinesis data stream.');
    }
    rt.meta.encryption = { Status: 'ENABLING', KeyType: enc.KeyType, ...(enc.KeyARN ? { KeyARN: enc.KeyARN } : {}) };
    await registry.persist();
    registry.transition(rt, registry.config.updateDelayMs, 'ENCRYPTION');
    return {};
  },
};

export const stopDeliveryStreamEncryption: FirehoseAction = {
  shape: structure({ DeliveryStreamName: { ...DeliveryStreamName, required: true } }),
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    requireActive(registry, rt);
    if (rt.meta.encryption.Status === 'DISABLED') return {};
    rt.meta.encryption = { ...rt.meta.encryption, Status: 'DISABLING' };
    await registry.persist();
    registry.transition(rt, registry.config.updateDelayMs, 'ENCRYPTION');
    return {};
  },
};
