/**
 * StreamConsumer: the KCL's job in idiomatic TypeScript. Workers (one per
 * process, any number of processes) share a lease table; each takes a fair
 * share of the stream's shards, reads them through a `ShardSource` (polling
 * by default, enhanced fan-out with `fanOut`), hands the handler
 * deaggregated records, and checkpoints after the handler's promise
 * resolves: at-least-once delivery, with duplicates after a crash bounded by
 * the checkpoint interval. A shard's children are read only once all its
 * parents are finished, so per-key order survives splits and merges.
 *
 * @example
 * const consumer = new StreamConsumer({
 *   endpoint: 'https://gateway.local:4567', region: 'us-east-1', credentials, ca, stream: 'telemetry',
 *   leases: new GatewayLeaseStore({ endpoint: 'https://gateway.local:4567', region: 'us-east-1', credentials, ca, table: 'billing' }),
 *   handler: async (records, { shardId }) => {
 *     for (const r of records) await save(shardId, r.partitionKey, r.data);
 *   },
 * });
 * await consumer.start();
 * process.once('SIGTERM', () => void consumer.stop());
 *
 * @example Enhanced fan-out: each shard is pushed to this application over
 * HTTP/2 (SubscribeToShard) instead of polled, with its own read throughput
 * and records within milliseconds of their put. The consumer is registered
 * on the stream on first use; subscriptions end after 5 minutes, as AWS's
 * do, and are renewed at once after the last record delivered.
 * const consumer = new StreamConsumer({
 *   endpoint: 'https://gateway.local:4567', region: 'us-east-1', credentials, ca, stream: 'telemetry',
 *   leases: new GatewayLeaseStore({ endpoint: 'https://gateway.local:4567', region: 'us-east-1', credentials, ca, table: 'billing' }),
 *   fanOut: { consumerName: 'billing' },
 *   handler: async (records) => { for (const r of records) await save(r.partitionKey, r.data); },
 * });
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { JsonRpcClient, type Credentials } from '../http/json-rpc-client.ts';
import { deaggregate } from '../protocol/kpl-aggregation.ts';
import { LeaseCoordinator, LeaseLostError } from './leases/lease-coordinator.ts';
import { FanOutShardSource } from './fanout-source.ts';
import { checkpointLatest, checkpointShardEnd, checkpointTrimHorizon, type Checkpoint, type Lease, type LeaseStore } from './leases/types.ts';
import { PollingShardSource, sleep } from './polling-source.ts';
import type { ChildShardRef, ShardSource, StartPosition, StreamRecord } from './shard-source.ts';

/** A user record: a plain Kinesis record, or one record out of a KPL aggregate. */
export interface ConsumerRecord {
  sequenceNumber: string;
  /** Index inside the aggregate (0 for plain records). */
  subSequenceNumber: number;
  partitionKey: string;
  explicitHashKey?: string;
  data: Uint8Array;
  approximateArrivalTimestampMs: number;
  aggregated: boolean;
}

export interface RecordContext {
  shardId: string;
  millisBehindLatest: number;
  /** Checkpoints at `record` (default: the last record of this batch). Rejects with `LEASE_LOST` if the shard moved to another worker. */
  checkpoint(record?: ConsumerRecord): Promise<void>;
}

export type RecordHandler = (records: ConsumerRecord[], ctx: RecordContext) => Promise<void> | void;

export type ConsumerEvent =
  | { type: 'leaseTaken' | 'leaseLost' | 'leaseReleased' | 'shardEnded'; shardId: string }
  | { type: 'checkpoint'; shardId: string; checkpoint: Checkpoint }
  | { type: 'error'; shardId?: string; error: Error };

export interface StreamConsumerOptions {
  endpoint: string;
  region: string;
  credentials: Credentials;
  ca?: string;
  cert?: string;
  key?: string;
  stream: string;
  /** Where leases and checkpoints live: `FileLeaseStore`, `GatewayLeaseStore` or `PostgresLeaseStore`. */
  leases: LeaseStore;
  handler: RecordHandler;
  /** Unique per worker process; default `<hostname>-<pid>-<random>`. */
  workerId?: string;
  /** `polling` (GetRecords, default) or any `ShardSource` (the caller closes it). Not together with `fanOut`. */
  source?: 'polling' | ShardSource;
  /**
   * Read with enhanced fan-out (SubscribeToShard) as this registered stream
   * consumer instead of polling: registered by name on first use unless
   * `consumerArn` is given. Every worker of one application uses the same
   * name; a lease names the shard, the consumer name the subscription.
   */
  fanOut?: StreamConsumerFanOut;
  /** Where shards without a checkpoint start (children of a finished shard always start at TRIM_HORIZON). */
  initialPosition?: 'TRIM_HORIZON' | 'LATEST';
  /** A lease not renewed for this long may be taken by another worker. */
  leaseDurationMs?: number;
  /** How often to look for free, expired or stealable leases. */
  takeIntervalMs?: number;
  /** How often to list the stream's shards for leases not yet created. */
  shardSyncIntervalMs?: number;
  /** `auto` (default) checkpoints after the handler resolves, every `checkpointIntervalMs` or `checkpointRecordsMax` records; `manual` leaves it to `ctx.checkpoint()`. */
  checkpointMode?: 'auto' | 'manual';
  checkpointIntervalMs?: number;
  checkpointRecordsMax?: number;
  /** Polling source: wait between reads once caught up; records per GetRecords. */
  pollIntervalMs?: number;
  getRecordsLimit?: number;
  /** Lease changes, checkpoints and errors (handler failures are retried; they are reported here). */
  onEvent?: (e: ConsumerEvent) => void;
}

export interface StreamConsumerFanOut {
  /** The application's consumer name (1-128 of `[a-zA-Z0-9_.-]`). */
  consumerName: string;
  /** An already registered consumer of this stream, used as is. */
  consumerArn?: string;
  /** Consecutive failed subscriptions of one shard before its read gives up (reported as an `error` event; the shard is retried at the next take). */
  attemptsMax?: number;
}

export const leaseDurationMsDefault = 10_000;
export const checkpointIntervalMsDefault = 5_000;
export const shardSyncIntervalMsDefault = 30_000;
const handlerRetryMsMax = 5_000;
const parentPollMsMax = 1_000;

interface ShardRun {
  abort: AbortController;
  done: Promise<void>;
}

export class StreamConsumer {
  readonly workerId: string;
  private readonly coordinator: LeaseCoordinator;
  private readonly source: ShardSource;
  private readonly ownSource: PollingShardSource | FanOutShardSource | undefined;
  private readonly kinesis: JsonRpcClient;
  private readonly runs = new Map<string, ShardRun>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly o: Required<Pick<StreamConsumerOptions, 'leaseDurationMs' | 'takeIntervalMs' | 'shardSyncIntervalMs' | 'checkpointIntervalMs' | 'checkpointRecordsMax' | 'initialPosition' | 'checkpointMode'>>;
  private stopping = false;
  private started = false;
  private readonly ticking = new Set<Promise<void>>();

  constructor(private readonly options: StreamConsumerOptions) {
    if (options.fanOut && options.source !== undefined) throw new TypeError('StreamConsumer: give either fanOut or source, not both');
    if (options.fanOut && (options.pollIntervalMs !== undefined || options.getRecordsLimit !== undefined)) {
      throw new TypeError('StreamConsumer: pollIntervalMs and getRecordsLimit are polling options; fanOut reads by subscription');
    }
    this.workerId = options.workerId ?? `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const leaseDurationMs = options.leaseDurationMs ?? leaseDurationMsDefault;
    this.o = {
      leaseDurationMs,
      takeIntervalMs: options.takeIntervalMs ?? leaseDurationMs,
      shardSyncIntervalMs: options.shardSyncIntervalMs ?? shardSyncIntervalMsDefault,
      checkpointIntervalMs: options.checkpointIntervalMs ?? checkpointIntervalMsDefault,
      checkpointRecordsMax: options.checkpointRecordsMax ?? Infinity,
      initialPosition: options.initialPosition ?? 'TRIM_HORIZON',
      checkpointMode: options.checkpointMode ?? 'auto',
    };
    const connection = {
      endpoint: options.endpoint, region: options.region, credentials: options.credentials,
      ...(options.ca ? { ca: options.ca } : {}), ...(options.cert ? { cert: options.cert, key: options.key } : {}),
    };
    this.kinesis = new JsonRpcClient({ ...connection, service: 'kinesis', targetPrefix: 'Kinesis_20131202' });
    if (options.fanOut) {
      const f = options.fanOut;
      this.ownSource = new FanOutShardSource({
        ...connection, consumerName: f.consumerName,
        ...(f.consumerArn !== undefined ? { consumerArn: f.consumerArn } : {}),
        ...(f.attemptsMax !== undefined ? { attemptsMax: f.attemptsMax } : {}),
      });
      this.source = this.ownSource;
    } else if (options.source === undefined || options.source === 'polling') {
      this.ownSource = new PollingShardSource({
        ...connection,
        ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
        ...(options.getRecordsLimit !== undefined ? { getRecordsLimit: options.getRecordsLimit } : {}),
      });
      this.source = this.ownSource;
    } else this.source = options.source;
    this.coordinator = new LeaseCoordinator(options.leases, {
      workerId: this.workerId,
      leaseDurationMs,
      onLost: (key) => {
        this.emit({ type: 'leaseLost', shardId: key });
        this.runs.get(key)?.abort.abort();
      },
    });
  }

  /** Creates the lease table and leases, takes a first share of shards and starts reading them. */
  async start(): Promise<void> {
    if (this.started) throw new Error('StreamConsumer.start() was already called');
    this.started = true;
    await this.options.leases.ensureTable();
    await this.syncShards();
    await this.takeAndRun();
    this.every(this.o.leaseDurationMs / 3, () => this.coordinator.renewAll());
    this.every(this.o.takeIntervalMs, () => this.takeAndRun());
    this.every(this.o.shardSyncIntervalMs, () => this.syncShards());
  }

  /** Shards this worker holds now. */
  heldShards(): string[] {
    return this.coordinator.heldKeys().sort();
  }

  /** Graceful shutdown: finish the batches in hand, checkpoint them, release every lease. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.ticking);
    for (const run of this.runs.values()) run.abort.abort();
    await Promise.all([...this.runs.values()].map((r) => r.done));
    await Promise.all(this.coordinator.heldKeys().map(async (k) => {
      await this.coordinator.release(k);
      this.emit({ type: 'leaseReleased', shardId: k });
    }));
    this.ownSource?.close();
    this.kinesis.close();
    await this.options.leases.close();
  }

  /** Runs `f` every `ms`, never two at once, reporting failures as events. */
  private every(ms: number, f: () => Promise<void>): void {
    let busy = false;
    this.timers.push(setInterval(() => {
      if (busy || this.stopping) return;
      busy = true;
      const tick: Promise<void> = f()
        .catch((err: Error) => this.emit({ type: 'error', error: err }))
        .finally(() => {
          busy = false;
          this.ticking.delete(tick);
        });
      this.ticking.add(tick);
    }, ms));
  }

  private async takeAndRun(): Promise<void> {
    const taken = await this.coordinator.take();
    for (const k of taken) this.emit({ type: 'leaseTaken', shardId: k });
    for (const k of this.coordinator.heldKeys()) if (!this.runs.has(k) && !this.stopping) this.runShard(k);
  }

  /** Creates leases for shards that have none (parents first, so a child always names its leased parents). */
  private async syncShards(): Promise<void> {
    const shards = await this.listShards();
    const leased = new Set((await this.options.leases.list()).map((l) => l.leaseKey));
    for (const s of shards) {
      if (leased.has(s.ShardId)) continue;
      const parents = [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => p !== undefined && leased.has(p));
      const closed = s.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      // Starting at LATEST, closed shards are history nobody asked for.
      if (this.o.initialPosition === 'LATEST' && closed && parents.length === 0) continue;
      const start = parents.length > 0 || this.o.initialPosition === 'TRIM_HORIZON' ? checkpointTrimHorizon : checkpointLatest;
      await this.coordinator.create({ leaseKey: s.ShardId, leaseCounter: 0, checkpoint: { sequenceNumber: start, subSequenceNumber: 0 }, parentShardIds: parents });
      leased.add(s.ShardId);
    }
  }

  private async listShards(): Promise<Array<{ ShardId: string; ParentShardId?: string; AdjacentParentShardId?: string; SequenceNumberRange?: { EndingSequenceNumber?: string } }>> {
    type Out = { Shards: Array<{ ShardId: string; ParentShardId?: string; AdjacentParentShardId?: string; SequenceNumberRange?: { EndingSequenceNumber?: string } }>; NextToken?: string };
    const shards: Out['Shards'] = [];
    let out = await this.kinesis.call<Out>('ListShards', { StreamName: this.options.stream });
    shards.push(...out.Shards);
    for (let page = 0; out.NextToken && page < 10_000; page++) {
      out = await this.kinesis.call<Out>('ListShards', { NextToken: out.NextToken });
      shards.push(...out.Shards);
    }
    return shards;
  }

  private runShard(shardId: string): void {
    const abort = new AbortController();
    const done = this.processShard(shardId, abort.signal)
      .catch((err: Error) => {
        if (!(err instanceof LeaseLostError)) this.emit({ type: 'error', shardId, error: err });
      })
      .finally(() => this.runs.delete(shardId));
    this.runs.set(shardId, { abort, done });
  }

  private async processShard(shardId: string, signal: AbortSignal): Promise<void> {
    const lease = this.coordinator.heldLease(shardId);
    if (!lease) return;
    if (!(await this.parentsFinished(lease, signal))) return;
    if (lease.checkpoint.sequenceNumber === checkpointShardEnd) return this.coordinator.finish(shardId);
    const cp = this.coordinator.heldLease(shardId)?.checkpoint ?? lease.checkpoint;
    const state = new CheckpointState(cp, Date.now());
    try {
      for await (const batch of this.source.read(this.options.stream, shardId, startOf(cp), signal)) {
        if (!this.coordinator.holds(shardId)) throw new LeaseLostError(shardId);
        const records = userRecords(batch.records).filter((r) => state.isNew(r));
        if (records.length > 0) {
          const handled = await this.handle(shardId, records, batch.millisBehindLatest, signal, state);
          if (!handled) break;
          state.processed(records.at(-1)!, records.length);
        }
        if (batch.childShards) return await this.endShard(shardId, batch.childShards);
        if (this.o.checkpointMode === 'auto' && state.due(this.o.checkpointIntervalMs, this.o.checkpointRecordsMax, Date.now())) {
          await this.checkpoint(shardId, state, state.pending!);
        }
        if (signal.aborted) break;
      }
    } finally {
      // Stopping gracefully: keep what was processed.
      if (this.stopping && this.o.checkpointMode === 'auto' && state.pending && this.coordinator.holds(shardId)) {
        await this.checkpoint(shardId, state, state.pending).catch((err: Error) => this.emit({ type: 'error', shardId, error: err }));
      }
    }
  }

  /** Calls the handler until it succeeds; false when the shard must stop first (lease lost, shutdown). */
  private async handle(shardId: string, records: ConsumerRecord[], millisBehindLatest: number, signal: AbortSignal, state: CheckpointState): Promise<boolean> {
    const ctx: RecordContext = {
      shardId,
      millisBehindLatest,
      checkpoint: (record) => this.checkpoint(shardId, state, record ?? records.at(-1)!),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.handler(records, ctx);
        return true;
      } catch (err) {
        if (err instanceof LeaseLostError) throw err;
        this.emit({ type: 'error', shardId, error: err as Error });
        await sleep(Math.min(handlerRetryMsMax, 100 * 2 ** attempt), signal);
        if (signal.aborted || !this.coordinator.holds(shardId)) return false;
      }
    }
  }

  private async checkpoint(shardId: string, state: CheckpointState, r: ConsumerRecord): Promise<void> {
    const checkpoint = { sequenceNumber: r.sequenceNumber, subSequenceNumber: r.subSequenceNumber };
    await this.coordinator.checkpoint(shardId, checkpoint);
    state.checkpointed(r, Date.now());
    this.emit({ type: 'checkpoint', shardId, checkpoint });
  }

  /** The shard is read to its end: create the children's leases, then mark it finished so they may start. */
  private async endShard(shardId: string, children: ChildShardRef[]): Promise<void> {
    for (const c of children) {
      await this.coordinator.create({ leaseKey: c.shardId, leaseCounter: 0, checkpoint: { sequenceNumber: checkpointTrimHorizon, subSequenceNumber: 0 }, parentShardIds: [...c.parentShards] });
    }
    await this.coordinator.finish(shardId);
    this.emit({ type: 'shardEnded', shardId });
  }

  /** Waits until every parent lease is at SHARD_END (or gone); false when the wait was cut short. */
  private async parentsFinished(lease: Lease, signal: AbortSignal): Promise<boolean> {
    if (lease.parentShardIds.length === 0) return true;
    const waitMs = Math.min(parentPollMsMax, this.o.takeIntervalMs);
    while (!signal.aborted && this.coordinator.holds(lease.leaseKey)) {
      const leases = new Map((await this.options.leases.list()).map((l) => [l.leaseKey, l]));
      if (lease.parentShardIds.every((p) => leases.get(p)?.checkpoint.sequenceNumber === checkpointShardEnd || !leases.has(p))) return true;
      await sleep(waitMs, signal);
    }
    return false;
  }

  private emit(e: ConsumerEvent): void {
    this.options.onEvent?.(e);
  }
}

/** Tracks one shard's processed and checkpointed positions. */
class CheckpointState {
  pending: ConsumerRecord | undefined;
  private sinceCheckpoint = 0;
  private readonly skipSeq: bigint | undefined;
  private readonly skipSub: number;

  constructor(
    start: Checkpoint,
    private lastCheckpointMs: number,
  ) {
    this.skipSeq = /^\d+$/.test(start.sequenceNumber) ? BigInt(start.sequenceNumber) : undefined;
    this.skipSub = start.subSequenceNumber;
  }

  /** Reading restarts AT the checkpointed sequence number: skip what it covers (the rest of an aggregate is new). */
  isNew(r: ConsumerRecord): boolean {
    if (this.skipSeq === undefined) return true;
    const seq = BigInt(r.sequenceNumber);
    return seq > this.skipSeq || (seq === this.skipSeq && r.subSequenceNumber > this.skipSub);
  }

  processed(last: ConsumerRecord, n: number): void {
    this.pending = last;
    this.sinceCheckpoint += n;
  }

  due(intervalMs: number, recordsMax: number, nowMs: number): boolean {
    return this.pending !== undefined && (this.sinceCheckpoint >= recordsMax || nowMs - this.lastCheckpointMs >= intervalMs);
  }

  checkpointed(r: ConsumerRecord, nowMs: number): void {
    if (this.pending === r) this.pending = undefined;
    this.sinceCheckpoint = 0;
    this.lastCheckpointMs = nowMs;
  }
}

function startOf(cp: Checkpoint): StartPosition {
  if (cp.sequenceNumber === checkpointTrimHorizon) return { type: 'TRIM_HORIZON' };
  if (cp.sequenceNumber === checkpointLatest) return { type: 'LATEST' };
  return { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: cp.sequenceNumber };
}

/** Expands KPL aggregates into their user records; plain records pass through. */
export function userRecords(records: StreamRecord[]): ConsumerRecord[] {
  const out: ConsumerRecord[] = [];
  for (const r of records) {
    const base = { sequenceNumber: r.sequenceNumber, approximateArrivalTimestampMs: r.approximateArrivalTimestampMs };
    const users = deaggregate(r.data);
    if (!users) {
      out.push({ ...base, subSequenceNumber: 0, partitionKey: r.partitionKey, data: r.data, aggregated: false });
      continue;
    }
    users.forEach((u, i) => out.push({
      ...base, subSequenceNumber: i, partitionKey: u.partitionKey, data: u.data, aggregated: true,
      ...(u.explicitHashKey !== undefined ? { explicitHashKey: u.explicitHashKey } : {}),
    }));
  }
  return out;
}
