// Issue #11, item 7: proves the sealed record body of encrypted streams
// (gateway/streams/encryption.ts): the partition key travels inside the
// ciphertext and comes back byte for byte, records sealed the earlier way
// (partition key in the frame, data alone sealed) still open, and a wrong
// key slot is an error rather than garbage.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openRecord, RecordCipher, sealRecord } from '../../gateway/streams/encryption.ts';

const cipher = new RecordCipher(randomBytes(32));
const keyIds = ['alias/one', 'alias/two'];

describe('sealed records', () => {
  it('round-trips partition keys (any UTF-8, up to 256 characters) and data, with no key in the frame', () => {
    for (const pk of ['k', 'ключ-🔑', 'x'.repeat(256)]) {
      const data = randomBytes(100);
      const sealed = sealRecord(cipher, 'alias/two', pk, data);
      expect(sealed.partitionKey).toBe('');
      if (pk.length > 8) expect(sealed.data.includes(Buffer.from(pk))).toBe(false); // (one byte may occur in any ciphertext)
      expect(openRecord(cipher, keyIds, { counter: 0, arrivalMs: 0, flags: 2, ...sealed })).toEqual({ partitionKey: pk, data });
    }
  });

  it('opens records sealed before partition keys were, and plaintext records as they are', () => {
    const legacy = { counter: 1, arrivalMs: 0, flags: 1, partitionKey: 'old-key', data: cipher.seal('alias/one', Buffer.from('old data')) };
    expect(openRecord(cipher, keyIds, legacy)).toEqual({ partitionKey: 'old-key', data: Buffer.from('old data') });
    expect(openRecord(cipher, keyIds, { counter: 2, arrivalMs: 0, flags: 0, partitionKey: 'p', data: Buffer.from('d') })).toEqual({ partitionKey: 'p', data: Buffer.from('d') });
    expect(() => openRecord(cipher, keyIds, { counter: 3, arrivalMs: 0, flags: 3, partitionKey: '', data: Buffer.alloc(40) })).toThrow(/unknown key slot 3/);
    expect(() => openRecord(cipher, keyIds, { counter: 4, arrivalMs: 0, flags: 1, ...sealRecord(cipher, 'alias/two', 'k', Buffer.from('x')) })).toThrow();
  });
});
