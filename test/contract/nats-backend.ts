/**
 * The `nats` storage backend as the contract suites see it: each location is
 * a fresh key, so a fresh JetStream stream (shard log) or KV key (metadata
 * store) on the cluster named by TRB_NATS_SERVERS (set by the test file that
 * starts the cluster; child processes inherit it). No torn tails: a JetStream
 * message is stored whole or not at all.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { KvMetadataStore } from '../../gateway/storage/nats/metadata-store.ts';
import { NatsShardLog } from '../../gateway/storage/nats/shard-log.ts';
import { connectNats, shardLogNames, type NatsHandles } from '../../gateway/storage/nats/storage.ts';
import type { MetadataStore, ShardLog } from '../../gateway/storage/types.ts';
import type { ShardLogOpenOptions, StorageBackend } from './backend.ts';

const prefix = 'CONTRACT';
let handles: Promise<NatsHandles> | undefined;
const replicas = () => Number(process.env.TRB_NATS_REPLICAS ?? 3);

function connection(): Promise<NatsHandles> {
  const servers = process.env.TRB_NATS_SERVERS;
  if (!servers) throw new Error('TRB_NATS_SERVERS is not set: start a cluster with test/helpers/nats.ts first');
  return (handles ??= connectNats({ servers: servers.split(','), replicas: replicas(), prefix }));
}

export async function openShardLog(location: string, options: ShardLogOpenOptions): Promise<ShardLog> {
  const h = await connection();
  return NatsShardLog.open({ js: h.js, jsm: h.jsm, ...shardLogNames(prefix, [location]), replicas: replicas(), retentionMs: 0, now: options.now ?? Date.now });
}

export async function openMetadataStore(location: string): Promise<MetadataStore<unknown>> {
  return new KvMetadataStore<unknown>((await connection()).kv, `doc.${location}`);
}

export const natsBackend: StorageBackend = {
  name: 'nats',
  async newLocation() {
    return `c-${randomBytes(6).toString('hex')}`;
  },
  openShardLog,
  openMetadataStore,
  childModule: fileURLToPath(import.meta.url),
  recordBytesMax: 10 * 1024 * 1024,
  async cleanup() {
    const h = await handles;
    handles = undefined;
    if (!h) return;
    for await (const name of h.jsm.streams.names()) if (name.startsWith(`${prefix}_c-`)) await h.jsm.streams.delete(name);
    await h.nc.close();
  },
};
