/**
 * One frame: header (version, type, flags, sequence number), payload and a
 * CRC-32C trailer, COBS-encoded and followed by a 0x00 delimiter on the
 * wire. Pure: bytes in, values out. PROTOCOL.md is the specification.
 */
import { crc32c } from '../sdk/protocol/crc32c.ts';
import { cobsDecodeInto, cobsEncodeInto, cobsProblem } from './cobs.ts';
import { FrameError } from './errors.ts';
import { crcBytes, frameBytesMax, frameBytesMin, frameEncodedBytesMax, headerBytes, payloadBytesMax, protocolVersion } from './limits.ts';

/** Frame types (header byte 1). */
export const FrameType = Object.freeze({
  hello: 0x01,
  telemetry: 0x02,
  log: 0x03,
  heartbeat: 0x04,
  ack: 0x10,
  nack: 0x11,
  timeSync: 0x20,
  timeSyncReply: 0x21,
});

/** Flag bits (header byte 2). Bits 5 to 7 are reserved: sent as 0, ignored on receipt. */
export const FrameFlag = Object.freeze({
  /** The sender wants an ack (or nack) for this frame's sequence number. */
  ackRequested: 0x01,
  /** This frame repeats an earlier one with the same sequence number. */
  retransmit: 0x02,
  /** Telemetry body encoding, two bits: 0 compact, 1 CBOR, 2 JSON, 3 reserved. */
  bodyEncodingMask: 0x0c,
  bodyEncodingShift: 2,
  /** Telemetry and log times are Unix-epoch ms from the MCU's own clock, not uptime ms. */
  wallTime: 0x10,
});

export interface Frame {
  version: number;
  type: number;
  flags: number;
  /** Unsigned 32-bit; wraps. */
  seq: number;
  payload: Uint8Array;
}

function checkHeader(frame: Frame): void {
  const { version, type, flags, seq, payload } = frame;
  for (const [name, v] of [['version', version], ['type', type], ['flags', flags]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new FrameError('BAD_VALUE', `frame ${name} must be a u8 (got ${v})`);
  }
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffffffff) throw new FrameError('BAD_VALUE', `frame seq must be a u32 (got ${seq})`);
  if (payload.length > payloadBytesMax) throw new FrameError('BAD_VALUE', `frame payload must be at most ${payloadBytesMax} bytes (got ${payload.length})`);
}

/** The decoded (pre-COBS) bytes of a frame: header, payload, CRC. */
export function packFrame(frame: Frame): Uint8Array {
  checkHeader(frame);
  const raw = new Uint8Array(headerBytes + frame.payload.length + crcBytes);
  raw[0] = frame.version;
  raw[1] = frame.type;
  raw[2] = frame.flags;
  writeU32(raw, 3, frame.seq);
  raw.set(frame.payload, headerBytes);
  const end = headerBytes + frame.payload.length;
  writeU32(raw, end, crc32c(raw, 0, 0, end));
  return raw;
}

/**
 * The wire bytes of a frame: COBS(header, payload, CRC) and a 0x00 delimiter.
 * @example encodeFrame({ version: 1, type: FrameType.heartbeat, flags: 0, seq: 7, payload: Uint8Array.of(0x2a) })
 */
export function encodeFrame(frame: Frame): Uint8Array {
  const raw = packFrame(frame);
  const out = new Uint8Array(frameEncodedBytesMax + 1);
  const n = cobsEncodeInto(raw, 0, raw.length, out, 0);
  out[n] = 0;
  return out.slice(0, n + 1);
}

/**
 * Parses decoded bytes `raw[0, length)` (header, payload, CRC), checking
 * length, CRC and version in that order. The payload is copied out.
 */
export function unpackFrame(raw: Uint8Array, length = raw.length): Frame {
  if (length < frameBytesMin) throw new FrameError('TOO_SHORT', `frame of ${length} bytes is shorter than the ${frameBytesMin}-byte minimum`);
  if (length > frameBytesMax) throw new FrameError('OVERSIZE', `frame of ${length} bytes is longer than the ${frameBytesMax}-byte maximum`);
  const end = length - crcBytes;
  const expected = readU32(raw, end);
  const actual = crc32c(raw, 0, 0, end);
  if (expected !== actual) {
    throw new FrameError('CRC_MISMATCH', `frame CRC-32C is 0x${hex32(expected)} but header and payload sum to 0x${hex32(actual)}`);
  }
  if (raw[0] !== protocolVersion) throw new FrameError('UNKNOWN_VERSION', `frame version ${raw[0]} is not ${protocolVersion}`);
  return { version: raw[0], type: raw[1]!, flags: raw[2]!, seq: readU32(raw, 3), payload: raw.slice(headerBytes, end) };
}

/**
 * Decodes one frame from its wire bytes: a COBS block, optionally followed by
 * its 0x00 delimiter. Throws `FrameError` (BAD_COBS, OVERSIZE, TOO_SHORT,
 * CRC_MISMATCH, UNKNOWN_VERSION).
 */
export function decodeFrame(wire: Uint8Array): Frame {
  const end = wire.length > 0 && wire[wire.length - 1] === 0 ? wire.length - 1 : wire.length;
  if (end > frameEncodedBytesMax) throw new FrameError('OVERSIZE', `encoded frame of ${end} bytes is longer than the ${frameEncodedBytesMax}-byte maximum`);
  const raw = new Uint8Array(end);
  const n = cobsDecodeInto(wire, 0, end, raw);
  if (n < 0) throw new FrameError('BAD_COBS', cobsProblem(wire, 0, end));
  return unpackFrame(raw, n);
}

export function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

export function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

function hex32(v: number): string {
  return v.toString(16).padStart(8, '0');
}
