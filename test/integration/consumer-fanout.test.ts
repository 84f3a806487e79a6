/**
 * StreamConsumer with enhanced fan-out (`fanOut: { consumerName }`) end to
 * end against a real gateway whose subscriptions last 2 s instead of AWS's
 * 5 minutes, so the consumer renews each shard's subscription many times
 * during the test. A 4-shard stream is fed by two StreamProducers (one
 * aggregating, one not) while shard 0 is split mid-run: every record is
 * handled at least once, in per-key order, a child shard only after its
 * parent reached SHARD_END, checkpoints only move forward, nothing is read by
 * polling; a new worker on the same lease file resumes after the checkpoints.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ListShardsCommand, SplitShardCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamConsumer, type ConsumerEvent, type ConsumerRecord } from '../../sdk/streams/consumer.ts';
import { FileLeaseStore } from '../../sdk/streams/leases/file-store.ts';
import { StreamProducer } from '../../sdk/streams/producer.ts';
import { createActiveStream, kinesisClient, tempDir, testGateway, testOperator, waitActive } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/wait.ts';

type Gw = Awaited<ReturnType<typeof testGateway>>;
const lifetimeMs = 2000;
const stream = 'fanout-consumer';
const keysPerProducer = 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (r: ConsumerRecord) => Buffer.from(r.data).toString('utf8');

let gw: Gw;
let kinesis: KinesisClient;

beforeAll(async () => {
  gw = await testGateway({ enforceLimits: false, offloadWorkers: 0, subscriptionLifetimeMs: lifetimeMs });
  kinesis = kinesisClient(gw.url);
});
afterAll(async () => {
  kinesis?.destroy();
  await gw?.close();
});

/** Two producers, each owning its keys (so per-key order is one producer's order): `a*` keys aggregated, `p*` keys plain. */
function producers(): { put(round: number): Promise<void>; close(): Promise<void> } {
  const common = { endpoint: gw.url, region: 'us-east-1', stream, credentials: testOperator, lingerMs: 10, requestsInFlightMax: 1 };
  const aggregated = new StreamProducer({ ...common, aggregate: true });
  const plain = new StreamProducer({ ...common, aggregate: false });
  return {
    async put(round) {
      const puts: Promise<unknown>[] = [];
      for (let k = 0; k < keysPerProducer; k++) {
        puts.push(aggregated.put(`a${k}:${round}`, { partitionKey: `a${k}` }));
        puts.push(plain.put(`p${k}:${round}`, { partitionKey: `p${k}` }));
      }
      await Promise.all(puts);
    },
    async close() {
      await Promise.all([aggregated.close(), plain.close()]);
    },
  };
}

const expected = (from: number, to: number) => {
  const out: string[] = [];
  for (let n = from; n < to; n++) for (let k = 0; k < keysPerProducer; k++) out.push(`a${k}:${n}`, `p${k}:${n}`);
  return out;
};

/** Per key, the round numbers handled never go down (duplicates repeat, they do not reorder). */
function assertPerKeyOrder(records: ConsumerRecord[]): void {
  const last = new Map<string, number>();
  for (const r of records) {
    const [key, n] = text(r).split(':') as [string, string];
    expect(r.partitionKey).toBe(key);
    expect(Number(n), `key ${key}`).toBeGreaterThanOrEqual(last.get(key) ?? -1);
    last.set(key, Number(n));
  }
}

function metric(action: string, outcome = 'ok'): number {
  const line = gw.metrics.render().split('\n').find((l) => l.startsWith('tributary_') && l.includes(`action="${action}"`) && l.includes(`outcome="${outcome}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

const until = (what: string, f: () => boolean): Promise<unknown> => waitFor(what, f, { timeoutMs: 30_000 });

type LogEntry = { kind: 'records'; shardId: string; records: ConsumerRecord[] } | { kind: 'event'; event: ConsumerEvent };

function fanOutConsumer(file: string, log: LogEntry[]): StreamConsumer {
  return new StreamConsumer({
    endpoint: gw.url, region: 'us-east-1', credentials: testOperator, stream,
    leases: new FileLeaseStore(file),
    fanOut: { consumerName: 'fanout-app' },
    leaseDurationMs: 3000, takeIntervalMs: 500, shardSyncIntervalMs: 1000, checkpointIntervalMs: 300,
    handler: (records, { shardId }) => void log.push({ kind: 'records', shardId, records }),
    onEvent: (event) => {
      log.push({ kind: 'event', event });
      if (event.type === 'error') console.error('consumer error', event.shardId, event.error);
    },
  });
}

const recordsOf = (log: LogEntry[]) => log.flatMap((e) => (e.kind === 'records' ? e.records : []));
const eventsOf = (log: LogEntry[]) => log.flatMap((e) => (e.kind === 'event' ? [e.event] : []));

describe('StreamConsumer with enhanced fan-out', () => {
  it('reads a 4-shard stream across renewals and a split, checkpoints forward, and resumes after a restart', async () => {
    await createActiveStream(kinesis, stream, 4);
    const file = path.join(tempDir('trb-consumer-fanout-'), 'leases.json');
    const getRecordsBefore = metric('GetRecords');
    const subscriptionsBefore = metric('SubscribeToShard');

    const log: LogEntry[] = [];
    const c1 = fanOutConsumer(file, log);
    await c1.start();
    const p = producers();
    const rounds = 40;
    const splitAt = 15;
    for (let n = 0; n < rounds; n++) {
      if (n === splitAt) {
        const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
        const s0 = Shards!.find((s) => s.ShardId === 'shardId-000000000000')!;
        const mid = (BigInt(s0.HashKeyRange!.StartingHashKey!) + BigInt(s0.HashKeyRange!.EndingHashKey!)) / 2n;
        await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: s0.ShardId!, NewStartingHashKey: mid.toString() }));
        await waitActive(kinesis, stream);
      }
      await p.put(n);
      await sleep(150); // The producers' pace: the rounds span several subscription lifetimes.
    }
    const all = new Set(expected(0, rounds));
    await until('every record of the first run', () => {
      const seen = new Set(recordsOf(log).map(text));
      return [...all].every((t) => seen.has(t));
    });
    // Read only by subscription, renewed: more subscriptions than the 6 shards' first ones.
    await until('renewed subscriptions', () => metric('SubscribeToShard') - subscriptionsBefore > 6 + 4);
    // The finished parent is no longer held.
    await until('the parent let go', () => !c1.heldShards().includes('shardId-000000000000'));
    expect(c1.heldShards()).toEqual(['shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003', 'shardId-000000000004', 'shardId-000000000005']);
    await c1.stop();

    const first = recordsOf(log);
    // At least once (one worker, no crash: exactly once), per-key order, both kinds of record.
    expect(new Set(first.map(text))).toEqual(all);
    expect(first).toHaveLength(all.size);
    assertPerKeyOrder(first);
    expect(first.some((r) => r.aggregated)).toBe(true);
    expect(first.some((r) => !r.aggregated)).toBe(true);

    // The parent reached SHARD_END before either child handed over a record.
    const parentEnd = log.findIndex((e) => e.kind === 'event' && e.event.type === 'shardEnded' && e.event.shardId === 'shardId-000000000000');
    expect(parentEnd).toBeGreaterThanOrEqual(0);
    const firstChild = log.findIndex((e) => e.kind === 'records' && (e.shardId === 'shardId-000000000004' || e.shardId === 'shardId-000000000005'));
    expect(firstChild).toBeGreaterThan(parentEnd);
    const lastParent = log.findLastIndex((e) => e.kind === 'records' && e.shardId === 'shardId-000000000000');
    expect(lastParent).toBeLessThan(parentEnd);

    // Checkpoints only move forward, shard by shard.
    const checkpoints = new Map<string, bigint[]>();
    for (const e of eventsOf(log)) {
      if (e.type !== 'checkpoint' || !/^\d+$/.test(e.checkpoint.sequenceNumber)) continue;
      checkpoints.set(e.shardId, [...(checkpoints.get(e.shardId) ?? []), BigInt(e.checkpoint.sequenceNumber) * 100_000n + BigInt(e.checkpoint.subSequenceNumber)]);
    }
    expect([...checkpoints.keys()].sort()).toEqual(['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003', 'shardId-000000000004', 'shardId-000000000005']);
    for (const [shardId, seq] of checkpoints) {
      expect(seq.length, shardId).toBeGreaterThan(1);
      for (let i = 1; i < seq.length; i++) expect(seq[i]! > seq[i - 1]!, shardId).toBe(true);
    }
    expect(eventsOf(log).filter((e) => e.type === 'error')).toEqual([]);

    // Nothing read by polling.
    expect(metric('GetRecords')).toBe(getRecordsBefore);

    // Stopped gracefully: leases released, the parent finished, the others checkpointed at a record.
    const leases = JSON.parse(fs.readFileSync(file, 'utf8')).leases as Array<{ leaseKey: string; leaseOwner?: string; checkpoint: { sequenceNumber: string; subSequenceNumber: number } }>;
    expect(leases).toHaveLength(6);
    for (const l of leases) {
      expect(l.leaseOwner).toBeUndefined();
      if (l.leaseKey === 'shardId-000000000000') expect(l.checkpoint.sequenceNumber).toBe('SHARD_END');
      else expect(l.checkpoint.sequenceNumber).toMatch(/^\d+$/);
    }

    // A new worker, same lease file and consumer name: only what came after its checkpoints.
    const moreRounds = 10;
    for (let n = rounds; n < rounds + moreRounds; n++) await p.put(n);
    await p.close();
    const log2: LogEntry[] = [];
    const c2 = fanOutConsumer(file, log2);
    await c2.start();
    await until('the records after the restart', () => recordsOf(log2).length >= moreRounds * 2 * keysPerProducer);
    // One more round after those: a record handed over twice would come before its key's record of this round.
    const p2 = producers();
    await p2.put(rounds + moreRounds);
    await p2.close();
    const more = expected(rounds, rounds + moreRounds + 1);
    const last = expected(rounds + moreRounds, rounds + moreRounds + 1);
    await until('the last round', () => { const seen = new Set(recordsOf(log2).map(text)); return last.every((t) => seen.has(t)); });
    await c2.stop();
    const second = recordsOf(log2);
    expect(second.map(text).sort()).toEqual(more.sort());
    assertPerKeyOrder(second);
    expect(recordsOf(log2).some((r) => r.aggregated)).toBe(true);
    expect(eventsOf(log2).filter((e) => e.type === 'error')).toEqual([]);
    // Every shard that handed over records in the second run checkpointed past where the first run stopped.
    const after = JSON.parse(fs.readFileSync(file, 'utf8')).leases as typeof leases;
    const readAgain = new Set(log2.flatMap((e) => (e.kind === 'records' ? [e.shardId] : [])));
    expect(readAgain.size).toBeGreaterThan(0);
    for (const shardId of readAgain) {
      const before = leases.find((l) => l.leaseKey === shardId)!.checkpoint.sequenceNumber;
      const now = after.find((l) => l.leaseKey === shardId)!.checkpoint.sequenceNumber;
      expect(BigInt(now) > BigInt(before), shardId).toBe(true);
    }
    expect(metric('GetRecords')).toBe(getRecordsBefore);
  }, 90_000);

  it('refuses fanOut together with a source or polling options', () => {
    const base = { endpoint: gw.url, region: 'us-east-1', credentials: testOperator, stream, leases: new FileLeaseStore(path.join(tempDir('trb-cf-'), 'l.json')), handler: () => undefined };
    expect(() => new StreamConsumer({ ...base, fanOut: { consumerName: 'x' }, source: 'polling' })).toThrow('either fanOut or source');
    expect(() => new StreamConsumer({ ...base, fanOut: { consumerName: 'x' }, pollIntervalMs: 500 })).toThrow('polling options');
  });
});
