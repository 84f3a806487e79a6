/**
 * The KPL aggregated-record format (amazon-kinesis-producer,
 * aggregation-format.md), so that many small user records travel as one
 * Kinesis record and stock deaggregators (aws-kinesis-agg, the KCL) read them:
 *
 *   magic F3 89 9A C2 | protobuf AggregatedRecord | MD5(protobuf) (16 bytes)
 *
 *   message AggregatedRecord {
 *     repeated string partition_key_table = 1;
 *     repeated string explicit_hash_key_table = 2;
 *     repeated Record records = 3;
 *   }
 *   message Record {
 *     required uint64 partition_key_index = 1;
 *     optional uint64 explicit_hash_key_index = 2;
 *     required bytes data = 3;
 *     repeated Tag tags = 4;   // ignored here
 *   }
 *
 * Pure: bytes in, values out; the protobuf subset is hand-written (varints,
 * length-delimited fields), with every length checked against the input.
 */
import { createHash } from 'node:crypto';

export const kplMagic = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
const checksumBytes = 16;

export interface UserRecord {
  partitionKey: string;
  explicitHashKey?: string;
  data: Uint8Array;
}

class Writer {
  private chunks: Buffer[] = [];
  varint(n: number): void {
    const b: number[] = [];
    while (n >= 0x80) {
      b.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    b.push(n);
    this.chunks.push(Buffer.from(b));
  }
  bytes(field: number, data: Uint8Array): void {
    this.varint((field << 3) | 2);
    this.varint(data.length);
    this.chunks.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }
  uint(field: number, n: number): void {
    this.varint(field << 3);
    this.varint(n);
  }
  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Encodes user records as one aggregated record's data. */
export function aggregate(records: UserRecord[]): Buffer {
  const keys = new Map<string, number>();
  const ehks = new Map<string, number>();
  const body = new Writer();
  const recs: Buffer[] = [];
  for (const r of records) {
    let pk = keys.get(r.partitionKey);
    if (pk === undefined) {
      pk = keys.size;
      keys.set(r.partitionKey, pk);
    }
    const w = new Writer();
    w.uint(1, pk);
    if (r.explicitHashKey !== undefined) {
      let e = ehks.get(r.explicitHashKey);
      if (e === undefined) {
        e = ehks.size;
        ehks.set(r.explicitHashKey, e);
      }
      w.uint(2, e);
    }
    w.bytes(3, r.data);
    recs.push(w.finish());
  }
  for (const k of keys.keys()) body.bytes(1, Buffer.from(k, 'utf8'));
  for (const k of ehks.keys()) body.bytes(2, Buffer.from(k, 'utf8'));
  for (const r of recs) body.bytes(3, r);
  const proto = body.finish();
  return Buffer.concat([kplMagic, proto, createHash('md5').update(proto).digest()]);
}

export class KplFormatError extends Error {
  override name = 'KplFormatError';
}

/**
 * Decodes an aggregated record's data into its user records, or returns
 * `undefined` when `data` is not an aggregate (no magic, or a bad checksum:
 * then it is a plain record that happens to start with the magic).
 */
export function deaggregate(data: Uint8Array): UserRecord[] | undefined {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < kplMagic.length + checksumBytes || !buf.subarray(0, 4).equals(kplMagic)) return undefined;
  const proto = buf.subarray(4, buf.length - checksumBytes);
  if (!createHash('md5').update(proto).digest().equals(buf.subarray(buf.length - checksumBytes))) return undefined;
  const keys: string[] = [];
  const ehks: string[] = [];
  const raw: Array<{ pk: number; ehk?: number; data: Buffer }> = [];
  for (const [field, value] of fields(proto)) {
    if (field === 1) keys.push((value as Buffer).toString('utf8'));
    else if (field === 2) ehks.push((value as Buffer).toString('utf8'));
    else if (field === 3) {
      let pk: number | undefined;
      let ehk: number | undefined;
      let recData: Buffer | undefined;
      for (const [f, v] of fields(value as Buffer)) {
        if (f === 1) pk = v as number;
        else if (f === 2) ehk = v as number;
        else if (f === 3) recData = v as Buffer;
      }
      if (pk === undefined || recData === undefined) throw new KplFormatError('aggregated record entry lacks partition_key_index or data');
      raw.push({ pk, ...(ehk !== undefined ? { ehk } : {}), data: recData });
    }
  }
  return raw.map((r) => {
    const partitionKey = keys[r.pk];
    if (partitionKey === undefined) throw new KplFormatError(`partition_key_index ${r.pk} out of range`);
    const explicitHashKey = r.ehk !== undefined ? ehks[r.ehk] : undefined;
    if (r.ehk !== undefined && explicitHashKey === undefined) throw new KplFormatError(`explicit_hash_key_index ${r.ehk} out of range`);
    return { partitionKey, ...(explicitHashKey !== undefined ? { explicitHashKey } : {}), data: r.data };
  });
}

/** Iterates protobuf fields: varints as numbers, length-delimited as Buffers (others skipped). */
function* fields(buf: Buffer): Generator<[number, number | Buffer]> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new KplFormatError('truncated varint');
      const b = buf[pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new KplFormatError('varint too long');
  };
  while (pos < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) yield [field, varint()];
    else if (wire === 2) {
      const n = varint();
      if (pos + n > buf.length) throw new KplFormatError('length-delimited field overruns the record');
      yield [field, buf.subarray(pos, pos + n)];
      pos += n;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new KplFormatError(`unsupported protobuf wire type ${wire}`);
  }
}
