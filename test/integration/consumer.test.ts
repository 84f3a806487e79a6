/**
 * One StreamConsumer worker end to end against a real gateway, with the
 * local file lease store: records a StreamProducer sent KPL-aggregated reach
 * the handler deaggregated and in per-key order; a graceful stop checkpoints
 * and releases; a new worker on the same lease file resumes after the
 * checkpoint (nothing twice, nothing lost), including from the middle of an
 * aggregated record.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamConsumer, type ConsumerRecord, type StreamConsumerOptions } from '../../sdk/streams/consumer.ts';
import { FileLeaseStore } from '../../sdk/streams/leases/file-store.ts';
import { PollingShardSource } from '../../sdk/streams/polling-source.ts';
import { StreamProducer } from '../../sdk/streams/producer.ts';
import { createActiveStream, kinesisClient, tempDir, testGateway, testOperator } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/wait.ts';

type Gw = Awaited<ReturnType<typeof testGateway>>;
let gw: Gw;

beforeAll(async () => {
  gw = await testGateway({ enforceLimits: false, offloadWorkers: 0 });
});
afterAll(async () => {
  await gw?.close();
});

async function produce(stream: string, keys: number, from: number, to: number): Promise<void> {
  const producer = new StreamProducer({ endpoint: gw.url, region: 'us-east-1', stream, credentials: testOperator, aggregate: true, lingerMs: 20 });
  const puts: Promise<unknown>[] = [];
  for (let n = from; n < to; n++) for (let k = 0; k < keys; k++) puts.push(producer.put(`k${k}:${n}`, { partitionKey: `k${k}` }));
  await Promise.all(puts);
  await producer.close();
}

function consumer(stream: string, file: string, got: ConsumerRecord[], extra: Partial<StreamConsumerOptions> = {}): StreamConsumer {
  return new StreamConsumer({
    endpoint: gw.url, region: 'us-east-1', credentials: testOperator, stream,
    leases: new FileLeaseStore(file),
    leaseDurationMs: 3000, takeIntervalMs: 500, pollIntervalMs: 200, checkpointIntervalMs: 300,
    handler: (records) => void got.push(...records),
    onEvent: (e) => {
      if (e.type === 'error') throw e.error;
    },
    ...extra,
  });
}

const until = (f: () => boolean): Promise<unknown> => waitFor('records delivered', f);

const text = (r: ConsumerRecord) => Buffer.from(r.data).toString('utf8');

function assertPerKeyOrder(records: ConsumerRecord[]): void {
  const last = new Map<string, number>();
  for (const r of records) {
    const [key, n] = text(r).split(':') as [string, string];
    expect(r.partitionKey).toBe(key);
    expect(Number(n)).toBeGreaterThan(last.get(key) ?? -1);
    last.set(key, Number(n));
  }
}

describe('StreamConsumer, one worker', () => {
  it('delivers aggregated records deaggregated, in per-key order, and resumes from its checkpoints', async () => {
    const stream = 'consumer-agg';
    await createActiveStream(kinesisClient(gw.url), stream, 2);
    await produce(stream, 10, 0, 30);
    const file = path.join(tempDir('trb-consumer-'), 'leases.json');

    const first: ConsumerRecord[] = [];
    const c1 = consumer(stream, file, first);
    await c1.start();
    await until(() => first.length >= 300);
    expect(c1.heldShards()).toEqual(['shardId-000000000000', 'shardId-000000000001']);
    await c1.stop();
    expect(first).toHaveLength(300);
    expect(first.every((r) => r.aggregated)).toBe(true);
    expect(new Set(first.map(text)).size).toBe(300);
    // Records of one aggregate share a sequence number and count up their subsequence numbers.
    const bySeq = new Map<string, number[]>();
    for (const r of first) bySeq.set(r.sequenceNumber, [...(bySeq.get(r.sequenceNumber) ?? []), r.subSequenceNumber]);
    expect([...bySeq.values()].some((subs) => subs.length > 1)).toBe(true);
    for (const subs of bySeq.values()) expect(subs).toEqual(subs.map((_, i) => i));
    assertPerKeyOrder(first);

    // Stopped gracefully: every lease checkpointed at its last record, and released.
    const leases = JSON.parse(fs.readFileSync(file, 'utf8')).leases as Array<{ leaseOwner?: string; checkpoint: { sequenceNumber: string } }>;
    expect(leases).toHaveLength(2);
    for (const l of leases) {
      expect(l.leaseOwner).toBeUndefined();
      expect(l.checkpoint.sequenceNumber).toMatch(/^\d+$/);
    }

    // A new worker on the same lease file sees only what came after. Round 40 goes in after it has rounds 30-39: a record
    // delivered twice would come before the round-40 record of its key, as shards are read in order.
    await produce(stream, 10, 30, 40);
    const second: ConsumerRecord[] = [];
    const c2 = consumer(stream, file, second);
    await c2.start();
    await until(() => second.length >= 100);
    await produce(stream, 10, 40, 41);
    await until(() => Array.from({ length: 10 }, (_, k) => `k${k}:40`).every((t) => second.some((r) => text(r) === t)));
    await c2.stop();
    expect(second.map(text).sort()).toEqual(Array.from({ length: 110 }, (_, i) => `k${i % 10}:${30 + Math.floor(i / 10)}`).sort());
    assertPerKeyOrder(second);
  });

  it('resumes in the middle of an aggregated record from a manual checkpoint', async () => {
    const stream = 'consumer-sub';
    await createActiveStream(kinesisClient(gw.url), stream, 1);
    await produce(stream, 1, 0, 20);
    const file = path.join(tempDir('trb-consumer-'), 'leases.json');
    const first: ConsumerRecord[] = [];
    let checkpointed: ConsumerRecord | undefined;
    const c1 = consumer(stream, file, first, {
      checkpointMode: 'manual',
      handler: async (records, ctx) => {
        first.push(...records);
        if (!checkpointed) {
          checkpointed = records[Math.floor(records.length / 2)]!;
          await ctx.checkpoint(checkpointed);
        }
      },
    });
    await c1.start();
    await until(() => first.length >= 20);
    await c1.stop();
    expect(checkpointed!.aggregated).toBe(true);
    const cut = first.indexOf(checkpointed!);

    const second: ConsumerRecord[] = [];
    const c2 = consumer(stream, file, second);
    await c2.start();
    await until(() => second.length >= 20 - cut - 1);
    await produce(stream, 1, 20, 21); // After the rest: a record delivered twice would come before it.
    await until(() => second.some((r) => text(r) === 'k0:20'));
    await c2.stop();
    expect(second.map(text)).toEqual([...first.slice(cut + 1).map(text), 'k0:20']);
  });
});

describe('PollingShardSource', () => {
  async function put(url: string, stream: string, n: number): Promise<void> {
    const k = kinesisClient(url);
    const Records = Array.from({ length: n }, (_, i) => ({ Data: Buffer.from(`r${i}`), PartitionKey: 'p' }));
    const out = await k.send(new PutRecordsCommand({ StreamName: stream, Records }));
    expect(out.FailedRecordCount).toBe(0);
    k.destroy();
  }

  it('re-gets an expired iterator after the last record delivered, losing and repeating nothing', async () => {
    let offsetMs = 0;
    const g = await testGateway({ enforceLimits: false, offloadWorkers: 0 }, { now: () => Date.now() + offsetMs });
    try {
      await createActiveStream(kinesisClient(g.url), 'expiring', 1);
      await put(g.url, 'expiring', 30);
      const source = new PollingShardSource({ endpoint: g.url, region: 'us-east-1', credentials: testOperator, getRecordsLimit: 10, pollIntervalMs: 200 });
      const abort = new AbortController();
      const got: string[] = [];
      for await (const batch of source.read('expiring', 'shardId-000000000000', { type: 'TRIM_HORIZON' }, abort.signal)) {
        got.push(...batch.records.map((r) => Buffer.from(r.data).toString()));
        // Five minutes pass between reads: the iterator in hand expires.
        offsetMs += 6 * 60_000;
        if (got.length >= 30) abort.abort();
      }
      source.close();
      expect(got).toEqual(Array.from({ length: 30 }, (_, i) => `r${i}`));
    } finally {
      await g.close();
    }
  });

  it('backs off when throttled (5 reads/s per shard) and still delivers everything to every reader', async () => {
    const g = await testGateway({ enforceLimits: true, offloadWorkers: 0 });
    try {
      await createActiveStream(kinesisClient(g.url), 'throttled', 1);
      await put(g.url, 'throttled', 20);
      const readers = Array.from({ length: 8 }, async () => {
        const source = new PollingShardSource({ endpoint: g.url, region: 'us-east-1', credentials: testOperator, getRecordsLimit: 10, pollIntervalMs: 200, retryBaseMs: 50, retryMaxMs: 1000 });
        const abort = new AbortController();
        const got: string[] = [];
        for await (const batch of source.read('throttled', 'shardId-000000000000', { type: 'TRIM_HORIZON' }, abort.signal)) {
          got.push(...batch.records.map((r) => Buffer.from(r.data).toString()));
          if (got.length >= 20) abort.abort();
        }
        source.close();
        return got;
      });
      for (const got of await Promise.all(readers)) expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`));
      expect(g.metrics.render()).toMatch(/tributary_streams_throttled_total\{[^}]*direction="read"[^}]*\} [1-9]/);
    } finally {
      await g.close();
    }
  });

  it('ends a closed shard with its children', async () => {
    const g = await testGateway({ enforceLimits: false, offloadWorkers: 0 });
    try {
      const k = kinesisClient(g.url);
      await createActiveStream(k, 'closing', 1);
      await put(g.url, 'closing', 3);
      const { SplitShardCommand } = await import('@aws-sdk/client-kinesis');
      await k.send(new SplitShardCommand({ StreamName: 'closing', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 127n).toString() }));
      const source = new PollingShardSource({ endpoint: g.url, region: 'us-east-1', credentials: testOperator, pollIntervalMs: 200 });
      const batches = [];
      for await (const b of source.read('closing', 'shardId-000000000000', { type: 'TRIM_HORIZON' }, new AbortController().signal)) batches.push(b);
      source.close();
      k.destroy();
      expect(batches.flatMap((b) => b.records)).toHaveLength(3);
      expect(batches.at(-1)!.childShards!.map((c) => c.shardId).sort()).toEqual(['shardId-000000000001', 'shardId-000000000002']);
      expect(batches.at(-1)!.childShards![0]!.parentShards).toEqual(['shardId-000000000000']);
    } finally {
      await g.close();
    }
  });
});
