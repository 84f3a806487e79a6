/**
 * Where a running application's records come from: a data stream of this
 * gateway (every shard, children after their parents once a reshard closed
 * them) or a delivery stream of this gateway (its staging log, which holds
 * every record PutRecord/PutRecordBatch accepted until it is delivered).
 * Both are logs read by counter, so a position per shard is all a reader
 * keeps, and a checkpoint of those positions is all a restart needs.
 *
 * Readers wake on new durable records (the streams' write path notifies) or
 * after `sourceIdleWaitMs`, whichever comes first; a delivery stream's
 * staging has no notifications and is polled every `stagingPollMs`.
 */
import type { StoredRecord } from '../../storage/types.ts';
import type { FirehoseRegistry } from '../../firehose/registry.ts';
import type { ShardRuntime, StreamRuntime } from '../../streams/model.ts';
import { incarnationOf } from '../../streams/model.ts';
import type { StreamRegistry } from '../../streams/registry.ts';
import { waitForDurable } from '../../streams/shard-wakeups.ts';
import { deaggregate, KplFormatError } from '../../../sdk/protocol/kpl-aggregation.ts';

/** A reader with nothing to read waits this long for a notification before it looks again (new shards, a re-created stream). */
export const sourceIdleWaitMs = 250;
/** Delivery-stream staging has no wake-ups: it is polled. */
export const stagingPollMs = 25;
/** Per shard and read. */
export const sourceReadRecordsMax = 1000;
export const sourceReadBytesMax = 1024 * 1024;

/** One record as the application sees it. */
export interface SourceRecord {
  data: Buffer;
  arrivalMs: number;
  partitionKey: string;
  sequenceNumber: string;
  /** `shardId-000000000003`, or the delivery stream's name. */
  shardId: string;
}

/** Next counter to read per shard index, for one incarnation of the source. */
export interface SourcePositions {
  incarnation: number;
  shards: Record<string, number>;
}

export type StartAt = 'NOW' | 'TRIM_HORIZON' | { positions: SourcePositions };

/** A source of records read in batches; `next` resolves with a batch (maybe empty after a wait). */
export interface RecordSource {
  next(signal: AbortSignal): Promise<SourceRecord[]>;
  /** Positions after the last batch `next` returned. */
  positions(): SourcePositions;
}

/** KPL aggregates become their user records, as KDA reads them (a malformed aggregate passes as it is). */
function userRecords(rec: StoredRecord, data: Buffer): Array<{ data: Buffer; partitionKey: string }> {
  try {
    const users = deaggregate(data);
    if (users) return users.map((u) => ({ data: Buffer.from(u.data), partitionKey: u.partitionKey }));
  } catch (err) {
    if (!(err instanceof KplFormatError)) throw err;
  }
  return [{ data, partitionKey: rec.partitionKey }];
}

export class StreamRecordSource implements RecordSource {
  private pos: SourcePositions;
  private rr = 0;

  constructor(
    private readonly registry: StreamRegistry,
    private readonly streamName: string,
    start: StartAt,
  ) {
    this.pos = this.initial(start);
  }

  private stream(): StreamRuntime | undefined {
    const rt = this.registry.find(this.streamName);
    return rt && rt.meta.status !== 'CREATING' && rt.meta.status !== 'DELETING' ? rt : undefined;
  }

  private initial(start: StartAt): SourcePositions {
    const rt = this.stream();
    if (typeof start === 'object') return start.positions;
    if (!rt) return { incarnation: 0, shards: {} };
    const shards: Record<string, number> = {};
    for (const s of rt.shards) shards[String(s.meta.index)] = start === 'NOW' ? s.log.durableCounter : s.log.firstCounter();
    return { incarnation: incarnationOf(rt.meta), shards };
  }

  positions(): SourcePositions {
    return { incarnation: this.pos.incarnation, shards: { ...this.pos.shards } };
  }

  /** A shard is readable once its parents are read to their end (per-key order across a reshard). */
  private readable(rt: StreamRuntime, s: ShardRuntime): boolean {
    for (const p of [s.meta.parentIndex, s.meta.adjacentParentIndex]) {
      if (p === undefined) continue;
      const parent = rt.shard(p);
      if (parent && parent.meta.endCounter !== undefined && (this.pos.shards[String(p)] ?? 0) < parent.meta.endCounter && parent.log.firstCounter() < parent.meta.endCounter) return false;
    }
    return true;
  }

  async next(signal: AbortSignal): Promise<SourceRecord[]> {
    const rt = this.stream();
    if (!rt) {
      await sleep(sourceIdleWaitMs, signal);
      return [];
    }
    if (this.pos.incarnation !== incarnationOf(rt.meta)) this.pos = { incarnation: incarnationOf(rt.meta), shards: {} }; // re-created: read it from its start
    const shards = rt.shards;
    for (let k = 0; k < shards.length; k++) {
      const s = shards[(this.rr + k) % shards.length]!;
      const key = String(s.meta.index);
      const from = Math.max(this.pos.shards[key] ?? 0, s.log.firstCounter());
      // A log other processes append to (nats) learns of their records by reading: always read it.
      if ((from >= s.log.durableCounter && !s.log.shared) || !this.readable(rt, s)) continue;
      const { records, nextCounter } = await s.log.read(from, { limit: sourceReadRecordsMax, bytesMax: sourceReadBytesMax, arrivalMsMin: 0 });
      this.pos.shards[key] = nextCounter;
      this.rr = (this.rr + k + 1) % shards.length;
      const out: SourceRecord[] = [];
      for (const r of records) {
        const data = this.open(rt, r);
        for (const u of userRecords(r, data)) {
          out.push({ data: u.data, arrivalMs: r.arrivalMs, partitionKey: u.partitionKey, sequenceNumber: s.sequenceNumber(r.counter, r.arrivalMs), shardId: s.id });
        }
      }
      return out;
    }
    const open = rt.openShards;
    if (open.length === 0) await sleep(sourceIdleWaitMs, signal);
    else await Promise.race(open.map((s) => waitForDurable(s, sourceIdleWaitMs, signal)));
    return [];
  }

  private open(rt: StreamRuntime, r: StoredRecord): Buffer {
    if (!r.flags) return r.data;
    const keyId = rt.meta.keyIds[r.flags - 1];
    if (keyId === undefined) throw new Error(`record ${r.counter} of ${rt.meta.name} names unknown key slot ${r.flags}`);
    return this.registry.cipher.open(keyId, r.data);
  }
}

export class DeliveryStreamRecordSource implements RecordSource {
  private next_: number;
  private readonly incarnation: number;

  constructor(
    private readonly firehose: FirehoseRegistry,
    private readonly name: string,
    start: StartAt,
  ) {
    const rt = firehose.streams.get(name);
    this.incarnation = rt ? rt.meta.createdMs : 0;
    if (typeof start === 'object' && start.positions.incarnation === this.incarnation) this.next_ = start.positions.shards['0'] ?? 0;
    else this.next_ = rt ? rt.staging.durableCounter : 0;
  }

  positions(): SourcePositions {
    return { incarnation: this.incarnation, shards: { '0': this.next_ } };
  }

  async next(signal: AbortSignal): Promise<SourceRecord[]> {
    const rt = this.firehose.streams.get(this.name);
    if (!rt || rt.meta.createdMs !== this.incarnation || rt.staging.durableCounter <= this.next_) {
      await sleep(stagingPollMs, signal);
      return [];
    }
    const from = Math.max(this.next_, rt.staging.firstCounter());
    const { records, nextCounter } = await rt.staging.read(from, { limit: sourceReadRecordsMax, bytesMax: sourceReadBytesMax, arrivalMsMin: 0 });
    this.next_ = nextCounter;
    return records.map((r) => ({
      data: r.flags ? this.firehose.openStaged(rt, r) : r.data,
      arrivalMs: r.arrivalMs,
      partitionKey: '',
      sequenceNumber: String(r.counter),
      shardId: this.name,
    }));
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
