// A running application keeps reading its data stream across a reshard: a
// split closes the parent shard and opens two children, and the application
// reads the parent to its end before the children, so every record is read
// once and each partition key's rows reach the output in the order the
// records were written (the output stream has one shard, which keeps the
// order of the application's writes).
import { CreateApplicationCommand, StartApplicationCommand } from '@aws-sdk/client-kinesis-analytics';
import { ListShardsCommand, PutRecordsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { analyticsClient, role, streamArn, waitStatus } from '../helpers/analytics.ts';
import { readStream, waitFor } from '../helpers/agent-process.ts';
import { createActiveStream, kinesisClient, testGateway, waitActive } from '../helpers/gateway.ts';

let gw: Awaited<ReturnType<typeof testGateway>>;
beforeAll(async () => {
  gw = await testGateway({ enforceLimits: false });
});
afterAll(() => gw?.close());

it('reads parents before children across a split, every record once, per-key order kept', async () => {
  const k = kinesisClient(gw.url);
  const ka = analyticsClient(gw.url);
  await createActiveStream(k, 'src', 1);
  await createActiveStream(k, 'dst', 1);
  await ka.send(new CreateApplicationCommand({
    ApplicationName: 'order',
    Inputs: [{
      NamePrefix: 'SOURCE_SQL_STREAM',
      KinesisStreamsInput: { ResourceARN: streamArn('src'), RoleARN: role },
      InputSchema: {
        RecordFormat: { RecordFormatType: 'JSON', MappingParameters: { JSONMappingParameters: { RecordRowPath: '$' } } },
        RecordColumns: [{ Name: 'key', Mapping: '$.key', SqlType: 'VARCHAR(8)' }, { Name: 'seq', Mapping: '$.seq', SqlType: 'INTEGER' }],
      },
    }],
    Outputs: [{ Name: 'DESTINATION_SQL_STREAM', KinesisStreamsOutput: { ResourceARN: streamArn('dst'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'JSON' } }],
    ApplicationCode: `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("key" VARCHAR(8), "seq" INTEGER);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM "key", "seq" FROM "SOURCE_SQL_STREAM_001";`,
  }));
  // TRIM_HORIZON: the application starts late on purpose, with the parent's records and the children's both waiting.
  const keys = Array.from({ length: 16 }, (_, i) => `key${i}`);
  let seq = 0;
  const put = (n = 400) => k.send(new PutRecordsCommand({ StreamName: 'src', Records: Array.from({ length: n }, (_, i) => {
    const key = keys[i % keys.length]!;
    return { PartitionKey: key, Data: Buffer.from(JSON.stringify({ key, seq: seq++ })) };
  }) }));
  // More than one read (1,000 records) in the parent, so a reader that did not wait for it would reach the children first.
  for (let i = 0; i < 4; i++) await put();
  const [parent] = (await k.send(new ListShardsCommand({ StreamName: 'src' }))).Shards!;
  await k.send(new SplitShardCommand({ StreamName: 'src', ShardToSplit: parent!.ShardId, NewStartingHashKey: (2n ** 127n).toString() }));
  await waitActive(k, 'src');
  for (let i = 0; i < 2; i++) await put();
  await ka.send(new StartApplicationCommand({ ApplicationName: 'order', InputConfigurations: [{ Id: '1.1', InputStartingPositionConfiguration: { InputStartingPosition: 'TRIM_HORIZON' } }] }));
  await waitStatus(ka, 'order', 'RUNNING');
  await put(); // and while it runs
  let rows: Array<{ key: string; seq: number }> = [];
  await waitFor('every row', async () => {
    rows = (await readStream(k, 'dst')).map((r) => JSON.parse(r.data) as { key: string; seq: number });
    return rows.length >= seq;
  }, 20_000);
  expect(rows.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: seq }, (_, i) => i));
  for (const key of keys) {
    const mine = rows.filter((r) => r.key === key).map((r) => r.seq);
    expect(mine).toEqual([...mine].sort((a, b) => a - b));
  }
});
