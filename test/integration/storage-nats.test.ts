// Runs the storage contract suites (test/contract/) against the nats backend on a throwaway 3-node JetStream cluster (test/helpers/nats.ts), shard logs at R3: the same order, durability (SIGKILLed writers), trim, read-race, time-lookup and large-record tests as local; plus two writers on one shard, compare-and-set between two connections, and the watch that keeps a process's copy of a document live.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TributaryError } from '../../sdk/protocol/errors.ts';
import { KvMetadataStore } from '../../gateway/storage/nats/metadata-store.ts';
import { NatsShardLog } from '../../gateway/storage/nats/shard-log.ts';
import { connectNats, shardLogNames } from '../../gateway/storage/nats/storage.ts';
import type { MetadataStore, ShardLog } from '../../gateway/storage/types.ts';
import { waitFor } from '../helpers/wait.ts';
import { metadataStoreContract } from '../contract/metadata-store.contract.ts';
import { natsBackend } from '../contract/nats-backend.ts';
import { shardLogContract } from '../contract/shard-log.contract.ts';
import { startNatsCluster, type NatsCluster } from '../helpers/nats.ts';

let cluster: NatsCluster;
beforeAll(async () => {
  cluster = await startNatsCluster();
  process.env.TRB_NATS_SERVERS = cluster.servers.join(',');
}, 90_000);
afterAll(() => cluster?.stop());

shardLogContract(natsBackend);
metadataStoreContract(natsBackend);

describe('nats shard log: two gateway processes appending to one shard', () => {
  it('never gives one counter to two records: a writer that lost the race is refused, re-reads the end, and its retry lands after', async () => {
    const location = await natsBackend.newLocation();
    // Two connections, as two gateway processes have.
    const a = await openShardLogOnOwnConnection(location);
    const b = await openShardLogOnOwnConnection(location);
    const acked = new Map<number, string>();
    let refusals = 0;
    const writer = async (log: ShardLog, name: string) => {
      for (let i = 0; i < 150; ) {
        const batch = [0, 1, 2].map((k) => ({ partitionKey: `${name}-${i + k}`, data: Buffer.from(`${name}:${i + k}`), flags: 0 }));
        const r = log.append(batch);
        try {
          await r.durable;
          batch.forEach((e, k) => acked.set(r.firstCounter + k, e.data.toString()));
          i += 3;
        } catch (err) {
          expect((err as TributaryError).code).toBe('SHARD_LOG_CONFLICT');
          refusals++;
          await waitFor('the log to re-read its end', () => (log as unknown as { resync?: unknown }).resync === undefined);
        }
      }
    };
    await Promise.all([writer(a.log, 'a'), writer(b.log, 'b')]);
    const all = await a.log.read(0, { limit: 100_000, bytesMax: 1 << 30, arrivalMsMin: 0 });
    // Every acknowledged record is at the counter its writer was told, and counters are consecutive.
    all.records.forEach((r, i) => expect(r.counter).toBe(i));
    for (const [counter, text] of acked) expect(all.records[counter]!.data.toString()).toBe(text);
    // Each writer's records keep their order (a refused batch is retried after what was stored).
    for (const name of ['a', 'b']) {
      const mine = all.records.map((r) => r.data.toString()).filter((t) => t.startsWith(`${name}:`)).map((t) => Number(t.split(':')[1]));
      const firsts = mine.filter((n, i) => mine.indexOf(n) === i);
      expect(firsts).toEqual([...firsts].sort((x, y) => x - y));
      expect(new Set(mine).size).toBe(150);
    }
    expect(acked.size).toBe(300);
    console.log(`two writers on one shard: ${refusals} refused appends for 100 acknowledged`);
    await a.close();
    await b.close();
  }, 60_000);
});

describe('nats metadata store: compare-and-set', () => {
  it('refuses a save based on a document another process changed, and accepts it after a reload', async () => {
    const location = await natsBackend.newLocation();
    const one = await natsBackend.openMetadataStore(location);
    const other = await openMetadataStoreOnOwnConnection(location);
    expect(await one.load()).toBeUndefined();
    expect(await other.store.load()).toBeUndefined();
    await one.save({ by: 'one', n: 1 });
    await expect(other.store.save({ by: 'other', n: 1 })).rejects.toMatchObject({ code: 'METADATA_CONFLICT' });
    expect(await one.load()).toEqual({ by: 'one', n: 1 });
    expect(await other.store.load()).toEqual({ by: 'one', n: 1 });
    await other.store.save({ by: 'other', n: 2 });
    await expect(one.save({ by: 'one', n: 2 })).rejects.toMatchObject({ code: 'METADATA_CONFLICT' });
    expect(await one.load()).toEqual({ by: 'other', n: 2 });
    await other.close();
  });
});

describe('nats metadata store: watch', () => {
  it('issue #20: hands another process\'s documents to the listener in order with saves, refuses a save taken before one was applied, and resyncs', async () => {
    const location = await natsBackend.newLocation();
    const writer = await openMetadataStoreOnOwnConnection(location);
    const watcher = await openMetadataStoreOnOwnConnection(location);
    const store = watcher.store as KvMetadataStore<{ n: number | string }>;
    await writer.store.load();
    await store.load();
    const applied: unknown[] = [];
    let entered: (() => void) | undefined;
    let gate: Promise<void> | undefined;
    const errors: unknown[] = [];
    await store.watch(async (doc) => {
      applied.push(doc);
      if (doc?.n === 3) {
        entered?.();
        await gate;
      }
    }, (err) => errors.push(err));
    await writer.store.save({ n: 1 });
    await waitFor('the watcher to apply n 1', () => applied.some((d) => (d as { n: number } | undefined)?.n === 1));
    // Its copy is current: its own save passes the compare-and-set, and it is not handed its own document.
    await store.save({ n: 2 });
    expect(await writer.store.load()).toEqual({ n: 2 });
    // A document arrives while a save is being taken: that save did not see it, and fails rather than write it away.
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    const inside = new Promise<void>((r) => (entered = r));
    await writer.store.save({ n: 3 });
    await inside;
    const stale = store.save({ n: 'stale' });
    open();
    await expect(stale).rejects.toMatchObject({ code: 'METADATA_CONFLICT' });
    expect(await writer.store.load()).toEqual({ n: 3 });
    // After the failure the listener gets the stored document again, to undo what was not stored.
    const before = applied.length;
    await store.resync();
    expect(applied.slice(before)).toEqual([{ n: 3 }]);
    await store.save({ n: 4 });
    expect(await writer.store.load()).toEqual({ n: 4 });
    expect(applied.filter((d) => (d as { n: unknown } | undefined)?.n === 2 || (d as { n: unknown } | undefined)?.n === 4)).toEqual([]);
    expect(errors).toEqual([]);
    store.stop();
    await writer.close();
    await watcher.close();
  });
});

async function openShardLogOnOwnConnection(location: string): Promise<{ log: ShardLog; close(): Promise<void> }> {
  const h = await connectNats({ servers: cluster.servers, replicas: 3, prefix: 'CONTRACT' });
  const log = await NatsShardLog.open({ js: h.js, jsm: h.jsm, ...shardLogNames('CONTRACT', [location]), replicas: 3, retentionMs: 0, now: Date.now });
  return { log, close: async () => { await log.close(); await h.nc.close(); } };
}

async function openMetadataStoreOnOwnConnection(location: string): Promise<{ store: MetadataStore<unknown>; close(): Promise<void> }> {
  const h = await connectNats({ servers: cluster.servers, replicas: 3, prefix: 'CONTRACT' });
  return { store: new KvMetadataStore<unknown>(h.kv, `doc.${location}`), close: () => h.nc.close() };
}
