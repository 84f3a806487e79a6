// Issue #20: gateways with `storage.backend: nats` on a throwaway 3-node JetStream cluster. Proves that the stock AWS SDK creates, writes and reads a stream through such a gateway; that a shard append JetStream refuses (another writer got there first) fails only that shard's records of a PutRecords; that a second gateway process (the shipped bundle, its own data directory) answers the same stream, each reading what the other wrote; and that kill -9 of a NATS node under PutRecords load from both loses no acknowledged record.
import fs from 'node:fs';
import path from 'node:path';
import { GetRecordsCommand, IncreaseStreamRetentionPeriodCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordCommand, PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/gateway.ts';
import { encodeRecord } from '../../gateway/storage/nats/shard-log.ts';
import { connectNats } from '../../gateway/storage/nats/storage.ts';
import { createActiveStream, kinesisClient, tempDir, testGateway } from '../helpers/gateway.ts';
import { startNatsCluster, type NatsCluster } from '../helpers/nats.ts';
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.ts';
import { waitFor } from '../helpers/wait.ts';

let cluster: NatsCluster;
let a: Gateway;
let b: SpawnedGateway | undefined;
const prefix = 'SCALEOUT';

beforeAll(async () => {
  cluster = await startNatsCluster();
  // Limits off: the test counts acknowledged records, not throttling, and two processes each keep their own buckets.
  a = await testGateway({ storageBackend: 'nats', nats: { servers: cluster.servers, replicas: 3, prefix }, enforceLimits: false });
}, 90_000);

afterAll(async () => {
  await a?.close();
  if (b && b.child.exitCode === null) {
    b.child.kill('SIGTERM');
    await b.exited;
  }
  await cluster?.stop();
});

/** Every record of every shard, read through `client` from TRIM_HORIZON. */
async function readAll(client: KinesisClient, StreamName: string, perShard?: string[][]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const { Shards } = await client.send(new ListShardsCommand({ StreamName }));
  for (const s of Shards!) {
    const order: string[] = [];
    perShard?.push(order);
    let it = (await client.send(new GetShardIteratorCommand({ StreamName, ShardId: s.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    for (;;) {
      const r = await client.send(new GetRecordsCommand({ ShardIterator: it!, Limit: 10_000 }));
      for (const rec of r.Records!) {
        out.set(rec.SequenceNumber!, Buffer.from(rec.Data!).toString());
        order.push(rec.SequenceNumber!);
      }
      if (r.Records!.length === 0) break;
      it = r.NextShardIterator;
    }
  }
  return out;
}

/** Records PutRecords answered with a per-record error (not stored; these tests do not retry them). */
let recordsFailed = 0;

async function put(client: KinesisClient, StreamName: string, texts: string[]): Promise<Map<string, string>> {
  const r = await client.send(new PutRecordsCommand({ StreamName, Records: texts.map((t) => ({ PartitionKey: t, Data: Buffer.from(t) })) }));
  const acked = new Map<string, string>();
  r.Records!.forEach((rec, i) => {
    if (rec.SequenceNumber) acked.set(rec.SequenceNumber, texts[i]!);
  });
  recordsFailed += r.FailedRecordCount ?? 0;
  return acked;
}

describe('gateway on NATS JetStream', () => {
  it('serves the stock AWS SDK: create a stream, put, get back in order with the sequence numbers PutRecords returned', async () => {
    const client = kinesisClient(a.url);
    await createActiveStream(client, 'one', 2);
    const texts = Array.from({ length: 200 }, (_, i) => `one-${i}`);
    const acked = await put(client, 'one', texts);
    expect(acked.size).toBe(200);
    const perShard: string[][] = [];
    const back = await readAll(client, 'one', perShard);
    expect(back).toEqual(acked);
    // Within a shard, read order is increasing sequence numbers and put order.
    expect(perShard.every((seqs) => seqs.length > 0)).toBe(true);
    for (const seqs of perShard) {
      const puts = seqs.map((seq) => Number(back.get(seq)!.split('-')[1]));
      expect(puts).toEqual([...puts].sort((x, y) => x - y));
      expect(seqs.map(BigInt)).toEqual([...seqs.map(BigInt)].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
    }
    // Each shard is a JetStream stream at R3 whose max_age follows the stream's retention, also when it grows.
    const maxAges = async () => {
      const h = await connectNats({ servers: cluster.servers, replicas: 3, prefix });
      const out: Array<[number, number]> = [];
      for await (const si of h.jsm.streams.list()) if (si.config.name.startsWith(`${prefix}_streams_one-`)) out.push([si.config.num_replicas, si.config.max_age / 3_600_000_000_000]);
      await h.nc.close();
      return out;
    };
    expect(await maxAges()).toEqual([[3, 24], [3, 24]]);
    await client.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: 'one', RetentionPeriodHours: 48 }));
    expect(await maxAges()).toEqual([[3, 48], [3, 48]]);
  }, 60_000);

  it('issue #20: a refused append fails only its shard\'s records (per-record InternalFailure); PutRecord answers InternalFailure', async () => {
    const client = kinesisClient(a.url);
    await createActiveStream(client, 'partial', 2);
    // Another writer (a raw JetStream client, as another gateway process would be) appends to shard 1 behind
    // A's back, so A's next append to shard 1 expects a last sequence the stream no longer has and is refused.
    const h = await connectNats({ servers: cluster.servers, replicas: 3, prefix });
    const intrude = async (text: string) => {
      let subject: string | undefined;
      for await (const si of h.jsm.streams.list()) {
        if (si.config.name.startsWith(`${prefix}_streams_partial-`) && si.config.name.includes('shard-000001')) subject = si.config.subjects[0];
      }
      await h.js.publish(subject!, encodeRecord({ partitionKey: text, data: Buffer.from(text), flags: 0 }, Date.now()));
    };
    const shard1Key = (2n ** 127n).toString();
    const texts = Array.from({ length: 20 }, (_, i) => `p-${i}`);
    const entries = texts.map((t, i) => ({ PartitionKey: t, Data: Buffer.from(t), ExplicitHashKey: i % 2 ? shard1Key : '0' }));
    try {
      await intrude('intruder-1');
      const r = await client.send(new PutRecordsCommand({ StreamName: 'partial', Records: entries }));
      expect(r.FailedRecordCount).toBe(10);
      r.Records!.forEach((rec, i) => {
        if (i % 2) expect(rec).toEqual({ ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure.' });
        else expect(rec).toMatchObject({ ShardId: 'shardId-000000000000', SequenceNumber: expect.stringMatching(/^\d+$/) });
      });
      // The client retries only the failed records (the log re-reads the shard's end meanwhile, refusing at once).
      let pending = r.Records!.flatMap((rec, i) => (rec.ErrorCode ? [entries[i]!] : []));
      await waitFor('the failed records to be stored on a retry', async () => {
        const again = await client.send(new PutRecordsCommand({ StreamName: 'partial', Records: pending }));
        pending = pending.filter((_, i) => again.Records![i]!.ErrorCode);
        return pending.length === 0;
      }, { timeoutMs: 30_000, intervalMs: 100 });
      // Every record is stored exactly once, the other writer's too.
      const stored = [...(await readAll(client, 'partial')).values()].sort();
      expect(stored).toEqual([...texts, 'intruder-1'].sort());
      // PutRecord keeps its whole-request error, and stores nothing.
      await intrude('intruder-2');
      await expect(client.send(new PutRecordCommand({ StreamName: 'partial', PartitionKey: 'single', Data: Buffer.from('single'), ExplicitHashKey: shard1Key })))
        .rejects.toMatchObject({ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } });
      expect([...(await readAll(client, 'partial')).values()].sort()).toEqual([...texts, 'intruder-1', 'intruder-2'].sort());
    } finally {
      await h.nc.close();
    }
  }, 60_000);

  it('answers the same stream from a second gateway process, each reading what the other wrote', async () => {
    const client = kinesisClient(a.url);
    await createActiveStream(client, 'shared', 2);
    const fromA = await put(client, 'shared', Array.from({ length: 50 }, (_, i) => `a-${i}`));
    const dir = tempDir('trb-gw-b-');
    const config = path.join(dir, 'gateway.yaml');
    fs.writeFileSync(config, `storage:\n  backend: nats\n  nats:\n    servers: [${cluster.servers.join(', ')}]\n    prefix: ${prefix}\n`);
    b = await spawnGateway(['--config', config, '--data', path.join(dir, 'data'), '--insecure-http', '--no-limits']);
    const clientB = kinesisClient(b.url);
    const fromB = new Map<string, string>();
    // B's first append to a shard A wrote is refused once (its view of the end was older): the SDK's retry lands.
    await waitFor('B to accept a batch', async () => {
      for (const [k, v] of await put(clientB, 'shared', Array.from({ length: 50 }, (_, i) => `b-${i}`)).catch(() => new Map())) fromB.set(k, v);
      return fromB.size >= 50;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    const expected = new Map([...fromA, ...fromB]);
    expect(await readAll(clientB, 'shared')).toEqual(expected);
    expect(await readAll(client, 'shared')).toEqual(expected);
  }, 90_000);

  it('loses no acknowledged record when a NATS node is killed with SIGKILL under PutRecords load from both gateways', async () => {
    const client = kinesisClient(a.url);
    await createActiveStream(client, 'load', 4);
    const clients = [client, kinesisClient(b!.url)];
    const acked = new Map<string, string>();
    let failures = 0;
    const failureKinds = new Map<string, number>();
    let stop = false;
    let killedAt = -1;
    const producer = async (c: KinesisClient, name: string) => {
      for (let batch = 0; !stop; batch++) {
        const texts = Array.from({ length: 100 }, (_, i) => `${name}-${batch}-${i}`);
        try {
          for (const [k, v] of await put(c, 'load', texts)) acked.set(k, v);
        } catch (err) {
          failures++; // not acknowledged: nothing to keep
          const k = `${name}:${(err as Error).name}:${(err as Error).message}`.slice(0, 160);
          failureKinds.set(k, (failureKinds.get(k) ?? 0) + 1);
        }
      }
    };
    const producers = [producer(clients[0]!, 'a'), producer(clients[1]!, 'b')];
    await waitFor('2,000 acknowledged records before the kill', () => acked.size >= 2000, { timeoutMs: 60_000 });
    killedAt = acked.size;
    const recordsFailedBefore = recordsFailed;
    await cluster.kill(0);
    await waitFor('4,000 more acknowledged records after the kill', () => acked.size >= killedAt + 4000, { timeoutMs: 90_000, intervalMs: 50 });
    stop = true;
    await Promise.all(producers);
    // A shard whose JetStream stream had its leader on the killed node answers once the survivors have elected
    // another (its appends meanwhile failed per record, so the others' went on). On a starved machine that election
    // can take longer than one read's 30 s JetStream timeout: the read-back is retried until it answers.
    let back = new Map<string, string>();
    let readFailures = 0;
    await waitFor('a read-back of every shard through the survivors', async () => {
      try {
        back = await readAll(client, 'load');
        return true;
      } catch (err) {
        readFailures++;
        console.log(`read-back attempt failed (${(err as Error).name}: ${(err as Error).message.slice(0, 160)}); retrying`);
        return false;
      }
    }, { timeoutMs: 150_000, intervalMs: 1000 });
    const missing = [...acked].filter(([seq, t]) => back.get(seq) !== t);
    expect(missing).toEqual([]);
    console.log(`kill -9 of a NATS node: ${acked.size} records acknowledged (${killedAt} before the kill), ${failures} PutRecords calls failed and were not counted, ${recordsFailed - recordsFailedBefore} records answered with a per-record error after the kill, ${back.size} stored (read-back attempts that failed: ${readFailures}); failed calls by error: ${JSON.stringify([...failureKinds])}`);
  }, 400_000);
});
