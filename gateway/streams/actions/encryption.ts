/** StartStreamEncryption and StopStreamEncryption: records written after the call are sealed (or not). */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import { isWellFormedKeyId } from '../encryption.ts';
import { streamTarget, structure, type StreamsAction } from '../shapes.ts';
import { requireActive } from './common.ts';

const shape = structure({
  ...streamTarget,
  EncryptionType: { type: 'string', required: true, enum: ['NONE', 'KMS'] },
  KeyId: { type: 'string', required: true, min: 1, max: 2048 },
});

function checkKms(input: Record<string, unknown>): string {
  if (input.EncryptionType !== 'KMS') throw new AwsError('InvalidArgumentException', 'KMS is the only valid EncryptionType for this request.');
  const keyId = input.KeyId as string;
  if (!isWellFormedKeyId(keyId)) throw new AwsError('KMSNotFoundException', `Key '${keyId}' does not exist.`);
  return keyId;
}

export const startStreamEncryption: StreamsAction = {
  shape,
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    const keyId = checkKms(input);
    requireActive(registry, rt);
    if (!rt.meta.keyIds.includes(keyId)) {
      if (rt.meta.keyIds.length >= 255) throw new AwsError('LimitExceededException', `Stream ${rt.meta.name} has used too many distinct encryption keys.`);
      rt.meta.keyIds.push(keyId);
    }
    rt.meta.encryption = { type: 'KMS', keyId };
    rt.meta.status = 'UPDATING';
    await registry.persist();
    registry.transition(rt, registry.config.updateDelayMs, 'ACTIVE');
    return undefined;
  },
};

export const stopStreamEncryption: StreamsAction = {
  shape,
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    checkKms(input);
    requireActive(registry, rt);
    rt.meta.encryption = { type: 'NONE' };
    rt.meta.status = 'UPDATING';
    await registry.persist();
    registry.transition(rt, registry.config.updateDelayMs, 'ACTIVE');
    return undefined;
  },
};
