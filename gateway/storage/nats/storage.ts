/**
 * The `nats` storage backend: one connection per gateway process to a NATS
 * JetStream cluster; shard logs as JetStream streams (shard-log.ts), metadata
 * documents and shared secrets in a JetStream KV bucket with compare-and-set
 * (metadata-store.ts). Firehose staging and video fragments stay on the local
 * disk for now (docs/scaling.md says what that means for several processes).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, credsAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { localStorage, type Storage } from '../factory.ts';
import type { NatsStorageConfig } from './config.ts';
import { KvMetadataStore } from './metadata-store.ts';
import { NatsShardLog } from './shard-log.ts';
import { jobLeaseMsDefault, KvJobLease } from './job-lease.ts';

/** KV key characters (the job's name becomes part of `lease.<name>` and `job.<name>`). */
function checkJobName(name: string): void {
  if (!/^[A-Za-z0-9_=.-]+$/.test(name) || name.startsWith('.') || name.endsWith('.')) throw new Error(`bad job name ${JSON.stringify(name)}`);
}

interface Logs {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** The connection options `storage.nats` describes. */
export function connectionOptions(config: NatsStorageConfig): NodeConnectionOptions {
  return {
    servers: config.servers,
    name: 'tributary-gateway',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    timeout: 10_000,
    ...(config.credentials ? { authenticator: credsAuthenticator(fs.readFileSync(config.credentials)) } : {}),
    ...(config.user !== undefined ? { user: config.user, pass: config.password ?? '' } : {}),
    ...(config.token !== undefined ? { token: config.token } : {}),
    ...(config.tls && (config.tls.ca || config.tls.cert || config.tls.key) ? { tls: { ...(config.tls.ca ? { caFile: config.tls.ca } : {}), ...(config.tls.cert ? { certFile: config.tls.cert } : {}), ...(config.tls.key ? { keyFile: config.tls.key } : {}) } } : {}),
  };
}

/** JetStream stream name and subject of a shard log key: readable, and unique by a digest of the whole key. */
export function shardLogNames(prefix: string, key: string[]): { stream: string; subject: string } {
  const digest = createHash('sha256').update(key.join('/')).digest('hex').slice(0, 16);
  const readable = key.join('_').replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 160);
  return { stream: `${prefix}_${readable}_${digest}`, subject: `${prefix.toLowerCase()}.shard.${digest}` };
}

export interface NatsHandles {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  kv: KV;
}

/** Connects and opens (or makes) the metadata bucket. */
export async function connectNats(config: NatsStorageConfig): Promise<NatsHandles> {
  const nc = await connect(connectionOptions(config));
  try {
    const js = jetstream(nc, { timeout: 30_000 });
    const jsm = await jetstreamManager(nc, { timeout: 30_000 });
    const kv = await new Kvm(js).create(`${config.prefix}_metadata`, { replicas: config.replicas, history: 1, allow_direct: false, storage: 'file' } as never);
    return { nc, js, jsm, kv };
  } catch (err) {
    await nc.close();
    throw err;
  }
}

export async function natsStorage(dataDir: string, config: NatsStorageConfig, log: Logs): Promise<Storage> {
  const h = await connectNats(config);
  log.info('storage on NATS JetStream', { servers: config.servers, replicas: config.replicas, server: h.nc.info?.server_name });
  void (async () => {
    for await (const s of h.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect') log.warn(`NATS ${s.type}`, { server: s.server });
    }
  })();
  const local = localStorage(dataDir);
  const leases = new Set<KvJobLease>();
  return {
    backend: 'nats',
    async secret(name, bytes) {
      const key = `secret.${name}`;
      try {
        await h.kv.create(key, randomBytes(bytes));
      } catch (err) {
        if (!/wrong last sequence|key exists/i.test(String((err as Error).message))) throw err;
      }
      const e = await h.kv.get(key);
      if (!e || e.value.length !== bytes) throw new Error(`NATS KV ${key} holds ${e?.value.length ?? 0} bytes, expected ${bytes}`);
      return Buffer.from(e.value);
    },
    metadataStore: <T>(name: string) => new KvMetadataStore<T>(h.kv, `doc.${name}`),
    openShardLog: (key, o) => NatsShardLog.open({
      js: h.js, jsm: h.jsm, ...shardLogNames(config.prefix, key), replicas: config.replicas, retentionMs: o.retentionMs ?? 0, now: o.now ?? Date.now,
    }),
    async removeShardLogs(prefix) {
      const { stream } = shardLogNames(config.prefix, prefix);
      const head = stream.slice(0, stream.lastIndexOf('_'));
      for await (const name of h.jsm.streams.names()) {
        if (name.startsWith(`${head}_`)) await h.jsm.streams.delete(name);
      }
    },
    openStagingLog: local.openStagingLog,
    async exclusive(name, job) {
      checkJobName(name);
      const lease = new KvJobLease(h.kv, name, job, { leaseMs: config.leaseMs ?? jobLeaseMsDefault, log });
      leases.add(lease);
      lease.begin();
      return {
        close: async () => {
          leases.delete(lease);
          await lease.close();
        },
      };
    },
    jobState: <T>(name: string) => {
      checkJobName(name);
      return new KvMetadataStore<T>(h.kv, `job.${name}`);
    },
    fragmentStore: local.fragmentStore,
    async close() {
      for (const lease of [...leases]) await lease.close();
      await h.nc.drain();
    },
  };
}
