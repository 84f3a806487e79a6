/**
 * The AWS event-stream encoding (`application/vnd.amazon.eventstream`), as
 * SubscribeToShard answers in. Each message is
 *
 *   total length (u32) | headers length (u32) | prelude CRC32 (u32) |
 *   headers | payload | message CRC32 (u32)
 *
 * all big-endian; the prelude CRC covers the first 8 bytes and the message
 * CRC everything before it. The checksum is the standard CRC-32 (IEEE, as
 * zlib's), not the CRC-32C of the shard log. A header is a name (u8 length,
 * UTF-8), a type tag and a value; the tags are those of
 * `@smithy/eventstream-codec` (0 true, 1 false, 2 byte, 3 short, 4 integer,
 * 5 long, 6 bytes, 7 string, 8 timestamp, 9 uuid).
 *
 * Pure: bytes in, values out. The gateway encodes with it and the SDK's
 * fan-out source decodes with it.
 *
 * @example
 * const bytes = encodeEventMessage({ headers: { ':message-type': 'event' }, body: new Uint8Array() });
 * const decoder = new EventStreamDecoder();
 * const [message] = decoder.push(bytes); // message.headers[':message-type'] === 'event'
 */

/** Header values: strings, booleans, numbers (written as 32-bit integers), bigints (64-bit), bytes, Dates. */
export type EventHeaderValue = string | boolean | number | bigint | Uint8Array | Date;

export interface EventMessage {
  headers: Record<string, EventHeaderValue>;
  body: Uint8Array;
}

/** The fixed overhead: prelude (12 bytes) and message CRC (4). */
export const eventMessageOverheadBytes = 16;
/** A message may be at most 16 MiB (the limit the AWS SDKs' decoders enforce). */
export const eventMessageBytesMax = 16 * 1024 * 1024;
/** Header names are at most 255 bytes, header values at most 32767. */
export const eventHeaderValueBytesMax = 32767;

const crcTable: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (IEEE 802.3, reflected, as zlib) of `bytes[start, end)`.
 * @example crc32(new TextEncoder().encode('123456789')) === 0xcbf43926
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Thrown for bytes that are not a well-formed event-stream message. */
export class EventStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventStreamError';
  }
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function encodeHeaders(headers: Record<string, EventHeaderValue>): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = utf8.encode(name);
    if (nameBytes.length === 0 || nameBytes.length > 255) throw new EventStreamError(`header name must be 1-255 bytes: ${name}`);
    const head = new Uint8Array(1 + nameBytes.length);
    head[0] = nameBytes.length;
    head.set(nameBytes, 1);
    const v = encodeHeaderValue(name, value);
    parts.push(head, v);
    size += head.length + v.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function encodeHeaderValue(name: string, value: EventHeaderValue): Uint8Array {
  if (typeof value === 'boolean') return Uint8Array.of(value ? 0 : 1);
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) throw new EventStreamError(`header ${name}: numbers must be 32-bit integers (use a bigint)`);
    const b = new Uint8Array(5);
    b[0] = 4;
    new DataView(b.buffer).setInt32(1, value, false);
    return b;
  }
  if (typeof value === 'bigint' || value instanceof Date) {
    const b = new Uint8Array(9);
    b[0] = typeof value === 'bigint' ? 5 : 8;
    new DataView(b.buffer).setBigInt64(1, typeof value === 'bigint' ? value : BigInt(value.getTime()), false);
    return b;
  }
  const bytes = typeof value === 'string' ? utf8.encode(value) : value;
  if (bytes.length > eventHeaderValueBytesMax) throw new EventStreamError(`header ${name}: value longer than ${eventHeaderValueBytesMax} bytes`);
  const b = new Uint8Array(3 + bytes.length);
  b[0] = typeof value === 'string' ? 7 : 6;
  new DataView(b.buffer).setUint16(1, bytes.length, false);
  b.set(bytes, 3);
  return b;
}

/** Encodes one message. */
export function encodeEventMessage(message: EventMessage): Uint8Array {
  const headers = encodeHeaders(message.headers);
  const total = eventMessageOverheadBytes + headers.length + message.body.length;
  if (total > eventMessageBytesMax) throw new EventStreamError(`message of ${total} bytes exceeds ${eventMessageBytesMax}`);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, total, false);
  view.setUint32(4, headers.length, false);
  view.setUint32(8, crc32(out, 0, 8), false);
  out.set(headers, 12);
  out.set(message.body, 12 + headers.length);
  view.setUint32(total - 4, crc32(out, 0, total - 4), false);
  return out;
}

/** Decodes exactly one whole message (the bytes of one frame, CRCs checked). */
export function decodeEventMessage(bytes: Uint8Array): EventMessage {
  if (bytes.length < eventMessageOverheadBytes) throw new EventStreamError(`message of ${bytes.length} bytes is shorter than the ${eventMessageOverheadBytes}-byte minimum`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const total = view.getUint32(0, false);
  const headersLength = view.getUint32(4, false);
  if (total !== bytes.length) throw new EventStreamError(`message declares ${total} bytes but has ${bytes.length}`);
  if (view.getUint32(8, false) !== crc32(bytes, 0, 8)) throw new EventStreamError('prelude CRC32 mismatch');
  if (view.getUint32(total - 4, false) !== crc32(bytes, 0, total - 4)) throw new EventStreamError('message CRC32 mismatch');
  if (headersLength > total - eventMessageOverheadBytes) throw new EventStreamError(`headers length ${headersLength} exceeds the message`);
  return {
    headers: decodeHeaders(bytes.subarray(12, 12 + headersLength)),
    body: bytes.subarray(12 + headersLength, total - 4),
  };
}

function decodeHeaders(b: Uint8Array): Record<string, EventHeaderValue> {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Record<string, EventHeaderValue> = {};
  let at = 0;
  const need = (n: number) => {
    if (at + n > b.length) throw new EventStreamError('truncated header');
  };
  while (at < b.length) {
    need(1);
    const nameLength = b[at++]!;
    need(nameLength + 1);
    const name = utf8Decoder.decode(b.subarray(at, at + nameLength));
    at += nameLength;
    const tag = b[at++]!;
    switch (tag) {
      case 0: case 1: out[name] = tag === 0; break;
      case 2: need(1); out[name] = view.getInt8(at); at += 1; break;
      case 3: need(2); out[name] = view.getInt16(at, false); at += 2; break;
      case 4: need(4); out[name] = view.getInt32(at, false); at += 4; break;
      case 5: need(8); out[name] = view.getBigInt64(at, false); at += 8; break;
      case 8: need(8); out[name] = new Date(Number(view.getBigInt64(at, false))); at += 8; break;
      case 6: case 7: {
        need(2);
        const n = view.getUint16(at, false);
        at += 2;
        need(n);
        const v = b.subarray(at, at + n);
        out[name] = tag === 7 ? utf8Decoder.decode(v) : v.slice();
        at += n;
        break;
      }
      case 9: need(16); out[name] = b.slice(at, at + 16); at += 16; break;
      default: throw new EventStreamError(`unknown header type ${tag} for ${name}`);
    }
  }
  return out;
}

/**
 * Splits a byte stream, arriving in chunks of any size, into messages.
 * `push` returns the messages the chunk completed; `finish` throws when the
 * stream ended in the middle of one.
 */
export class EventStreamDecoder {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  push(chunk: Uint8Array): EventMessage[] {
    const out: EventMessage[] = [];
    if (chunk.length) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    while (this.pendingBytes >= 4) {
      const head = this.peek(4);
      const total = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, false);
      if (total < eventMessageOverheadBytes || total > eventMessageBytesMax) throw new EventStreamError(`message length ${total} out of range`);
      if (this.pendingBytes < total) break;
      out.push(decodeEventMessage(this.take(total)));
    }
    return out;
  }

  /** Bytes received but not yet part of a whole message. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  finish(): void {
    if (this.pendingBytes) throw new EventStreamError(`stream ended inside a message (${this.pendingBytes} bytes left)`);
  }

  private peek(n: number): Uint8Array {
    const first = this.pending[0]!;
    if (first.length >= n) return first.subarray(0, n);
    this.pending = [concat(this.pending, this.pendingBytes)];
    return this.pending[0]!.subarray(0, n);
  }

  private take(n: number): Uint8Array {
    const first = this.pending[0]!;
    if (first.length < n) this.pending = [concat(this.pending, this.pendingBytes)];
    const joined = this.pending[0]!;
    const message = joined.subarray(0, n);
    if (joined.length === n) this.pending.shift();
    else this.pending[0] = joined.subarray(n);
    this.pendingBytes -= n;
    return message;
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// The message shapes the AWS JSON protocols use on top of the framing.

/** An `event` message with a JSON payload (`:event-type` names the union member). */
export function jsonEventMessage(eventType: string, payload: Uint8Array): EventMessage {
  return { headers: { ':event-type': eventType, ':content-type': 'application/json', ':message-type': 'event' }, body: payload };
}

/** An `exception` message: the SDKs throw it as the modelled error `exceptionType`. */
export function jsonExceptionMessage(exceptionType: string, message: string): EventMessage {
  return {
    headers: { ':exception-type': exceptionType, ':content-type': 'application/json', ':message-type': 'exception' },
    body: utf8.encode(JSON.stringify({ message })),
  };
}
