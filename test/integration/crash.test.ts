// Proves durability: a real gateway process under PutRecords load is killed
// with SIGKILL; after restart every acknowledged record is readable with its
// original sequence number, in order, and a torn segment tail is repaired.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { kinesisClient, tempDir, waitActive } from '../helpers/gateway.ts';
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.ts';
import { waitFor } from '../helpers/wait.ts';

interface Acked { data: string; key: string; seq: string; shardId: string }

const children: SpawnedGateway[] = [];
afterAll(() => {
  for (const c of children) c.child.kill('SIGKILL');
});

async function readAll(client: KinesisClient, stream: string): Promise<Map<string, Array<{ seq: string; data: string; key: string }>>> {
  const out = new Map<string, Array<{ seq: string; data: string; key: string }>>();
  const { Shards } = await client.send(new ListShardsCommand({ StreamName: stream }));
  for (const s of Shards!) {
    const list: Array<{ seq: string; data: string; key: string }> = [];
    let { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    for (;;) {
      const r = await client.send(new GetRecordsCommand({ ShardIterator }));
      for (const rec of r.Records!) list.push({ seq: rec.SequenceNumber!, data: Buffer.from(rec.Data!).toString(), key: rec.PartitionKey! });
      if (!r.Records!.length || !r.NextShardIterator) break;
      ShardIterator = r.NextShardIterator;
    }
    out.set(s.ShardId!, list);
  }
  return out;
}

describe('crash safety', () => {
  it('keeps every acknowledged record across SIGKILL and repairs a torn tail', async () => {
    const dataDir = tempDir('trb-crash-');
    let gw = await spawnGateway(['--data', dataDir, '--no-limits', '--insecure-http', '--log-level', 'info']);
    children.push(gw);
    // The first start created operator credentials in the data directory.
    const operator = JSON.parse(fs.readFileSync(path.join(dataDir, 'operator.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
    let client = kinesisClient(gw.url, operator);
    await client.send(new CreateStreamCommand({ StreamName: 'crash', ShardCount: 4 }));
    await waitActive(client, 'crash');

    // Eight writers, each with its own keys, each sending batches one after another until the kill.
    const acked: Acked[] = [];
    let stop = false;
    const writer = async (w: number) => {
      for (let b = 0; !stop; b++) {
        const records = Array.from({ length: 100 }, (_, i) => ({ key: `w${w}-k${i % 10}`, data: `w${w}-b${b}-r${i}-${'x'.repeat(200)}` }));
        try {
          const r = await client.send(new PutRecordsCommand({ StreamName: 'crash', Records: records.map((x) => ({ PartitionKey: x.key, Data: Buffer.from(x.data) })) }));
          r.Records!.forEach((res, i) => {
            if (res.SequenceNumber) acked.push({ ...records[i]!, seq: res.SequenceNumber, shardId: res.ShardId! });
          });
        } catch {
          return; // In flight at the kill: not acknowledged, so no promise was made.
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    // Kill once enough is acknowledged that the kill lands amid writes, however slow the machine.
    await waitFor('1200 acknowledged records', () => acked.length >= 1200, { timeoutMs: 60_000 });
    gw.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    expect(await gw.exited).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThan(1000);

    // Tear the tail of one shard's newest segment: half a frame, as a crash mid-write leaves it.
    const streamDir = path.join(dataDir, 'streams', fs.readdirSync(path.join(dataDir, 'streams'))[0]!);
    const shardDir = path.join(streamDir, fs.readdirSync(streamDir).sort()[0]!);
    const newest = fs.readdirSync(shardDir).filter((n) => n.endsWith('.seg')).sort().at(-1)!;
    fs.appendFileSync(path.join(shardDir, newest), Buffer.from([0xff, 0x01, 0, 0, 0xde, 0xad, 0xbe]));

    gw = await spawnGateway(['--data', dataDir, '--no-limits', '--insecure-http', '--log-level', 'info']);
    children.push(gw);
    expect(gw.logs.some((l) => l.includes('shard log repaired'))).toBe(true);
    client = kinesisClient(gw.url, operator);
    const stored = await readAll(client, 'crash');

    for (const [shardId, list] of stored) {
      // Strictly increasing sequence numbers within each shard.
      for (let i = 1; i < list.length; i++) expect(BigInt(list[i]!.seq) > BigInt(list[i - 1]!.seq)).toBe(true);
      const bySeq = new Map(list.map((r) => [r.seq, r]));
      for (const a of acked.filter((x) => x.shardId === shardId)) {
        const got = bySeq.get(a.seq);
        expect(got, `acknowledged record ${a.data} (${a.seq}) missing after restart`).toBeDefined();
        expect(got!.data).toBe(a.data);
        expect(got!.key).toBe(a.key);
      }
    }
    // Per-key order: each writer sent a key's records in order; they must read back in that order.
    const all = [...stored.values()].flat();
    const lastByKey = new Map<string, number>();
    for (const r of all) {
      const m = /^w(\d+)-b(\d+)-r(\d+)-/.exec(r.data)!;
      const order = Number(m[2]) * 1000 + Number(m[3]);
      expect(order).toBeGreaterThan(lastByKey.get(r.key) ?? -1);
      lastByKey.set(r.key, order);
    }

    // The log keeps going after repair, with later sequence numbers.
    const r = await client.send(new PutRecordsCommand({ StreamName: 'crash', Records: [{ PartitionKey: 'after', Data: Buffer.from('after-restart') }] }));
    const shardList = stored.get(r.Records![0]!.ShardId!)!;
    if (shardList.length) expect(BigInt(r.Records![0]!.SequenceNumber!) > BigInt(shardList.at(-1)!.seq)).toBe(true);
    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
  });
});
