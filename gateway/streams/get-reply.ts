/**
 * GetRecords' answer written straight from the shard log's frames: one buffer
 * of exactly the answer's size, each record's base64 written into it from the
 * frame bytes, with no object, Date or Buffer per record and no string of
 * the whole answer. Its JSON is byte for byte what `toJsonText` makes of
 * `value()` (the objects, built only for CBOR); a unit test holds the two
 * together.
 */
import { selfEncoding, toJsonText, type SelfEncoding } from '../http/wire.ts';
import { frameArrivalMs, frameCounter, frameHeaderBytes, framePkBytes } from '../storage/local/record-codec.ts';
import type { FramesRead } from '../storage/types.ts';

/** What the answer needs of the shard: its records' sequence numbers. */
export interface ReplyShard {
  sequenceNumber(counter: number, recordMs: number): string;
}

const recordHead = '{"SequenceNumber":"';
const afterSequence = '","ApproximateArrivalTimestamp":';
const beforeData = ',"Data":"';
const beforeKey = '","PartitionKey":';

/** Writes a short one-byte string at `p`; returns its length. (A loop beats a call into C++ for a few dozen bytes.) */
function put(out: Buffer, p: number, s: string): number {
  for (let j = 0; j < s.length; j++) out[p + j] = s.charCodeAt(j);
  return s.length;
}

export class GetRecordsReply implements SelfEncoding {
  readonly #frames: FramesRead;
  readonly #shard: ReplyShard;
  /** The members after Records, in wire order (NextShardIterator and MillisBehindLatest, or MillisBehindLatest and ChildShards). */
  readonly #rest: Record<string, unknown>;

  /** Only for frames without flags (not encrypted): their partition keys and data are the records'. */
  constructor(frames: FramesRead, shard: ReplyShard, rest: Record<string, unknown>) {
    this.#frames = frames;
    this.#shard = shard;
    this.#rest = rest;
  }

  get [selfEncoding]() {
    return { value: () => this.#value(), json: () => this.#json() };
  }

  #value(): Record<string, unknown> {
    const { count, chunks, chunkOf, at } = this.#frames;
    const Records = [];
    for (let i = 0; i < count; i++) {
      const buf = chunks[chunkOf[i]!]!;
      const a = at[i]!;
      const total = buf.readUInt32LE(a) + 4;
      const pkEnd = a + frameHeaderBytes + framePkBytes(buf, a);
      const arrivalMs = frameArrivalMs(buf, a);
      Records.push({
        SequenceNumber: this.#shard.sequenceNumber(frameCounter(buf, a), arrivalMs),
        ApproximateArrivalTimestamp: new Date(arrivalMs),
        Data: Buffer.from(buf.subarray(pkEnd, a + total)),
        PartitionKey: buf.toString('utf8', a + frameHeaderBytes, pkEnd),
      });
    }
    return { Records, ...this.#rest };
  }

  #json(): Buffer {
    const { count, chunks, chunkOf, at } = this.#frames;
    // First the variable parts and the exact size, then one pass writing them.
    const sequences = new Array<string>(count);
    const times = new Array<string>(count);
    const keys = new Array<string>(count);
    let size = '{"Records":['.length + Math.max(0, count - 1) + 1;
    let nonAscii = false;
    const fixed = recordHead.length + afterSequence.length + beforeData.length + beforeKey.length + 1;
    for (let i = 0; i < count; i++) {
      const buf = chunks[chunkOf[i]!]!;
      const a = at[i]!;
      const total = buf.readUInt32LE(a) + 4;
      const pkBytes = framePkBytes(buf, a);
      const arrivalMs = frameArrivalMs(buf, a);
      const seq = this.#shard.sequenceNumber(frameCounter(buf, a), arrivalMs);
      const time = String(arrivalMs / 1000);
      const key = JSON.stringify(buf.toString('utf8', a + frameHeaderBytes, a + frameHeaderBytes + pkBytes));
      const keyBytes = Buffer.byteLength(key, 'utf8');
      sequences[i] = seq;
      times[i] = time;
      keys[i] = key;
      if (keyBytes !== key.length) nonAscii = true;
      const dataBytes = total - frameHeaderBytes - pkBytes;
      size += fixed + seq.length + time.length + 4 * Math.ceil(dataBytes / 3) + keyBytes;
    }
    let tail = '';
    for (const k in this.#rest) {
      const v = this.#rest[k];
      if (v !== undefined) tail += `,${JSON.stringify(k)}:${toJsonText(v)}`;
    }
    tail += '}';
    size += Buffer.byteLength(tail, 'utf8');
    const out = Buffer.allocUnsafe(size);
    let p = out.write('{"Records":[', 0, 'latin1');
    for (let i = 0; i < count; i++) {
      const buf = chunks[chunkOf[i]!]!;
      const a = at[i]!;
      const total = buf.readUInt32LE(a) + 4;
      const pkEnd = a + frameHeaderBytes + framePkBytes(buf, a);
      if (i) out[p++] = 0x2c; // ,
      p += put(out, p, recordHead);
      p += put(out, p, sequences[i]!);
      p += put(out, p, afterSequence);
      p += put(out, p, times[i]!);
      p += put(out, p, beforeData);
      if (total > pkEnd - a) p += out.write(buf.toString('base64', pkEnd, a + total), p, 'latin1');
      p += put(out, p, beforeKey);
      p += nonAscii ? out.write(keys[i]!, p, 'utf8') : put(out, p, keys[i]!);
      out[p++] = 0x7d; // }
    }
    out[p++] = 0x5d; // ]
    p += out.write(tail, p, 'utf8');
    if (p !== size) throw new Error(`GetRecords answer sized ${size} bytes, wrote ${p}`);
    return out;
  }
}
