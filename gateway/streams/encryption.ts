/**
 * Server-side encryption of the shard log at rest (StartStreamEncryption).
 * There is no KMS here: each KeyId names a data key derived from the
 * gateway's master key with HKDF, so the same KeyId always decrypts what it
 * encrypted, and the master key never leaves the data directory (mode 0600).
 * Each record is sealed with AES-256-GCM: nonce(12) | tag(16) | ciphertext.
 *
 * A record of an encrypted stream seals its partition key with its data
 * (issue #11, item 7): the frame's partition key is left empty and the sealed
 * body is `u16 partition key bytes | partition key | data`. Records written
 * before that kept the key in the frame and sealed the data alone; they are
 * still read (a real partition key is never empty).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { StoredRecord } from '../storage/types.ts';

export class RecordCipher {
  private keys = new Map<string, Buffer>();
  constructor(private readonly masterKey: Buffer) {}

  private keyFor(keyId: string): Buffer {
    let k = this.keys.get(keyId);
    if (!k) {
      k = Buffer.from(hkdfSync('sha256', this.masterKey, Buffer.from('tributary-stream-sse'), Buffer.from(keyId, 'utf8'), 32));
      this.keys.set(keyId, k);
    }
    return k;
  }

  seal(keyId: string, data: Buffer): Buffer {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.keyFor(keyId), nonce);
    const body = Buffer.concat([c.update(data), c.final()]);
    return Buffer.concat([nonce, c.getAuthTag(), body]);
  }

  open(keyId: string, sealed: Buffer): Buffer {
    const d = createDecipheriv('aes-256-gcm', this.keyFor(keyId), sealed.subarray(0, 12));
    d.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([d.update(sealed.subarray(28)), d.final()]);
  }
}

/** KeyId forms AWS accepts: key ARN, alias ARN, key GUID, alias name. */
export function isWellFormedKeyId(keyId: string): boolean {
  return (
    /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key\/[0-9a-f-]{36}|alias\/[a-zA-Z0-9/_-]+)$/.test(keyId) ||
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(keyId) ||
    /^alias\/[a-zA-Z0-9/_-]+$/.test(keyId)
  );
}

/** The frame fields of a record of an encrypted stream: no partition key in the clear. */
export function sealRecord(cipher: RecordCipher, keyId: string, partitionKey: string, data: Buffer): { partitionKey: string; data: Buffer } {
  const pk = Buffer.from(partitionKey, 'utf8');
  const body = Buffer.allocUnsafe(2 + pk.length + data.length);
  body.writeUInt16BE(pk.length, 0);
  pk.copy(body, 2);
  data.copy(body, 2 + pk.length);
  return { partitionKey: '', data: cipher.seal(keyId, body) };
}

/** A stored record's partition key and data in the clear; `keyIds` is the stream's key slot list (flags - 1 indexes it). */
export function openRecord(cipher: RecordCipher, keyIds: readonly string[], r: StoredRecord): { partitionKey: string; data: Buffer } {
  if (!r.flags) return { partitionKey: r.partitionKey, data: r.data };
  const keyId = keyIds[r.flags - 1];
  if (keyId === undefined) throw new Error(`record ${r.counter} names unknown key slot ${r.flags}`);
  const body = cipher.open(keyId, r.data);
  if (r.partitionKey !== '') return { partitionKey: r.partitionKey, data: body }; // written before keys were sealed
  const pkBytes = body.readUInt16BE(0);
  return { partitionKey: body.toString('utf8', 2, 2 + pkBytes), data: body.subarray(2 + pkBytes) };
}
