/**
 * Server-side encryption of the shard log at rest (StartStreamEncryption).
 * There is no KMS here: each KeyId names a data key derived from the
 * gateway's master key with HKDF, so the same KeyId always decrypts what it
 * encrypted, and the master key never leaves the data directory (mode 0600).
 * Each record is sealed with AES-256-GCM: nonce(12) | tag(16) | ciphertext.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

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
