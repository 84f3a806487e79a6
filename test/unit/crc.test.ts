// Proves the shard log's accelerated CRC-32C computes exactly the pure
// implementation's function (known vector, random inputs and ranges).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32cCombine, crc32cImplementation, crc32cRange, crc32cSmall } from '../../gateway/storage/local/crc.ts';
import { crc32c } from '../../sdk/protocol/crc32c.ts';

describe('crc32cRange', () => {
  it('uses the native implementation on this machine', () => {
    expect(crc32cImplementation).toBe('@node-rs/crc32');
  });
  it('matches the pure CRC-32C', () => {
    expect(crc32cRange(Buffer.from('xx123456789yy'), 2, 11)).toBe(0xe3069283);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const buf = Buffer.from(bytes);
        const start = buf.length ? a % buf.length : 0;
        const end = start + (buf.length - start ? b % (buf.length - start + 1) : 0);
        expect(crc32cRange(buf, start, end)).toBe(crc32c(buf, 0, start, end));
      }),
      { numRuns: 300 },
    );
  });
});

describe('crc32cCombine and crc32cSmall', () => {
  it('give the CRC of a concatenation from the CRCs of its parts', () => {
    expect(crc32cSmall(Buffer.from('xx123456789yy'), 2, 11)).toBe(0xe3069283);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), (bytes, a) => {
        const buf = Buffer.from(bytes);
        const cut = buf.length ? a % (buf.length + 1) : 0;
        const whole = crc32c(buf, 0, 0, buf.length);
        expect(crc32cSmall(buf, 0, cut)).toBe(crc32c(buf, 0, 0, cut));
        expect(crc32cCombine(crc32c(buf, 0, 0, cut), crc32c(buf, 0, cut, buf.length), buf.length - cut)).toBe(whole);
      }),
      { numRuns: 500 },
    );
  });
});
