/**
 * PutRecords' answer, built from the compact trace the write path produces
 * (shard groups, and per record its group or error): `Records` as objects
 * only when something asks for them (CBOR, tests), and the JSON text written
 * straight from the trace, byte for byte what `toJsonText` makes of the
 * objects (a unit test holds the two together).
 */
import { selfEncoding, type SelfEncoding } from '../http/wire.ts';
import type { PutTrace } from './idempotency.ts';
import type { PutResult } from './write-path.ts';

/** What a group's shard must offer: its id and the sequence numbers of its records. */
export interface ReplyShard {
  id: string;
  sequenceNumber(counter: number, recordMs: number): string;
  /**
   * When present, the sequence numbers of one arrival time are this far
   * apart from one counter to the next (AWS's layout: 2^80), and the answer
   * writes them by decimal addition instead of formatting each (issue #19).
   */
  readonly sequenceCounterStep?: bigint;
}

/**
 * Adds the decimal digits `step` to the decimal digits `d[from, to)` in
 * place (ASCII, both right-aligned); false when the sum would need another digit.
 */
function addDecimal(d: Uint8Array, from: number, to: number, step: Uint8Array): boolean {
  let carry = 0;
  let j = step.length - 1;
  for (let i = to - 1; i >= from; i--, j--) {
    if (j < 0 && carry === 0) return true;
    const sum = d[i]! - 48 + (j >= 0 ? step[j]! - 48 : 0) + carry;
    carry = sum >= 10 ? 1 : 0;
    d[i] = 48 + sum - 10 * carry;
  }
  return carry === 0 && j < 0;
}

export class PutRecordsReply implements SelfEncoding {
  readonly FailedRecordCount: number;
  /** The per-record results in request order (an enumerable getter: built on first use, and compared by value in tests). */
  declare readonly Records: PutResult[];
  readonly EncryptionType: string;
  readonly #trace: PutTrace;
  readonly #shards: readonly ReplyShard[];
  #records: PutResult[] | undefined;

  /** `shards`: the shard of each of `trace.groups`. */
  constructor(trace: PutTrace, shards: readonly ReplyShard[], encryptionType: string) {
    this.#trace = trace;
    this.#shards = shards;
    let failed = 0;
    for (const slot of trace.slots) if (slot < 0) failed++;
    this.FailedRecordCount = failed;
    Object.defineProperty(this, 'Records', { enumerable: true, get: () => (this.#records ??= this.#materialize()) });
    this.EncryptionType = encryptionType;
  }

  #materialize(): PutResult[] {
    const { groups, slots, errors } = this.#trace;
    const next = new Int32Array(groups.length);
    return Array.from(slots, (slot) => {
      if (slot < 0) {
        const [ErrorCode, ErrorMessage] = errors[-1 - slot]!;
        return { ErrorCode, ErrorMessage };
      }
      const g = groups[slot]!;
      return { ShardId: g.shardId, SequenceNumber: this.#shards[slot]!.sequenceNumber(g.firstCounter + next[slot]!++, g.arrivalMs) };
    });
  }

  /** How many records failed with `code` (ProvisionedThroughputExceededException, InternalFailure). */
  countOf(code: string): number {
    const { slots, errors } = this.#trace;
    let n = 0;
    for (const slot of slots) if (slot < 0 && errors[-1 - slot]![0] === code) n++;
    return n;
  }

  get [selfEncoding]() {
    return {
      value: () => ({ FailedRecordCount: this.FailedRecordCount, Records: this.Records, EncryptionType: this.EncryptionType }),
      json: () => this.#json(),
    };
  }

  #json(): Buffer {
    return this.#jsonByAddition() ?? this.#jsonByFormatting();
  }

  /**
   * The JSON in one buffer of its exact size, each group's sequence numbers
   * made from the one before by adding the shard's counter step in decimal:
   * no BigInt, string or concatenation per record. Undefined when a shard
   * has no step or a group's numbers do not all have one length (the
   * general path then writes the answer).
   */
  #jsonByAddition(): Buffer | undefined {
    const { groups, slots, errors } = this.#trace;
    const shards = this.#shards;
    // Per group, its current record's whole entry, `{"ShardId":…,"SequenceNumber":"…"}`, with the digits at [digitsAt, digitsEnd).
    const entries: Buffer[] = [];
    const digitsAt: number[] = [];
    const steps: Uint8Array[] = [];
    for (let g = 0; g < groups.length; g++) {
      const step = shards[g]!.sequenceCounterStep;
      const group = groups[g]!;
      if (step === undefined) return undefined;
      const first = shards[g]!.sequenceNumber(group.firstCounter, group.arrivalMs);
      if (group.count > 1 && shards[g]!.sequenceNumber(group.firstCounter + group.count - 1, group.arrivalMs).length !== first.length) return undefined;
      const prefix = `{"ShardId":${JSON.stringify(group.shardId)},"SequenceNumber":"`;
      entries.push(Buffer.from(`${prefix}${first}"}`, 'utf8'));
      digitsAt.push(Buffer.byteLength(prefix, 'utf8'));
      steps.push(Buffer.from(step.toString(10), 'latin1'));
    }
    const errorTexts = errors.map(([code, message]) => Buffer.from(`{"ErrorCode":${JSON.stringify(code)},"ErrorMessage":${JSON.stringify(message)}}`, 'utf8'));
    const head = Buffer.from(`{"FailedRecordCount":${this.FailedRecordCount},"Records":[`, 'latin1');
    const tail = Buffer.from(`],"EncryptionType":${JSON.stringify(this.EncryptionType)}}`, 'utf8');
    let size = head.length + tail.length + Math.max(0, slots.length - 1);
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      size += slot < 0 ? errorTexts[-1 - slot]!.length : entries[slot]!.length;
    }
    const out = Buffer.allocUnsafe(size);
    let p = head.copy(out, 0);
    const started = new Uint8Array(groups.length);
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      if (i) out[p++] = 0x2c; // ,
      const entry = slot < 0 ? errorTexts[-1 - slot]! : entries[slot]!;
      // A group's first record has the number formatted above; each later one the next counter's.
      if (slot >= 0) {
        if (started[slot] && !addDecimal(entry, digitsAt[slot]!, entry.length - 2, steps[slot]!)) return undefined;
        started[slot] = 1;
      }
      out.set(entry, p);
      p += entry.length;
    }
    p += tail.copy(out, p);
    if (p !== size) throw new Error(`PutRecords answer sized ${size} bytes, wrote ${p}`);
    return out;
  }

  #jsonByFormatting(): Buffer {
    const { groups, slots, errors } = this.#trace;
    const next = new Int32Array(groups.length);
    const prefixes = groups.map((g) => `{"ShardId":${JSON.stringify(g.shardId)},"SequenceNumber":"`);
    let s = `{"FailedRecordCount":${this.FailedRecordCount},"Records":[`;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      if (i) s += ',';
      if (slot < 0) {
        const [code, message] = errors[-1 - slot]!;
        s += `{"ErrorCode":${JSON.stringify(code)},"ErrorMessage":${JSON.stringify(message)}}`;
        continue;
      }
      const g = groups[slot]!;
      s += prefixes[slot]! + this.#shards[slot]!.sequenceNumber(g.firstCounter + next[slot]!++, g.arrivalMs) + '"}';
    }
    s += `],"EncryptionType":${JSON.stringify(this.EncryptionType)}}`;
    return Buffer.from(s, 'utf8');
  }
}
