/**
 * Typed payloads, one per frame type: `encodeMessage` builds a frame from a
 * message, `decodeMessage` parses a frame's payload by its type and flags.
 * Little-endian fixed-width integers, unsigned LEB128 for times (ms), UTF-8
 * text. PROTOCOL.md section 4 is the specification.
 */
import { cborDecode, cborEncode, type CborValue } from '../sdk/protocol/cbor.ts';
import { FrameError } from './errors.ts';
import { FrameFlag, FrameType, readU32, writeU32, type Frame } from './frame.ts';
import { helloStringBytesMax, payloadBytesMax, protocolVersion, telemetryValuesMax, varintBytesMax } from './limits.ts';

export type TimeBase = 'uptime' | 'wall';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export const logLevels: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** Compact telemetry value kinds and their one-byte tags. */
export const valueTags = Object.freeze({ u8: 0x01, i8: 0x02, u16: 0x03, i16: 0x04, u32: 0x05, i32: 0x06, f32: 0x07, f64: 0x08 });
export type ValueKind = keyof typeof valueTags;
const valueKinds = Object.keys(valueTags) as ValueKind[];
/** Tag byte to kind, for the decoder's inner loop. */
const kindsByTag: (ValueKind | undefined)[] = Array.from({ length: 256 }, (_, tag) => valueKinds.find((k) => valueTags[k] === tag));
const valueWidths: Record<ValueKind, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, f64: 8 };

export interface TelemetryValue { kind: ValueKind; value: number }
export type TelemetryBody =
  | { encoding: 'compact'; values: TelemetryValue[] }
  | { encoding: 'cbor'; value: CborValue }
  | { encoding: 'json'; value: unknown };

/** Why the bridge refused a frame (nack payload byte 4). */
export const NackReason = Object.freeze({
  /** The agent could not make the record durable now (buffer full, write failed): retry later. */
  notDurable: 1,
  /** The payload does not parse: do not retry. */
  badPayload: 2,
  /** The bridge has no decoder for the frame type: do not retry. */
  unsupportedType: 3,
  /** The bridge knows no session for this device: send a hello, then retry. */
  noSession: 4,
  /** The sequence number is too far behind to tell whether it is a duplicate: drop it. */
  stale: 5,
});

export type Message =
  | { type: 'hello'; bootId: number; uptimeMs: number; firmwareName: string; firmwareVersion: string }
  | { type: 'telemetry'; sensorId: number; timeBase: TimeBase; timeMs: number; body: TelemetryBody }
  | { type: 'log'; level: LogLevel; timeBase: TimeBase; timeMs: number; text: string }
  | { type: 'heartbeat'; uptimeMs: number }
  | { type: 'ack'; ackSeq: number }
  | { type: 'nack'; ackSeq: number; reason: number }
  | { type: 'time-sync'; wallMs: number }
  | { type: 'time-sync-reply'; requestSeq: number; wallMs: number; uptimeMs: number };

export interface EncodeOptions {
  seq: number;
  ackRequested?: boolean;
  retransmit?: boolean;
}

const bodyEncodings = ['compact', 'cbor', 'json'] as const;
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * Builds the frame for a message.
 * @example encodeFrame(encodeMessage({ type: 'heartbeat', uptimeMs: 1000 }, { seq: 3 }))
 */
export function encodeMessage(message: Message, options: EncodeOptions): Frame {
  let flags = (options.ackRequested ? FrameFlag.ackRequested : 0) | (options.retransmit ? FrameFlag.retransmit : 0);
  const w = new Writer();
  switch (message.type) {
    case 'hello':
      w.u32(message.bootId, 'bootId');
      w.varint(message.uptimeMs, 'uptimeMs');
      w.shortString(message.firmwareName, 'firmwareName');
      w.shortString(message.firmwareVersion, 'firmwareVersion');
      break;
    case 'telemetry':
      if (message.timeBase === 'wall') flags |= FrameFlag.wallTime;
      flags |= bodyEncodings.indexOf(message.body.encoding) << FrameFlag.bodyEncodingShift;
      w.uint(message.sensorId, 2, 'sensorId');
      w.varint(message.timeMs, 'timeMs');
      writeBody(w, message.body);
      break;
    case 'log': {
      if (message.timeBase === 'wall') flags |= FrameFlag.wallTime;
      const level = logLevels.indexOf(message.level);
      if (level < 0) throw new FrameError('BAD_VALUE', `log level must be one of ${logLevels.join(', ')} (got ${message.level})`);
      w.uint(level, 1, 'level');
      w.varint(message.timeMs, 'timeMs');
      w.bytes(utf8.encode(message.text));
      break;
    }
    case 'heartbeat':
      w.varint(message.uptimeMs, 'uptimeMs');
      break;
    case 'ack':
      w.u32(message.ackSeq, 'ackSeq');
      break;
    case 'nack':
      w.u32(message.ackSeq, 'ackSeq');
      w.uint(message.reason, 1, 'reason');
      break;
    case 'time-sync':
      w.varint(message.wallMs, 'wallMs');
      break;
    case 'time-sync-reply':
      w.u32(message.requestSeq, 'requestSeq');
      w.varint(message.wallMs, 'wallMs');
      w.varint(message.uptimeMs, 'uptimeMs');
      break;
  }
  return { version: protocolVersion, type: FrameType[typeKey(message.type)], flags, seq: options.seq, payload: w.finish() };
}

function typeKey(type: Message['type']): keyof typeof FrameType {
  return type === 'time-sync' ? 'timeSync' : type === 'time-sync-reply' ? 'timeSyncReply' : type;
}

function writeBody(w: Writer, body: TelemetryBody): void {
  if (body.encoding === 'cbor') return w.bytes(cborEncode(body.value));
  if (body.encoding === 'json') return w.bytes(utf8.encode(JSON.stringify(body.value)));
  if (body.values.length > telemetryValuesMax) throw new FrameError('BAD_VALUE', `telemetry carries at most ${telemetryValuesMax} values (got ${body.values.length})`);
  w.uint(body.values.length, 1, 'value count');
  for (const v of body.values) w.value(v);
}

/**
 * Parses a frame's payload by its type. Throws `FrameError` UNKNOWN_TYPE or
 * BAD_PAYLOAD (with the field that failed).
 */
export function decodeMessage(frame: Frame): Message {
  const r = new Reader(frame.payload);
  const timeBase: TimeBase = frame.flags & FrameFlag.wallTime ? 'wall' : 'uptime';
  let message: Message;
  switch (frame.type) {
    case FrameType.hello:
      message = { type: 'hello', bootId: r.u32('bootId'), uptimeMs: r.varint('uptimeMs'), firmwareName: r.shortString('firmwareName'), firmwareVersion: r.shortString('firmwareVersion') };
      break;
    case FrameType.telemetry: {
      const sensorId = r.uint(2, 'sensorId');
      const timeMs = r.varint('timeMs');
      message = { type: 'telemetry', sensorId, timeBase, timeMs, body: readBody(r, frame.flags) };
      break;
    }
    case FrameType.log: {
      const level = logLevels[r.uint(1, 'level')];
      if (level === undefined) throw new FrameError('BAD_PAYLOAD', `log level ${frame.payload[0]} is not 0 to ${logLevels.length - 1}`);
      message = { type: 'log', level, timeBase, timeMs: r.varint('timeMs'), text: r.rest('text') };
      break;
    }
    case FrameType.heartbeat: message = { type: 'heartbeat', uptimeMs: r.varint('uptimeMs') }; break;
    case FrameType.ack: message = { type: 'ack', ackSeq: r.u32('ackSeq') }; break;
    case FrameType.nack: message = { type: 'nack', ackSeq: r.u32('ackSeq'), reason: r.uint(1, 'reason') }; break;
    case FrameType.timeSync: message = { type: 'time-sync', wallMs: r.varint('wallMs') }; break;
    case FrameType.timeSyncReply:
      message = { type: 'time-sync-reply', requestSeq: r.u32('requestSeq'), wallMs: r.varint('wallMs'), uptimeMs: r.varint('uptimeMs') };
      break;
    default:
      throw new FrameError('UNKNOWN_TYPE', `frame type 0x${frame.type.toString(16).padStart(2, '0')} is not known`);
  }
  r.end();
  return message;
}

function readBody(r: Reader, flags: number): TelemetryBody {
  const encoding = bodyEncodings[(flags & FrameFlag.bodyEncodingMask) >> FrameFlag.bodyEncodingShift];
  if (encoding === undefined) throw new FrameError('BAD_PAYLOAD', 'telemetry body encoding 3 is reserved');
  if (encoding === 'cbor') {
    const bytes = r.restBytes();
    try {
      return { encoding, value: cborDecode(bytes) };
    } catch (err) {
      throw new FrameError('BAD_PAYLOAD', `telemetry CBOR body: ${(err as Error).message}`, { cause: err });
    }
  }
  if (encoding === 'json') {
    const text = r.rest('JSON body');
    try {
      return { encoding, value: JSON.parse(text) as unknown };
    } catch (err) {
      throw new FrameError('BAD_PAYLOAD', `telemetry JSON body: ${(err as Error).message}`, { cause: err });
    }
  }
  const count = r.uint(1, 'value count');
  const values: TelemetryValue[] = [];
  for (let i = 0; i < count; i++) values.push(r.value(i));
  return { encoding, values };
}

class Writer {
  private readonly buf = new Uint8Array(payloadBytesMax);
  private readonly view = new DataView(this.buf.buffer);
  private pos = 0;

  private room(n: number): void {
    if (this.pos + n > this.buf.length) throw new FrameError('BAD_VALUE', `payload would exceed ${payloadBytesMax} bytes`);
  }
  uint(v: number, width: 1 | 2, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** (8 * width)) throw new FrameError('BAD_VALUE', `${field} must be a u${8 * width} (got ${v})`);
    this.room(width);
    this.buf[this.pos++] = v & 0xff;
    if (width === 2) this.buf[this.pos++] = v >>> 8;
  }
  u32(v: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new FrameError('BAD_VALUE', `${field} must be a u32 (got ${v})`);
    this.room(4);
    writeU32(this.buf, this.pos, v);
    this.pos += 4;
  }
  varint(v: number, field: string): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new FrameError('BAD_VALUE', `${field} must be an integer from 0 to 2^53 - 1 (got ${v})`);
    do {
      this.room(1);
      const low = v % 128;
      v = Math.floor(v / 128);
      this.buf[this.pos++] = v > 0 ? low | 0x80 : low;
    } while (v > 0);
  }
  shortString(s: string, field: string): void {
    const b = utf8.encode(s);
    if (b.length > helloStringBytesMax) throw new FrameError('BAD_VALUE', `${field} must be at most ${helloStringBytesMax} UTF-8 bytes (got ${b.length})`);
    this.uint(b.length, 1, field);
    this.bytes(b);
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  value(v: TelemetryValue): void {
    const tag = valueTags[v.kind];
    if (tag === undefined) throw new FrameError('BAD_VALUE', `telemetry value kind ${String(v.kind)} is not one of ${valueKinds.join(', ')}`);
    const width = valueWidths[v.kind];
    this.room(1 + width);
    if (!valueFits(v)) throw new FrameError('BAD_VALUE', `telemetry value ${v.value} does not fit ${v.kind}`);
    this.buf[this.pos++] = tag;
    const at = this.pos;
    switch (v.kind) {
      case 'u8': this.view.setUint8(at, v.value); break;
      case 'i8': this.view.setInt8(at, v.value); break;
      case 'u16': this.view.setUint16(at, v.value, true); break;
      case 'i16': this.view.setInt16(at, v.value, true); break;
      case 'u32': this.view.setUint32(at, v.value, true); break;
      case 'i32': this.view.setInt32(at, v.value, true); break;
      case 'f32': this.view.setFloat32(at, v.value, true); break;
      case 'f64': this.view.setFloat64(at, v.value, true); break;
    }
    this.pos += width;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

const intRanges: Partial<Record<ValueKind, [number, number]>> = {
  u8: [0, 0xff], i8: [-0x80, 0x7f], u16: [0, 0xffff], i16: [-0x8000, 0x7fff], u32: [0, 0xffffffff], i32: [-0x80000000, 0x7fffffff],
};

/** Integers must be in range; f32 values must be exactly representable (so they round-trip). */
function valueFits(v: TelemetryValue): boolean {
  if (typeof v.value !== 'number') return false;
  const range = intRanges[v.kind];
  if (range) return Number.isInteger(v.value) && v.value >= range[0] && v.value <= range[1];
  if (v.kind === 'f32') return Number.isNaN(v.value) || Object.is(Math.fround(v.value), v.value);
  return true;
}

class Reader {
  private readonly view: DataView;
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number, field: string): void {
    if (this.pos + n > this.buf.length) throw new FrameError('BAD_PAYLOAD', `payload ends inside ${field} (offset ${this.pos}, ${n} bytes needed, ${this.buf.length - this.pos} left)`);
  }
  uint(width: 1 | 2, field: string): number {
    this.need(width, field);
    const v = width === 1 ? this.buf[this.pos]! : this.view.getUint16(this.pos, true);
    this.pos += width;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = readU32(this.buf, this.pos);
    this.pos += 4;
    return v;
  }
  varint(field: string): number {
    let v = 0;
    for (let i = 0; i < varintBytesMax; i++) {
      this.need(1, field);
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) {
        if (b === 0 && i > 0) throw new FrameError('BAD_PAYLOAD', `${field} is an overlong varint`);
        if (!Number.isSafeInteger(v)) throw new FrameError('BAD_PAYLOAD', `${field} exceeds 2^53 - 1`);
        return v;
      }
    }
    throw new FrameError('BAD_PAYLOAD', `${field} varint is longer than ${varintBytesMax} bytes`);
  }
  shortString(field: string): string {
    const n = this.uint(1, field);
    if (n > helloStringBytesMax) throw new FrameError('BAD_PAYLOAD', `${field} is ${n} bytes, more than ${helloStringBytesMax}`);
    this.need(n, field);
    const s = this.text(this.buf.subarray(this.pos, this.pos + n), field);
    this.pos += n;
    return s;
  }
  restBytes(): Uint8Array {
    const b = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return b;
  }
  rest(field: string): string {
    return this.text(this.restBytes(), field);
  }
  private text(b: Uint8Array, field: string): string {
    try {
      return utf8Strict.decode(b);
    } catch (err) {
      throw new FrameError('BAD_PAYLOAD', `${field} is not valid UTF-8`, { cause: err });
    }
  }
  value(index: number): TelemetryValue {
    const field = `value ${index}`;
    this.need(1, field);
    const tag = this.buf[this.pos]!;
    const kind = kindsByTag[tag];
    if (kind === undefined) throw new FrameError('BAD_PAYLOAD', `${field} has unknown tag 0x${tag.toString(16).padStart(2, '0')}`);
    this.need(1 + valueWidths[kind], field);
    const at = ++this.pos;
    this.pos += valueWidths[kind];
    const v = this.view;
    switch (kind) {
      case 'u8': return { kind, value: v.getUint8(at) };
      case 'i8': return { kind, value: v.getInt8(at) };
      case 'u16': return { kind, value: v.getUint16(at, true) };
      case 'i16': return { kind, value: v.getInt16(at, true) };
      case 'u32': return { kind, value: v.getUint32(at, true) };
      case 'i32': return { kind, value: v.getInt32(at, true) };
      case 'f32': return { kind, value: v.getFloat32(at, true) };
      case 'f64': return { kind, value: v.getFloat64(at, true) };
    }
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new FrameError('BAD_PAYLOAD', `${this.buf.length - this.pos} trailing bytes after the payload`);
  }
}
