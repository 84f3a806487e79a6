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
import { createCipheriv, createDecipheriv, hkdfSync, randomFillSync } from 'node:crypto';
import type { StoredRecord } from '../storage/types.ts';

/** What sealing adds in front of the ciphertext: the nonce (12 bytes) and the GCM tag (16). */
export const sealOverheadBytes = 28;

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
    // One join of nonce | tag and the cipher's output (there were two: the body, then the whole).
    return Buffer.concat(this.sealParts(keyId, [data]), sealOverheadBytes + data.length);
  }

  /**
   * Seals the concatenation of `parts` without joining them first (a video
   * fragment's stream header and Cluster, hundreds of kilobytes): returns
   * nonce | tag (sealOverheadBytes) followed by the ciphertext of each part.
   * Written one after the other, they are byte for byte what seal() returns
   * for the joined parts, and open() reads them back; the only copy of the
   * data is the cipher's own output.
   */
  sealParts(keyId: string, parts: readonly Uint8Array[]): Buffer[] {
    const head = Buffer.allocUnsafe(sealOverheadBytes);
    randomFillSync(head, 0, 12);
    const c = createCipheriv('aes-256-gcm', this.keyFor(keyId), head.subarray(0, 12));
    const out = [head];
    for (const p of parts) if (p.length) out.push(c.update(p));
    const last = c.final(); // Empty for GCM, a stream mode; kept should that ever change.
    if (last.length) out.push(last);
    c.getAuthTag().copy(head, 12);
    return out;
  }

  open(keyId: string, sealed: Buffer): Buffer {
    const d = createDecipheriv('aes-256-gcm', this.keyFor(keyId), sealed.subarray(0, 12));
    d.setAuthTag(sealed.subarray(12, sealOverheadBytes));
    const body = d.update(sealed.subarray(sealOverheadBytes));
    const last = d.final(); // Checks the tag; empty for GCM, so the body need not be copied into a join.
    return last.length ? Buffer.concat([body, last]) : body;
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
