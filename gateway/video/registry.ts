/**
 * The Kinesis Video Streams state: every video stream's metadata (persisted
 * atomically on each change) and its fragment log, retention, and the
 * lookups the actions, the ingest and playback share. It knows nothing of HTTP.
 *
 * Choices where AWS publishes no behaviour (docs/video.md): a stream is
 * ACTIVE as soon as CreateStream answers (no CREATING phase to wait out);
 * DeleteStream removes it at once (its fragments are deleted in the
 * background; running PutMedia sessions end with STREAM_NOT_ACTIVE).
 */
import { randomBytes } from 'node:crypto';
import { videoErrors } from '../../sdk/protocol/errors.ts';
import * as limits from '../../sdk/protocol/video/limits.ts';
import type { Logger } from '../log.ts';
import type { FragmentLog, FragmentStore, MetadataStore } from '../storage/types.ts';
import { VideoMetrics } from './metrics.ts';
import { RecentMedia, RecentMediaLog } from './recent-media.ts';

export interface VideoStreamMeta {
  name: string;
  arn: string;
  deviceName?: string;
  mediaType?: string;
  kmsKeyId: string;
  version: string;
  creationMs: number;
  dataRetentionInHours: number;
  tags: Record<string, string>;
}

export interface VideoDoc {
  version: 1;
  streams: VideoStreamMeta[];
}

/** A video stream with its open fragment log (what ingest and playback use). */
export class VideoStream {
  /** Aborts when the stream is deleted (ends PutMedia and GetMedia sessions). */
  readonly deleted = new AbortController();
  constructor(
    public meta: VideoStreamMeta,
    public fragments: FragmentLog,
  ) {}
  get name(): string {
    return this.meta.name;
  }
  get arn(): string {
    return this.meta.arn;
  }
  get dataRetentionInHours(): number {
    return this.meta.dataRetentionInHours;
  }
  /** The key of the stream's fragment log: unique per stream lifetime. */
  get key(): string {
    return `${this.meta.name}-${this.meta.creationMs}`;
  }
  /** DescribeStream's StreamInfo. */
  info(): Record<string, unknown> {
    const m = this.meta;
    return {
      ...(m.deviceName !== undefined ? { DeviceName: m.deviceName } : {}),
      StreamName: m.name,
      StreamARN: m.arn,
      ...(m.mediaType !== undefined ? { MediaType: m.mediaType } : {}),
      KmsKeyId: m.kmsKeyId,
      Version: m.version,
      Status: 'ACTIVE',
      CreationTime: new Date(m.creationMs),
      DataRetentionInHours: m.dataRetentionInHours,
    };
  }
}

export interface VideoRegistryOptions {
  region: string;
  accountId: string;
  log: Logger;
  now?: () => number;
  retentionCheckIntervalMs: number;
  streamsMax?: number;
}

export class VideoRegistry {
  private readonly streams = new Map<string, VideoStream>();
  private saving: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  readonly now: () => number;
  /** Ingest and read metrics (CloudWatch names), rendered on the gateway's /metrics page. */
  readonly metrics = new VideoMetrics();
  /** The newest fragments' media, for live readers (recent-media.ts). */
  readonly recentMedia = new RecentMedia();

  private constructor(
    private readonly store: MetadataStore<VideoDoc>,
    private readonly fragmentStore: FragmentStore,
    readonly o: VideoRegistryOptions,
  ) {
    this.now = o.now ?? Date.now;
  }

  static async open(store: MetadataStore<VideoDoc>, fragments: FragmentStore, o: VideoRegistryOptions): Promise<VideoRegistry> {
    const reg = new VideoRegistry(store, fragments, o);
    for (const meta of (await store.load())?.streams ?? []) {
      const s = new VideoStream(meta, undefined as unknown as FragmentLog);
      s.fragments = await reg.openLog(s);
      reg.streams.set(meta.name, s);
    }
    reg.timer = setInterval(() => void reg.enforceRetention(), o.retentionCheckIntervalMs);
    reg.timer.unref();
    await reg.enforceRetention();
    return reg;
  }

  private async openLog(s: VideoStream): Promise<FragmentLog> {
    const persist = s.meta.dataRetentionInHours > 0;
    const log = await this.fragmentStore.open(s.key, { keyId: s.meta.kmsKeyId, persist });
    // A stream without retention keeps its fragments in memory already.
    return persist ? new RecentMediaLog(log, s.key, this.recentMedia) : log;
  }

  /** The video part of the gateway's /metrics page. */
  renderMetrics(): string {
    return this.metrics.render(this.list().map((s) => ({ name: s.name, storedFragments: s.fragments.list().length })));
  }

  list(): VideoStream[] {
    return [...this.streams.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The stream named by StreamName or StreamARN (exactly one of them); ResourceNotFoundException otherwise. */
  resolve(input: { StreamName?: unknown; StreamARN?: unknown }): VideoStream {
    const name = input.StreamName as string | undefined;
    const arn = input.StreamARN as string | undefined;
    if ((name === undefined) === (arn === undefined)) throw videoErrors.invalidArgument('Either StreamName or StreamARN must be specified, but not both.');
    const s = name !== undefined ? this.streams.get(name) : this.byArn(arn!);
    if (!s) throw videoErrors.streamNotFound();
    return s;
  }

  find(name: string): VideoStream | undefined {
    return this.streams.get(name);
  }

  byArn(arn: string): VideoStream | undefined {
    const name = /^arn:[^:]+:kinesisvideo:[^:]*:[^:]*:stream\/([^/]+)\/\d+$/.exec(arn)?.[1];
    const s = name === undefined ? undefined : this.streams.get(name);
    return s && s.arn === arn ? s : undefined;
  }

  async create(input: { StreamName: string; DeviceName?: string; MediaType?: string; KmsKeyId?: string; DataRetentionInHours?: number; Tags?: Record<string, string> }): Promise<VideoStream> {
    if (this.streams.has(input.StreamName)) throw videoErrors.streamExists(input.StreamName);
    const max = this.o.streamsMax ?? limits.accountStreamsMax;
    if (this.streams.size >= max) throw videoErrors.accountStreamLimit(max);
    if (Object.keys(input.Tags ?? {}).length > limits.tagsPerResourceMax) throw videoErrors.tagsExceeded(limits.tagsPerResourceMax);
    // ARNs carry the creation time in ms; two creations of one name in one ms would collide, so never reuse one.
    let creationMs = this.now();
    for (const s of this.streams.values()) if (s.meta.creationMs >= creationMs && s.name === input.StreamName) creationMs = s.meta.creationMs + 1;
    const meta: VideoStreamMeta = {
      name: input.StreamName,
      arn: `arn:aws:kinesisvideo:${this.o.region}:${this.o.accountId}:stream/${input.StreamName}/${creationMs}`,
      ...(input.DeviceName !== undefined ? { deviceName: input.DeviceName } : {}),
      ...(input.MediaType !== undefined ? { mediaType: input.MediaType } : {}),
      kmsKeyId: input.KmsKeyId ?? `arn:aws:kms:${this.o.region}:${this.o.accountId}:alias/${limits.defaultKmsKeyAlias}`,
      version: newVersion(),
      creationMs,
      dataRetentionInHours: input.DataRetentionInHours ?? 0,
      tags: { ...(input.Tags ?? {}) },
    };
    const s = new VideoStream(meta, undefined as unknown as FragmentLog);
    s.fragments = await this.openLog(s);
    this.streams.set(meta.name, s);
    await this.persist();
    return s;
  }

  /** Checks CurrentVersion (when required or given) against the stream's. */
  checkVersion(s: VideoStream, currentVersion: string | undefined): void {
    if (currentVersion !== undefined && currentVersion !== s.meta.version) throw videoErrors.versionMismatch(currentVersion);
  }

  async delete(s: VideoStream): Promise<void> {
    this.streams.delete(s.name);
    s.deleted.abort();
    await this.persist();
    void s.fragments.destroy().catch((err) => this.o.log.warn('deleting a video stream\'s fragments failed', { stream: s.name, err: String(err) }));
  }

  async update(s: VideoStream, change: { DeviceName?: string; MediaType?: string }): Promise<void> {
    if (change.DeviceName !== undefined) s.meta.deviceName = change.DeviceName;
    if (change.MediaType !== undefined) s.meta.mediaType = change.MediaType;
    s.meta.version = newVersion();
    await this.persist();
  }

  /** Changes retention; crossing 0 swaps the fragment log between the disk and memory kinds. */
  async updateRetention(s: VideoStream, hours: number): Promise<void> {
    const before = s.meta.dataRetentionInHours;
    s.meta.dataRetentionInHours = hours;
    s.meta.version = newVersion();
    if ((before > 0) !== (hours > 0)) {
      const old = s.fragments;
      s.fragments = await this.openLog(s);
      // Without retention nothing is kept, as on AWS; with it, storage starts empty.
      await old.destroy();
    }
    await this.persist();
    await this.enforceRetention();
  }

  async setTags(s: VideoStream, tags: Record<string, string>): Promise<void> {
    const merged = { ...s.meta.tags, ...tags };
    if (Object.keys(merged).length > limits.tagsPerResourceMax) throw videoErrors.tagsExceeded(limits.tagsPerResourceMax);
    s.meta.tags = merged;
    await this.persist();
  }

  async removeTags(s: VideoStream, keys: string[]): Promise<void> {
    for (const k of keys) delete s.meta.tags[k];
    await this.persist();
  }

  async enforceRetention(): Promise<void> {
    const now = this.now();
    for (const s of this.streams.values()) {
      if (s.meta.dataRetentionInHours <= 0) continue;
      try {
        await s.fragments.trimBefore(now - s.meta.dataRetentionInHours * 3_600_000);
      } catch (err) {
        this.o.log.warn('video retention failed', { stream: s.name, err: String(err) });
      }
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.saving;
    for (const s of this.streams.values()) await s.fragments.close();
  }

  private persist(): Promise<void> {
    const doc: VideoDoc = { version: 1, streams: [...this.streams.values()].map((s) => s.meta) };
    this.saving = this.saving.then(() => this.store.save(doc));
    return this.saving;
  }
}

/** Stream versions: AWS's are opaque alphanumeric strings that change on every update. */
function newVersion(): string {
  return randomBytes(15).toString('base64').replace(/[^a-zA-Z0-9]/g, '').slice(0, 20).padEnd(20, 'x');
}

