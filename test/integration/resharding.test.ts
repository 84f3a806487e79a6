// Proves resharding keeps lineage and data: while a producer writes, a split
// and a merge happen; a consumer that finishes parents before children and
// follows ChildShards reads every record exactly once and in per-key order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, MergeShardsCommand,
  PutRecordsCommand, SplitShardCommand, type KinesisClient, type Shard,
} from '@aws-sdk/client-kinesis';
import { kinesisClient, testGateway, waitActive } from '../helpers/gateway.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { waitFor } from '../helpers/wait.ts';

let gw: Gateway;
let client: KinesisClient;
beforeAll(async () => {
  gw = await testGateway({ enforceLimits: false });
  client = kinesisClient(gw.url);
});
afterAll(() => gw.close());

describe('resharding under load', () => {
  it('a lineage-following consumer reads every record exactly once, in per-key order', async () => {
    const stream = 'reshard';
    await client.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 2 }));
    await waitActive(client, stream);

    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    const sent = new Map<string, number>(); // key -> records acknowledged
    let producing = true;
    let rounds = 0;
    /** Lets the producer write a few more rounds: each step below then happens under load. */
    const moreRounds = (n: number) => {
      const target = rounds + n;
      return waitFor(`${n} more producer rounds`, () => rounds >= target);
    };
    const producer = (async () => {
      for (; producing; rounds++) {
        const batch = keys.map((k) => ({ k, n: sent.get(k) ?? 0 }));
        const r = await client.send(new PutRecordsCommand({
          StreamName: stream,
          Records: batch.map(({ k, n }) => ({ PartitionKey: k, Data: Buffer.from(`${k}#${n}`) })),
        }));
        expect(r.FailedRecordCount).toBe(0);
        for (const { k, n } of batch) sent.set(k, n + 1);
      }
    })();

    await moreRounds(3);
    const before = (await client.send(new ListShardsCommand({ StreamName: stream }))).Shards!;
    const s0 = before[0]!;
    const mid = (BigInt(s0.HashKeyRange!.StartingHashKey!) + BigInt(s0.HashKeyRange!.EndingHashKey!)) / 2n;
    await client.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: s0.ShardId, NewStartingHashKey: mid.toString() }));
    await waitActive(client, stream);
    await moreRounds(3);
    // Merge the split's upper child with the original second shard: adjacent ranges.
    const afterSplit = (await client.send(new ListShardsCommand({ StreamName: stream, ShardFilter: { Type: 'AT_LATEST' } }))).Shards!;
    const upper = afterSplit.find((s) => s.HashKeyRange!.StartingHashKey === mid.toString())!;
    const second = afterSplit.find((s) => s.ShardId === before[1]!.ShardId)!;
    await client.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: upper.ShardId, AdjacentShardToMerge: second.ShardId }));
    await waitActive(client, stream);
    await moreRounds(3);
    producing = false;
    await producer;

    const all = (await client.send(new ListShardsCommand({ StreamName: stream }))).Shards!;
    expect(all.length).toBe(5);
    const merged = all.find((s) => s.AdjacentParentShardId)!;
    expect(merged.ParentShardId).toBe(upper.ShardId);
    expect(merged.AdjacentParentShardId).toBe(second.ShardId);
    for (const closed of [s0, upper, second]) {
      const d = all.find((s) => s.ShardId === closed.ShardId)!;
      expect(d.SequenceNumberRange!.EndingSequenceNumber).toMatch(/^\d{56}$/);
    }

    // The consumer: start at shards without parents, read each to its end, then
    // release children whose parents are all done (as the KCL does).
    const seen = new Map<string, number>(); // key -> next expected n
    let total = 0;
    const done = new Set<string>();
    const pending: Shard[] = all.filter((s) => !s.ParentShardId);
    const byId = new Map(all.map((s) => [s.ShardId!, s]));
    while (pending.length) {
      const shard = pending.shift()!;
      let { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
      for (;;) {
        const r = await client.send(new GetRecordsCommand({ ShardIterator, Limit: 300 }));
        for (const rec of r.Records!) {
          const [k, n] = Buffer.from(rec.Data!).toString().split('#') as [string, string];
          expect(Number(n), `${k} out of order or duplicated`).toBe(seen.get(k) ?? 0);
          seen.set(k, Number(n) + 1);
          total++;
        }
        if (!r.NextShardIterator) {
          // End of a closed shard: ChildShards name what comes next.
          done.add(shard.ShardId!);
          for (const child of r.ChildShards ?? []) {
            const ready = child.ParentShards!.every((p) => done.has(p));
            if (ready && !pending.some((p) => p.ShardId === child.ShardId)) pending.push(byId.get(child.ShardId!)!);
          }
          break;
        }
        if (!r.Records!.length && r.MillisBehindLatest === 0 && !byId.get(shard.ShardId!)!.SequenceNumberRange!.EndingSequenceNumber) {
          done.add(shard.ShardId!); // an open shard, drained
          break;
        }
        ShardIterator = r.NextShardIterator;
      }
    }
    expect(done.size).toBe(5);
    const expectedTotal = [...sent.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(expectedTotal);
    for (const k of keys) expect(seen.get(k)).toBe(sent.get(k));
  });
});
