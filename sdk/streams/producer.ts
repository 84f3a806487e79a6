/**
 * StreamProducer: the KPL's job in idiomatic TypeScript. `put` queues a
 * record and resolves with its sequence number once the gateway has it;
 * records are batched into PutRecords by count, bytes and linger time,
 * optionally KPL-aggregated (many small records in one Kinesis record),
 * paced per shard so the stream's limits are met rather than hammered, and
 * retried with exponential backoff and jitter — only the records that failed.
 * Memory is bounded: past `bufferedBytesMax`, `put` waits or rejects.
 *
 * @example
 * const producer = new StreamProducer({
 *   endpoint: 'https://gateway.local:4567', region: 'us-east-1', stream: 'telemetry',
 *   credentials: { accessKeyId, secretAccessKey }, ca, aggregate: true,
 * });
 * const { sequenceNumber } = await producer.put(Buffer.from('{"t":21.5}'), { partitionKey: 'dev-1' });
 * await producer.close();
 */
import { JsonRpcClient, type Credentials } from '../http/json-rpc-client.ts';
import { AwsError, TributaryError } from '../protocol/errors.ts';
import { aggregate } from '../protocol/kpl-aggregation.ts';
import { hashKeyFromDecimal, hashKeyOfPartitionKey, hashKeyToBigInt } from '../protocol/streams/hash-key.ts';
import * as limits from '../protocol/streams/limits.ts';

export interface StreamProducerOptions {
  endpoint: string;
  region: string;
  stream: string;
  credentials: Credentials;
  /** PEM CA to trust (the gateway's own CA); client certificate and key for mutual TLS. */
  ca?: string;
  cert?: string;
  key?: string;
  /** Pack small records into KPL aggregated records (readable by stock deaggregators). */
  aggregate?: boolean;
  /** Send a batch once this many records are queued (PutRecords allows 500). */
  batchRecordsMax?: number;
  /** ...or this many bytes (PutRecords allows 5 MiB). */
  batchBytesMax?: number;
  /** ...or when the oldest queued record has waited this long. */
  lingerMs?: number;
  /** Concurrent PutRecords requests. */
  requestsInFlightMax?: number;
  /** Memory bound on queued data; past it `put` waits (`onFull: 'wait'`) or rejects. */
  bufferedBytesMax?: number;
  onFull?: 'wait' | 'reject';
  /** Attempts per record before `put` rejects. */
  attemptsMax?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Pace sends to the per-shard write limits (1 MiB/s, 1,000 records/s). */
  rateLimit?: boolean;
}

export interface PutResult {
  shardId: string;
  sequenceNumber: string;
  /** Position inside an aggregated record (0 when not aggregated). */
  subSequenceNumber: number;
}

interface Pending {
  data: Buffer;
  partitionKey: string;
  explicitHashKey?: string;
  hashKey: bigint;
  bytes: number;
  attempts: number;
  notBeforeMs: number;
  resolve(r: PutResult): void;
  reject(err: Error): void;
}

interface ShardInfo {
  shardId: string;
  start: bigint;
  end: bigint;
  recordsTokens: number;
  bytesTokens: number;
  refilledMs: number;
}

export const producerDefaults = {
  batchRecordsMax: limits.putRecordsEntriesMax,
  batchBytesMax: limits.putRecordsBytesMax,
  lingerMs: 50,
  requestsInFlightMax: 4,
  bufferedBytesMax: 64 * 1024 * 1024,
  attemptsMax: 10,
  retryBaseMs: 100,
  retryMaxMs: 10_000,
  /** An aggregate stays under the record size limit with room for the envelope. */
  aggregateBytesMax: limits.recordDataBytesMax - 1024,
} as const;

/** Pacing: this share of each shard limit, with this much burst. */
const paceFraction = 0.95;
const burstSeconds = 0.5;
/** Re-read the shard map this often (resharding moves hash key ranges). */
const shardMapTtlMs = 60_000;
/** KPL envelope: magic and MD5; per entry: protobuf tags, lengths and indexes (at most). */
const aggregateEnvelopeBytes = 4 + 16;
const aggregateEntryOverheadBytes = 24;

const retryable = new Set(['ProvisionedThroughputExceededException', 'InternalFailure', 'ServiceUnavailableException', 'LimitExceededException', 'ThrottlingException']);

export class StreamProducer {
  private readonly o: Required<Omit<StreamProducerOptions, 'ca' | 'cert' | 'key'>>;
  private readonly client: JsonRpcClient;
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private inFlight = 0;
  private shards: ShardInfo[] | undefined;
  private shardsLoadedMs = 0;
  private shardsLoading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private spaceWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(options: StreamProducerOptions) {
    this.o = {
      aggregate: false,
      rateLimit: true,
      onFull: 'wait',
      ...producerDefaults,
      ...options,
    } as Required<Omit<StreamProducerOptions, 'ca' | 'cert' | 'key'>>;
    if (this.o.batchRecordsMax < 1 || this.o.batchRecordsMax > limits.putRecordsEntriesMax) {
      throw new TributaryError('PRODUCER_OPTIONS', `batchRecordsMax must be 1..${limits.putRecordsEntriesMax}`);
    }
    this.client = new JsonRpcClient({
      endpoint: options.endpoint, region: options.region, service: 'kinesis', targetPrefix: 'Kinesis_20131202', credentials: options.credentials,
      ...(options.ca ? { ca: options.ca } : {}), ...(options.cert ? { cert: options.cert, key: options.key! } : {}),
    });
  }

  /** Queues one record; resolves once the gateway has acknowledged it (durably). */
  async put(data: Uint8Array | string, options: { partitionKey: string; explicitHashKey?: string }): Promise<PutResult> {
    if (this.closed) throw new TributaryError('PRODUCER_CLOSED', 'the producer is closed');
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const pk = options.partitionKey;
    if (pk.length < 1 || pk.length > limits.partitionKeyLengthMax) throw new TributaryError('PRODUCER_INVALID', `partition keys are 1..${limits.partitionKeyLengthMax} characters`);
    if (buf.length > limits.recordDataBytesMax) throw new TributaryError('PRODUCER_INVALID', `records are at most ${limits.recordDataBytesMax} bytes (got ${buf.length})`);
    let hashKey: bigint;
    if (options.explicitHashKey !== undefined) {
      const k = hashKeyFromDecimal(options.explicitHashKey);
      if (!k) throw new TributaryError('PRODUCER_INVALID', `explicitHashKey must be a decimal in [0, 2^128-1] (got ${options.explicitHashKey})`);
      hashKey = hashKeyToBigInt(k);
    } else hashKey = hashKeyToBigInt(hashKeyOfPartitionKey(pk));
    const bytes = buf.length + Buffer.byteLength(pk);
    while (this.queuedBytes + bytes > this.o.bufferedBytesMax && this.queuedBytes > 0) {
      if (this.o.onFull === 'reject') throw new TributaryError('PRODUCER_FULL', `more than ${this.o.bufferedBytesMax} bytes are waiting to be sent`);
      await new Promise<void>((r) => this.spaceWaiters.push(r));
    }
    return new Promise<PutResult>((resolve, reject) => {
      this.queue.push({ data: buf, partitionKey: pk, ...(options.explicitHashKey !== undefined ? { explicitHashKey: options.explicitHashKey } : {}), hashKey, bytes, attempts: 0, notBeforeMs: 0, resolve, reject });
      this.queuedBytes += bytes;
      this.schedule();
    });
  }

  /** Sends everything queued now; resolves when nothing is queued or in flight. */
  async flush(): Promise<void> {
    if (!this.queue.length && !this.inFlight) return;
    const idle = new Promise<void>((r) => this.idleWaiters.push(r));
    this.pump(true);
    await idle;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.client.close();
  }

  private schedule(): void {
    if (this.queuedBytes >= this.o.batchBytesMax || this.queue.length >= this.o.batchRecordsMax) return this.pump(false);
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump(true);
      }, this.o.lingerMs);
    }
  }

  private async loadShards(): Promise<void> {
    this.shardsLoading ??= (async () => {
      const r = await this.client.call<{ Shards: Array<{ ShardId: string; HashKeyRange: { StartingHashKey: string; EndingHashKey: string } }> }>('ListShards', {
        StreamName: this.o.stream, ShardFilter: { Type: 'AT_LATEST' },
      });
      const now = Date.now();
      this.shardsLoadedMs = now;
      this.shards = r.Shards.map((s) => ({
        shardId: s.ShardId, start: BigInt(s.HashKeyRange.StartingHashKey), end: BigInt(s.HashKeyRange.EndingHashKey),
        recordsTokens: limits.shardWriteRecordsPerSecondMax * paceFraction * burstSeconds,
        bytesTokens: limits.shardWriteBytesPerSecondMax * paceFraction * burstSeconds,
        refilledMs: now,
      }));
    })().finally(() => (this.shardsLoading = undefined));
    return this.shardsLoading;
  }

  private shardOf(hashKey: bigint): ShardInfo | undefined {
    return this.shards?.find((s) => s.start <= hashKey && hashKey <= s.end);
  }

  /** Starts as many requests as the limits allow. `force` ignores the batch-size threshold (linger, flush). */
  private pump(force: boolean): void {
    while (this.inFlight < this.o.requestsInFlightMax && this.queue.length) {
      if (!force && this.queue.length < this.o.batchRecordsMax && this.queuedBytes < this.o.batchBytesMax) break;
      if (this.o.rateLimit && (!this.shards || Date.now() - this.shardsLoadedMs > shardMapTtlMs)) {
        void this.loadShards().then(
          () => this.pump(force),
          (err: Error) => {
            // No stream or no permission: nothing queued can ever be sent. Anything else: try again shortly.
            if (err instanceof AwsError && !retryable.has(err.type) && err.status < 500) this.failAll(err);
            else if (!this.timer) this.timer = setTimeout(() => ((this.timer = undefined), this.pump(true)), 1000);
          },
        );
        return;
      }
      const batch = this.takeBatch();
      if (!batch.entries.length) {
        // Everything queued is waiting for shard capacity or a retry delay.
        const wait = Math.max(5, batch.waitMs);
        if (!this.timer) this.timer = setTimeout(() => ((this.timer = undefined), this.pump(true)), wait);
        return;
      }
      this.inFlight++;
      void this.send(batch.entries).finally(() => {
        this.inFlight--;
        if (this.queue.length) this.pump(true);
        else if (!this.inFlight) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  /** Takes records for one PutRecords request, in queue order, within shard limits and batch size. */
  private takeBatch(): { entries: Array<{ records: Pending[]; bytes: number }>; waitMs: number } {
    const now = Date.now();
    const entries: Array<{ records: Pending[]; bytes: number }> = [];
    const aggregates = new Map<ShardInfo | undefined, { records: Pending[]; bytes: number }>();
    const kept: Pending[] = [];
    let requestBytes = 0;
    let waitMs = Infinity;
    if (this.shards) for (const s of this.shards) this.refill(s, now);
    for (const p of this.queue) {
      const full = entries.length >= this.o.batchRecordsMax || requestBytes + p.bytes > this.o.batchBytesMax;
      if (full || p.notBeforeMs > now) {
        if (!full) waitMs = Math.min(waitMs, p.notBeforeMs - now);
        kept.push(p);
        continue;
      }
      const shard = this.shardOf(p.hashKey);
      if (this.o.aggregate) {
        // A conservative per-record size (the key may already be in the table): no quadratic re-measuring.
        const cost = p.bytes + (p.explicitHashKey?.length ?? 0) + aggregateEntryOverheadBytes;
        let agg = aggregates.get(shard);
        const opensAggregate = !agg || agg.bytes + cost > producerDefaults.aggregateBytesMax;
        // One charge per record: a new aggregate also takes a record slot.
        if (this.o.rateLimit && shard && !this.charge(shard, opensAggregate ? 1 : 0, cost)) {
          waitMs = Math.min(waitMs, 50);
          kept.push(p);
          continue;
        }
        if (opensAggregate) {
          agg = { records: [], bytes: aggregateEnvelopeBytes };
          aggregates.set(shard, agg);
          entries.push(agg);
        }
        agg = agg!;
        agg.records.push(p);
        agg.bytes += cost;
        requestBytes += p.bytes;
      } else {
        if (this.o.rateLimit && shard && !this.charge(shard, 1, p.bytes)) {
          waitMs = Math.min(waitMs, 50);
          kept.push(p);
          continue;
        }
        entries.push({ records: [p], bytes: p.bytes });
        requestBytes += p.bytes;
      }
      this.queuedBytes -= p.bytes;
    }
    this.queue = kept;
    for (const w of this.spaceWaiters.splice(0)) w();
    return { entries, waitMs: waitMs === Infinity ? 0 : waitMs };
  }

  /**
   * Token buckets at 90% of the shard limits with half a second of burst: the
   * gateway counts at arrival, we count at departure, and network jitter
   * between the two must not push a window over its limit.
   */
  private refill(s: ShardInfo, now: number): void {
    const elapsed = (now - s.refilledMs) / 1000;
    const records = limits.shardWriteRecordsPerSecondMax * paceFraction;
    const bytes = limits.shardWriteBytesPerSecondMax * paceFraction;
    s.recordsTokens = Math.min(records * burstSeconds, s.recordsTokens + elapsed * records);
    s.bytesTokens = Math.min(bytes * burstSeconds, s.bytesTokens + elapsed * bytes);
    s.refilledMs = now;
  }

  private charge(s: ShardInfo, records: number, bytes: number): boolean {
    if (s.recordsTokens < records || s.bytesTokens < bytes) return false;
    s.recordsTokens -= records;
    s.bytesTokens -= bytes;
    return true;
  }

  private async send(entries: Array<{ records: Pending[]; bytes: number }>): Promise<void> {
    const Records = entries.map((e) => {
      const first = e.records[0]!;
      if (!this.o.aggregate) {
        return { Data: first.data.toString('base64'), PartitionKey: first.partitionKey, ...(first.explicitHashKey !== undefined ? { ExplicitHashKey: first.explicitHashKey } : {}) };
      }
      // The aggregate goes where its first record would: pin it with that record's hash key.
      return { Data: aggregate(e.records.map(toUser)).toString('base64'), PartitionKey: first.partitionKey, ExplicitHashKey: first.hashKey.toString() };
    });
    let result: { FailedRecordCount?: number; Records: Array<{ ShardId?: string; SequenceNumber?: string; ErrorCode?: string; ErrorMessage?: string }> };
    try {
      result = await this.client.call('PutRecords', { StreamName: this.o.stream, Records });
    } catch (err) {
      const e = err as Error;
      const retry = !(e instanceof AwsError) || retryable.has(e.type) || e.status >= 500;
      for (const entry of entries) this.retryOrFail(entry.records, retry, e);
      return;
    }
    result.Records.forEach((r, i) => {
      const entry = entries[i]!;
      if (r.SequenceNumber && r.ShardId) {
        entry.records.forEach((p, k) => p.resolve({ shardId: r.ShardId!, sequenceNumber: r.SequenceNumber!, subSequenceNumber: this.o.aggregate ? k : 0 }));
        return;
      }
      if (r.ErrorCode === 'ProvisionedThroughputExceededException') {
        // The gateway's view of the shard's budget wins: drain ours too.
        const shard = this.shardOf(entry.records[0]!.hashKey);
        if (shard) shard.recordsTokens = Math.min(shard.recordsTokens, 0);
      }
      this.retryOrFail(entry.records, true, new AwsError((r.ErrorCode ?? 'InternalFailure') as AwsError['type'], r.ErrorMessage));
    });
  }

  private retryOrFail(records: Pending[], retry: boolean, err: Error): void {
    const now = Date.now();
    const again: Pending[] = [];
    for (const p of records) {
      p.attempts++;
      if (!retry || p.attempts >= this.o.attemptsMax) {
        p.reject(err);
        continue;
      }
      // Exponential backoff with full jitter.
      const ceiling = Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** (p.attempts - 1));
      p.notBeforeMs = now + Math.random() * ceiling;
      again.push(p);
    }
    if (!again.length) return;
    // Back at the front, in their original order.
    this.queue = [...again, ...this.queue];
    for (const p of again) this.queuedBytes += p.bytes;
    if (err instanceof AwsError && err.type === 'ResourceNotFoundException') this.shards = undefined;
  }

  private failAll(err: Error): void {
    const all = this.queue.splice(0);
    this.queuedBytes = 0;
    for (const p of all) p.reject(err);
    for (const w of this.spaceWaiters.splice(0)) w();
    if (!this.inFlight) for (const w of this.idleWaiters.splice(0)) w();
  }
}

function toUser(p: Pending): { partitionKey: string; explicitHashKey?: string; data: Buffer } {
  return { partitionKey: p.partitionKey, ...(p.explicitHashKey !== undefined ? { explicitHashKey: p.explicitHashKey } : {}), data: p.data };
}
