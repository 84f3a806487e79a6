// Regression (found while testing the Data Streams API): a stream deleted and
// re-created under the same name within one second must not accept the old
// stream's shard iterators.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CreateStreamCommand, DeleteStreamCommand, DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand, PutRecordCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { kinesisClient, testGateway, waitActive } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/wait.ts';
import type { Gateway } from '../../gateway/gateway.ts';

let gw: Gateway;
let c: KinesisClient;
beforeAll(async () => {
  gw = await testGateway({ createDelayMs: 0, deleteDelayMs: 0 });
  c = kinesisClient(gw.url);
});
afterAll(() => gw.close());

it('refuses an iterator of a previous incarnation of the stream', async () => {
  await c.send(new CreateStreamCommand({ StreamName: 'again', ShardCount: 1 }));
  await waitActive(c, 'again');
  const { ShardIterator } = await c.send(new GetShardIteratorCommand({ StreamName: 'again', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
  await c.send(new DeleteStreamCommand({ StreamName: 'again' }));
  // The deletion finishes on a timer (at once here); then the name is free again.
  await waitFor('the stream deleted', () => c.send(new DescribeStreamSummaryCommand({ StreamName: 'again' })).then(() => false, (e: Error) => e.name === 'ResourceNotFoundException'), { intervalMs: 5 });
  await c.send(new CreateStreamCommand({ StreamName: 'again', ShardCount: 1 }));
  await waitActive(c, 'again');
  await c.send(new PutRecordCommand({ StreamName: 'again', PartitionKey: 'k', Data: Buffer.from('new stream') }));
  const err = await c.send(new GetRecordsCommand({ ShardIterator })).catch((e: Error) => e);
  expect((err as Error).name).toBe('ResourceNotFoundException');
  expect((err as Error).message).toBe('Shard shardId-000000000000 in stream again under account 000000000000 does not exist');
});
