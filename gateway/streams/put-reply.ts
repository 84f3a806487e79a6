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
