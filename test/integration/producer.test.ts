// Proves StreamProducer against a real gateway with its limits on: batching
// delivers every record once in per-key order; under throttling only the
// failed records are retried (no duplicates); pacing keeps a producer under
// the shard limits; KPL aggregates deaggregate with the stock aws-kinesis-agg
// library; memory is bounded.
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { createActiveStream, kinesisClient, testGateway, testOperator } from '../helpers/gateway.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { StreamProducer, type StreamProducerOptions } from '../../sdk/streams/producer.ts';
import { aggregate, deaggregate } from '../../sdk/protocol/kpl-aggregation.ts';

const agg = createRequire(import.meta.url)('aws-kinesis-agg') as {
  deaggregateSync(record: { data: string; partitionKey: string; sequenceNumber: string }, computeChecksums: boolean, cb: (err: Error | null, users?: Array<{ partitionKey: string; data: string; subSequenceNumber: number }>) => void): void;
};

let gw: Gateway;
let c: KinesisClient;
beforeAll(async () => {
  gw = await testGateway({ createDelayMs: 0 }); // per-shard limits on (the default)
  c = kinesisClient(gw.url);
});
afterAll(() => gw.close());

const stream = (name: string, shards: number) => createActiveStream(c, name, shards);

function producer(o: Partial<StreamProducerOptions> & { stream: string }): StreamProducer {
  return new StreamProducer({ endpoint: gw.url, region: 'us-east-1', credentials: testOperator, ...o });
}

async function readAll(name: string): Promise<Array<{ partitionKey: string; data: Buffer; sequenceNumber: string }>> {
  const out: Array<{ partitionKey: string; data: Buffer; sequenceNumber: string }> = [];
  const { Shards } = await c.send(new ListShardsCommand({ StreamName: name }));
  for (const s of Shards!) {
    let { ShardIterator } = await c.send(new GetShardIteratorCommand({ StreamName: name, ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    for (;;) {
      await new Promise((r) => setTimeout(r, 210)); // the read limit: 5 calls/s per shard
      const r = await c.send(new GetRecordsCommand({ ShardIterator }));
      for (const x of r.Records!) out.push({ partitionKey: x.PartitionKey!, data: Buffer.from(x.Data!), sequenceNumber: x.SequenceNumber! });
      if (!r.Records!.length || !r.NextShardIterator) break;
      ShardIterator = r.NextShardIterator;
    }
  }
  return out;
}

const throttled = () => [...gw.metrics.throttled.values.values()].reduce((a, b) => a + b, 0);
const incoming = (name: string) => gw.metrics.incomingRecords.values.get(`stream="${name}"`) ?? 0;

describe('StreamProducer', () => {
  it('batches, acknowledges with sequence numbers and keeps per-key order', async () => {
    await stream('p-basic', 2);
    const p = producer({ stream: 'p-basic', lingerMs: 10 });
    const results = await Promise.all(Array.from({ length: 600 }, (_, i) => p.put(`k${i % 6}:${Math.floor(i / 6)}`, { partitionKey: `k${i % 6}` })));
    await p.close();
    expect(results.every((r) => /^\d{56}$/.test(r.sequenceNumber))).toBe(true);
    const got = await readAll('p-basic');
    expect(got).toHaveLength(600);
    const next = new Map<string, number>();
    for (const r of got) {
      const [k, n] = r.data.toString().split(':') as [string, string];
      expect(Number(n)).toBe(next.get(k) ?? 0);
      next.set(k, Number(n) + 1);
    }
  });

  it('retries only the records the gateway throttled, so none is lost or duplicated', async () => {
    await stream('p-throttle', 1);
    const before = throttled();
    // No pacing: 3,000 records at once into one shard (1,000 records/s) must be throttled.
    const p = producer({ stream: 'p-throttle', rateLimit: false, retryBaseMs: 200, attemptsMax: 20 });
    const results = await Promise.all(Array.from({ length: 3000 }, (_, i) => p.put(`r${i}`, { partitionKey: `k${i % 50}` })));
    await p.close();
    expect(throttled() - before).toBeGreaterThan(0);
    expect(new Set(results.map((r) => r.sequenceNumber)).size).toBe(3000);
    expect(incoming('p-throttle')).toBe(3000); // accepted exactly once each
  });

  it('paces itself under the shard limits instead of being throttled', async () => {
    await stream('p-paced', 1);
    const before = throttled();
    const p = producer({ stream: 'p-paced' });
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 2500 }, (_, i) => p.put(`r${i}`, { partitionKey: `k${i}` })));
    await p.close();
    expect(throttled() - before).toBe(0);
    expect(Date.now() - t0).toBeGreaterThan(1000); // 2,500 records need more than a second at 1,000/s (after the first second's burst)
  });

  it('aggregates small records into KPL records that aws-kinesis-agg deaggregates', async () => {
    await stream('p-agg', 2);
    const p = producer({ stream: 'p-agg', aggregate: true, lingerMs: 20 });
    const results = await Promise.all(Array.from({ length: 3000 }, (_, i) => p.put(Buffer.from(`v${i}`), { partitionKey: `dev-${i % 7}` })));
    await p.close();
    expect(new Set(results.map((r) => r.sequenceNumber)).size).toBeLessThan(50); // many user records per Kinesis record
    const raw = await readAll('p-agg');
    const users: Array<{ partitionKey: string; data: string }> = [];
    for (const r of raw) {
      agg.deaggregateSync({ data: r.data.toString('base64'), partitionKey: r.partitionKey, sequenceNumber: r.sequenceNumber }, true, (err, u) => {
        expect(err).toBeFalsy();
        users.push(...u!.map((x) => ({ partitionKey: x.partitionKey, data: Buffer.from(x.data, 'base64').toString() })));
      });
    }
    expect(users).toHaveLength(3000);
    const byKey = new Map<string, number[]>();
    for (const u of users) byKey.set(u.partitionKey, [...(byKey.get(u.partitionKey) ?? []), Number(u.data.slice(1))]);
    for (const [k, vals] of byKey) {
      expect(vals, k).toEqual([...vals].sort((a, b) => a - b)); // per-key order
      expect(vals.every((v) => `dev-${v % 7}` === k)).toBe(true);
    }
  });

  it('bounds memory: rejects when full if asked to', async () => {
    await stream('p-full', 1);
    const p = producer({ stream: 'p-full', bufferedBytesMax: 10_000, onFull: 'reject', lingerMs: 1000 });
    const first = p.put(Buffer.alloc(6000), { partitionKey: 'a' });
    await expect(p.put(Buffer.alloc(6000), { partitionKey: 'b' })).rejects.toMatchObject({ code: 'PRODUCER_FULL' });
    await p.close();
    await expect(first).resolves.toMatchObject({ shardId: 'shardId-000000000000' });
  });
});

describe('KPL aggregation codec', () => {
  it('round-trips, with and without explicit hash keys, and leaves plain records alone', () => {
    const users = [
      { partitionKey: 'a', data: Buffer.from('one') },
      { partitionKey: 'b', explicitHashKey: '12345', data: Buffer.from('two') },
      { partitionKey: 'a', data: Buffer.alloc(0) },
    ];
    const blob = aggregate(users);
    expect(deaggregate(blob)).toEqual(users);
    expect(deaggregate(Buffer.from('plain record'))).toBeUndefined();
    const corrupt = Buffer.from(blob);
    corrupt[6]! ^= 0xff;
    expect(deaggregate(corrupt)).toBeUndefined(); // checksum mismatch: not an aggregate
  });
});
