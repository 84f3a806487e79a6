/**
 * The delivery streams of one gateway: their metadata (metadata/firehose.json,
 * replaced atomically), and per delivery stream a staging log (the shard log
 * of gateway/storage/local, group commit with the gateway's fsync policy)
 * and a delivery worker. Status transitions run on timers like the Data
 * Streams registry's: CREATING -> ACTIVE, DELETING -> gone, and ENABLING /
 * DISABLING for encryption.
 */
import { httpEndpointAllowed, parseAllowList, type AllowEntry } from './http-endpoint-allow-list.ts';
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { firehoseErrors } from '../../sdk/protocol/firehose/errors.ts';
import * as limits from '../../sdk/protocol/firehose/limits.ts';
import type { Logger } from '../log.ts';
import { localStorage, type Storage } from '../storage/factory.ts';
import type { MetadataStore, ShardLog } from '../storage/types.ts';
import type { FsyncPolicy } from '../storage/types.ts';
import type { RecordCipher } from '../streams/encryption.ts';
import { DeliveryWorker, type DeliveryEvent } from './delivery.ts';
import { RedshiftDestination } from './destinations/redshift.ts';
import type { DestinationResolver } from './destinations/types.ts';
import { FirehoseMetrics } from './metrics.ts';
import { deliveryStreamArn, type DeliveryStreamMeta } from './model.ts';
import type { TableSchemas } from './format-conversion.ts';
import type { LambdaTarget } from './processors/index.ts';
import { StreamSourceReader, type SourcePositions, type SourceStreams } from './stream-source.ts';

export interface FirehoseConfig {
  dataDir: string;
  accountId: string;
  region: string;
  fsync: FsyncPolicy;
  createDelayMs: number;
  updateDelayMs: number;
  deleteDelayMs: number;
  /** Undelivered bytes a delivery stream may stage; past it PutRecordBatch fails records with ServiceUnavailableException. */
  firehoseStagingBytesMax: number;
  /** How long a batch is retried against the S3 destination before it goes to the error output (`firehose.s3RetryMs`, default 24 h). */
  firehoseS3RetryMs?: number;
  /** Table schemas for record format conversion (`firehose.schemas`), by `<database>.<table>`. */
  firehoseSchemas?: TableSchemas;
  /** Lambda ARN -> HTTP transformer URL or local module for the Lambda processor (`firehose.lambdas`). */
  firehoseLambdas?: Readonly<Record<string, LambdaTarget>>;
  /** Redshift JDBC URL -> PostgreSQL connection string (`firehose.redshift`). */
  firehoseRedshift?: Readonly<Record<string, string>>;
  /** The URLs HTTP endpoint destinations may post to (`firehose.httpEndpointsAllowed`); null or absent: any. */
  firehoseHttpEndpointsAllowed?: readonly string[] | null;
}

export interface FirehoseDoc {
  deliveryStreams: DeliveryStreamMeta[];
}

/** The staging key of records read from an encrypted source stream (derived from the master key like every other). */
export const stagingKeyIdOfEncryptedSource = 'firehose:kinesis-source-sse';

/** Staging segments roll at this size or age so that delivered data is deleted soon. */
export const stagingSegmentBytesMax = 64 * 1024 * 1024;
export const stagingSegmentAgeMsMax = 60_000;

export class DeliveryStreamRuntime {
  timer: NodeJS.Timeout | undefined;
  worker!: DeliveryWorker;
  /** KinesisStreamAsSource: the reader copying the source stream into staging, run by one gateway process at a time (Storage.exclusive). */
  source: { close(): Promise<void> } | undefined;
  /** Redshift destination: stages objects in the bucket, then loads them; closed before the worker so a retry wait ends. */
  redshift: RedshiftDestination | undefined;
  /** Prefix of this incarnation's record ids. */
  readonly recordIdPrefix = randomBytes(24).toString('hex');
  constructor(
    public meta: DeliveryStreamMeta,
    readonly staging: ShardLog,
  ) {}
}

export class FirehoseRegistry {
  readonly streams = new Map<string, DeliveryStreamRuntime>();
  readonly metrics = new FirehoseMetrics();
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    readonly config: FirehoseConfig,
    private readonly store: MetadataStore<FirehoseDoc>,
    readonly destinations: DestinationResolver,
    readonly log: Logger,
    readonly now: () => number,
    private readonly onDelivered?: (name: string, e: DeliveryEvent) => void,
    readonly sources?: SourceStreams,
    private readonly cipher?: RecordCipher,
    private readonly storage: Storage = localStorage(config.dataDir),
  ) {}

  private allowList: AllowEntry[] | undefined | null = null;

  /** Whether the operator's allow-list (`firehose.httpEndpointsAllowed`) lets HTTP endpoint destinations post to `url`. */
  httpEndpointAllowed(url: string): boolean {
    if (this.allowList === null) this.allowList = this.config.firehoseHttpEndpointsAllowed ? parseAllowList(this.config.firehoseHttpEndpointsAllowed) : undefined;
    return httpEndpointAllowed(this.allowList, url);
  }

  get accountId(): string {
    return this.config.accountId;
  }

  static async open(
    config: FirehoseConfig,
    store: MetadataStore<FirehoseDoc>,
    destinations: DestinationResolver,
    log: Logger,
    options: { now?: () => number; onDelivered?: (name: string, e: DeliveryEvent) => void; sources?: SourceStreams; cipher?: RecordCipher; storage?: Storage } = {},
  ): Promise<FirehoseRegistry> {
    const reg = new FirehoseRegistry(config, store, destinations, log, options.now ?? Date.now, options.onDelivered, options.sources, options.cipher, options.storage);
    const doc = (await store.load()) ?? { deliveryStreams: [] };
    for (const meta of doc.deliveryStreams) {
      const rt = await reg.openRuntime(meta);
      reg.streams.set(meta.name, rt);
      // Transitions interrupted by a restart finish now.
      if (meta.status === 'CREATING') meta.status = 'ACTIVE';
      if (meta.encryption.Status === 'ENABLING') meta.encryption.Status = 'ENABLED';
      if (meta.encryption.Status === 'DISABLING') meta.encryption = { Status: 'DISABLED' };
      delete meta.statusUntilMs;
      if (meta.status === 'DELETING') reg.transition(rt, 0, 'GONE');
      if (meta.httpEndpoint && !reg.httpEndpointAllowed(meta.httpEndpoint.EndpointConfiguration.Url)) {
        log.warn('delivery stream posts to a URL firehose.httpEndpointsAllowed does not allow: nothing is sent; its records go to the error output', { deliveryStream: meta.name, url: withoutCredentials(meta.httpEndpoint.EndpointConfiguration.Url) });
      }
    }
    await reg.persist();
    return reg;
  }

  private dirOf(meta: DeliveryStreamMeta): string {
    return path.join(this.config.dataDir, 'firehose', meta.dir);
  }

  private async openRuntime(meta: DeliveryStreamMeta, sourceStart?: SourcePositions): Promise<DeliveryStreamRuntime> {
    const dir = this.dirOf(meta);
    const staging = await this.storage.openStagingLog(['firehose', meta.dir, 'staging'], {
      fsync: this.config.fsync,
      segmentBytesMax: stagingSegmentBytesMax,
      segmentAgeMsMax: stagingSegmentAgeMsMax,
      now: this.now,
      onProblem: (p) => this.log.warn('firehose staging repaired', { deliveryStream: meta.name, ...p }),
    });
    const rt = new DeliveryStreamRuntime(meta, staging);
    rt.worker = await DeliveryWorker.start({
      name: meta.name,
      staging,
      checkpointFile: path.join(dir, 'checkpoint.json'),
      config: () => ({ destination: rt.meta.destination, versionId: rt.meta.versionId, httpEndpoint: rt.meta.httpEndpoint }),
      deliveryStreamArn: deliveryStreamArn(this.config.region, this.config.accountId, meta.name),
      httpEndpointAllowed: (url: string) => this.httpEndpointAllowed(url),
      ...(this.config.firehoseS3RetryMs !== undefined ? { s3RetryMs: this.config.firehoseS3RetryMs } : {}),
      destinations: meta.redshift ? (rt.redshift = this.redshiftDestination(rt)) : this.destinations,
      log: this.log,
      now: this.now,
      schemas: this.config.firehoseSchemas,
      processing: { lambdas: this.config.firehoseLambdas ?? {}, deliveryStreamArn: deliveryStreamArn(this.config.region, this.config.accountId, meta.name), region: this.config.region },
      onDelivered: (e) => {
        this.log.debug('firehose object delivered', { deliveryStream: meta.name, key: e.key, records: e.records, bytes: e.bytes });
        const l = { delivery_stream: meta.name };
        if (e.backup) {
          // Source record backup (S3BackupMode Enabled): CloudWatch's BackupToS3.*.
          this.metrics.routed.backupRecords.inc(l, e.backup.records);
          this.metrics.routed.backupSuccess.inc(l);
        }
        if (e.routed) {
          // HTTP endpoint, AllData backup or error output: counted under their own names.
          this.metrics.routed.record(l, e);
          this.onDelivered?.(meta.name, e);
          return;
        }
        this.metrics.deliveryRecords.inc(l, e.records);
        this.metrics.deliveryBytes.inc(l, e.bytes);
        this.metrics.deliveryObjectBytes.inc(l, e.objectBytes);
        this.metrics.deliverySuccess.inc(l);
        if (e.processing) this.metrics.processing.note(l, e.processing);
        this.metrics.deliveryAttempts.inc(l);
        this.metrics.dataFreshness.set(l, e.oldestAgeMs / 1000);
        this.onDelivered?.(meta.name, e);
      },
      onFailed: () => (rt.meta.httpEndpoint ? this.metrics.routed.httpAttempts : this.metrics.deliveryAttempts).inc({ delivery_stream: meta.name }),
      open: (r) => {
        const keyId = rt.meta.stagingKeyIds?.[r.flags - 1];
        if (keyId === undefined || !this.cipher) throw new Error(`staged record ${r.counter} of ${meta.name} names unknown key slot ${r.flags}`);
        return this.cipher.open(keyId, r.data);
      },
    });
    if (meta.type === 'KinesisStreamAsSource' && meta.source && this.sources) {
      const sources = this.sources;
      const streamName = sourceStreamName(meta.source.KinesisStreamARN);
      const job = `firehose-source.${meta.dir}`;
      const positions = () => this.storage.jobState<SourcePositions>(job, path.join(dir, 'source.json'));
      // A new delivery stream's start positions are stored before any process runs its reader.
      if (sourceStart) {
        const store = positions();
        if (!(await store.load())) await store.save(sourceStart);
      }
      let reader: StreamSourceReader | undefined;
      rt.source = await this.storage.exclusive(job, {
        start: async () => {
          reader = await StreamSourceReader.start({
            deliveryStream: meta.name,
            streamName,
            positions: positions(),
            streams: sources,
            stage: async (data, sealed) => (await this.put(rt, data, { seal: sealed })).accepted,
            log: this.log,
          });
        },
        stop: async () => {
          await reader?.close();
          reader = undefined;
        },
      });
    }
    return rt;
  }

  private redshiftDestination(rt: DeliveryStreamRuntime): RedshiftDestination {
    return new RedshiftDestination({ meta: () => rt.meta, buckets: this.destinations, connections: this.config.firehoseRedshift ?? {}, log: this.log, metrics: this.metrics, now: this.now });
  }

  /** Saves all metadata; saves are serialised so that a later one never loses to an earlier one. */
  persist(): Promise<void> {
    const doc: FirehoseDoc = { deliveryStreams: [...this.streams.values()].map((rt) => rt.meta) };
    const text = structuredClone(doc);
    this.saving = this.saving.catch(() => {}).then(() => this.store.save(text));
    return this.saving;
  }

  list(): DeliveryStreamRuntime[] {
    return [...this.streams.values()];
  }

  /** The delivery stream named by DeliveryStreamName, or ResourceNotFoundException. */
  resolve(input: Record<string, unknown>): DeliveryStreamRuntime {
    const name = String(input.DeliveryStreamName);
    const rt = this.streams.get(name);
    if (!rt) throw firehoseErrors.notFound(name, this.accountId);
    return rt;
  }

  async create(meta: Omit<DeliveryStreamMeta, 'dir' | 'status' | 'versionId' | 'createdMs'>): Promise<DeliveryStreamRuntime> {
    if (this.streams.has(meta.name)) throw firehoseErrors.alreadyExists(meta.name, this.accountId);
    let sourceStart: SourcePositions | undefined;
    if (meta.source) {
      const name = sourceStreamName(meta.source.KinesisStreamARN);
      sourceStart = this.sources ? StreamSourceReader.latest(this.sources, name) : undefined;
      if (!sourceStart) throw firehoseErrors.invalid(`Stream ${name} under account ${this.accountId} not found.`);
    }
    if (this.streams.size >= limits.deliveryStreamsPerAccountMax) throw firehoseErrors.tooManyStreams(limits.deliveryStreamsPerAccountMax);
    const full: DeliveryStreamMeta = {
      ...meta,
      dir: `${meta.name}-${randomBytes(6).toString('hex')}`,
      status: 'CREATING',
      versionId: 1,
      createdMs: this.now(),
    };
    const rt = await this.openRuntime(full, sourceStart);
    // A name taken while the staging log opened loses the race.
    if (this.streams.has(meta.name)) {
      await rt.source?.close();
      await rt.redshift?.close();
      await rt.worker.close();
      await rt.staging.destroy();
      throw firehoseErrors.alreadyExists(meta.name, this.accountId);
    }
    this.streams.set(meta.name, rt);
    await this.persist();
    this.transition(rt, this.config.createDelayMs, 'ACTIVE');
    this.log.info('delivery stream created', { deliveryStream: meta.name, type: meta.type });
    return rt;
  }

  /** A transitional state ending after `delayMs`: ACTIVE, gone, or an encryption status settling. */
  transition(rt: DeliveryStreamRuntime, delayMs: number, then: 'ACTIVE' | 'GONE' | 'ENCRYPTION'): void {
    if (rt.timer) clearTimeout(rt.timer);
    const finish = async () => {
      rt.timer = undefined;
      if (then === 'GONE') return this.finishDelete(rt);
      if (this.streams.get(rt.meta.name) !== rt) return;
      if (then === 'ACTIVE') rt.meta.status = 'ACTIVE';
      else if (rt.meta.encryption.Status === 'ENABLING') rt.meta.encryption.Status = 'ENABLED';
      else if (rt.meta.encryption.Status === 'DISABLING') rt.meta.encryption = { Status: 'DISABLED' };
      delete rt.meta.statusUntilMs;
      await this.persist();
    };
    if (delayMs <= 0 && then !== 'GONE') {
      void finish();
      return;
    }
    rt.meta.statusUntilMs = this.now() + delayMs;
    rt.timer = setTimeout(() => {
      finish().catch((err) => this.log.error('delivery stream transition failed', { deliveryStream: rt.meta.name, err: String(err) }));
    }, delayMs);
    rt.timer.unref();
  }

  async beginDelete(rt: DeliveryStreamRuntime): Promise<void> {
    rt.meta.status = 'DELETING';
    await this.persist();
    this.transition(rt, this.config.deleteDelayMs, 'GONE');
  }

  /** Delivers what is staged (nothing is dropped silently), then removes the delivery stream and its staging. */
  private async finishDelete(rt: DeliveryStreamRuntime): Promise<void> {
    if (this.streams.get(rt.meta.name) !== rt) return;
    await rt.source?.close();
    await rt.worker.flush();
    await rt.redshift?.close();
    await rt.worker.close();
    this.streams.delete(rt.meta.name);
    await this.persist();
    await rt.staging.close();
    await fsp.rm(this.dirOf(rt.meta), { recursive: true, force: true });
    this.log.info('delivery stream deleted', { deliveryStream: rt.meta.name });
  }

  /**
   * Stages records durably (resolves after the group commit's fsync).
   * Records past the staging cap are refused: `accepted` says how many of the
   * leading records were staged.
   */
  async put(rt: DeliveryStreamRuntime, data: Buffer[], options: { seal?: boolean } = {}): Promise<{ firstCounter: number; accepted: number }> {
    let room = this.config.firehoseStagingBytesMax - rt.worker.pendingBytes;
    let accepted = 0;
    let bytes = 0;
    for (const d of data) {
      if (d.length > room) break;
      room -= d.length;
      bytes += d.length;
      accepted++;
    }
    const l = { delivery_stream: rt.meta.name };
    if (accepted < data.length) this.metrics.throttledRecords.inc(l, data.length - accepted);
    if (accepted === 0) return { firstCounter: rt.staging.nextCounter, accepted: 0 };
    const flags = await this.stagingKeySlot(rt, options.seal ?? false);
    const keyId = flags ? rt.meta.stagingKeyIds![flags - 1]! : '';
    const entries = data.slice(0, accepted).map((d) => ({ partitionKey: '', data: flags ? this.cipher!.seal(keyId, d) : d, flags }));
    const r = rt.staging.append(entries);
    await r.durable;
    rt.worker.noteDurable(r.firstCounter, r.firstCounter + accepted, r.arrivalMs, bytes);
    this.metrics.incomingRecords.inc(l, accepted);
    this.metrics.incomingBytes.inc(l, bytes);
    return { firstCounter: r.firstCounter, accepted };
  }

  /**
   * With server-side encryption on (or turning on), records are sealed in
   * staging with a data key derived from the gateway's master key for the
   * delivery stream's key (AES-256-GCM, as Data Streams' SSE); so are records
   * read from an encrypted source stream (`seal`), under a key of their own,
   * since what is encrypted at rest stays so (issue #11, item 7); 0 when
   * neither applies.
   */
  private async stagingKeySlot(rt: DeliveryStreamRuntime, seal: boolean): Promise<number> {
    const enc = rt.meta.encryption;
    const sse = enc.Status === 'ENABLED' || enc.Status === 'ENABLING';
    if (!this.cipher || (!sse && !seal)) return 0;
    const keyId = sse ? `firehose:${enc.KeyARN ?? 'AWS_OWNED_CMK'}` : stagingKeyIdOfEncryptedSource;
    const slots = (rt.meta.stagingKeyIds ??= []);
    let i = slots.indexOf(keyId);
    if (i < 0) {
      slots.push(keyId);
      i = slots.length - 1;
      await this.persist(); // the slot must be durable before a record names it
    }
    return i + 1;
  }

  /** A staged record's data in the clear (sealed in staging while encryption is on); analytics applications read staging too. */
  openStaged(rt: DeliveryStreamRuntime, r: { counter: number; flags: number; data: Buffer }): Buffer {
    if (!r.flags) return r.data;
    const keyId = rt.meta.stagingKeyIds?.[r.flags - 1];
    if (keyId === undefined || !this.cipher) throw new Error(`staged record ${r.counter} of ${rt.meta.name} names unknown key slot ${r.flags}`);
    return this.cipher.open(keyId, r.data);
  }

  recordId(rt: DeliveryStreamRuntime, counter: number): string {
    return rt.recordIdPrefix + counter.toString(16).padStart(16, '0');
  }

  async close(): Promise<void> {
    for (const rt of this.streams.values()) {
      if (rt.timer) clearTimeout(rt.timer);
      await rt.source?.close();
      await rt.redshift?.close();
      await rt.worker.close();
      await rt.staging.close();
    }
    await this.saving.catch(() => {});
  }
}

/** The stream name at the end of a Kinesis stream ARN (`arn:aws:kinesis:<region>:<account>:stream/<name>`). */
export function sourceStreamName(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** A URL as it may be logged: without a user name or password in it. */
function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.href;
  } catch {
    return '(not a URL)';
  }
}
