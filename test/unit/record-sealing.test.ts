// Issue #11, item 7: proves the sealed record body of encrypted streams
// (gateway/streams/encryption.ts): the partition key travels inside the
// ciphertext and comes back byte for byte, records sealed the earlier way
// (partition key in the frame, data alone sealed) still open, and a wrong
// key slot is an error rather than garbage. Sealing in parts (video
// fragments: no join of header and Cluster) gives the same bytes as sealing
// the joined data under the same nonce.
import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openRecord, RecordCipher, sealOverheadBytes, sealRecord } from '../../gateway/streams/encryption.ts';

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

  it('seals parts without joining them into the bytes a joined seal gives, which open() reads', () => {
    const master = randomBytes(32);
    const c = new RecordCipher(master);
    const parts = [randomBytes(37), Buffer.alloc(0), randomBytes(200_000), new Uint8Array(randomBytes(5))];
    const joined = Buffer.concat(parts);
    const sealed = Buffer.concat(c.sealParts('alias/one', parts));
    expect(sealed.length).toBe(sealOverheadBytes + joined.length);
    expect(c.open('alias/one', sealed).equals(joined)).toBe(true);
    // The layout written before sealParts existed, computed here from scratch with the same nonce: nonce | tag | ciphertext.
    const key = Buffer.from(hkdfSync('sha256', master, Buffer.from('tributary-stream-sse'), Buffer.from('alias/one', 'utf8'), 32));
    const whole = createCipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
    const body = Buffer.concat([whole.update(joined), whole.final()]);
    expect(Buffer.concat([sealed.subarray(0, 12), whole.getAuthTag(), body]).equals(sealed)).toBe(true);
    // seal() keeps its layout, and a damaged tag is refused rather than opened.
    expect(c.open('alias/one', c.seal('alias/one', joined)).equals(joined)).toBe(true);
    expect(c.open('alias/one', c.seal('alias/one', Buffer.alloc(0))).length).toBe(0);
    sealed[20]! ^= 1;
    expect(() => c.open('alias/one', sealed)).toThrow(/authenticate/);
  });
});
