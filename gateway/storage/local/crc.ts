/**
 * CRC-32C for the shard log's hot path. @node-rs/crc32 uses the CPU's CRC
 * instructions (about 3 GB/s here against 0.6 GB/s for our table-driven
 * JavaScript); where its prebuilt binary is missing (another platform, or the
 * single-file bundle run without node_modules) the pure implementation from
 * sdk/protocol takes over. Both compute the same function, which the unit
 * tests check.
 */
import { createRequire } from 'node:module';
import { crc32c as pureCrc32c } from '../../../sdk/protocol/crc32c.ts';

type Native = (input: Buffer, initial?: number) => number;

function loadNative(): Native | undefined {
  if (process.env.TRIBUTARY_PURE_CRC === '1') return undefined;
  try {
    const mod = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: Native };
    return typeof mod.crc32c === 'function' ? mod.crc32c : undefined;
  } catch {
    return undefined; // Not installed for this platform: the pure version serves.
  }
}

const native = loadNative();

/** Which implementation is in use (reported in the start-up log). */
export const crc32cImplementation = native ? '@node-rs/crc32' : 'javascript';

/** CRC-32C of `bytes[start, end)`. */
export function crc32cRange(bytes: Buffer, start: number, end: number): number {
  return native ? native(bytes.subarray(start, end)) >>> 0 : pureCrc32c(bytes, 0, start, end);
}

/*
 * Combining CRCs (zlib's crc32_combine, for the Castagnoli polynomial): the
 * CRC-32C of A followed by B from the CRC of each and B's length. The shard
 * log stamps a frame's counter and arrival time on the main thread into a
 * frame whose partition key and data an offload worker already summed, so
 * the main thread sums only the 20 header bytes and combines.
 */
const POLY = 0x82f63b78;
const byteTable = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32C of a few bytes (a frame header), byte by byte: cheaper than a call out for 20 bytes. */
export function crc32cSmall(bytes: Uint8Array, start: number, end: number): number {
  let c = -1;
  for (let i = start; i < end; i++) c = byteTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** a(x) * b(x) modulo the polynomial, in the reflected bit order CRC-32C uses. */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) modulo the polynomial, k = 0..31. */
const x2nTable = (() => {
  const t = new Uint32Array(32);
  let p = 0x40000000; // x^1
  t[0] = p;
  for (let k = 1; k < 32; k++) t[k] = p = multModP(p, p);
  return t;
})();

/** The operator that shifts a CRC past `length` zero bytes: x^(8 * length). Cached: frames of one batch share lengths. */
const shiftOps = new Map<number, number>();
function shiftOp(length: number): number {
  let op = shiftOps.get(length);
  if (op === undefined) {
    op = 0x80000000; // x^0
    let k = 3;
    for (let n = length; n; n = Math.floor(n / 2), k++) if (n & 1) op = multModP(x2nTable[k & 31]!, op);
    if (shiftOps.size >= 4096) shiftOps.clear();
    shiftOps.set(length, op);
  }
  return op;
}

/** CRC-32C of A followed by B, from crc32c(A), crc32c(B) and B's length. */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  return (multModP(shiftOp(lengthB), crcA) ^ crcB) >>> 0;
}
