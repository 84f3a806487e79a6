/**
 * The on-disk frame of one buffered record. Little-endian:
 *
 *   u32 frameBytes     bytes after this field (crc .. end)
 *   u32 crc32c         CRC-32C of every byte after this field
 *   u8  flags          bit 0: body is encrypted
 *   u64 capturedAtMs   in the clear, so operator tools can age a buffer without its key
 *   ..  body           plain body, or 24-byte nonce + secretbox(plain body)
 *
 * Plain body:
 *
 *   u64 seq            per-source sequence number (< 2^53)
 *   u8  sourceBytes
 *   u16 partitionKeyBytes
 *   u8  explicitHashKeyBytes (0: none)
 *   ..  source, partition key, explicit hash key (UTF-8), data
 *
 * The CRC covers the ciphertext, so verify and recovery need no key. Pure:
 * bytes in, values out; the caller passes the nonce.
 */
import nacl from 'tweetnacl';
import { crc32c } from '../../sdk/protocol/crc32c.ts';
import { encryptionNonceBytes, encryptionOverheadBytes } from './limits.ts';

export const frameHeaderBytes = 17;
const plainFixedBytes = 12;
const flagEncrypted = 1;

/** A record as the buffer stores it. */
export interface FrameRecord {
  capturedAtMs: number;
  source: string;
  seq: number;
  partitionKey: string;
  data: Buffer;
  explicitHashKey?: string;
}

/** Frame bytes a record takes, so admission can be decided before encoding. */
export function frameBytesFor(r: FrameRecord, encrypted: boolean): number {
  const plain = plainFixedBytes + Buffer.byteLength(r.source) + Buffer.byteLength(r.partitionKey) +
    (r.explicitHashKey ? Buffer.byteLength(r.explicitHashKey) : 0) + r.data.length;
  return frameHeaderBytes + (encrypted ? encryptionNonceBytes + encryptionOverheadBytes : 0) + plain;
}

/** Encodes one frame; with a key, `nonce` must be fresh random bytes. */
export function encodeFrame(r: FrameRecord, key?: Uint8Array, nonce?: Uint8Array): Buffer {
  let body = encodePlainBody(r);
  let flags = 0;
  if (key) {
    if (!nonce || nonce.length !== encryptionNonceBytes) throw new Error('encodeFrame: a 24-byte nonce is required with a key');
    const box = nacl.secretbox(body, nonce, key);
    body = Buffer.concat([nonce, box]);
    flags |= flagEncrypted;
  }
  const frame = Buffer.allocUnsafe(frameHeaderBytes + body.length);
  frame.writeUInt32LE(frame.length - 4, 0);
  frame[8] = flags;
  writeU64(frame, r.capturedAtMs, 9);
  body.copy(frame, frameHeaderBytes);
  frame.writeUInt32LE(crc32c(frame, 0, 8, frame.length), 4);
  return frame;
}

function encodePlainBody(r: FrameRecord): Buffer {
  const src = Buffer.from(r.source, 'utf8');
  const pk = Buffer.from(r.partitionKey, 'utf8');
  const hk = Buffer.from(r.explicitHashKey ?? '', 'utf8');
  const b = Buffer.allocUnsafe(plainFixedBytes + src.length + pk.length + hk.length + r.data.length);
  writeU64(b, r.seq, 0);
  b[8] = src.length;
  b.writeUInt16LE(pk.length, 9);
  b[11] = hk.length;
  let at = plainFixedBytes;
  for (const part of [src, pk, hk, r.data]) at += part.copy(b, at);
  return b;
}

/** Total length claimed by the frame at `at`, or why it cannot be a frame. */
export function frameLengthAt(buf: Buffer, at: number, frameBytesLimit: number): number | string {
  const total = buf.readUInt32LE(at) + 4;
  if (total < frameHeaderBytes + plainFixedBytes) return `impossible frame length ${total}`;
  if (total > frameBytesLimit) return `frame length ${total} exceeds ${frameBytesLimit}`;
  return total;
}

/** True when the CRC of the complete frame `frame` matches. */
export function frameCrcOk(frame: Buffer): boolean {
  return crc32c(frame, 0, 8, frame.length) === frame.readUInt32LE(4);
}

export function frameCapturedAtMs(frame: Buffer): number {
  return readU64(frame, 9);
}

export function frameEncrypted(frame: Buffer): boolean {
  return (frame[8]! & flagEncrypted) !== 0;
}

export type DecodeResult =
  | { kind: 'record'; record: FrameRecord }
  | { kind: 'corrupt'; reason: string }
  | { kind: 'key-required' }
  | { kind: 'key-mismatch' };

/**
 * Decodes a complete frame whose CRC has been checked. The data is copied so
 * that a record never pins the reader's chunk buffer.
 */
export function decodeFrame(frame: Buffer, key?: Uint8Array): DecodeResult {
  let body = frame.subarray(frameHeaderBytes);
  if (frameEncrypted(frame)) {
    if (!key) return { kind: 'key-required' };
    if (body.length < encryptionNonceBytes + encryptionOverheadBytes) return { kind: 'corrupt', reason: 'encrypted body too short' };
    const opened = nacl.secretbox.open(body.subarray(encryptionNonceBytes), body.subarray(0, encryptionNonceBytes), key);
    // The CRC matched, so these are the bytes written: only a different key fails here.
    if (!opened) return { kind: 'key-mismatch' };
    body = Buffer.from(opened.buffer, opened.byteOffset, opened.length);
  }
  if (body.length < plainFixedBytes) return { kind: 'corrupt', reason: 'body too short' };
  const srcBytes = body[8]!;
  const pkBytes = body.readUInt16LE(9);
  const hkBytes = body[11]!;
  const dataStart = plainFixedBytes + srcBytes + pkBytes + hkBytes;
  if (dataStart > body.length) return { kind: 'corrupt', reason: 'fields overrun frame' };
  const pkStart = plainFixedBytes + srcBytes;
  const record: FrameRecord = {
    capturedAtMs: frameCapturedAtMs(frame),
    seq: readU64(body, 0),
    source: body.toString('utf8', plainFixedBytes, pkStart),
    partitionKey: body.toString('utf8', pkStart, pkStart + pkBytes),
    data: Buffer.from(body.subarray(dataStart)),
  };
  if (hkBytes > 0) record.explicitHashKey = body.toString('utf8', pkStart + pkBytes, dataStart);
  return { kind: 'record', record };
}

function writeU64(b: Buffer, n: number, at: number): void {
  b.writeUInt32LE(n % 0x100000000, at);
  b.writeUInt32LE(Math.floor(n / 0x100000000), at + 4);
}

function readU64(b: Buffer, at: number): number {
  return b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 0x100000000;
}

/**
 * The largest frame a valid record can produce (the longest UTF-8 fields,
 * encrypted). Readers treat any larger length as corruption.
 */
export const frameBytesLimit = frameHeaderBytes + encryptionNonceBytes + encryptionOverheadBytes + plainFixedBytes +
  255 + 256 * 4 + 39 + 1024 * 1024;
