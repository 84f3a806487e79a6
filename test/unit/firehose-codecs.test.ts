// The pure parts of Firehose delivery: object keys and prefixes, and the
// containers (ZIP, Snappy framing, Hadoop Snappy, multi-member GZIP), each
// read back by an independent decoder.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import snappy from 'snappy';
import { compress } from '../../gateway/firehose/compression.ts';
import { checkPrefixes, errorObjectKey, formatTimestamp, objectKey } from '../../gateway/firehose/object-key.ts';
import { hadoopSnappy, snappyFramed } from '../../gateway/firehose/snappy.ts';
import { tempDir } from '../helpers/gateway.ts';

const t = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const ctx = { timeMs: t, name: 'orders', version: 3, uuid: '0b6f5d4e-1c2a-4e8b-9f00-123456789abc', randomString: 'AbCdEfGhIjK', extension: '.gz' };

describe('object keys', () => {
  it('names objects as AWS does by default', () => {
    expect(objectKey(undefined, ctx)).toBe('2026/01/02/03/orders-3-2026-01-02-03-04-05-0b6f5d4e-1c2a-4e8b-9f00-123456789abc.gz');
    expect(objectKey('raw/', ctx)).toBe('raw/2026/01/02/03/orders-3-2026-01-02-03-04-05-0b6f5d4e-1c2a-4e8b-9f00-123456789abc.gz');
  });

  it('evaluates timestamp and firehose expressions instead of appending the hour path', () => {
    expect(objectKey('y=!{timestamp:yyyy}/m=!{timestamp:MM}/d=!{timestamp:dd}/h=!{timestamp:HH}/!{firehose:random-string}/', ctx))
      .toBe('y=2026/m=01/d=02/h=03/AbCdEfGhIjK/orders-3-2026-01-02-03-04-05-0b6f5d4e-1c2a-4e8b-9f00-123456789abc.gz');
    expect(formatTimestamp("yyyy-MM-dd'T'HH:mm:ss.SSS", t)).toBe('2026-01-02T03:04:05.678');
    expect(formatTimestamp('yy/M', t)).toBe('26/1');
    expect(errorObjectKey('err/!{firehose:error-output-type}/!{timestamp:yyyy}/', { ...ctx, errorOutputType: 'processing-failed' }))
      .toBe('err/processing-failed/2026/orders-3-2026-01-02-03-04-05-0b6f5d4e-1c2a-4e8b-9f00-123456789abc.gz');
    expect(errorObjectKey(undefined, { ...ctx, errorOutputType: 'processing-failed' })).toMatch(/^processing-failed\/2026\/01\/02\/03\/orders-3-/);
  });

  it('refuses expressions AWS refuses', () => {
    expect(() => checkPrefixes('a/!{timestamp:yyyy}/', undefined)).toThrow(/ErrorOutputPrefix/);
    expect(() => checkPrefixes('a/!{firehose:error-output-type}/', 'e/')).toThrow(/not supported/);
    expect(() => checkPrefixes('a/!{nope:x}/', 'e/')).toThrow(/not supported/);
    expect(() => checkPrefixes('a/!{timestamp:yyyy/', 'e/')).toThrow(/malformed/);
    expect(() => checkPrefixes('a/!{timestamp:yyyy}/', 'e/!{firehose:error-output-type}/')).not.toThrow();
  });
});

describe('compression containers', () => {
  const text = Buffer.from(Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ i, v: i % 7 })).join('\n'));
  const noise = randomBytes(300_000);
  const dir = tempDir('trb-fh-codec-');
  const write = (name: string, b: Buffer) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, b);
    return f;
  };

  it('writes a ZIP that unzip reads and tests', async () => {
    const f = write('a.zip', await compress('ZIP', text, { entryName: 'orders-1-2026', mtimeMs: t }));
    expect(execFileSync('unzip', ['-p', f], { maxBuffer: 1 << 26 }).equals(text)).toBe(true);
    expect(execFileSync('unzip', ['-t', f]).toString()).toContain('No errors detected');
    expect(execFileSync('unzip', ['-l', f]).toString()).toContain('orders-1-2026');
  });

  it('writes GZIP (several members past one slice) that gunzip reads as one stream', async () => {
    const big = Buffer.concat(Array.from({ length: 40 }, () => text));
    expect(big.length).toBeGreaterThan(4 * 1024 * 1024);
    const f = write('a.gz', await compress('GZIP', big, { entryName: '', mtimeMs: t }));
    expect(execFileSync('gunzip', ['-c', f], { maxBuffer: 1 << 27 }).equals(big)).toBe(true);
  });

  it('frames Snappy (compressed and stored chunks) so a native decoder reads every block', () => {
    for (const input of [text, noise, Buffer.alloc(0)]) {
      const framed = snappyFramed(input);
      const out: Buffer[] = [];
      for (let at = 10; at < framed.length; ) {
        const type = framed[at]!;
        const len = framed.readUIntLE(at + 1, 3);
        const body = framed.subarray(at + 8, at + 4 + len);
        out.push(type === 0 ? (snappy.uncompressSync(body, { asBuffer: true }) as Buffer) : Buffer.from(body));
        at += 4 + len;
      }
      expect(Buffer.concat(out).equals(input)).toBe(true);
    }
    expect(snappyFramed(noise).includes(Buffer.from([0x01]), 10)).toBe(true);
  });

  it('writes Hadoop Snappy blocks with big-endian lengths', () => {
    const big = Buffer.concat([text, noise, text]);
    const h = hadoopSnappy(big);
    const out: Buffer[] = [];
    for (let at = 0; at < h.length; ) {
      const raw = h.readUInt32BE(at);
      const n = h.readUInt32BE(at + 4);
      const block = snappy.uncompressSync(h.subarray(at + 8, at + 8 + n), { asBuffer: true }) as Buffer;
      expect(block.length).toBe(raw);
      out.push(block);
      at += 8 + n;
    }
    expect(Buffer.concat(out).equals(big)).toBe(true);
  });
});
