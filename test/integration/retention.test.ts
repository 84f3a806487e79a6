// Proves retention with a clock the test moves: records older than the
// stream's retention are never returned, whole expired segments are deleted
// from disk, closed shards past retention leave the listings, and iterators
// expire after 5 minutes of that clock.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import {
  CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordsCommand, SplitShardCommand,
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
