// Proves retention with a clock the test moves: records older than the
// stream's retention are never returned, whole expired segments are deleted
// from disk, closed shards past retention leave the listings, and iterators
// expire after 5 minutes of that clock; and retention trimming while GetRecords
// readers and an enhanced fan-out subscription read the segments it deletes
// loses, repeats and corrupts nothing (issue #17).
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import {
  CreateStreamCommand, DescribeStreamConsumerCommand, GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordsCommand,
  RegisterStreamConsumerCommand, SplitShardCommand, SubscribeToShardCommand, type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { kinesisClient, testGateway, waitActive } from '../helpers/gateway.ts';

const hour = 3600_000;

it('trims data, segments and closed shards past retention', async () => {
  let offset = 0;
  const gw = await testGateway({ segmentBytesMax: 64 * 1024, createDelayMs: 0, updateDelayMs: 0 }, { now: () => Date.now() + offset });
  try {
    const c = kinesisClient(gw.url);
    await c.send(new CreateStreamCommand({ StreamName: 'r', ShardCount: 1 }));
    await waitActive(c, 'r');
    const put = (tag: string, n: number) =>
      c.send(new PutRecordsCommand({ StreamName: 'r', Records: Array.from({ length: n }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(`${tag}-${i}-`.padEnd(1000, 'x')) })) }));
    for (let b = 0; b < 4; b++) await put('old', 100); // several 64 KiB segments
    offset += 25 * hour; // past the default 24 h retention
    await put('new', 10);

    const readAll = async (shardId: string) => {
      const { ShardIterator } = await c.send(new GetShardIteratorCommand({ StreamName: 'r', ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
      const r = await c.send(new GetRecordsCommand({ ShardIterator }));
      return r.Records!.map((x) => Buffer.from(x.Data!).toString().split('-')[0]);
    };
    // Before any sweep, expired records are already invisible.
    expect(await readAll('shardId-000000000000')).toEqual(Array(10).fill('new'));

    const shardDir = () => {
      const streams = path.join((gw as unknown as { dataDir: string }).dataDir, 'streams');
      const s = path.join(streams, fs.readdirSync(streams)[0]!);
      return path.join(s, fs.readdirSync(s).sort()[0]!);
    };
    const segments = () => fs.readdirSync(shardDir()).filter((n) => n.endsWith('.seg')).length;
    const before = segments();
    expect(before).toBeGreaterThan(3);
    await gw.registry.enforceRetention();
    expect(segments()).toBeLessThan(before);
    expect(await readAll('shardId-000000000000')).toEqual(Array(10).fill('new'));

    // A closed shard leaves the listings once its whole life is past retention.
    await c.send(new SplitShardCommand({ StreamName: 'r', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 127n).toString() }));
    await waitActive(c, 'r');
    expect((await c.send(new ListShardsCommand({ StreamName: 'r' }))).Shards!.length).toBe(3);
    offset += 25 * hour;
    await gw.registry.enforceRetention();
    expect((await c.send(new ListShardsCommand({ StreamName: 'r' }))).Shards!.map((s) => s.ShardId)).toEqual(['shardId-000000000001', 'shardId-000000000002']);

    // Iterators age with the same clock: 5 minutes and they are gone.
    const { ShardIterator } = await c.send(new GetShardIteratorCommand({ StreamName: 'r', ShardId: 'shardId-000000000001', ShardIteratorType: 'LATEST' }));
    offset += 301_000;
    const err = await c.send(new GetRecordsCommand({ ShardIterator })).catch((e: Error) => e);
    expect((err as Error).name).toBe('ExpiredIteratorException');
    expect((err as Error).message).toMatch(/^Iterator expired\. The iterator was created at time \w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4} while right now it is .+ which is further in the future than the tolerated delay of 300000 milliseconds\.$/);
  } finally {
    await gw.close();
  }
});

/** A record's payload: tag, number, padding; reading it back proves it intact. */
const payload = (tag: string, i: number) => `${tag}-${i}-`.padEnd(1000, 'x');
const minute = 60_000;

it('trims under concurrent GetRecords readers and a fan-out subscription without losing, repeating or corrupting a record', async () => {
  let offset = 0;
  const gw = await testGateway(
    { segmentBytesMax: 64 * 1024, createDelayMs: 0, updateDelayMs: 0, subscriptionLifetimeMs: 120_000, enforceLimits: false },
    { now: () => Date.now() + offset },
  );
  const c = kinesisClient(gw.url);
  try {
    await c.send(new CreateStreamCommand({ StreamName: 'race', ShardCount: 1 }));
    await waitActive(c, 'race');
    const put = (tag: string, from: number, n: number) =>
      c.send(new PutRecordsCommand({ StreamName: 'race', Records: Array.from({ length: n }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(payload(tag, from + i)) })) }));
    // Old records a minute apart per batch (about 20 segments of 64 KiB), then new ones.
    for (let b = 0; b < 12; b++) {
      await put('old', b * 100, 100);
      offset += minute;
    }
    offset += 10 * minute;
    for (let b = 0; b < 3; b++) await put('new', b * 100, 100);
    const { Consumer } = await c.send(new RegisterStreamConsumerCommand({ StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/race', ConsumerName: 'efo' }));
    while ((await c.send(new DescribeStreamConsumerCommand({ ConsumerARN: Consumer!.ConsumerARN }))).ConsumerDescription!.ConsumerStatus !== 'ACTIVE');
    // Just short of the oldest record's retention (old records arrived over the first 12 minutes, new ones at 22).
    offset += 24 * hour - 23 * minute;

    // The horizon moves as the readers move: each page read advances the clock 10 s and sweeps, so segments
    // expire and are deleted while reads of them are in flight. It stops short of the new records.
    const sweeps: Array<Promise<unknown>> = [];
    let advancedMs = 0;
    const onPage = () => {
      if (advancedMs >= 14 * minute) return;
      offset += 10_000;
      advancedMs += 10_000;
      sweeps.push(gw.registry.enforceRetention());
    };
    const results = await Promise.all([...Array.from({ length: 6 }, (_, r) => readToEnd(c, r, onPage)), subscribeToEnd(c, Consumer!.ConsumerARN!)]);
    await Promise.all(sweeps);
    expect(sweeps.length).toBeGreaterThan(20);
    expect(advancedMs).toBeGreaterThanOrEqual(13 * minute); // every old record expired while the readers read
    for (const got of results) {
      // Every reader ends with every new record, once and in order, after whichever old records it read before they expired.
      expect(got.filter((d) => d.startsWith('new-'))).toEqual(Array.from({ length: 300 }, (_, i) => payload('new', i)));
      const old = got.filter((d) => d.startsWith('old-'));
      expect(old).toEqual(old.map((d) => payload('old', Number(d.split('-')[1]))));
      const numbers = old.map((d) => Number(d.split('-')[1]));
      expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
      expect(new Set(numbers).size).toBe(numbers.length);
    }
  } finally {
    c.destroy();
    await gw.close();
  }
});

/** GetRecords from TRIM_HORIZON in small pages until the 300 new records are in; data in order of arrival. */
async function readToEnd(c: KinesisClient, reader: number, onPage: () => void): Promise<string[]> {
  const got: string[] = [];
  let { ShardIterator } = await c.send(new GetShardIteratorCommand({ StreamName: 'race', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
  while (got.filter((d) => d.startsWith('new-')).length < 300) {
    const r = await c.send(new GetRecordsCommand({ ShardIterator, Limit: 20 + reader * 5 }));
    for (const rec of r.Records!) got.push(Buffer.from(rec.Data!).toString());
    ShardIterator = r.NextShardIterator;
    onPage();
  }
  return got;
}

/** One fan-out subscription from TRIM_HORIZON until the 300 new records are in. */
async function subscribeToEnd(c: KinesisClient, ConsumerARN: string): Promise<string[]> {
  const got: string[] = [];
  const out = await c.send(new SubscribeToShardCommand({ ConsumerARN, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'TRIM_HORIZON' } }));
  for await (const e of out.EventStream!) {
    for (const rec of e.SubscribeToShardEvent?.Records ?? []) got.push(Buffer.from(rec.Data!).toString());
    if (got.filter((d) => d.startsWith('new-')).length >= 300) break;
  }
  return got;
}
