/**
 * Turning an object Firehose delivered back into the records it was made
 * of: open the encryption envelope (gateway/firehose/object-encryption.ts,
 * with the gateway's master key), undo the compression (told apart by the
 * bytes, not the name: gzip, ZIP, Snappy framing, Hadoop Snappy blocks),
 * read Parquet rows back as JSON, and split the body: KPL aggregates
 * (sdk/protocol/kpl-aggregation.ts) into their user records, or lines.
 * Pure except for zlib: bytes in, records out.
 */
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import * as snappyjs from 'snappyjs';
import { decryptObject, isEncryptedObject } from '../gateway/firehose/object-encryption.ts';
import { TributaryError } from '../sdk/protocol/errors.ts';
import { deaggregate, kplMagic, type UserRecord } from '../sdk/protocol/kpl-aggregation.ts';

export type SplitMode = 'auto' | 'lines' | 'kpl' | 'none';
export type BodyFormat = 'plain' | 'gzip' | 'zip' | 'snappy' | 'hadoop-snappy' | 'parquet';

const snappyStreamId = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
const parquetMagic = Buffer.from('PAR1');

export class ObjectFormatError extends TributaryError {
  constructor(message: string) {
    super('REPLAY_OBJECT_INVALID', message);
  }
}

/** The compression of a (decrypted) object body, from its first bytes; Hadoop Snappy has no magic, so its name says (.hsnappy). */
export function detectFormat(body: Buffer, name: string): BodyFormat {
  if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) return 'gzip';
  if (body.length >= 4 && body.readUInt32LE(0) === 0x04034b50) return 'zip';
  if (body.subarray(0, snappyStreamId.length).equals(snappyStreamId)) return 'snappy';
  if (body.length >= 8 && body.subarray(0, 4).equals(parquetMagic) && body.subarray(body.length - 4).equals(parquetMagic)) return 'parquet';
  if (/\.hsnappy$/i.test(name) || (/\.snappy$/i.test(name) && looksHadoopSnappy(body))) return 'hadoop-snappy';
  return 'plain';
}

function looksHadoopSnappy(b: Buffer): boolean {
  let at = 0;
  while (at + 8 <= b.length) {
    const n = b.readUInt32BE(at + 4);
    at += 8 + n;
  }
  return at === b.length && b.length > 0;
}

/** Opens the envelope when the object has one. */
export function openEnvelope(data: Buffer, masterKey: Buffer | undefined, name: string): Buffer {
  if (!isEncryptedObject(data)) return data;
  if (!masterKey) throw new TributaryError('REPLAY_KEY_MISSING', `${name} is encrypted (KMSEncryptionConfig): pass --data <gateway data dir> or --key-file <keys/master.key>`);
  return decryptObject(masterKey, data).body;
}

export function decompress(format: Exclude<BodyFormat, 'parquet'>, body: Buffer): Buffer {
  switch (format) {
    case 'plain':
      return body;
    case 'gzip':
      return zlib.gunzipSync(body); // Every member of a multi-member file.
    case 'zip':
      return unzipAll(body);
    case 'snappy':
      return unsnappyFramed(body);
    case 'hadoop-snappy':
      return unHadoopSnappy(body);
  }
}

/** framing_format.txt: stream identifier, then chunks `type(1) length(3, LE) data`. */
function unsnappyFramed(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  while (at < b.length) {
    if (at + 4 > b.length) throw new ObjectFormatError('Snappy stream ends inside a chunk header');
    const type = b[at]!;
    const n = b.readUIntLE(at + 1, 3);
    const data = b.subarray(at + 4, at + 4 + n);
    if (data.length !== n) throw new ObjectFormatError('Snappy stream ends inside a chunk');
    if (type === 0x00) out.push(Buffer.from(snappyjs.uncompress(data.subarray(4))));
    else if (type === 0x01) out.push(data.subarray(4));
    else if (type <= 0x7f) throw new ObjectFormatError(`unskippable Snappy chunk type ${type}`);
    at += 4 + n; // 0xff (stream identifier), 0xfe (padding) and 0x80-0xfd (skippable) carry no data.
  }
  return Buffer.concat(out);
}

/** Hadoop BlockCompressorStream: per block, u32 BE raw length, then u32 BE compressed length and the raw Snappy block. */
function unHadoopSnappy(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  while (at < b.length) {
    if (at + 8 > b.length) throw new ObjectFormatError('Hadoop Snappy stream ends inside a block header');
    const n = b.readUInt32BE(at + 4);
    if (at + 8 + n > b.length) throw new ObjectFormatError('Hadoop Snappy stream ends inside a block');
    out.push(Buffer.from(snappyjs.uncompress(b.subarray(at + 8, at + 8 + n))));
    at += 8 + n;
  }
  return Buffer.concat(out);
}

/** Every entry of a ZIP archive in central-directory order (APPNOTE 4.3.12, 4.3.16); stored or deflated. */
function unzipAll(b: Buffer): Buffer {
  const eocd = b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || eocd + 22 > b.length) throw new ObjectFormatError('ZIP archive without an end of central directory record');
  const entries = b.readUInt16LE(eocd + 10);
  let at = b.readUInt32LE(eocd + 16);
  const out: Buffer[] = [];
  for (let i = 0; i < entries; i++) {
    if (b.readUInt32LE(at) !== 0x02014b50) throw new ObjectFormatError('damaged ZIP central directory');
    const method = b.readUInt16LE(at + 10);
    const size = b.readUInt32LE(at + 20);
    const local = b.readUInt32LE(at + 42);
    at += 46 + b.readUInt16LE(at + 28) + b.readUInt16LE(at + 30) + b.readUInt16LE(at + 32);
    const start = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
    const data = b.subarray(start, start + size);
    if (method === 0) out.push(data);
    else if (method === 8) out.push(zlib.inflateRawSync(data));
    else throw new ObjectFormatError(`ZIP compression method ${method} is not supported (stored and deflate are)`);
  }
  return Buffer.concat(out);
}

export interface SplitRecord {
  data: Buffer;
  partitionKey?: string;
  explicitHashKey?: string;
}

/** Splits a body into records: KPL aggregates, lines (newline dropped), or the whole body. */
export function splitBody(body: Buffer, mode: SplitMode): SplitRecord[] {
  if (body.length === 0) return [];
  if (mode === 'none') return [{ data: body }];
  if (mode === 'kpl' || (mode === 'auto' && body.subarray(0, 4).equals(kplMagic))) return splitAggregates(body);
  const out: SplitRecord[] = [];
  let start = 0;
  while (start < body.length) {
    let nl = body.indexOf(0x0a, start);
    if (nl < 0) nl = body.length;
    out.push({ data: body.subarray(start, nl) });
    start = nl + 1;
  }
  return out;
}

/**
 * Concatenated KPL aggregated records (Firehose writes records back to back):
 * each is magic, protobuf, MD5 of the protobuf. The protobuf has no length,
 * so its end is found by walking its fields until the next 16 bytes are the
 * MD5 of what was walked and another aggregate (or the end) follows.
 */
export function splitAggregates(body: Buffer): SplitRecord[] {
  const out: SplitRecord[] = [];
  let at = 0;
  while (at < body.length) {
    if (!body.subarray(at, at + 4).equals(kplMagic)) throw new ObjectFormatError(`no KPL aggregate at byte ${at} (use --split lines or none)`);
    const end = aggregateEnd(body, at);
    const users: UserRecord[] | undefined = deaggregate(body.subarray(at, end));
    if (!users) throw new ObjectFormatError(`bad KPL aggregate at byte ${at}`);
    for (const u of users) out.push({ data: Buffer.from(u.data), partitionKey: u.partitionKey, ...(u.explicitHashKey !== undefined ? { explicitHashKey: u.explicitHashKey } : {}) });
    at = end;
  }
  return out;
}

function aggregateEnd(b: Buffer, start: number): number {
  const protoStart = start + 4;
  const md5 = createHash('md5');
  let pos = protoStart;
  let hashed = protoStart;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10 && pos < b.length; i++) {
      const x = b[pos++]!;
      v += (x & 0x7f) * mul;
      if (x < 0x80) return v;
      mul *= 128;
    }
    throw new ObjectFormatError(`truncated KPL aggregate at byte ${start}`);
  };
  for (;;) {
    md5.update(b.subarray(hashed, pos));
    hashed = pos;
    const sum = b.subarray(pos, pos + 16);
    const after = pos + 16;
    if (sum.length === 16 && md5.copy().digest().equals(sum) && (after === b.length || b.subarray(after, after + 4).equals(kplMagic))) return after;
    if (pos >= b.length) throw new ObjectFormatError(`KPL aggregate at byte ${start} has no checksum`);
    const key = varint();
    if ((key & 7) !== 2) throw new ObjectFormatError(`unexpected protobuf field in the KPL aggregate at byte ${start}`);
    const n = varint(); // Not `pos += varint()`: that reads pos before the varint moves it.
    pos += n;
    if (pos > b.length) throw new ObjectFormatError(`truncated KPL aggregate at byte ${start}`);
  }
}

/** Parquet rows (Firehose's record format conversion) as compact JSON objects, columns in file order, nulls left out. */
export async function parquetRecords(body: Buffer): Promise<SplitRecord[]> {
  const { parquetReadObjects } = await import('hyparquet');
  const file = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  const rows = await parquetReadObjects({ file, compressors: { GZIP: (input: Uint8Array) => new Uint8Array(zlib.gunzipSync(input)) } });
  return rows.map((row) => {
    const doc: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      if (v === null || v === undefined) continue;
      doc[k] = typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v instanceof Date ? v.toISOString() : v;
    }
    return { data: Buffer.from(JSON.stringify(doc), 'utf8') };
  });
}
