/**
 * The on-disk record frame of the local shard log. Little-endian:
 *
 *   u32 frameLength   bytes after this field (crc .. data)
 *   u32 crc32c        of every byte after this field
 *   u8  flags         opaque to the log (encryption key slot)
 *   u8  reserved      0
 *   u16 partitionKeyBytes
 *   u64 counter       per-shard sequence counter (< 2^53)
 *   u64 arrivalMs
 *   ..  partition key (UTF-8), data
 *
 * Pure: buffers in, values out.
 */
import { crc32cCombine, crc32cRange, crc32cSmall } from './crc.ts';
import type { StoredRecord } from '../types.ts';

export const frameHeaderBytes = 28;
/** A frame can never be larger than this; anything claiming more is corruption. */
export const frameBytesMax = frameHeaderBytes + 1024 + 11 * 1024 * 1024;

export function encodeFrame(counter: number, arrivalMs: number, flags: number, partitionKey: string, data: Buffer): Buffer {
  const pkBytes = Buffer.byteLength(partitionKey, 'utf8');
  const b = Buffer.allocUnsafe(frameHeaderBytes + pkBytes + data.length);
  encodeFrameInto(b, 0, counter, arrivalMs, flags, partitionKey, pkBytes, data);
  return b;
}

/**
 * Writes one frame at `at` of `b` (which must have room for
 * `frameHeaderBytes + pkBytes + data.length`); returns its length. Batches
 * encode all their frames into one buffer: one allocation, one writev entry.
 */
export function encodeFrameInto(b: Buffer, at: number, counter: number, arrivalMs: number, flags: number, partitionKey: string, pkBytes: number, data: Buffer): number {
  const total = frameHeaderBytes + pkBytes + data.length;
  b.writeUInt32LE(total - 4, at);
  b[at + 8] = flags;
  b[at + 9] = 0;
  b.writeUInt16LE(pkBytes, at + 10);
  writeU64(b, counter, at + 12);
  writeU64(b, arrivalMs, at + 20);
  b.write(partitionKey, at + frameHeaderBytes, pkBytes, 'utf8');
  data.copy(b, at + frameHeaderBytes + pkBytes);
  b.writeUInt32LE(crc32cRange(b, at + 8, at + total), at + 4);
  return total;
}

/**
 * Writes the parts of a frame at `at` that do not depend on where it goes:
 * its length and its partition key length; returns the frame's length. The
 * caller puts the partition key at `at + frameHeaderBytes` and the data after
 * it; `stampFrame` adds flags, counter, arrival time and CRC once the shard
 * log assigns them.
 */
export function frameTemplate(b: Buffer, at: number, pkBytes: number, dataBytes: number): number {
  const total = frameHeaderBytes + pkBytes + dataBytes;
  b.writeUInt32LE(total - 4, at);
  b.writeUInt32LE(0, at + 4);
  b[at + 8] = 0;
  b[at + 9] = 0;
  b.writeUInt16LE(pkBytes, at + 10);
  // Counter and arrival time: zero until stamped, so that a template's bytes never depend on the buffer's past.
  writeU64(b, 0, at + 12);
  writeU64(b, 0, at + 20);
  return total;
}

/**
 * Completes a frame made by `frameTemplate`: flags, counter, arrival time,
 * and the CRC, from `tailCrc`, the CRC-32C of its partition key and data
 * (the bytes after the header), so that the record's bytes are not read again.
 */
export function stampFrame(b: Buffer, at: number, total: number, counter: number, arrivalMs: number, flags: number, tailCrc: number): void {
  b[at + 8] = flags;
  writeU64(b, counter, at + 12);
  writeU64(b, arrivalMs, at + 20);
  b.writeUInt32LE(crc32cCombine(crc32cSmall(b, at + 8, at + frameHeaderBytes), tailCrc, total - frameHeaderBytes), at + 4);
}

/**
 * Checks the frame at `offset` of `buf` without decoding it: its length when
 * it is whole and its CRC holds; 0 when more bytes are needed (or a torn
 * tail); a negative number when it is corrupt (see `decodeFrame` for why).
 */
export function checkFrame(buf: Buffer, offset: number): number {
  if (buf.length - offset < 4) return 0;
  const frameLength = buf.readUInt32LE(offset);
  if (frameLength + 4 < frameHeaderBytes || frameLength + 4 > frameBytesMax) return -1;
  const total = frameLength + 4;
  if (buf.length - offset < total) return 0;
  if (crc32cRange(buf, offset + 8, offset + total) !== buf.readUInt32LE(offset + 4)) return -1;
  if (frameHeaderBytes + buf.readUInt16LE(offset + 10) > total) return -1;
  return total;
}

/** The fields of a checked frame at `at`: flags, counter, arrival time, partition key length. */
export const frameFlags = (b: Buffer, at: number) => b[at + 8]!;
export const frameCounter = (b: Buffer, at: number) => readU64(b, at + 12);
export const frameArrivalMs = (b: Buffer, at: number) => readU64(b, at + 20);
export const framePkBytes = (b: Buffer, at: number) => b[at + 10]! | (b[at + 11]! << 8);

export type FrameScan =
  | { kind: 'record'; record: StoredRecord; bytes: number }
  | { kind: 'incomplete' }
  | { kind: 'corrupt'; reason: string };

/**
 * Decodes the frame at `offset` of `buf`. `incomplete` means more bytes are
 * needed (or, at the end of a file, a torn tail); `corrupt` means the bytes
 * there can never be a valid frame.
 */
export function decodeFrame(buf: Buffer, offset: number, withData = true): FrameScan {
  if (buf.length - offset < 4) return { kind: 'incomplete' };
  const frameLength = buf.readUInt32LE(offset);
  if (frameLength + 4 < frameHeaderBytes || frameLength + 4 > frameBytesMax) {
    return { kind: 'corrupt', reason: `impossible frame length ${frameLength}` };
  }
  const total = frameLength + 4;
  if (buf.length - offset < total) return { kind: 'incomplete' };
  const crc = buf.readUInt32LE(offset + 4);
  if (crc32cRange(buf, offset + 8, offset + total) !== crc) return { kind: 'corrupt', reason: 'CRC mismatch' };
  const pkBytes = buf.readUInt16LE(offset + 10);
  if (frameHeaderBytes + pkBytes > total) return { kind: 'corrupt', reason: 'partition key overruns frame' };
  return { kind: 'record', bytes: total, record: recordOfFrame(buf, offset, total, withData) };
}

/** The record in a checked frame of `total` bytes at `at`. */
export function recordOfFrame(buf: Buffer, at: number, total: number, withData = true): StoredRecord {
  const pkStart = at + frameHeaderBytes;
  const pkEnd = pkStart + framePkBytes(buf, at);
  return {
    flags: buf[at + 8]!,
    counter: readU64(buf, at + 12),
    arrivalMs: readU64(buf, at + 20),
    partitionKey: buf.toString('utf8', pkStart, pkEnd),
    // A copy, so one record does not pin the whole read chunk.
    data: withData ? Buffer.from(buf.subarray(pkEnd, at + total)) : EMPTY,
  };
}

const EMPTY = Buffer.alloc(0);

function writeU64(b: Buffer, n: number, at: number): void {
  b.writeUInt32LE(n % 0x100000000, at);
  b.writeUInt32LE(Math.floor(n / 0x100000000), at + 4);
}

function readU64(b: Buffer, at: number): number {
  return b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 0x100000000;
}
