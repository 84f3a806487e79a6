/**
 * The Data Streams state: every stream's metadata (persisted atomically on
 * each change), its shards' logs, status transitions, resharding and
 * retention. Actions call into this; it knows nothing of HTTP.
 */
import { randomBytes } from 'node:crypto';
import { AwsError, streamErrors } from '../../sdk/protocol/errors.ts';
import { evenHashKeyRanges, hashKeyToBigInt } from '../../sdk/protocol/streams/hash-key.ts';
import * as limits from '../../sdk/protocol/streams/limits.ts';
import type { Storage } from '../storage/factory.ts';
import type { GatewayConfig } from '../gateway.ts';
import type { MetadataStore, ShardLog } from '../storage/types.ts';
import type { Logger } from '../log.ts';
import { settleConsumers } from './consumers.ts';
import { RecordCipher } from './encryption.ts';
import { IteratorCodec } from './iterator.ts';
import { ShardRuntime, StreamRuntime, type ShardMeta, type StreamMeta, type StreamMode } from './model.ts';

/** The part of the gateway's configuration the streams service reads (documented on GatewayConfig). */
export type StreamsConfig = Pick<
  GatewayConfig,
  | 'dataDir' | 'accountId' | 'region' | 'fsync' | 'segmentBytesMax' | 'segmentAgeMsMax' | 'enforceLimits' | 'shardLimit'
  | 'onDemandStreamCountLimit' | 'createDelayMs' | 'updateDelayMs' | 'deleteDelayMs' | 'retentionCheckIntervalMs'
  | 'subscriptionLifetimeMs'
>;

interface MetadataDoc {
  version: 1;
  streams: StreamMeta[];
}

export class StreamRegistry {
  private streams = new Map<string, StreamRuntime>();
  /** Streams being created here and not yet stored: a document from another process does not remove them. */
  private readonly unsaved = new Set<StreamRuntime>();
  private saving: Promise<void> = Promise.resolve();
  private retentionTimer: NodeJS.Timeout | undefined;
  readonly iterators: IteratorCodec;
  readonly cipher: RecordCipher;
  readonly now: () => number;

  private constructor(
    readonly config: StreamsConfig,
    private readonly store: MetadataStore<MetadataDoc>,
    secrets: { iteratorKey: Buffer; masterKey: Buffer },
    readonly log: Logger,
    private readonly storage: Storage,
    now?: () => number,
  ) {
    this.iterators = new IteratorCodec(secrets.iteratorKey);
    this.cipher = new RecordCipher(secrets.masterKey);
    this.now = now ?? Date.now;
  }

  static async open(
    config: StreamsConfig,
    store: MetadataStore<MetadataDoc>,
    secrets: { iteratorKey: Buffer; masterKey: Buffer },
    log: Logger,
    storage: Storage,
    now?: () => number,
  ): Promise<StreamRegistry> {
    const reg = new StreamRegistry(config, store, secrets, log, storage, now);
    const doc = await store.load();
    for (const meta of doc?.streams ?? []) {
      if (meta.status === 'DELETING') {
        await storage.removeShardLogs(['streams', meta.dir]);
        continue;
      }
      // A transition cut short by a restart completes now.
      if (meta.status === 'CREATING' || meta.status === 'UPDATING') meta.status = 'ACTIVE';
      delete meta.statusUntilMs;
      settleConsumers(meta);
      const rt = new StreamRuntime(meta);
      for (const shard of meta.shards) rt.shards.push(new ShardRuntime(shard, await reg.openLog(meta, shard), reg.now()));
      rt.reindex();
      reg.streams.set(meta.name, rt);
    }
    await reg.persist();
    // A shared store (nats): what other gateway processes change is applied here at once.
    await store.watch?.((d) => reg.reconcile(d), (err) => log.error('stream metadata watch failed', { err: String(err) }));
    reg.retentionTimer = setInterval(() => {
      reg.enforceRetention().catch((err) => log.warn('retention sweep failed', { err: String(err) }));
    }, config.retentionCheckIntervalMs);
    reg.retentionTimer.unref();
    return reg;
  }

  /**
   * Brings this process's streams in line with the metadata document another
   * gateway process stored: new streams and shards get their logs opened,
   * gone ones are closed here (the process that deleted them removes their
   * data), and the rest are updated in place, so that requests, iterators and
   * subscriptions holding a stream or shard keep working. Logs are opened
   * first; the state then changes in one synchronous step.
   */
  private async reconcile(doc: MetadataDoc | undefined): Promise<void> {
    const metas = doc?.streams ?? [];
    const opened = new Map<string, ShardLog>();
    try {
      for (const meta of metas) {
        const rt = this.streams.get(meta.name);
        if (rt && this.unsaved.has(rt)) continue;
        const same = rt?.meta.dir === meta.dir ? rt : undefined;
        for (const sm of meta.shards) if (!same?.shard(sm.index)) opened.set(`${meta.dir}/${sm.index}`, await this.openLog(meta, sm));
      }
    } catch (err) {
      for (const log of opened.values()) await log.close();
      throw err;
    }
    const now = this.now();
    const named = new Set(metas.map((m) => m.name));
    for (const rt of [...this.streams.values()]) {
      if (!this.unsaved.has(rt) && (!named.has(rt.meta.name) || metas.find((m) => m.name === rt.meta.name)!.dir !== rt.meta.dir)) this.dropHere(rt);
    }
    for (const meta of metas) {
      const rt = this.streams.get(meta.name);
      if (rt && this.unsaved.has(rt)) continue;
      if (!rt) {
        const fresh = new StreamRuntime(meta);
        for (const sm of meta.shards) fresh.shards.push(new ShardRuntime(sm, opened.get(`${meta.dir}/${sm.index}`)!, now));
        fresh.reindex();
        this.streams.set(meta.name, fresh);
        continue;
      }
      const byIndex = new Map(rt.shards.map((sh) => [sh.meta.index, sh]));
      const shards: ShardRuntime[] = [];
      for (const sm of meta.shards) {
        const sh = byIndex.get(sm.index);
        byIndex.delete(sm.index);
        if (sh) replaceFields(sh.meta, sm);
        shards.push(sh ?? new ShardRuntime(sm, opened.get(`${meta.dir}/${sm.index}`)!, now));
      }
      for (const gone of byIndex.values()) void gone.log.close().catch((err) => this.log.warn('closing a shard log failed', { err: String(err) }));
      const timer = rt.timer;
      replaceFields(rt.meta, { ...meta, shards: shards.map((sh) => sh.meta) });
      rt.shards = shards;
      rt.timer = timer;
      rt.reindex();
    }
  }

  /** Forgets a stream another process deleted or re-created: closes its logs here, leaves its data alone. */
  private dropHere(rt: StreamRuntime): void {
    if (rt.timer) clearTimeout(rt.timer);
    rt.timer = undefined;
    this.streams.delete(rt.meta.name);
    for (const sh of rt.shards) void sh.log.close().catch((err) => this.log.warn('closing a shard log failed', { err: String(err) }));
  }

  get accountId(): string {
    return this.config.accountId;
  }

  arnOf(name: string): string {
    return `arn:aws:kinesis:${this.config.region}:${this.config.accountId}:stream/${name}`;
  }

  private async openLog(meta: StreamMeta, shard: ShardMeta): Promise<ShardLog> {
    return this.storage.openShardLog(['streams', meta.dir, `shard-${String(shard.index).padStart(6, '0')}`], {
      fsync: this.config.fsync,
      retentionMs: meta.retentionHours * 3600_000,
      segmentBytesMax: this.config.segmentBytesMax,
      segmentAgeMsMax: this.config.segmentAgeMsMax,
      now: this.now,
      onProblem: (p) => this.log.warn('shard log repaired', { stream: meta.name, shard: shard.index, ...p }),
    });
  }

  /** Saves the metadata document; saves are serialised and each reflects all changes before it. */
  persist(): Promise<void> {
    const next = this.saving.then(() =>
      this.store.save({ version: 1, streams: [...this.streams.values()].map((s) => s.meta) }),
    ).catch((err: unknown) => {
      // Another process changed the document first: undo here what could not be stored (the caller fails).
      if ((err as { code?: unknown })?.code === 'METADATA_CONFLICT' && this.store.resync) {
        this.log.warn('stream metadata changed by another gateway process; this change was not stored', { err: String((err as Error).message) });
        this.store.resync().catch((e) => this.log.error('stream metadata resync failed', { err: String(e) }));
      }
      throw err;
    });
    this.saving = next.catch(() => {});
    return next;
  }

  list(): StreamRuntime[] {
    return [...this.streams.values()].sort((a, b) => (a.meta.name < b.meta.name ? -1 : a.meta.name > b.meta.name ? 1 : 0));
  }

  /** The stream called `name`, if there is one. */
  find(name: string): StreamRuntime | undefined {
    return this.streams.get(name);
  }

  /**
   * Resolves StreamName / StreamARN as every action takes them. Either names
   * the stream; when both are given they must agree.
   */
  resolve(input: { StreamName?: unknown; StreamARN?: unknown }): StreamRuntime {
    const name = this.nameOf(input);
    const s = this.streams.get(name);
    if (!s) throw streamErrors.notFound(name, this.accountId);
    return s;
  }

  nameOf(input: { StreamName?: unknown; StreamARN?: unknown }): string {
    const byName = input.StreamName as string | undefined;
    const arn = input.StreamARN as string | undefined;
    let byArn: string | undefined;
    if (arn !== undefined) {
      const m = /^arn:aws[a-z-]*:kinesis:([a-z0-9-]*):(\d{12}):stream\/(.+)$/.exec(arn);
      if (!m || m[2] !== this.accountId || m[1] !== this.config.region) {
        // An ARN of another account or Region names a stream that is not here.
        throw streamErrors.notFound(m?.[3] ?? arn, m?.[2] ?? this.accountId);
      }
      byArn = m[3];
    }
    if (byName !== undefined && byArn !== undefined && byName !== byArn) {
      throw new AwsError('InvalidArgumentException', `StreamARN ${arn} does not match StreamName ${byName}.`);
    }
    const name = byName ?? byArn;
    if (name === undefined) throw new AwsError('InvalidArgumentException', 'Either StreamName or StreamARN must be provided.');
    return name;
  }

  openShardCount(): number {
    let n = 0;
    for (const s of this.streams.values()) if (s.meta.status !== 'DELETING') n += s.openShards.length;
    return n;
  }

  onDemandStreamCount(): number {
    let n = 0;
    for (const s of this.streams.values()) if (s.meta.mode === 'ON_DEMAND' && s.meta.status !== 'DELETING') n++;
    return n;
  }

  shardLimitError(additional: number): AwsError {
    return new AwsError(
      'LimitExceededException',
      `This request would exceed the shard limit for the account ${this.accountId} in ${this.config.region}. ` +
        `Current shard count for the account: ${this.openShardCount()}. Limit: ${this.config.shardLimit}. ` +
        `Number of additional shards that would have resulted from this request: ${additional}. ` +
        'Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) ' +
        'for current limits and how to request higher limits.',
    );
  }

  async create(name: string, shardCount: number, mode: StreamMode, tags: Record<string, string>, maxRecordSizeKiB: number): Promise<void> {
    if (this.streams.has(name)) throw streamErrors.alreadyExists(name, this.accountId);
    if (this.openShardCount() + shardCount > this.config.shardLimit) throw this.shardLimitError(shardCount);
    const now = this.now();
    const createdMs = Math.floor(now / 1000) * 1000;
    const meta: StreamMeta = {
      name,
      dir: `${name}-${createdMs}-${randomBytes(4).toString('hex')}`,
      createdMs,
      incarnation: randomBytes(4).readUInt32BE(0),
      status: 'CREATING',
      mode,
      retentionHours: limits.retentionHoursDefault,
      encryption: { type: 'NONE' },
      keyIds: [],
      shardLevelMetrics: [],
      tags: { ...tags },
      nextShardIndex: shardCount,
      shards: evenHashKeyRanges(shardCount).map((r, index) => ({
        index,
        startingHashKey: r.start.toString(),
        endingHashKey: r.end.toString(),
        createdMs,
      })),
      maxRecordSizeKiB,
    };
    const rt = new StreamRuntime(meta);
    this.streams.set(name, rt);
    this.unsaved.add(rt);
    try {
      for (const shard of meta.shards) rt.shards.push(new ShardRuntime(shard, await this.openLog(meta, shard), now));
      rt.reindex();
      await this.persist();
    } catch (err) {
      if (this.streams.get(name) === rt) this.streams.delete(name);
      for (const s of rt.shards) await s.log.destroy();
      throw err;
    } finally {
      this.unsaved.delete(rt);
    }
    this.transition(rt, this.config.createDelayMs, 'ACTIVE');
    this.log.info('stream created', { stream: name, shards: shardCount, mode });
  }

  /** Puts the stream in a transitional state that ends after `delayMs`. */
  transition(rt: StreamRuntime, delayMs: number, then: 'ACTIVE' | 'GONE'): void {
    if (rt.timer) clearTimeout(rt.timer);
    const finish = async () => {
      rt.timer = undefined;
      if (then === 'GONE') await this.finishDelete(rt);
      else if (this.streams.get(rt.meta.name) === rt) {
        rt.meta.status = 'ACTIVE';
        delete rt.meta.statusUntilMs;
        await this.persist();
      }
    };
    if (delayMs <= 0 && then === 'ACTIVE') {
      rt.meta.status = 'ACTIVE';
      return;
    }
    rt.meta.statusUntilMs = this.now() + delayMs;
    rt.timer = setTimeout(() => {
      finish().catch((err) => this.log.error('stream transition failed', { stream: rt.meta.name, err: String(err) }));
    }, delayMs);
    rt.timer.unref();
  }

  async beginDelete(rt: StreamRuntime): Promise<void> {
    rt.meta.status = 'DELETING';
    await this.persist();
    this.transition(rt, this.config.deleteDelayMs, 'GONE');
  }

  private async finishDelete(rt: StreamRuntime): Promise<void> {
    if (this.streams.get(rt.meta.name) !== rt) return;
    this.streams.delete(rt.meta.name);
    await this.persist();
    for (const s of rt.shards) await s.log.close();
    await this.storage.removeShardLogs(['streams', rt.meta.dir]);
    this.log.info('stream deleted', { stream: rt.meta.name });
  }

  /** Closes `parents` and opens shards for `ranges` (a split or a merge); persists. */
  async reshard(rt: StreamRuntime, parents: ShardRuntime[], children: Array<{ start: bigint; end: bigint; parent: number; adjacentParent?: number }>): Promise<void> {
    const now = this.now();
    const createdMs = Math.floor(now / 1000) * 1000;
    const newShards: ShardRuntime[] = [];
    for (const c of children) {
      const meta: ShardMeta = {
        index: rt.meta.nextShardIndex++,
        parentIndex: c.parent,
        ...(c.adjacentParent !== undefined ? { adjacentParentIndex: c.adjacentParent } : {}),
        startingHashKey: c.start.toString(),
        endingHashKey: c.end.toString(),
        createdMs,
      };
      newShards.push(new ShardRuntime(meta, await this.openLog(rt.meta, meta), now));
    }
    // A log shared with other processes is sealed first, so that none of them appends past its end.
    const sealed = new Map<ShardRuntime, number>();
    for (const p of parents) if (p.log.seal) sealed.set(p, await p.log.seal());
    // Synchronous from here: no append can slip between closing parents and opening children.
    for (const p of parents) {
      p.meta.closedMs = now;
      p.meta.endCounter = sealed.get(p) ?? p.log.nextCounter;
    }
    for (const s of newShards) {
      rt.meta.shards.push(s.meta);
      rt.shards.push(s);
    }
    rt.reindex();
    rt.meta.status = 'UPDATING';
    await this.persist();
    this.transition(rt, this.config.updateDelayMs, 'ACTIVE');
    this.log.info('stream resharded', { stream: rt.meta.name, closed: parents.map((p) => p.id), opened: newShards.map((s) => s.id) });
  }

  /** Drops data past each stream's retention, and closed shards wholly past it. */
  async enforceRetention(): Promise<void> {
    const now = this.now();
    for (const rt of this.streams.values()) {
      const horizon = now - rt.meta.retentionHours * 3600_000;
      let changed = false;
      for (const shard of [...rt.shards]) {
        await shard.log.trimBefore(horizon);
        if (!shard.open && shard.meta.closedMs! < horizon) {
          rt.shards.splice(rt.shards.indexOf(shard), 1);
          rt.meta.shards = rt.meta.shards.filter((m) => m !== shard.meta);
          await shard.log.destroy();
          changed = true;
        }
      }
      if (changed) {
        rt.reindex();
        await this.persist();
      }
    }
  }

  async close(): Promise<void> {
    this.store.stop?.();
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    for (const rt of this.streams.values()) {
      if (rt.timer) clearTimeout(rt.timer);
      for (const s of rt.shards) await s.log.close();
    }
    await this.saving;
  }

  /** Hash key range size of a shard (for UpdateShardCount's choice of splits and merges). */
  static width(s: ShardRuntime): bigint {
    return hashKeyToBigInt(s.endKey) - hashKeyToBigInt(s.startKey) + 1n;
  }
}

/** Makes `target` hold exactly `source`'s fields (an object others hold a reference to). */
function replaceFields(target: object, source: object): void {
  const t = target as Record<string, unknown>;
  for (const k of Object.keys(t)) if (!(k in source)) delete t[k];
  Object.assign(t, source);
}
