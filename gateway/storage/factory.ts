/**
 * The one place that chooses a storage backend. The gateway opens a `Storage`
 * from its configuration (`storage.backend`: `local`, the default, or `nats`)
 * and hands it to the services; no code outside gateway/storage names a
 * backend's class. Keys are backend-neutral paths (`['streams', dir,
 * 'shard-000000']`): `local` maps them to directories under the data
 * directory, `nats` to JetStream stream and KV key names.
 */
import path from 'node:path';
import type { RecordCipher } from '../streams/encryption.ts';
import { LocalFragmentStore } from './local/fragment-store.ts';
import { JsonFileStore, loadOrCreateSecret } from './local/metadata-store.ts';
import { LocalShardLog } from './local/shard-log.ts';
import type { NatsStorageConfig } from './nats/config.ts';
import type { ExclusiveJob } from './nats/job-lease.ts';
import type { FragmentStore, FsyncPolicy, MetadataStore, ShardLog } from './types.ts';

export type StorageBackendName = 'local' | 'nats';

export interface ShardLogOpenOptions {
  fsync: FsyncPolicy;
  segmentBytesMax: number;
  segmentAgeMsMax: number;
  /** How long records are kept (the stream's retention); a replicated backend expires older records by itself. */
  retentionMs?: number;
  now?: () => number;
  onProblem?: (problem: Record<string, unknown>) => void;
}

interface Warner {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface Storage {
  readonly backend: StorageBackendName;
  /** A random secret shared by every gateway process of this storage, made the first time it is asked for. */
  secret(name: 'iterator' | 'master', bytes: number): Promise<Buffer>;
  /** A named metadata document (`streams`, `firehose`, `security`, ...). */
  metadataStore<T>(name: string): MetadataStore<T>;
  /** A Data Streams shard log. */
  openShardLog(key: string[], options: ShardLogOpenOptions): Promise<ShardLog>;
  /** Deletes every shard log whose key starts with `prefix` (a deleted stream). */
  removeShardLogs(prefix: string[]): Promise<void>;
  /** A Firehose staging log; kept on the local disk by every backend for now (docs/scaling.md). */
  openStagingLog(key: string[], options: ShardLogOpenOptions): Promise<ShardLog>;
  /**
   * Runs a background job in exactly one gateway process of this storage at
   * a time: at once on `local` (one process), under a lease in KV on `nats`,
   * where another process takes the job over when its holder dies
   * (nats/job-lease.ts). `close` stops it here and gives it up.
   */
  exclusive(name: string, job: ExclusiveJob): Promise<{ close(): Promise<void> }>;
  /** A background job's small state document, shared by the processes of this storage: `localFile` on `local`, a KV key on `nats`. */
  jobState<T>(name: string, localFile: string): MetadataStore<T>;
  /** Video fragments; kept on the local disk by every backend for now (docs/scaling.md). */
  fragmentStore(o: { cipher: RecordCipher; fsync: FsyncPolicy; log: Warner }): FragmentStore;
  close(): Promise<void>;
}

export interface StorageConfig {
  dataDir: string;
  storageBackend: StorageBackendName;
  /** Required when `storageBackend` is `nats`. */
  nats?: NatsStorageConfig;
}

const keyPart = /^[A-Za-z0-9_.-]+$/;
function checkKey(key: string[]): void {
  for (const part of key) if (!keyPart.test(part) || part.startsWith('.')) throw new Error(`bad storage key ${JSON.stringify(key)}`);
}

function localShardLog(dataDir: string, key: string[], o: ShardLogOpenOptions): Promise<ShardLog> {
  checkKey(key);
  return LocalShardLog.open(path.join(dataDir, ...key), {
    fsync: o.fsync, segmentBytesMax: o.segmentBytesMax, segmentAgeMsMax: o.segmentAgeMsMax,
    ...(o.now ? { now: o.now } : {}), ...(o.onProblem ? { onProblem: o.onProblem } : {}),
  });
}

/** The embedded default: everything under the data directory (docs/storage.md). */
export function localStorage(dataDir: string): Storage {
  return {
    backend: 'local',
    secret: (name, bytes) => loadOrCreateSecret(path.join(dataDir, 'keys', `${name}.key`), bytes),
    metadataStore: <T>(name: string) => {
      checkKey([name]);
      return new JsonFileStore<T>(path.join(dataDir, 'metadata', `${name}.json`));
    },
    openShardLog: (key, o) => localShardLog(dataDir, key, o),
    async removeShardLogs(prefix) {
      checkKey(prefix);
      const { rm } = await import('node:fs/promises');
      await rm(path.join(dataDir, ...prefix), { recursive: true, force: true });
    },
    openStagingLog: (key, o) => localShardLog(dataDir, key, o),
    async exclusive(_name, job) {
      await job.start();
      return { close: () => job.stop() };
    },
    jobState: <T>(_name: string, localFile: string) => new JsonFileStore<T>(localFile),
    fragmentStore: (o) => new LocalFragmentStore({ dir: path.join(dataDir, 'video'), cipher: o.cipher, fsync: o.fsync, log: o.log }),
    async close() {},
  };
}

/** Opens the storage the configuration names. */
export async function openStorage(config: StorageConfig, log: Warner & { info(msg: string, fields?: Record<string, unknown>): void }): Promise<Storage> {
  if (config.storageBackend === 'local') return localStorage(config.dataDir);
  if (!config.nats) throw new Error('storage.backend is nats but storage.nats is missing');
  const { natsStorage } = await import('./nats/storage.ts');
  return natsStorage(config.dataDir, config.nats, log);
}
