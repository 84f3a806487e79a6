/**
 * A small CBOR (RFC 8949) codec for the `application/x-amz-cbor-1.1` wire
 * format that the AWS Java SDK, the KCL and the KPL speak by default.
 *
 * AWS's dialect: blobs are byte strings, and timestamps are tag 1 followed by
 * epoch *milliseconds* (the Java SDK's `SdkCborGenerator` writes
 * `Date.getTime()`), not RFC 8949's seconds. We decode tag 1 to a `Date` and
 * guess the unit from magnitude, so both dialects read correctly.
 *
 * Pure: bytes in, values out. Decoding is bounded (nesting depth, lengths
 * checked against the input) so hostile input cannot exhaust memory.
 */

export class CborError extends Error {
  override name = 'CborError';
}

const depthMax = 64;

export type CborValue =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Date
  | CborValue[]
  | { [key: string]: CborValue };

/** Decodes exactly one CBOR data item that fills `bytes`. */
export function cborDecode(bytes: Uint8Array): CborValue {
  const d = new Decoder(bytes);
  const value = d.item(0);
  if (d.pos !== bytes.length) throw new CborError(`trailing bytes after CBOR item at offset ${d.pos}`);
  return value;
}

class Decoder {
  pos = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length) throw new CborError('unexpected end of CBOR input');
  }

  private argument(info: number): number | bigint {
    if (info < 24) return info;
    switch (info) {
      case 24: this.need(1); return this.bytes[this.pos++]!;
      case 25: { this.need(2); const v = this.view.getUint16(this.pos); this.pos += 2; return v; }
      case 26: { this.need(4); const v = this.view.getUint32(this.pos); this.pos += 4; return v; }
      case 27: {
        this.need(8);
        const v = this.view.getBigUint64(this.pos);
        this.pos += 8;
        return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      default: throw new CborError(`invalid CBOR additional info ${info}`);
    }
  }

  private length(info: number): number {
    const n = this.argument(info);
    if (typeof n === 'bigint' || n > this.bytes.length - this.pos) {
      // A definite length can never exceed the bytes left (every element takes >= 1 byte).
      throw new CborError('CBOR length exceeds input');
    }
    return n;
  }

  item(depth: number): CborValue {
    if (depth > depthMax) throw new CborError('CBOR nesting too deep');
    this.need(1);
    const initial = this.bytes[this.pos++]!;
    const major = initial >> 5;
    const info = initial & 31;
    switch (major) {
      case 0: return this.argument(info);
      case 1: {
        const n = this.argument(info);
        return typeof n === 'bigint' ? -1n - n : -1 - n;
      }
      case 2: return info === 31 ? this.indefiniteBytes() : this.take(this.length(info));
      case 3: return info === 31 ? Buffer.from(this.indefiniteBytes()).toString('utf8') : this.text(this.length(info));
      case 4: {
        const out: CborValue[] = [];
        if (info === 31) {
          while (!this.isBreak()) out.push(this.item(depth + 1));
          return out;
        }
        const n = this.length(info);
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        const out: { [key: string]: CborValue } = Object.create(null);
        const entry = () => {
          const key = this.item(depth + 1);
          if (typeof key !== 'string' && typeof key !== 'number') throw new CborError('CBOR map key must be a string');
          out[String(key)] = this.item(depth + 1);
        };
        if (info === 31) {
          while (!this.isBreak()) entry();
        } else {
          const n = this.length(info);
          for (let i = 0; i < n; i++) entry();
        }
        return { ...out };
      }
      case 6: {
        const tag = this.argument(info);
        const value = this.item(depth + 1);
        if (tag === 1) {
          if (typeof value !== 'number') throw new CborError('CBOR tag 1 needs a number');
          // Java SDK writes milliseconds; RFC 8949 says seconds. Values above
          // 1e11 are milliseconds (1e11 seconds is the year 5138).
          // Round, since Date truncates: 273139546.455 s * 1000 is 273139546454.99997.
          return new Date(Math.abs(value) > 1e11 ? value : Math.round(value * 1000));
        }
        return value;
      }
      default: return this.simple(info);
    }
  }

  private simple(info: number): CborValue {
    switch (info) {
      case 20: return false;
      case 21: return true;
      case 22: return null;
      case 23: return undefined;
      case 25: { this.need(2); const v = halfToFloat(this.view.getUint16(this.pos)); this.pos += 2; return v; }
      case 26: { this.need(4); const v = this.view.getFloat32(this.pos); this.pos += 4; return v; }
      case 27: { this.need(8); const v = this.view.getFloat64(this.pos); this.pos += 8; return v; }
      case 31: throw new CborError('unexpected CBOR break');
      default:
        if (info < 24) return undefined;
        if (info === 24) { this.need(1); this.pos++; return undefined; }
        throw new CborError(`invalid CBOR simple value ${info}`);
    }
  }

  private isBreak(): boolean {
    this.need(1);
    if (this.bytes[this.pos] === 0xff) {
      this.pos++;
      return true;
    }
    return false;
  }

  private indefiniteBytes(): Uint8Array {
    const parts: Uint8Array[] = [];
    while (!this.isBreak()) {
      const initial = this.bytes[this.pos++]!;
      if (initial >> 5 !== 2 && initial >> 5 !== 3) throw new CborError('bad chunk in indefinite-length CBOR string');
      const info = initial & 31;
      if (info === 31) throw new CborError('nested indefinite-length CBOR string');
      parts.push(this.take(this.length(info)));
    }
    return Buffer.concat(parts);
  }

  private take(n: number): Uint8Array {
    this.need(n);
    // A copy, so a decoded blob never pins the whole request body.
    const out = Buffer.from(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  private text(n: number): string {
    this.need(n);
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, n).toString('utf8');
    this.pos += n;
    return s;
  }
}

function halfToFloat(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * 2 ** -14 * (mant / 1024);
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + mant / 1024);
}

/** Encodes a value as CBOR. `Date` becomes tag 1 with epoch milliseconds (AWS's dialect). */
export function cborEncode(value: unknown): Buffer {
  const e = new Encoder();
  e.write(value);
  return e.finish();
}

class Encoder {
  private chunks: Buffer[] = [];
  private buf = Buffer.allocUnsafe(4096);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.chunks.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(4096, n));
    this.pos = 0;
  }

  private head(major: number, n: number): void {
    this.ensure(9);
    const m = major << 5;
    if (n < 24) this.buf[this.pos++] = m | n;
    else if (n < 0x100) { this.buf[this.pos++] = m | 24; this.buf[this.pos++] = n; }
    else if (n < 0x10000) { this.buf[this.pos++] = m | 25; this.buf.writeUInt16BE(n, this.pos); this.pos += 2; }
    else if (n < 0x100000000) { this.buf[this.pos++] = m | 26; this.buf.writeUInt32BE(n, this.pos); this.pos += 4; }
    else { this.buf[this.pos++] = m | 27; this.buf.writeBigUInt64BE(BigInt(n), this.pos); this.pos += 8; }
  }

  private raw(bytes: Uint8Array): void {
    if (bytes.length > 1024) {
      this.chunks.push(this.buf.subarray(0, this.pos), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
      this.buf = Buffer.allocUnsafe(4096);
      this.pos = 0;
      return;
    }
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  write(value: unknown): void {
    if (value === null || value === undefined) { this.ensure(1); this.buf[this.pos++] = value === null ? 0xf6 : 0xf7; return; }
    switch (typeof value) {
      case 'boolean': this.ensure(1); this.buf[this.pos++] = value ? 0xf5 : 0xf4; return;
      case 'number':
        // -0 is a safe integer but has no integer encoding: it goes out as a float so it round-trips.
        if (Number.isSafeInteger(value) && !Object.is(value, -0)) {
          if (value >= 0) this.head(0, value);
          else this.head(1, -1 - value);
        } else {
          this.ensure(9);
          this.buf[this.pos++] = 0xfb;
          this.buf.writeDoubleBE(value, this.pos);
          this.pos += 8;
        }
        return;
      case 'bigint':
        if (value >= 0n) { this.ensure(9); this.buf[this.pos++] = 0x1b; this.buf.writeBigUInt64BE(value, this.pos); this.pos += 8; }
        else { this.ensure(9); this.buf[this.pos++] = 0x3b; this.buf.writeBigUInt64BE(-1n - value, this.pos); this.pos += 8; }
        return;
      case 'string': {
        const bytes = Buffer.from(value, 'utf8');
        this.head(3, bytes.length);
        this.raw(bytes);
        return;
      }
      case 'object':
        break;
      default:
        throw new CborError(`cannot encode ${typeof value} as CBOR`);
    }
    if (value instanceof Uint8Array) { this.head(2, value.length); this.raw(value); return; }
    if (value instanceof Date) { this.head(6, 1); this.write(value.getTime()); return; }
    if (Array.isArray(value)) {
      this.head(4, value.length);
      for (const v of value) this.write(v);
      return;
    }
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    this.head(5, entries.length);
    for (const [k, v] of entries) {
      this.write(k);
      this.write(v);
    }
  }

  finish(): Buffer {
    this.chunks.push(this.buf.subarray(0, this.pos));
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }
}
