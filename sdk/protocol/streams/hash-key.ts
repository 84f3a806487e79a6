/**
 * Partition keys to 128-bit hash keys: MD5 of the UTF-8 key read as an
 * unsigned big-endian integer (API Reference, PutRecord). Hash keys are kept
 * as 16-byte big-endian buffers on the hot path, where `Buffer.compare`
 * orders them without BigInt allocations, and as decimal strings on the wire.
 */
import crypto, { createHash } from 'node:crypto';
import { hashKeyMax } from './limits.ts';

// crypto.hash (Node >= 20.12) is a one-shot digest without a Hash object: several times cheaper per key.
const oneShot = (crypto as unknown as { hash?: (alg: string, data: string, enc: 'buffer') => Buffer }).hash;

export function hashKeyOfPartitionKey(partitionKey: string): Buffer {
  return oneShot ? oneShot('md5', partitionKey, 'buffer') : createHash('md5').update(partitionKey, 'utf8').digest();
}

/** A decimal hash key (0..2^128-1) as 16 big-endian bytes; `undefined` when out of range. */
export function hashKeyFromDecimal(decimal: string): Buffer | undefined {
  if (!/^(0|[1-9]\d{0,38})$/.test(decimal)) return undefined;
  const n = BigInt(decimal);
  if (n > hashKeyMax) return undefined;
  return hashKeyFromBigInt(n);
}

export function hashKeyFromBigInt(n: bigint): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(n >> 64n, 0);
  b.writeBigUInt64BE(n & 0xffffffffffffffffn, 8);
  return b;
}

export function hashKeyToBigInt(b: Uint8Array): bigint {
  const v = Buffer.from(b.buffer, b.byteOffset, 16);
  return (v.readBigUInt64BE(0) << 64n) | v.readBigUInt64BE(8);
}

/**
 * The even split CreateStream makes: with h = floor(2^128 / n), shard i covers
 * [i*h, (i+1)*h - 1] and the last shard runs to 2^128 - 1.
 */
export function evenHashKeyRanges(count: number): Array<{ start: bigint; end: bigint }> {
  const h = (hashKeyMax + 1n) / BigInt(count);
  const out: Array<{ start: bigint; end: bigint }> = [];
  for (let i = 0; i < count; i++) {
    const start = BigInt(i) * h;
    out.push({ start, end: i === count - 1 ? hashKeyMax : start + h - 1n });
  }
  return out;
}
