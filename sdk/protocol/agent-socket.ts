/**
 * The agent socket protocol, version 1: how device applications (the SDK's
 * `AgentProducer`) hand records to the local agent over its Unix socket.
 * Pure encode/decode, no I/O: the agent's `SocketInput` and the SDK's
 * `AgentProducer` own the sockets. See docs/agent-socket.md for the layout.
 *
 * Every frame is `u32 length` (big-endian, counting the type byte and the
 * body) + `u8 type` + body. The client opens with `hello` (magic, version
 * range, client name, pid); the agent answers `welcome` (chosen version, its
 * limits, its default destination) or a fatal `error`. Then the client sends
 * `put` frames (a request id and a batch of records) without waiting, and the
 * agent answers each with `ack` (the batch is durable in its buffer) or
 * `nack` (refused: code and message), in request order. A fatal `error`
 * frame precedes the agent closing the connection (garbage, oversize).
 *
 * Version 2 adds one frame, `session` (client → agent, right after a
 * version 2 welcome): a random id for this producer instance. With it, the
 * agent recognizes a put frame the producer sends again after a reconnect
 * (same session and request id) and stores its records once (issue #15);
 * the frames are otherwise those of version 1.
 */
import { TributaryError } from './errors.ts';
import { partitionKeyLengthMax, recordDataBytesMax } from './streams/limits.ts';

/** The highest version this code speaks; `hello` offers a range so versions can overlap. */
export const agentSocketVersion = 2;
/** The lowest version this code still speaks (version 1 clients and agents have no sessions). */
export const agentSocketVersionMin = 1;
/** Session ids are short printable tokens (the SDK sends 22 characters of base64url). */
export const agentSocketSessionIdPattern = /^[A-Za-z0-9_-]{8,64}$/;
/** "TRIB": the first bytes after a hello's header. Anything else on a fresh connection is not our client. */
export const agentSocketMagic = 0x54524942;

export const frameType = { hello: 1, welcome: 2, put: 3, ack: 4, nack: 5, error: 6, session: 7 } as const;
export type FrameTypeName = keyof typeof frameType;

/** u32 length + u8 type. */
export const frameHeaderBytes = 5;
/** A frame must hold one record of the Kinesis maximum (1 MiB) with room to spare; the agent may announce less. */
export const agentSocketFrameBytesMax = 8 * 1024 * 1024;
/** Records per put frame; the agent appends one frame as one all-or-nothing buffer append (at most 10,000). */
export const agentSocketBatchRecordsMax = 10_000;
/** Partition keys are at most 256 characters (AWS Kinesis API Reference, PutRecord), so at most 1,024 UTF-8 bytes. */
export const partitionKeyBytesMax = partitionKeyLengthMax * 4;
/** AWS Kinesis API Reference, PutRecord: ExplicitHashKey is a decimal up to 2^128 - 1 (39 digits). */
export const explicitHashKeyLengthMax = 39;

/** One record as the client hands it over. The agent adds `source`. */
export interface AgentSocketRecord {
  partitionKey: string;
  explicitHashKey?: string;
  data: Uint8Array;
  /** When the application made the record (ms since epoch); the agent's clock when absent. */
  capturedAtMs?: number;
}

export interface HelloFrame { type: 'hello'; versionMin: number; versionMax: number; pid: number; clientName: string }
export interface WelcomeFrame { type: 'welcome'; version: number; frameBytesMax: number; batchRecordsMax: number; destination: string }
export interface PutFrame { type: 'put'; requestId: number; destination: string; records: AgentSocketRecord[] }
export interface AckFrame { type: 'ack'; requestId: number; destination: string; source: string; firstSequence: number; count: number }
export interface NackFrame { type: 'nack'; requestId: number; code: string; message: string }
export interface ErrorFrame { type: 'error'; code: string; message: string }
/** Version 2: names this producer instance; its request ids are unique within it, and a resend keeps its id. */
export interface SessionFrame { type: 'session'; sessionId: string }
export type AgentFrame = HelloFrame | WelcomeFrame | PutFrame | AckFrame | NackFrame | ErrorFrame | SessionFrame;

/**
 * Codes a `nack` or `error` frame carries. Batch refusals (`nack`) use the
 * buffer's own codes where the buffer refused; the connection-level ones
 * (`error`) are the `AGENT_*` protocol codes. Receivers pass unknown codes
 * through unchanged, so the agent may add codes without a version bump.
 */
export type AgentSocketCode =
  | 'BUFFER_FULL'
  | 'BUFFER_RECORD_INVALID'
  | 'BUFFER_RECORD_TOO_LARGE'
  | 'BUFFER_CLOSED'
  | 'AGENT_DESTINATION_UNKNOWN'
  | 'AGENT_INTERNAL'
  | 'AGENT_PROTOCOL_INVALID'
  | 'AGENT_FRAME_TOO_LARGE'
  | 'AGENT_VERSION_UNSUPPORTED'
  | 'AGENT_SHUTTING_DOWN'
  | 'AGENT_CONNECTIONS_MAX';

/** Garbage or oversize input: `code` is AGENT_PROTOCOL_INVALID or AGENT_FRAME_TOO_LARGE. */
export class AgentSocketProtocolError extends TributaryError {
  constructor(code: 'AGENT_PROTOCOL_INVALID' | 'AGENT_FRAME_TOO_LARGE', message: string) {
    super(code, message);
    this.name = 'AgentSocketProtocolError';
  }
}

const invalid = (why: string) => new AgentSocketProtocolError('AGENT_PROTOCOL_INVALID', why);

const recordFlagHashKey = 1;
const recordFlagCapturedAt = 2;
const recordFlagsKnown = recordFlagHashKey | recordFlagCapturedAt;
/** Codes and destination names are short ASCII; messages are cut to this many bytes. */
const messageBytesMax = 4096;
const u48Max = 2 ** 48 - 1;

/** Exact encoded size of one record inside a put frame. */
export function recordEncodedBytes(r: AgentSocketRecord): number {
  return 1 + 2 + Buffer.byteLength(r.partitionKey) + (r.explicitHashKey === undefined ? 0 : 1 + r.explicitHashKey.length)
    + (r.capturedAtMs === undefined ? 0 : 6) + 4 + r.data.length;
}

/** Size of a put frame's header, destination included, before its records. */
export function putFrameOverheadBytes(destination: string): number {
  return frameHeaderBytes + 4 + 1 + Buffer.byteLength(destination) + 4;
}

/**
 * Encodes one frame. Throws AGENT_PROTOCOL_INVALID for values the format cannot carry (a caller bug or bad input).
 *
 * @example
 * socket.write(encodeFrame({ type: 'put', requestId: 1, destination: '', records: [{ partitionKey: 'k', data: Buffer.from('x') }] }));
 */
export function encodeFrame(f: AgentFrame): Buffer {
  switch (f.type) {
    case 'hello': {
      const name = str8(f.clientName, 'clientName');
      const w = new Writer(frameType.hello, 4 + 2 + 2 + 4 + 1 + name.length);
      w.u32(agentSocketMagic); w.u16(f.versionMin); w.u16(f.versionMax); w.u32(f.pid); w.str8(name);
      return w.done();
    }
    case 'welcome': {
      const dest = str8(f.destination, 'destination');
      const w = new Writer(frameType.welcome, 2 + 4 + 4 + 1 + dest.length);
      w.u16(f.version); w.u32(f.frameBytesMax); w.u32(f.batchRecordsMax); w.str8(dest);
      return w.done();
    }
    case 'put': return encodePut(f);
    case 'ack': {
      const dest = str8(f.destination, 'destination');
      const source = str8(f.source, 'source');
      const w = new Writer(frameType.ack, 4 + 4 + 6 + 1 + dest.length + 1 + source.length);
      w.u32(f.requestId); w.u32(f.count); w.u48(f.firstSequence); w.str8(dest); w.str8(source);
      return w.done();
    }
    case 'nack': {
      const code = str8(f.code, 'code');
      const msg = str16(f.message);
      const w = new Writer(frameType.nack, 4 + 1 + code.length + 2 + msg.length);
      w.u32(f.requestId); w.str8(code); w.str16(msg);
      return w.done();
    }
    case 'error': {
      const code = str8(f.code, 'code');
      const msg = str16(f.message);
      const w = new Writer(frameType.error, 1 + code.length + 2 + msg.length);
      w.str8(code); w.str16(msg);
      return w.done();
    }
    case 'session': {
      if (!agentSocketSessionIdPattern.test(f.sessionId)) throw invalid(`session id must match ${String(agentSocketSessionIdPattern)}`);
      const id = str8(f.sessionId, 'sessionId');
      const w = new Writer(frameType.session, 1 + id.length);
      w.str8(id);
      return w.done();
    }
  }
}

function encodePut(f: PutFrame): Buffer {
  const dest = str8(f.destination, 'destination');
  let bytes = 4 + 1 + dest.length + 4;
  for (const r of f.records) bytes += recordEncodedBytes(r);
  const w = new Writer(frameType.put, bytes);
  w.u32(f.requestId); w.str8(dest); w.u32(f.records.length);
  for (const r of f.records) {
    const hk = r.explicitHashKey;
    const pkBytes = Buffer.byteLength(r.partitionKey);
    if (pkBytes === 0 || pkBytes > partitionKeyBytesMax) throw invalid(`partition key must be 1 to ${partitionKeyBytesMax} UTF-8 bytes (got ${pkBytes})`);
    if (hk !== undefined && !isHashKeyText(hk)) throw invalid('explicitHashKey must be 1 to 39 decimal digits');
    if (r.data.length > recordDataBytesMax) throw invalid(`record data must be at most ${recordDataBytesMax} bytes (got ${r.data.length})`);
    const at = r.capturedAtMs;
    if (at !== undefined && (!Number.isSafeInteger(at) || at < 0 || at > u48Max)) throw invalid(`capturedAtMs must be an integer from 0 to 2^48 - 1 (got ${at})`);
    w.u8((hk === undefined ? 0 : recordFlagHashKey) | (at === undefined ? 0 : recordFlagCapturedAt));
    w.u16(pkBytes); w.utf8(r.partitionKey, pkBytes);
    if (hk !== undefined) { w.u8(hk.length); w.utf8(hk, hk.length); }
    if (at !== undefined) w.u48(at);
    w.u32(r.data.length); w.bytes(r.data);
  }
  return w.done();
}

function isHashKeyText(hk: string): boolean {
  return hk.length >= 1 && hk.length <= explicitHashKeyLengthMax && /^\d+$/.test(hk);
}

function str8(s: string, what: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length > 255) throw invalid(`${what} must be at most 255 UTF-8 bytes (got ${b.length})`);
  return b;
}

/** Messages are informative only: cut rather than refused (never inside a UTF-8 sequence). */
function str16(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= messageBytesMax) return b;
  let end = messageBytesMax;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end);
}

class Writer {
  readonly #buf: Buffer;
  #at = frameHeaderBytes;
  constructor(type: number, bodyBytes: number) {
    this.#buf = Buffer.allocUnsafe(frameHeaderBytes + bodyBytes);
    this.#buf.writeUInt32BE(1 + bodyBytes, 0);
    this.#buf[4] = type;
  }
  u8(v: number): void { this.#buf[this.#at++] = v; }
  u16(v: number): void { this.#at = this.#buf.writeUInt16BE(v, this.#at); }
  u32(v: number): void { this.#at = this.#buf.writeUInt32BE(v, this.#at); }
  u48(v: number): void { this.#at = this.#buf.writeUIntBE(v, this.#at, 6); }
  str8(b: Buffer): void { this.u8(b.length); this.bytes(b); }
  str16(b: Buffer): void { this.u16(b.length); this.bytes(b); }
  utf8(s: string, bytes: number): void { this.#at += this.#buf.write(s, this.#at, bytes, 'utf8'); }
  bytes(b: Uint8Array): void { this.#buf.set(b, this.#at); this.#at += b.length; }
  done(): Buffer {
    if (this.#at !== this.#buf.length) throw new Error(`agent socket frame size mismatch: wrote ${this.#at} of ${this.#buf.length}`);
    return this.#buf;
  }
}

/** Reads one frame's body; every read is bounds-checked, so a short body is AGENT_PROTOCOL_INVALID. */
class Reader {
  #at = 0;
  constructor(readonly buf: Buffer, readonly what: string) {}
  #need(n: number): number {
    const at = this.#at;
    if (at + n > this.buf.length) throw invalid(`${this.what} frame ends early (needs ${at + n} bytes, has ${this.buf.length})`);
    this.#at += n;
    return at;
  }
  u8(): number { return this.buf[this.#need(1)]!; }
  u16(): number { return this.buf.readUInt16BE(this.#need(2)); }
  u32(): number { return this.buf.readUInt32BE(this.#need(4)); }
  u48(): number { return this.buf.readUIntBE(this.#need(6), 6); }
  text(n: number, latin1 = false): string {
    const at = this.#need(n);
    return this.buf.toString(latin1 ? 'latin1' : 'utf8', at, at + n);
  }
  str8(): string { return this.text(this.u8()); }
  str16(): string { return this.text(this.u16()); }
  bytes(n: number): Buffer { const at = this.#need(n); return this.buf.subarray(at, at + n); }
  end(): void {
    if (this.#at !== this.buf.length) throw invalid(`${this.what} frame has ${this.buf.length - this.#at} bytes left over`);
  }
}

/**
 * Decodes one frame body of a known type. `body` excludes the 5-byte header. Record data are views into `body`.
 *
 * @example
 * const frame = encodeFrame({ type: 'nack', requestId: 1, code: 'BUFFER_FULL', message: 'full' });
 * decodeFrameBody(frame[4]!, frame.subarray(5)); // { type: 'nack', requestId: 1, code: 'BUFFER_FULL', message: 'full' }
 */
export function decodeFrameBody(type: number, body: Buffer): AgentFrame {
  switch (type) {
    case frameType.hello: {
      const r = new Reader(body, 'hello');
      if (body.length < 4 || r.u32() !== agentSocketMagic) throw invalid('hello frame lacks the TRIB magic: not an agent socket client');
      const f: HelloFrame = { type: 'hello', versionMin: r.u16(), versionMax: r.u16(), pid: r.u32(), clientName: r.str8() };
      r.end();
      if (f.versionMin > f.versionMax) throw invalid(`hello offers versions ${f.versionMin} to ${f.versionMax}`);
      return f;
    }
    case frameType.welcome: {
      const r = new Reader(body, 'welcome');
      const f: WelcomeFrame = { type: 'welcome', version: r.u16(), frameBytesMax: r.u32(), batchRecordsMax: r.u32(), destination: r.str8() };
      r.end();
      return f;
    }
    case frameType.put: return decodePut(body);
    case frameType.ack: {
      const r = new Reader(body, 'ack');
      const f: AckFrame = { type: 'ack', requestId: r.u32(), count: r.u32(), firstSequence: r.u48(), destination: r.str8(), source: r.str8() };
      r.end();
      return f;
    }
    case frameType.nack: {
      const r = new Reader(body, 'nack');
      const f: NackFrame = { type: 'nack', requestId: r.u32(), code: r.str8(), message: r.str16() };
      r.end();
      return f;
    }
    case frameType.error: {
      const r = new Reader(body, 'error');
      const f: ErrorFrame = { type: 'error', code: r.str8(), message: r.str16() };
      r.end();
      return f;
    }
    case frameType.session: {
      const r = new Reader(body, 'session');
      const f: SessionFrame = { type: 'session', sessionId: r.str8() };
      r.end();
      if (!agentSocketSessionIdPattern.test(f.sessionId)) throw invalid(`session id must match ${String(agentSocketSessionIdPattern)}`);
      return f;
    }
    default:
      throw invalid(`unknown frame type ${type}`);
  }
}

function decodePut(body: Buffer): PutFrame {
  const r = new Reader(body, 'put');
  const requestId = r.u32();
  const destination = r.str8();
  const count = r.u32();
  // Each record takes at least 7 bytes: a count beyond that is a lie, refused before any allocation.
  if (count === 0 || count * 7 > body.length) throw invalid(`put frame claims ${count} records in ${body.length} bytes`);
  const records: AgentSocketRecord[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const flags = r.u8();
    if ((flags & ~recordFlagsKnown) !== 0) throw invalid(`record ${i} has unknown flags 0x${flags.toString(16)}`);
    const pkBytes = r.u16();
    if (pkBytes === 0 || pkBytes > partitionKeyBytesMax) throw invalid(`record ${i}: partition key must be 1 to ${partitionKeyBytesMax} bytes (got ${pkBytes})`);
    const rec: AgentSocketRecord = { partitionKey: r.text(pkBytes), data: EMPTY };
    if (flags & recordFlagHashKey) {
      const hk = r.text(r.u8(), true);
      if (!isHashKeyText(hk)) throw invalid(`record ${i}: explicitHashKey must be 1 to ${explicitHashKeyLengthMax} decimal digits`);
      rec.explicitHashKey = hk;
    }
    if (flags & recordFlagCapturedAt) rec.capturedAtMs = r.u48();
    const dataBytes = r.u32();
    if (dataBytes > recordDataBytesMax) throw invalid(`record ${i}: data of ${dataBytes} bytes is over ${recordDataBytesMax}`);
    rec.data = r.bytes(dataBytes);
    records[i] = rec;
  }
  r.end();
  return { type: 'put', requestId, destination, records };
}

const EMPTY = Buffer.alloc(0);

/**
 * Splits a byte stream into frames. Chunks are kept as they come and joined
 * once per frame, so a large frame arriving in many small reads costs one
 * copy. After it has thrown, the decoder is poisoned: the stream has lost
 * its framing and the connection must close.
 *
 * @example
 * const decoder = new AgentFrameDecoder({ frameBytesMax: 8 << 20 });
 * for (const frame of decoder.push(chunk)) handle(frame);
 */
export class AgentFrameDecoder {
  readonly #frameBytesMax: number;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #failed: AgentSocketProtocolError | undefined;

  constructor(options: { frameBytesMax: number }) {
    this.#frameBytesMax = options.frameBytesMax;
  }

  /** Bytes held that do not yet make a whole frame. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  /** The error that poisoned the decoder, if any. */
  get error(): AgentSocketProtocolError | undefined {
    return this.#failed;
  }

  /**
   * Returns the whole frames the bytes so far complete. When the stream goes
   * bad after some good frames, those are returned and `error` is set (the
   * caller handles them, then the error); otherwise the error is thrown.
   */
  push(chunk: Uint8Array): AgentFrame[] {
    if (this.#failed) throw this.#failed;
    const out: AgentFrame[] = [];
    if (chunk.length > 0) {
      this.#chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.#bytes += chunk.length;
    }
    try {
      for (let frame = this.#next(); frame; frame = this.#next()) out.push(frame);
    } catch (err) {
      this.#failed = err instanceof AgentSocketProtocolError ? err : invalid(String((err as Error).message));
      this.#chunks = [];
      this.#bytes = 0;
      if (out.length === 0) throw this.#failed;
    }
    return out;
  }

  #next(): AgentFrame | undefined {
    if (this.#bytes < frameHeaderBytes) return undefined;
    const head = this.#peekHead();
    const length = head.readUInt32BE(0);
    if (length < 1) throw invalid('frame length 0');
    if (frameHeaderBytes - 1 + length > this.#frameBytesMax) {
      throw new AgentSocketProtocolError('AGENT_FRAME_TOO_LARGE', `frame of ${4 + length} bytes is over the limit of ${this.#frameBytesMax}`);
    }
    const type = head[4]!;
    if (type < frameType.hello || type > frameType.session) throw invalid(`unknown frame type ${type}`);
    const total = 4 + length;
    if (this.#bytes < total) return undefined;
    const whole = this.#take(total);
    return decodeFrameBody(type, whole.subarray(frameHeaderBytes));
  }

  #peekHead(): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= frameHeaderBytes) return first;
    const joined = Buffer.concat(this.#chunks);
    this.#chunks = [joined];
    return joined;
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    let whole: Buffer;
    if (first.length >= n) {
      whole = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      const joined = Buffer.concat(this.#chunks, this.#bytes);
      whole = joined.subarray(0, n);
      this.#chunks = joined.length > n ? [joined.subarray(n)] : [];
    }
    this.#bytes -= n;
    return whole;
  }
}
