/**
 * KinesisStreamAsSource: a reader that copies records from a Data Streams
 * stream of this gateway into the delivery stream's staging log, from where
 * delivery proceeds as for DirectPut. KPL aggregates are de-aggregated on the
 * way, as Firehose does for Kinesis sources.
 *
 * Positions (per shard, the next counter to read) start at each shard's end
 * when the delivery stream is created (records written before are not
 * delivered, as with AWS's DeliveryStartTimestamp) and are saved atomically
 * (source.json on `local`, a KV key with compare-and-set on `nats`, where
 * one gateway process at a time runs the reader under a lease and another
 * continues from these positions when it dies) after the staged copy is
 * durable. A crash between the two
 * stages those records again: at least once, with duplicates possible in
 * that window. Reading pauses while staging is at its cap, so a destination
 * that is down holds records back in the source stream (within its retention)
 * instead of dropping them.
 */
import type { Logger } from '../log.ts';
import type { MetadataStore, StoredRecord } from '../storage/types.ts';
import { deaggregate, KplFormatError } from '../../sdk/protocol/kpl-aggregation.ts';

/** How often shards are polled for new records. */
export const sourcePollMs = 200;
/** Per shard and poll. */
export const sourceReadRecordsMax = 10_000;
export const sourceReadBytesMax = 4 * 1024 * 1024;

/** What the reader needs of the Data Streams side (an adapter over the stream registry). */
export interface SourceStreams {
  /** The stream's shards with their logs, and the stream's incarnation; undefined while it does not exist. */
  shardsOf(streamName: string): { incarnation: number; shards: Array<{ index: number; nextCounter: number; shared?: boolean; read(from: number): Promise<{ records: StoredRecord[]; nextCounter: number }> }> } | undefined;
  /** The record's data in the clear (records of an encrypted stream are sealed in the log). */
  open(streamName: string, record: StoredRecord): Buffer;
}

export interface SourcePositions {
  incarnation: number;
  /** Shard index -> next counter to read. */
  shards: Record<string, number>;
}

export interface StreamSourceOptions {
  deliveryStream: string;
  streamName: string;
  /** Where the positions are kept (Storage.jobState). */
  positions: MetadataStore<SourcePositions>;
  streams: SourceStreams;
  /**
   * Stages records durably; returns how many of the leading ones were taken
   * (the rest wait: staging is full). `sealed`: some came from an encrypted
   * stream, so staging must seal them too (issue #11, item 7).
   */
  stage(data: Buffer[], sealed: boolean): Promise<number>;
  log: Logger;
}

export class StreamSourceReader {
  private positions: SourcePositions | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly o: StreamSourceOptions) {}

  static async start(o: StreamSourceOptions, initial?: SourcePositions): Promise<StreamSourceReader> {
    const r = new StreamSourceReader(o);
    const saved = await o.positions.load();
    r.positions = saved ?? initial;
    if (initial && !saved) await o.positions.save(initial);
    r.arm();
    return r;
  }

  /** Positions at the end of every shard now: where a new delivery stream starts reading. */
  static latest(streams: SourceStreams, streamName: string): SourcePositions | undefined {
    const s = streams.shardsOf(streamName);
    if (!s) return undefined;
    return { incarnation: s.incarnation, shards: Object.fromEntries(s.shards.map((sh) => [String(sh.index), sh.nextCounter])) };
  }

  private arm(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.running = this.poll()
        .catch((err) => this.o.log.error('firehose source read failed', { deliveryStream: this.o.deliveryStream, stream: this.o.streamName, err: String((err as Error)?.message ?? err) }))
        .finally(() => {
          this.running = undefined;
          this.arm();
        });
    }, sourcePollMs);
    this.timer.unref();
  }

  /** One pass over the shards; returns once what was read is staged and the positions saved. */
  async poll(): Promise<void> {
    const source = this.o.streams.shardsOf(this.o.streamName);
    if (!source) return;
    if (!this.positions || this.positions.incarnation !== source.incarnation) {
      // A re-created stream: read the new incarnation from its start.
      this.positions = { incarnation: source.incarnation, shards: {} };
    }
    let moved = false;
    for (const shard of source.shards) {
      const from = this.positions.shards[String(shard.index)] ?? 0;
      // A log other processes append to (nats) learns of their records by reading: always read it.
      if (from >= shard.nextCounter && !shard.shared) continue;
      const { records, nextCounter } = await shard.read(from);
      const data: Buffer[] = [];
      const ends: number[] = [];
      for (const rec of records) {
        for (const d of this.userRecords(this.o.streams.open(this.o.streamName, rec))) data.push(d);
        ends.push(data.length);
      }
      const taken = data.length ? await this.o.stage(data, records.some((r) => r.flags !== 0)) : 0;
      // Advance past whole source records only: a partly staged aggregate is read again.
      let whole = 0;
      while (whole < records.length && ends[whole]! <= taken) whole++;
      const next = whole === records.length ? nextCounter : records[whole]!.counter;
      if (next !== from) {
        this.positions.shards[String(shard.index)] = next;
        moved = true;
      }
      if (whole < records.length) break; // staging is full: try again next poll
    }
    if (moved) await this.o.positions.save(this.positions);
  }

  private userRecords(data: Buffer): Buffer[] {
    try {
      const users = deaggregate(data);
      return users ? users.map((u) => Buffer.from(u.data)) : [data];
    } catch (err) {
      if (!(err instanceof KplFormatError)) throw err;
      return [data]; // not a well-formed aggregate: delivered as it is
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
