// The PutRecords path's own MD5 (gateway/http/md5.ts) against node:crypto, on
// every length across the block and padding boundaries and on longer inputs,
// read from the middle of a larger buffer and written into the middle of another.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { md5Into } from '../../gateway/http/md5.ts';

describe('md5Into', () => {
  it('matches node:crypto for lengths 0 to 300 and some long inputs', () => {
    const out = Buffer.alloc(40, 0xee);
    for (const len of [...Array.from({ length: 301 }, (_, i) => i), 1023, 1024, 4097, 65_600]) {
      const src = randomBytes(len + 10);
      md5Into(src, 7, 7 + len, out, 12);
      expect(out.subarray(12, 28).toString('hex'), `length ${len}`).toBe(createHash('md5').update(src.subarray(7, 7 + len)).digest('hex'));
      // Nothing outside the 16 bytes is touched.
      expect(out.subarray(0, 12).every((b) => b === 0xee) && out.subarray(28).every((b) => b === 0xee)).toBe(true);
    }
  });
});
