/**
 * Client-side encryption of delivered objects, for an
 * ExtendedS3DestinationConfiguration whose EncryptionConfiguration names a
 * KMS key (`KMSEncryptionConfig.AWSKMSKeyARN`) and a destination that cannot
 * encrypt on its own (the filesystem, or an S3-compatible store without
 * SSE-KMS). There is no KMS here: as for Data Streams' SSE
 * (gateway/streams/encryption.ts), the key ARN names keys derived from the
 * gateway's master key with HKDF, so only this gateway's data directory (its
 * `keys/master.key`) can read the objects back.
 *
 * One object is one envelope (all integers big-endian):
 *
 * | offset  | bytes | field                                              |
 * | ------- | ----- | -------------------------------------------------- |
 * | 0       | 4     | magic `TRBE`                                       |
 * | 4       | 1     | format version, 1                                  |
 * | 5       | 2     | n, length of the key id                            |
 * | 7       | n     | key id: the AWSKMSKeyARN, UTF-8                    |
 * | 7+n     | 16    | salt, random per object                            |
 * | 23+n    | 12    | nonce, random per object                           |
 * | 35+n    | …     | ciphertext: AES-256-GCM of the object body         |
 * | end-16  | 16    | GCM tag                                            |
 *
 * The data key is HKDF-SHA256(master key, salt, "tributary-firehose-object" ‖
 * 0x00 ‖ key id), 32 bytes: a fresh key per object, so the 2^32 random-nonce
 * bound of GCM never comes near. The header (bytes 0 to 35+n) is the GCM
 * additional data, so neither the key id nor the salt can be swapped.
 * Decrypt with `tributary firehose decrypt <file>` or `decryptObject`.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { TributaryError } from '../../sdk/protocol/errors.ts';

export const objectEnvelopeMagic = Buffer.from('TRBE', 'ascii');
export const objectEnvelopeVersion = 1;
const saltBytes = 16;
const nonceBytes = 12;
const tagBytes = 16;
/** The key id is a KMS key ARN: AWS caps those at 2,048 characters. */
export const objectKeyIdBytesMax = 2048;
const hkdfInfoPrefix = 'tributary-firehose-object\0';

/** The KMS key an EncryptionConfiguration names, or undefined for NoEncryptionConfig. */
export function kmsKeyArnOf(encryption: Record<string, unknown> | undefined): string | undefined {
  const kms = encryption?.KMSEncryptionConfig as { AWSKMSKeyARN?: unknown } | undefined;
  return typeof kms?.AWSKMSKeyARN === 'string' ? kms.AWSKMSKeyARN : undefined;
}

function dataKey(masterKey: Buffer, keyId: string, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, salt, Buffer.from(hkdfInfoPrefix + keyId, 'utf8'), 32));
}

/**
 * Seals one object body under the key `keyId` names.
 *
 * @example
 * const sealed = encryptObject(masterKey, 'arn:aws:kms:us-east-1:000000000000:key/…', body);
 * decryptObject(masterKey, sealed).body.equals(body); // true
 */
export function encryptObject(masterKey: Buffer, keyId: string, body: Buffer): Buffer {
  assert.equal(masterKey.length, 32, 'the master key is 32 bytes');
  const id = Buffer.from(keyId, 'utf8');
  assert.ok(id.length > 0 && id.length <= objectKeyIdBytesMax, 'key id length');
  const header = Buffer.alloc(7 + id.length + saltBytes + nonceBytes);
  objectEnvelopeMagic.copy(header, 0);
  header.writeUInt8(objectEnvelopeVersion, 4);
  header.writeUInt16BE(id.length, 5);
  id.copy(header, 7);
  const salt = randomBytes(saltBytes);
  const nonce = randomBytes(nonceBytes);
  salt.copy(header, 7 + id.length);
  nonce.copy(header, 7 + id.length + saltBytes);
  const c = createCipheriv('aes-256-gcm', dataKey(masterKey, keyId, salt), nonce);
  c.setAAD(header);
  const out = Buffer.concat([header, c.update(body), c.final(), c.getAuthTag()]);
  assert.equal(out.length, header.length + body.length + tagBytes);
  return out;
}

/** True when `data` starts like an envelope of this format. */
export function isEncryptedObject(data: Buffer): boolean {
  return data.length >= 7 && data.subarray(0, 4).equals(objectEnvelopeMagic);
}

/**
 * Opens an envelope: the key id it names and the original object body.
 * Throws OBJECT_NOT_ENCRYPTED, OBJECT_ENCRYPTION_VERSION, OBJECT_TRUNCATED or
 * OBJECT_DECRYPT_FAILED (wrong master key, or the bytes were changed).
 *
 * @example
 * const { keyId, body } = decryptObject(fs.readFileSync('data/keys/master.key'), fs.readFileSync(file));
 */
export function decryptObject(masterKey: Buffer, data: Buffer): { keyId: string; body: Buffer } {
  if (!isEncryptedObject(data)) throw new TributaryError('OBJECT_NOT_ENCRYPTED', 'not an encrypted Firehose object (no TRBE header)');
  const version = data.readUInt8(4);
  if (version !== objectEnvelopeVersion) throw new TributaryError('OBJECT_ENCRYPTION_VERSION', `unknown encrypted object format version ${version}`);
  const n = data.readUInt16BE(5);
  const headerBytes = 7 + n + saltBytes + nonceBytes;
  if (data.length < headerBytes + tagBytes) throw new TributaryError('OBJECT_TRUNCATED', 'encrypted object is truncated');
  const keyId = data.subarray(7, 7 + n).toString('utf8');
  const salt = data.subarray(7 + n, 7 + n + saltBytes);
  const nonce = data.subarray(7 + n + saltBytes, headerBytes);
  const d = createDecipheriv('aes-256-gcm', dataKey(masterKey, keyId, salt), nonce);
  d.setAAD(data.subarray(0, headerBytes));
  d.setAuthTag(data.subarray(data.length - tagBytes));
  try {
    const body = Buffer.concat([d.update(data.subarray(headerBytes, data.length - tagBytes)), d.final()]);
    return { keyId, body };
  } catch (err) {
    throw new TributaryError('OBJECT_DECRYPT_FAILED', 'cannot decrypt the object: another gateway\'s master key, or the bytes were changed', { cause: err });
  }
}
