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
    return { value: () => this.#value(), json: () => this.#json(), jsonPieces: (pieceBytesMax: number) => this.#pieces(pieceBytesMax) };
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

  /** The whole answer in one buffer (tests, and where it is small). */
  #json(): Buffer {
    const { size, pieces } = this.#pieces(Infinity);
    const [only] = pieces;
    if (only!.length !== size) throw new Error(`GetRecords answer sized ${size} bytes, wrote ${only!.length}`);
    return only!;
  }

  /**
   * The answer in pieces of at most `pieceBytesMax` bytes (or one record's, when that is more),
   * each made only when the one before it has been taken: a 10 MiB answer (15 MB of JSON) is
   * never whole in memory while it goes out, which kept the gateway's peak RSS under
   * GetRecords well above the PutRecords phases' (issue #19). `size` is the answer's exact length.
   */
  #pieces(pieceBytesMax: number): { size: number; pieces: Iterable<Buffer> } {
    const { count, chunks, chunkOf, at } = this.#frames;
    // First the variable parts and the exact size, then the pieces.
    const sequences = new Array<string>(count);
    const times = new Array<string>(count);
    const keys = new Array<string>(count);
    const recordBytes = new Int32Array(count);
    const head = '{"Records":[';
    let size = head.length + Math.max(0, count - 1) + 1;
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
      // With the comma before it (every record but the first).
      recordBytes[i] = (i ? 1 : 0) + fixed + seq.length + time.length + 4 * Math.ceil(dataBytes / 3) + keyBytes;
      size += recordBytes[i]! - (i ? 1 : 0);
    }
    let tail = '';
    for (const k in this.#rest) {
      const v = this.#rest[k];
      if (v !== undefined) tail += `,${JSON.stringify(k)}:${toJsonText(v)}`;
    }
    tail = ']' + tail + '}';
    const tailBytes = Buffer.byteLength(tail, 'utf8');
    size += tailBytes - 1;
    function* pieces(): Generator<Buffer> {
      let i = 0;
      let first = true;
      while (first || i < count) {
        // Whole records up to the piece size (at least one); the head goes in the first piece, the tail in the last.
        let bytes = first ? head.length : 0;
        let end = i;
        while (end < count && (end === i || bytes + recordBytes[end]! <= pieceBytesMax)) bytes += recordBytes[end++]!;
        const last = end === count;
        if (last) bytes += tailBytes;
        const out = Buffer.allocUnsafe(bytes);
        let p = first ? out.write(head, 0, 'latin1') : 0;
        for (; i < end; i++) {
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
        if (last) p += out.write(tail, p, 'utf8');
        if (p !== bytes) throw new Error(`GetRecords answer piece sized ${bytes} bytes, wrote ${p}`);
        first = false;
        yield out;
      }
    }
    return { size, pieces: pieces() };
  }
}
