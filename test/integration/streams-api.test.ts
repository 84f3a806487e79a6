// Proves every Data Streams action works through the stock AWS SDK v3 Kinesis client: each test drives a real gateway on port 0 (default per-shard limits on, 50 ms status delays; a second one with 1 s delays for the tests that observe CREATING, UPDATING and DELETING, and only count what they saw within that second) and asserts AWS's exact outputs, error names, messages and HTTP statuses.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddTagsToStreamCommand,
  CreateStreamCommand,
  DecreaseStreamRetentionPeriodCommand,
  DeleteStreamCommand,
  DescribeLimitsCommand,
  DescribeStreamCommand,
  DescribeStreamSummaryCommand,
  DisableEnhancedMonitoringCommand,
  EnableEnhancedMonitoringCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  IncreaseStreamRetentionPeriodCommand,
  ListShardsCommand,
  ListStreamsCommand,
  ListTagsForStreamCommand,
  MergeShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  RemoveTagsFromStreamCommand,
  SplitShardCommand,
  StartStreamEncryptionCommand,
  StopStreamEncryptionCommand,
  UpdateShardCountCommand,
  UpdateStreamModeCommand,
  waitUntilStreamExists,
  waitUntilStreamNotExists,
  type GetRecordsCommandOutput,
  type KinesisClient,
  type Shard,
  type ShardIteratorType,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { kinesisClient, testGateway, waitActive } from '../helpers/gateway.ts';
import { waitFor, withinWindow } from '../helpers/wait.ts';

type TestGateway = Awaited<ReturnType<typeof testGateway>>;

const ACCOUNT = '000000000000';
const HASH_MAX = (1n << 128n) - 1n;
const arn = (name: string) => `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/${name}`;
const shardId = (i: number) => `shardId-${String(i).padStart(12, '0')}`;
const text = (r: _Record) => Buffer.from(r.Data!).toString('utf8');

let gw: TestGateway;
let client: KinesisClient;
let streamCounter = 0;
/** A fresh stream name per test, so each test has its own shards and throughput budget. */
const fresh = (label: string) => `${label}-${++streamCounter}`;

/** Status delays of the gateway the state-window tests use: CREATING, UPDATING and DELETING last this long. */
const windowMs = 1000;
let paced: TestGateway;
let pacedClient: KinesisClient;

beforeAll(async () => {
  gw = await testGateway();
  client = kinesisClient(gw.url);
  paced = await testGateway({ createDelayMs: windowMs, updateDelayMs: windowMs, deleteDelayMs: windowMs });
  pacedClient = kinesisClient(paced.url);
});

afterAll(async () => {
  client?.destroy();
  pacedClient?.destroy();
  await gw?.close();
  await paced?.close();
});

const statusOf = async (c: KinesisClient, StreamName: string) => (await c.send(new DescribeStreamSummaryCommand({ StreamName }))).StreamDescriptionSummary!.StreamStatus;

/** Awaits a rejection and checks it the way an SDK caller sees it. */
async function expectAwsError(p: Promise<unknown>, name: string, message: string | RegExp, status = 400): Promise<void> {
  const err = (await p.then(
    (v) => {
      throw new Error(`expected ${name}, got success: ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  )) as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
  expect(err.name).toBe(name);
  if (typeof message === 'string') expect(err.message).toBe(message);
  else expect(err.message).toMatch(message);
  expect(err.$metadata?.httpStatusCode).toBe(status);
}

async function createActive(c: KinesisClient, StreamName: string, ShardCount = 1): Promise<void> {
  await c.send(new CreateStreamCommand({ StreamName, ShardCount }));
  await waitActive(c, StreamName);
}

async function listAllShards(c: KinesisClient, StreamName: string): Promise<Shard[]> {
  const r = await c.send(new ListShardsCommand({ StreamName }));
  return r.Shards!;
}

async function iterator(c: KinesisClient, StreamName: string, ShardId: string, ShardIteratorType: ShardIteratorType, extra: { StartingSequenceNumber?: string; Timestamp?: Date } = {}): Promise<string> {
  const r = await c.send(new GetShardIteratorCommand({ StreamName, ShardId, ShardIteratorType, ...extra }));
  expect(r.ShardIterator).toMatch(/^[A-Za-z0-9+/=]+$/);
  return r.ShardIterator!;
}

/** Reads a shard from an iterator until caught up (a few calls at most, within the 5 calls/s budget). */
async function readFrom(c: KinesisClient, it: string, maxCalls = 3): Promise<_Record[]> {
  const out: _Record[] = [];
  let next: string | undefined = it;
  for (let i = 0; i < maxCalls && next; i++) {
    const r: GetRecordsCommandOutput = await c.send(new GetRecordsCommand({ ShardIterator: next }));
    out.push(...r.Records!);
    next = r.NextShardIterator;
    if (r.Records!.length === 0 && r.MillisBehindLatest === 0) break;
  }
  return out;
}

function md5Hash(partitionKey: string): bigint {
  return BigInt('0x' + createHash('md5').update(partitionKey, 'utf8').digest('hex'));
}

function shardFor(shards: Shard[], hash: bigint): string {
  const s = shards.find((x) => BigInt(x.HashKeyRange!.StartingHashKey!) <= hash && hash <= BigInt(x.HashKeyRange!.EndingHashKey!));
  return s!.ShardId!;
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath ?? (d as unknown as { path: string }).path, d.name));
}

describe('CreateStream', () => {
  it('creates a provisioned stream that goes from CREATING to ACTIVE', async () => {
    let name = '';
    const first = await withinWindow(windowMs, async (open) => {
      name = fresh('create');
      open();
      await pacedClient.send(new CreateStreamCommand({ StreamName: name, ShardCount: 3 }));
      return statusOf(pacedClient, name);
    });
    expect(first).toBe('CREATING');
    await waitActive(pacedClient, name);
    const s = (await pacedClient.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!;
    expect(s).toMatchObject({
      StreamName: name,
      StreamARN: arn(name),
      StreamStatus: 'ACTIVE',
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      RetentionPeriodHours: 24,
      OpenShardCount: 3,
      EncryptionType: 'NONE',
      EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
      ConsumerCount: 0,
    });
    expect(s.StreamCreationTimestamp).toBeInstanceOf(Date);
    expect(Math.abs(s.StreamCreationTimestamp!.getTime() - Date.now())).toBeLessThan(10_000);
  });

  it('refuses data-plane writes while the stream is CREATING, as AWS reports it not found', async () => {
    // A gateway whose streams stay CREATING for the whole test, so no timing decides the outcome.
    const slow = await testGateway({ createDelayMs: 600_000 });
    const slowClient = kinesisClient(slow.url);
    try {
      const name = fresh('creating');
      await slowClient.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
      await expectAwsError(
        slowClient.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('x') })),
        'ResourceNotFoundException',
        `Stream ${name} under account ${ACCOUNT} not found.`,
      );
      await expectAwsError(
        slowClient.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(0), NewStartingHashKey: '1000' })),
        'ResourceInUseException',
        `Stream ${name} under account ${ACCOUNT} not ACTIVE, instead in state CREATING`,
      );
    } finally {
      slowClient.destroy();
      await slow.close();
    }
  });

  it('is awaited by waitUntilStreamExists', async () => {
    const name = fresh('waiter');
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    const r = await waitUntilStreamExists({ client, minDelay: 1, maxWaitTime: 10 }, { StreamName: name });
    expect(r.state).toBe('SUCCESS');
    const s = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    expect(s.StreamDescriptionSummary!.StreamStatus).toBe('ACTIVE');
  });

  it('gives an ON_DEMAND stream 4 shards', async () => {
    const name = fresh('ondemand');
    await client.send(new CreateStreamCommand({ StreamName: name, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
    await waitActive(client, name);
    const s = (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!;
    expect(s.StreamModeDetails).toEqual({ StreamMode: 'ON_DEMAND' });
    expect(s.OpenShardCount).toBe(4);
    const shards = await listAllShards(client, name);
    expect(shards.map((x) => x.ShardId)).toEqual([0, 1, 2, 3].map(shardId));
    await expectAwsError(
      client.send(new UpdateShardCountCommand({ StreamName: name, TargetShardCount: 8, ScalingType: 'UNIFORM_SCALING' })),
      'ValidationException',
      `Request is invalid. Stream ${name} under account ${ACCOUNT} is in On-Demand mode.`,
    );
    await expectAwsError(
      client.send(new CreateStreamCommand({ StreamName: fresh('od'), ShardCount: 2, StreamModeDetails: { StreamMode: 'ON_DEMAND' } })),
      'InvalidArgumentException',
      'ShardCount cannot be specified for on-demand streams.',
    );
  });

  it('refuses a duplicate name with ResourceInUseException', async () => {
    const name = fresh('dup');
    await createActive(client, name);
    await expectAwsError(
      client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 })),
      'ResourceInUseException',
      `Stream ${name} under account ${ACCOUNT} already exists.`,
    );
  });

  it('reports constraint violations together in one ValidationException', async () => {
    await expectAwsError(
      client.send(new CreateStreamCommand({ StreamName: 'bad name!', ShardCount: 0 })),
      'ValidationException',
      "2 validation errors detected: Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
        "Value 'bad name!' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
    );
    const long = 'a'.repeat(129);
    await expectAwsError(
      client.send(new CreateStreamCommand({ StreamName: long, ShardCount: 1 })),
      'ValidationException',
      `1 validation error detected: Value '${long}' at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128`,
    );
    await expectAwsError(
      client.send(new CreateStreamCommand({ StreamName: '', ShardCount: 1 })),
      'ValidationException',
      "2 validation errors detected: Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
        "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    await expectAwsError(
      client.send(new CreateStreamCommand({ StreamName: fresh('noshards') })),
      'InvalidArgumentException',
      'ShardCount is required for provisioned streams.',
    );
    await expectAwsError(
      client.send(new CreateStreamCommand({ StreamName: fresh('toomany'), ShardCount: 501 })),
      'LimitExceededException',
      /^This request would exceed the shard limit for the account 000000000000 in us-east-1\. Current shard count for the account: \d+\. Limit: 500\. Number of additional shards that would have resulted from this request: 501\. Refer to the AWS Service Limits page \(http:\/\/docs\.aws\.amazon\.com\/general\/latest\/gr\/aws_service_limits\.html\) for current limits and how to request higher limits\.$/,
    );
  });
});

describe('DeleteStream', () => {
  it('goes DELETING, then the stream is gone', async () => {
    let name = '';
    const status = await withinWindow(windowMs, async (open) => {
      name = fresh('delete');
      await createActive(pacedClient, name, 2);
      open();
      await pacedClient.send(new DeleteStreamCommand({ StreamName: name }));
      return statusOf(pacedClient, name);
    });
    expect(status).toBe('DELETING');
    const r = await waitUntilStreamNotExists({ client: pacedClient, minDelay: 1, maxWaitTime: 10 }, { StreamName: name });
    expect(r.state).toBe('SUCCESS');
    await expectAwsError(
      pacedClient.send(new DescribeStreamSummaryCommand({ StreamName: name })),
      'ResourceNotFoundException',
      `Stream ${name} under account ${ACCOUNT} not found.`,
    );
    await expectAwsError(client.send(new DeleteStreamCommand({ StreamName: name })), 'ResourceNotFoundException', `Stream ${name} under account ${ACCOUNT} not found.`);
  });
});

describe('DescribeStream and DescribeStreamSummary', () => {
  it('pages shards with Limit and ExclusiveStartShardId', async () => {
    const name = fresh('describe');
    await createActive(client, name, 5);
    const p1 = (await client.send(new DescribeStreamCommand({ StreamName: name, Limit: 2 }))).StreamDescription!;
    expect(p1.Shards!.map((s) => s.ShardId)).toEqual([shardId(0), shardId(1)]);
    expect(p1.HasMoreShards).toBe(true);
    expect(p1).toMatchObject({ StreamName: name, StreamARN: arn(name), StreamStatus: 'ACTIVE', RetentionPeriodHours: 24, EncryptionType: 'NONE', StreamModeDetails: { StreamMode: 'PROVISIONED' }, EnhancedMonitoring: [{ ShardLevelMetrics: [] }] });
    const p2 = (await client.send(new DescribeStreamCommand({ StreamName: name, Limit: 2, ExclusiveStartShardId: shardId(1) }))).StreamDescription!;
    expect(p2.Shards!.map((s) => s.ShardId)).toEqual([shardId(2), shardId(3)]);
    expect(p2.HasMoreShards).toBe(true);
    const p3 = (await client.send(new DescribeStreamCommand({ StreamName: name, Limit: 2, ExclusiveStartShardId: shardId(3) }))).StreamDescription!;
    expect(p3.Shards!.map((s) => s.ShardId)).toEqual([shardId(4)]);
    expect(p3.HasMoreShards).toBe(false);

    // The shards cover the whole hash key space evenly, without gaps, all open.
    const all = [...p1.Shards!, ...p2.Shards!, ...p3.Shards!];
    expect(all[0]!.HashKeyRange!.StartingHashKey).toBe('0');
    expect(all.at(-1)!.HashKeyRange!.EndingHashKey).toBe(HASH_MAX.toString());
    for (let i = 1; i < all.length; i++) {
      expect(BigInt(all[i]!.HashKeyRange!.StartingHashKey!)).toBe(BigInt(all[i - 1]!.HashKeyRange!.EndingHashKey!) + 1n);
    }
    for (const s of all) {
      expect(s.SequenceNumberRange!.StartingSequenceNumber).toMatch(/^\d{56}$/);
      expect(s.SequenceNumberRange!.EndingSequenceNumber).toBeUndefined();
      expect(s.ParentShardId).toBeUndefined();
    }

    const summary = (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!;
    expect(summary.OpenShardCount).toBe(5);
    await expectAwsError(
      client.send(new DescribeStreamCommand({ StreamName: name, Limit: 0 })),
      'ValidationException',
      "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    await expectAwsError(
      client.send(new DescribeStreamSummaryCommand({ StreamName: 'no-such-stream' })),
      'ResourceNotFoundException',
      `Stream no-such-stream under account ${ACCOUNT} not found.`,
    );
  });
});

describe('ListStreams and DescribeLimits (on a gateway of their own)', () => {
  let gw2: TestGateway;
  let c2: KinesisClient;
  beforeAll(async () => {
    gw2 = await testGateway();
    c2 = kinesisClient(gw2.url);
    for (const n of ['alpha', 'bravo', 'charlie', 'delta', 'echo']) await c2.send(new CreateStreamCommand({ StreamName: n, ShardCount: 1 }));
    await c2.send(new CreateStreamCommand({ StreamName: 'foxtrot', StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
    for (const n of ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot']) await waitActive(c2, n);
  });
  afterAll(async () => {
    c2?.destroy();
    await gw2?.close();
  });

  it('pages with Limit and NextToken, and with ExclusiveStartStreamName', async () => {
    const p1 = await c2.send(new ListStreamsCommand({ Limit: 2 }));
    expect(p1.StreamNames).toEqual(['alpha', 'bravo']);
    expect(p1.HasMoreStreams).toBe(true);
    expect(p1.NextToken).toBeTruthy();
    expect(p1.StreamSummaries).toEqual([
      { StreamName: 'alpha', StreamARN: arn('alpha'), StreamStatus: 'ACTIVE', StreamModeDetails: { StreamMode: 'PROVISIONED' }, StreamCreationTimestamp: expect.any(Date) },
      { StreamName: 'bravo', StreamARN: arn('bravo'), StreamStatus: 'ACTIVE', StreamModeDetails: { StreamMode: 'PROVISIONED' }, StreamCreationTimestamp: expect.any(Date) },
    ]);
    const p2 = await c2.send(new ListStreamsCommand({ Limit: 2, NextToken: p1.NextToken }));
    expect(p2.StreamNames).toEqual(['charlie', 'delta']);
    const p3 = await c2.send(new ListStreamsCommand({ Limit: 2, NextToken: p2.NextToken }));
    expect(p3.StreamNames).toEqual(['echo', 'foxtrot']);
    expect(p3.HasMoreStreams).toBe(false);
    expect(p3.NextToken).toBeUndefined();
    expect(p3.StreamSummaries![1]!.StreamModeDetails).toEqual({ StreamMode: 'ON_DEMAND' });

    const after = await c2.send(new ListStreamsCommand({ ExclusiveStartStreamName: 'charlie', Limit: 10 }));
    expect(after.StreamNames).toEqual(['delta', 'echo', 'foxtrot']);
    expect(after.HasMoreStreams).toBe(false);
    const everything = await c2.send(new ListStreamsCommand({}));
    expect(everything.StreamNames).toHaveLength(6);
    await expectAwsError(
      c2.send(new ListStreamsCommand({ Limit: 10001 })),
      'ValidationException',
      "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000",
    );
    await expectAwsError(c2.send(new ListStreamsCommand({ NextToken: 'garbage' })), 'InvalidArgumentException', 'Invalid NextToken.');
  });

  it('DescribeLimits counts open shards and on-demand streams', async () => {
    const r = await c2.send(new DescribeLimitsCommand({}));
    expect(r).toMatchObject({ ShardLimit: 500, OpenShardCount: 9, OnDemandStreamCount: 1, OnDemandStreamCountLimit: 50 });
  });
});

describe('ListShards', () => {
  it('pages with MaxResults and NextToken', async () => {
    const name = fresh('listshards');
    await createActive(client, name, 5);
    const p1 = await client.send(new ListShardsCommand({ StreamName: name, MaxResults: 2 }));
    expect(p1.Shards!.map((s) => s.ShardId)).toEqual([shardId(0), shardId(1)]);
    expect(p1.NextToken).toBeTruthy();
    const p2 = await client.send(new ListShardsCommand({ NextToken: p1.NextToken, MaxResults: 2 }));
    expect(p2.Shards!.map((s) => s.ShardId)).toEqual([shardId(2), shardId(3)]);
    const p3 = await client.send(new ListShardsCommand({ NextToken: p2.NextToken, MaxResults: 2 }));
    expect(p3.Shards!.map((s) => s.ShardId)).toEqual([shardId(4)]);
    expect(p3.NextToken).toBeUndefined();

    const after = await client.send(new ListShardsCommand({ StreamName: name, ExclusiveStartShardId: shardId(2) }));
    expect(after.Shards!.map((s) => s.ShardId)).toEqual([shardId(3), shardId(4)]);

    await expectAwsError(
      client.send(new ListShardsCommand({ StreamName: name, NextToken: p1.NextToken })),
      'InvalidArgumentException',
      'NextToken and StreamName cannot be provided together.',
    );
    await expectAwsError(client.send(new ListShardsCommand({})), 'InvalidArgumentException', 'Either NextToken or StreamName should be provided.');
    await expectAwsError(client.send(new ListShardsCommand({ NextToken: 'not-a-token' })), 'InvalidArgumentException', 'Invalid NextToken.');
    await expectAwsError(
      client.send(new ListShardsCommand({ StreamName: name, ShardFilter: { Type: 'AFTER_SHARD_ID' } })),
      'InvalidArgumentException',
      'ShardId must be specified when the ShardFilter type is AFTER_SHARD_ID.',
    );
  });

  it('filters AT_LATEST to the open shards after a split, and AFTER_SHARD_ID', async () => {
    const name = fresh('filter');
    await createActive(client, name, 2);
    const [s0] = await listAllShards(client, name);
    const mid = BigInt(s0!.HashKeyRange!.EndingHashKey!) / 2n;
    await client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(0), NewStartingHashKey: mid.toString() }));
    await waitActive(client, name);
    const all = await listAllShards(client, name);
    expect(all.map((s) => s.ShardId)).toEqual([0, 1, 2, 3].map(shardId));
    const latest = await client.send(new ListShardsCommand({ StreamName: name, ShardFilter: { Type: 'AT_LATEST' } }));
    expect(latest.Shards!.map((s) => s.ShardId)).toEqual([1, 2, 3].map(shardId));
    const afterId = await client.send(new ListShardsCommand({ StreamName: name, ShardFilter: { Type: 'AFTER_SHARD_ID', ShardId: shardId(1) } }));
    expect(afterId.Shards!.map((s) => s.ShardId)).toEqual([2, 3].map(shardId));
    const horizon = await client.send(new ListShardsCommand({ StreamName: name, ShardFilter: { Type: 'AT_TRIM_HORIZON' } }));
    expect(horizon.Shards!.map((s) => s.ShardId)).toEqual([0, 1].map(shardId));
    const fromHorizon = await client.send(new ListShardsCommand({ StreamName: name, ShardFilter: { Type: 'FROM_TRIM_HORIZON' } }));
    expect(fromHorizon.Shards).toHaveLength(4);
  });
});

describe('PutRecord', () => {
  it('routes by partition key hash and by ExplicitHashKey', async () => {
    const name = fresh('route');
    await createActive(client, name, 4);
    const shards = await listAllShards(client, name);
    for (const pk of ['a', 'b', 'user-17', 'ünïcödé']) {
      const r = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: pk, Data: Buffer.from(pk) }));
      expect(r.ShardId).toBe(shardFor(shards, md5Hash(pk)));
      expect(r.SequenceNumber).toMatch(/^\d{56}$/);
      expect(r.EncryptionType).toBe('NONE');
    }
    const start2 = shards[2]!.HashKeyRange!.StartingHashKey!;
    const end1 = shards[1]!.HashKeyRange!.EndingHashKey!;
    expect((await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'a', ExplicitHashKey: start2, Data: Buffer.from('x') }))).ShardId).toBe(shardId(2));
    expect((await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'a', ExplicitHashKey: end1, Data: Buffer.from('x') }))).ShardId).toBe(shardId(1));
    expect((await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'a', ExplicitHashKey: '0', Data: Buffer.from('x') }))).ShardId).toBe(shardId(0));
    expect((await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'a', ExplicitHashKey: HASH_MAX.toString(), Data: Buffer.from('x') }))).ShardId).toBe(shardId(3));
  });

  it('rejects ExplicitHashKeys out of range or malformed', async () => {
    const name = fresh('hashkey');
    await createActive(client, name);
    const over = (HASH_MAX + 1n).toString();
    await expectAwsError(
      client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'a', ExplicitHashKey: over, Data: Buffer.from('x') })),
      'InvalidArgumentException',
      `Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ${over}`,
    );
    await expectAwsError(
      client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'a', ExplicitHashKey: 'abc', Data: Buffer.from('x') })),
      'ValidationException',
      "1 validation error detected: Value 'abc' at 'explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})",
    );
    await expectAwsError(
      client.send(new PutRecordsCommand({ StreamName: name, Records: [{ PartitionKey: 'a', Data: Buffer.from('x') }, { PartitionKey: 'a', ExplicitHashKey: over, Data: Buffer.from('x') }] })),
      'InvalidArgumentException',
      `Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ${over}`,
    );
    const pk = 'p'.repeat(257);
    await expectAwsError(
      client.send(new PutRecordCommand({ StreamName: name, PartitionKey: pk, Data: Buffer.from('x') })),
      'ValidationException',
      `1 validation error detected: Value '${pk}' at 'partitionKey' failed to satisfy constraint: Member must have length less than or equal to 256`,
    );
    await expectAwsError(
      client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'a', Data: Buffer.alloc(1024 * 1024 + 1) })),
      'ValidationException',
      "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576",
    );
    await expectAwsError(
      client.send(new PutRecordCommand({ StreamName: 'missing-stream', PartitionKey: 'a', Data: Buffer.from('x') })),
      'ResourceNotFoundException',
      `Stream missing-stream under account ${ACCOUNT} not found.`,
    );
  });

  it('accepts SequenceNumberForOrdering and keeps sequence numbers increasing', async () => {
    const name = fresh('ordering');
    await createActive(client, name);
    const a = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('1') }));
    const b = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('2'), SequenceNumberForOrdering: a.SequenceNumber }));
    const c = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('3'), SequenceNumberForOrdering: b.SequenceNumber }));
    expect(BigInt(b.SequenceNumber!)).toBeGreaterThan(BigInt(a.SequenceNumber!));
    expect(BigInt(c.SequenceNumber!)).toBeGreaterThan(BigInt(b.SequenceNumber!));
    // An older-format number is accepted as on AWS; an unknown layout version is not (streams-aws-fidelity.test.ts has the full table).
    await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('4'), SequenceNumberForOrdering: '123' }));
    const version4 = BigInt('0x20000000000000000000000000000000000000000000004').toString(10);
    await expectAwsError(
      client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('4'), SequenceNumberForOrdering: version4 })),
      'InvalidArgumentException',
      `ExclusiveMinimumSequenceNumber ${version4} used in PutRecord on stream ${name} under account ${ACCOUNT} is invalid.`,
    );
    await expectAwsError(
      client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('4'), SequenceNumberForOrdering: 'x1' })),
      'ValidationException',
      "1 validation error detected: Value 'x1' at 'sequenceNumberForOrdering' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})",
    );
  });
});

describe('PutRecords', () => {
  it('spreads mixed partition keys over shards with strictly increasing sequence numbers per shard', async () => {
    const name = fresh('putrecords');
    await createActive(client, name, 4);
    const shards = await listAllShards(client, name);
    const Records = Array.from({ length: 200 }, (_, i) => ({ PartitionKey: `pk-${i}`, Data: Buffer.from(`record-${i}`) }));
    const r = await client.send(new PutRecordsCommand({ StreamName: name, Records }));
    expect(r.FailedRecordCount).toBe(0);
    expect(r.EncryptionType).toBe('NONE');
    expect(r.Records).toHaveLength(200);
    const byShard = new Map<string, bigint[]>();
    r.Records!.forEach((e, i) => {
      expect(e.ShardId).toBe(shardFor(shards, md5Hash(`pk-${i}`)));
      expect(e.ErrorCode).toBeUndefined();
      byShard.set(e.ShardId!, [...(byShard.get(e.ShardId!) ?? []), BigInt(e.SequenceNumber!)]);
    });
    expect(byShard.size).toBe(4);
    for (const seqs of byShard.values()) for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);

    // Every record is readable on its shard, in request order.
    for (const s of shards) {
      const got = await readFrom(client, await iterator(client, name, s.ShardId!, 'TRIM_HORIZON'));
      const want = Records.filter((_, i) => r.Records![i]!.ShardId === s.ShardId).map((x) => x.Data.toString());
      expect(got.map(text)).toEqual(want);
      expect(got.map((x) => BigInt(x.SequenceNumber!))).toEqual(byShard.get(s.ShardId!));
    }
  });

  it('refuses more than 500 records and records over 1 MiB with ValidationException', async () => {
    const name = fresh('putlimits');
    await createActive(client, name);
    const one = { PartitionKey: 'a', Data: Buffer.from('x') };
    const err = await client.send(new PutRecordsCommand({ StreamName: name, Records: Array.from({ length: 501 }, () => one) })).catch((e: Error) => e);
    expect((err as Error).name).toBe('ValidationException');
    const member = 'com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310';
    expect((err as Error).message).toBe(
      `1 validation error detected: Value '[${Array(501).fill(member).join(', ')}]' at 'records' failed to satisfy constraint: Member must have length less than or equal to 500`,
    );
    await expectAwsError(
      client.send(new PutRecordsCommand({ StreamName: name, Records: [] })),
      'ValidationException',
      "1 validation error detected: Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    await expectAwsError(
      client.send(new PutRecordsCommand({ StreamName: name, Records: [one, { PartitionKey: 'b', Data: Buffer.alloc(1024 * 1024 + 1) }] })),
      'ValidationException',
      "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'records.2.member.data' failed to satisfy constraint: Member must have length less than or equal to 1048576",
    );
    await expectAwsError(
      client.send(new PutRecordsCommand({ StreamName: name, Records: [{ PartitionKey: '', Data: Buffer.from('x') }] })),
      'ValidationException',
      "1 validation error detected: Value '' at 'records.1.member.partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    // Six records of 900 KiB are within the per-record limit but over the 5 MiB request limit.
    await expectAwsError(
      client.send(new PutRecordsCommand({ StreamName: name, Records: Array.from({ length: 6 }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.alloc(900 * 1024, 1) })) })),
      'InvalidArgumentException',
      'Records size exceeds 5 MB limit',
    );
  });
});

describe('per-shard throughput limits', () => {
  // A gateway whose clock stands still: every call falls in the same second, however long the machine takes for them.
  let still: TestGateway;
  let stillClient: KinesisClient;
  beforeAll(async () => {
    const t = Date.now();
    still = await testGateway({}, { now: () => t });
    stillClient = kinesisClient(still.url);
  });
  afterAll(async () => {
    stillClient?.destroy();
    await still?.close();
  });

  it('fails the records over 1,000/s per shard individually, and keeps the rest', async () => {
    const name = fresh('throttle');
    const client = stillClient;
    await createActive(client, name, 1);
    const calls = [0, 1, 2].map((c) => Array.from({ length: 500 }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(`c${c}-r${i}`) })));
    const results = [];
    for (const Records of calls) results.push(await client.send(new PutRecordsCommand({ StreamName: name, Records })));
    const failed = results.reduce((n, r) => n + r.FailedRecordCount!, 0);
    expect(failed).toBeGreaterThan(0);
    const ok: string[] = [];
    results.forEach((r, c) => {
      expect(r.FailedRecordCount).toBe(r.Records!.filter((e) => e.ErrorCode).length);
      r.Records!.forEach((e, i) => {
        if (e.ErrorCode) {
          expect(e).toEqual({
            ErrorCode: 'ProvisionedThroughputExceededException',
            ErrorMessage: `Rate exceeded for shard shardId-000000000000 in stream ${name} under account ${ACCOUNT}.`,
          });
        } else {
          expect(e.ShardId).toBe(shardId(0));
          ok.push(`c${c}-r${i}`);
        }
      });
    });
    expect(ok.length + failed).toBe(1500);
    expect(ok.length).toBe(1000);
    const got = await readFrom(client, await iterator(client, name, shardId(0), 'TRIM_HORIZON'), 2);
    expect(got.map(text)).toEqual(ok);
  });

  it('throttles a whole PutRecord once the shard has taken 1 MiB in the last second', async () => {
    const name = fresh('throttle-bytes');
    const client = stillClient;
    await createActive(client, name, 1);
    const big = Buffer.alloc(1000 * 1024, 7);
    await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: big }));
    await expectAwsError(
      client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: big })),
      'ProvisionedThroughputExceededException',
      `Rate exceeded for shard shardId-000000000000 in stream ${name} under account ${ACCOUNT}.`,
    );
  });

  it('throttles more than 5 GetRecords calls per second on one shard', async () => {
    const name = fresh('throttle-read');
    const client = stillClient;
    await createActive(client, name, 1);
    const it0 = await iterator(client, name, shardId(0), 'TRIM_HORIZON');
    const settled = await Promise.allSettled(Array.from({ length: 10 }, () => client.send(new GetRecordsCommand({ ShardIterator: it0 }))));
    const rejected = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(settled.filter((s) => s.status === 'fulfilled').length).toBe(5);
    expect(rejected.length).toBe(5);
    for (const r of rejected) {
      expect(r.reason.name).toBe('ProvisionedThroughputExceededException');
      expect(r.reason.message).toBe(`Rate exceeded for Shard - ${ACCOUNT}/${name}/shardId-000000000000`);
      expect(r.reason.$metadata.httpStatusCode).toBe(400);
    }
  });
});

describe('GetShardIterator', () => {
  it('positions all five iterator types', async () => {
    const name = fresh('iterators');
    await createActive(client, name, 1);
    const put = (d: string) => client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from(d) }));
    const r1 = await put('one');
    // A moment strictly after the first record's arrival and strictly before the second's (the clock has milliseconds).
    const firstAnswered = Date.now(); // Not before the first record's arrival.
    await waitFor('the clock past the first arrival', () => Date.now() > firstAnswered);
    const between = new Date();
    await waitFor('the clock past that moment', () => Date.now() > between.getTime());
    const r2 = await put('two');
    const r3 = await put('three');
    const latest = await iterator(client, name, shardId(0), 'LATEST');

    expect((await readFrom(client, await iterator(client, name, shardId(0), 'TRIM_HORIZON'), 1)).map(text)).toEqual(['one', 'two', 'three']);
    expect((await readFrom(client, await iterator(client, name, shardId(0), 'AT_SEQUENCE_NUMBER', { StartingSequenceNumber: r2.SequenceNumber }), 1)).map(text)).toEqual(['two', 'three']);
    expect((await readFrom(client, await iterator(client, name, shardId(0), 'AFTER_SEQUENCE_NUMBER', { StartingSequenceNumber: r1.SequenceNumber }), 1)).map(text)).toEqual(['two', 'three']);
    expect((await readFrom(client, await iterator(client, name, shardId(0), 'AT_TIMESTAMP', { Timestamp: between }), 1)).map(text)).toEqual(['two', 'three']);
    expect(r3.SequenceNumber).toBeTruthy();
    await put('four');
    const got = await client.send(new GetRecordsCommand({ ShardIterator: latest }));
    expect(got.Records!.map(text)).toEqual(['four']);
  });

  it('rejects bad sequence numbers, shards and argument combinations with AWS texts', async () => {
    const name = fresh('iterator-errors');
    await createActive(client, name, 2);
    const other = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'x', ExplicitHashKey: HASH_MAX.toString(), Data: Buffer.from('x') }));
    expect(other.ShardId).toBe(shardId(1));
    const gsi = (input: Partial<ConstructorParameters<typeof GetShardIteratorCommand>[0]>) =>
      client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON', ...input }));

    await expectAwsError(
      gsi({ ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: '12345' }),
      'InvalidArgumentException',
      `StartingSequenceNumber 12345 used in GetShardIterator on shard shardId-000000000000 in stream ${name} under account ${ACCOUNT} is invalid.`,
    );
    await expectAwsError(
      gsi({ ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: other.SequenceNumber }),
      'InvalidArgumentException',
      'Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was used in a call to a shard with shardId-000000000000',
    );
    await expectAwsError(
      gsi({ ShardIteratorType: 'AT_SEQUENCE_NUMBER' }),
      'InvalidArgumentException',
      'Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber.',
    );
    await expectAwsError(
      gsi({ ShardIteratorType: 'TRIM_HORIZON', StartingSequenceNumber: other.SequenceNumber }),
      'InvalidArgumentException',
      'Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified TRIM_HORIZON and also a StartingSequenceNumber.',
    );
    await expectAwsError(
      gsi({ ShardIteratorType: 'AT_TIMESTAMP' }),
      'InvalidArgumentException',
      'Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.',
    );
    const future = new Date(Date.now() + 3600_000);
    await expectAwsError(
      gsi({ ShardIteratorType: 'AT_TIMESTAMP', Timestamp: future }),
      'InvalidArgumentException',
      new RegExp(`^The timestampInMillis parameter cannot be greater than the currentTimestampInMillis\\. timestampInMillis: ${future.getTime()}, currentTimestampInMillis: \\d{13}$`),
    );
    await expectAwsError(
      gsi({ ShardId: shardId(9) }),
      'ResourceNotFoundException',
      `Shard shardId-000000000009 in stream ${name} under account ${ACCOUNT} does not exist`,
    );
    await expectAwsError(gsi({ ShardId: 'foo' }), 'ResourceNotFoundException', `Could not find shard foo in stream ${name} under account ${ACCOUNT}.`);
    await expectAwsError(
      gsi({ ShardIteratorType: 'BOGUS' as ShardIteratorType }),
      'ValidationException',
      "1 validation error detected: Value 'BOGUS' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]",
    );
    // AWS words an unknown stream as a missing shard here (kinesalite's captures).
    await expectAwsError(gsi({ StreamName: 'nope' }), 'ResourceNotFoundException', `Shard shardId-000000000000 in stream nope under account ${ACCOUNT} does not exist`);
  });
});

describe('GetRecords', () => {
  it('honours Limit, chains NextShardIterator and reports MillisBehindLatest 0 when caught up', async () => {
    const name = fresh('getrecords');
    await createActive(client, name, 1);
    await client.send(new PutRecordsCommand({ StreamName: name, Records: ['a', 'b', 'c', 'd', 'e'].map((d) => ({ PartitionKey: d, Data: Buffer.from(d) })) }));
    const it0 = await iterator(client, name, shardId(0), 'TRIM_HORIZON');
    const p1 = await client.send(new GetRecordsCommand({ ShardIterator: it0, Limit: 2 }));
    expect(p1.Records!.map(text)).toEqual(['a', 'b']);
    expect(p1.NextShardIterator).toBeTruthy();
    expect(p1.MillisBehindLatest).toBeGreaterThanOrEqual(0);
    const rec = p1.Records![0]!;
    expect(rec.PartitionKey).toBe('a');
    expect(rec.SequenceNumber).toMatch(/^\d{56}$/);
    expect(rec.ApproximateArrivalTimestamp).toBeInstanceOf(Date);
    expect(Math.abs(rec.ApproximateArrivalTimestamp!.getTime() - Date.now())).toBeLessThan(10_000);
    const p2 = await client.send(new GetRecordsCommand({ ShardIterator: p1.NextShardIterator, Limit: 2 }));
    expect(p2.Records!.map(text)).toEqual(['c', 'd']);
    const p3 = await client.send(new GetRecordsCommand({ ShardIterator: p2.NextShardIterator }));
    expect(p3.Records!.map(text)).toEqual(['e']);
    expect(p3.MillisBehindLatest).toBe(0);
    const p4 = await client.send(new GetRecordsCommand({ ShardIterator: p3.NextShardIterator }));
    expect(p4.Records).toEqual([]);
    expect(p4.MillisBehindLatest).toBe(0);
    expect(p4.NextShardIterator).toBeTruthy();
  });

  it('rejects invalid and expired iterators', async () => {
    const name = fresh('badit');
    await createActive(client, name, 1);
    await expectAwsError(client.send(new GetRecordsCommand({ ShardIterator: 'AAAA' })), 'InvalidArgumentException', 'Invalid ShardIterator.');
    const real = await iterator(client, name, shardId(0), 'TRIM_HORIZON');
    // Flip one character inside the authenticated payload: a forged iterator.
    const forged = real.slice(0, 20) + (real[20] === 'A' ? 'B' : 'A') + real.slice(21);
    await expectAwsError(client.send(new GetRecordsCommand({ ShardIterator: forged })), 'InvalidArgumentException', 'Invalid ShardIterator.');
    await expectAwsError(
      client.send(new GetRecordsCommand({ ShardIterator: 'A'.repeat(513) })),
      'ValidationException',
      `1 validation error detected: Value '${'A'.repeat(513)}' at 'shardIterator' failed to satisfy constraint: Member must have length less than or equal to 512`,
    );
    // The registry's clock is fixed at construction, so mint an iterator issued 301 s ago with the gateway's own key:
    // this exercises the server's expiry check exactly as a stale client iterator would.
    const state = gw.registry.iterators.decode(real)!;
    expect(state).toMatchObject({ streamName: name, shardIndex: 0 });
    const stale = gw.registry.iterators.encode({ ...state, issuedMs: Date.now() - 301_000 });
    await expectAwsError(
      client.send(new GetRecordsCommand({ ShardIterator: stale })),
      'ExpiredIteratorException',
      /^Iterator expired\. The iterator was created at time \w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4} while right now it is \w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4} which is further in the future than the tolerated delay of 300000 milliseconds\.$/,
    );
    // Just inside the five minutes it still reads.
    const fresh299 = gw.registry.iterators.encode({ ...state, issuedMs: Date.now() - 290_000 });
    expect((await client.send(new GetRecordsCommand({ ShardIterator: fresh299 }))).Records).toEqual([]);
  });

  it('answers an iterator of a deleted stream with "does not exist"', async () => {
    const name = fresh('gone');
    await createActive(client, name, 1);
    const it0 = await iterator(client, name, shardId(0), 'TRIM_HORIZON');
    await client.send(new DeleteStreamCommand({ StreamName: name }));
    await waitUntilStreamNotExists({ client, minDelay: 1, maxWaitTime: 10 }, { StreamName: name });
    await expectAwsError(
      client.send(new GetRecordsCommand({ ShardIterator: it0 })),
      'ResourceNotFoundException',
      `Shard shardId-000000000000 in stream ${name} under account ${ACCOUNT} does not exist`,
    );
  });
});

describe('retention period', () => {
  it('increases and decreases within 24..8760 hours with AWS texts', async () => {
    const name = fresh('retention');
    await createActive(client, name);
    const hours = async () => (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!.RetentionPeriodHours;
    await client.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 48 }));
    expect(await hours()).toBe(48);
    await expectAwsError(
      client.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 20 })),
      'InvalidArgumentException',
      'Minimum allowed retention period is 24 hours. Requested retention period (20 hours) is too short.',
    );
    await expectAwsError(
      client.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 9999 })),
      'InvalidArgumentException',
      'Maximum allowed retention period is 8760 hours. Requested retention period (9999 hours) is too long.',
    );
    await expectAwsError(
      client.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 30 })),
      'InvalidArgumentException',
      `Requested retention period (30 hours) for stream ${name} can not be shorter than existing retention period (48 hours). Use DecreaseRetentionPeriod API.`,
    );
    await expectAwsError(
      client.send(new DecreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 100 })),
      'InvalidArgumentException',
      `Requested retention period (100 hours) for stream ${name} can not be longer than existing retention period (48 hours). Use IncreaseRetentionPeriod API.`,
    );
    await expectAwsError(
      client.send(new DecreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 23 })),
      'InvalidArgumentException',
      'Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short.',
    );
    await client.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 8760 }));
    expect(await hours()).toBe(8760);
    await client.send(new DecreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 24 }));
    expect(await hours()).toBe(24);
  });
});

describe('resharding', () => {
  it('splits and merges with lineage, closes parents and hands readers on to the children', async () => {
    const name = fresh('reshard');
    await createActive(client, name, 2);
    const before = await listAllShards(client, name);
    const s0 = before[0]!;
    const s0End = BigInt(s0.HashKeyRange!.EndingHashKey!);
    const mid = (s0End + 1n) / 2n;
    const put = (hashKey: bigint, d: string) => client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', ExplicitHashKey: hashKey.toString(), Data: Buffer.from(d) }));
    const p1 = await put(0n, 'parent-1');
    const p2 = await put(s0End, 'parent-2');
    const parentIt = await iterator(client, name, shardId(0), 'TRIM_HORIZON');

    await expectAwsError(
      client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(0), NewStartingHashKey: '1' })),
      'InvalidArgumentException',
      `NewStartingHashKey 1 used in SplitShard() on shard shardId-000000000000 in stream ${name} under account ${ACCOUNT} is not both greater than one plus the shard's StartingHashKey 0 and less than the shard's EndingHashKey ${s0End}.`,
    );
    await expectAwsError(
      client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(99), NewStartingHashKey: mid.toString() })),
      'ResourceNotFoundException',
      `Could not find shard shardId-000000000099 in stream ${name} under account ${ACCOUNT}.`,
    );
    await client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(0), NewStartingHashKey: mid.toString() }));
    // Writes go to the children (while UPDATING too: the next test).
    const c1 = await put(0n, 'child-2');
    expect(c1.ShardId).toBe(shardId(2));
    await waitActive(client, name);
    const c2 = await put(s0End, 'child-3');
    expect(c2.ShardId).toBe(shardId(3));

    const shards = await listAllShards(client, name);
    expect(shards.map((s) => s.ShardId)).toEqual([0, 1, 2, 3].map(shardId));
    const [closed, , left, right] = shards as [Shard, Shard, Shard, Shard];
    expect(BigInt(closed.SequenceNumberRange!.EndingSequenceNumber!)).toBeGreaterThan(BigInt(p2.SequenceNumber!));
    expect(BigInt(p1.SequenceNumber!)).toBeGreaterThanOrEqual(BigInt(closed.SequenceNumberRange!.StartingSequenceNumber!));
    expect(left).toMatchObject({ ParentShardId: shardId(0), HashKeyRange: { StartingHashKey: '0', EndingHashKey: (mid - 1n).toString() } });
    expect(right).toMatchObject({ ParentShardId: shardId(0), HashKeyRange: { StartingHashKey: mid.toString(), EndingHashKey: s0End.toString() } });
    expect(left.AdjacentParentShardId).toBeUndefined();
    expect(left.SequenceNumberRange!.EndingSequenceNumber).toBeUndefined();

    // Reading the closed parent to its end yields its records, then no iterator and the children.
    const end = await client.send(new GetRecordsCommand({ ShardIterator: parentIt }));
    expect(end.Records!.map(text)).toEqual(['parent-1', 'parent-2']);
    expect(end.NextShardIterator).toBeUndefined();
    expect(end.ChildShards).toEqual([
      { ShardId: shardId(2), ParentShards: [shardId(0)], HashKeyRange: left.HashKeyRange },
      { ShardId: shardId(3), ParentShards: [shardId(0)], HashKeyRange: right.HashKeyRange },
    ]);
    const atEnd = await client.send(new GetRecordsCommand({ ShardIterator: await iterator(client, name, shardId(0), 'LATEST') }));
    expect(atEnd.Records).toEqual([]);
    expect(atEnd.NextShardIterator).toBeUndefined();
    expect(atEnd.ChildShards).toHaveLength(2);

    await expectAwsError(
      client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(0), NewStartingHashKey: mid.toString() })),
      'InvalidArgumentException',
      `Shard shardId-000000000000 in stream ${name} under account ${ACCOUNT} has already been merged or split, and thus is not eligible for splitting.`,
    );
    await expectAwsError(
      client.send(new MergeShardsCommand({ StreamName: name, ShardToMerge: shardId(2), AdjacentShardToMerge: shardId(1) })),
      'InvalidArgumentException',
      `Shards shardId-000000000002 and shardId-000000000001 in stream ${name} under account ${ACCOUNT} are not an adjacent pair of shards eligible for merging`,
    );
    await client.send(new MergeShardsCommand({ StreamName: name, ShardToMerge: shardId(2), AdjacentShardToMerge: shardId(3) }));
    await waitActive(client, name);
    const merged = await client.send(new ListShardsCommand({ StreamName: name, ShardFilter: { Type: 'AT_LATEST' } }));
    expect(merged.Shards!.map((s) => s.ShardId)).toEqual([shardId(1), shardId(4)]);
    expect(merged.Shards![1]).toMatchObject({
      ParentShardId: shardId(2),
      AdjacentParentShardId: shardId(3),
      HashKeyRange: { StartingHashKey: '0', EndingHashKey: s0End.toString() },
    });
    const childEnd = await client.send(new GetRecordsCommand({ ShardIterator: await iterator(client, name, shardId(3), 'TRIM_HORIZON') }));
    expect(childEnd.Records!.map(text)).toEqual(['child-3']);
    expect(childEnd.ChildShards).toEqual([{ ShardId: shardId(4), ParentShards: [shardId(2), shardId(3)], HashKeyRange: merged.Shards![1]!.HashKeyRange }]);
    await expectAwsError(
      client.send(new MergeShardsCommand({ StreamName: name, ShardToMerge: shardId(2), AdjacentShardToMerge: shardId(4) })),
      'InvalidArgumentException',
      `Shard shardId-000000000002 in stream ${name} under account ${ACCOUNT} has already been merged or split, and thus is not eligible for merging.`,
    );
  });

  it('UpdateShardCount doubles and halves, and refuses beyond those bounds', async () => {
    const name = fresh('scale');
    await createActive(client, name, 2);
    const up = await client.send(new UpdateShardCountCommand({ StreamName: name, TargetShardCount: 4, ScalingType: 'UNIFORM_SCALING' }));
    expect(up).toMatchObject({ StreamName: name, CurrentShardCount: 2, TargetShardCount: 4, StreamARN: arn(name) });
    await waitActive(client, name);
    const open = async () => (await client.send(new ListShardsCommand({ StreamName: name, ShardFilter: { Type: 'AT_LATEST' } }))).Shards!;
    const checkCover = (shards: Shard[]) => {
      const ranges = shards.map((s) => [BigInt(s.HashKeyRange!.StartingHashKey!), BigInt(s.HashKeyRange!.EndingHashKey!)] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
      expect(ranges[0]![0]).toBe(0n);
      expect(ranges.at(-1)![1]).toBe(HASH_MAX);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBe(ranges[i - 1]![1] + 1n);
    };
    const four = await open();
    expect(four).toHaveLength(4);
    checkCover(four);
    expect((await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!.OpenShardCount).toBe(4);

    await expectAwsError(
      client.send(new UpdateShardCountCommand({ StreamName: name, TargetShardCount: 9, ScalingType: 'UNIFORM_SCALING' })),
      'InvalidArgumentException',
      'UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: 4 Target shard count: 9',
    );
    await expectAwsError(
      client.send(new UpdateShardCountCommand({ StreamName: name, TargetShardCount: 1, ScalingType: 'UNIFORM_SCALING' })),
      'InvalidArgumentException',
      'UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: 4 Target shard count: 1',
    );
    await expectAwsError(
      client.send(new UpdateShardCountCommand({ StreamName: name, TargetShardCount: 2, ScalingType: 'OTHER' as 'UNIFORM_SCALING' })),
      'ValidationException',
      "1 validation error detected: Value 'OTHER' at 'scalingType' failed to satisfy constraint: Member must satisfy enum value set: [UNIFORM_SCALING]",
    );
    const down = await client.send(new UpdateShardCountCommand({ StreamName: name, TargetShardCount: 2, ScalingType: 'UNIFORM_SCALING' }));
    expect(down).toMatchObject({ CurrentShardCount: 4, TargetShardCount: 2 });
    await waitActive(client, name);
    const two = await open();
    expect(two).toHaveLength(2);
    checkCover(two);
    for (const s of two) expect(s.ParentShardId).toBeDefined();
  });

  it('is UPDATING while a split completes: another reshard is refused, writes go to the children', async () => {
    const seen = await withinWindow(windowMs, async (open) => {
      const name = fresh('updating');
      await createActive(pacedClient, name, 2);
      const s0End = BigInt((await listAllShards(pacedClient, name))[0]!.HashKeyRange!.EndingHashKey!);
      open();
      await pacedClient.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(0), NewStartingHashKey: ((s0End + 1n) / 2n).toString() }));
      const status = await statusOf(pacedClient, name);
      const second = await pacedClient.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(1), NewStartingHashKey: (s0End + 10n).toString() })).then(
        (v) => v,
        (e: unknown) => e,
      );
      const put = await pacedClient.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', ExplicitHashKey: '0', Data: Buffer.from('child') }));
      return { name, status, second, put };
    });
    expect(seen.status).toBe('UPDATING');
    await expectAwsError(Promise.reject(seen.second), 'ResourceInUseException', `Stream ${seen.name} under account ${ACCOUNT} not ACTIVE, instead in state UPDATING`);
    expect(seen.put.ShardId).toBe(shardId(2));
  });

  it('UpdateStreamMode switches between PROVISIONED and ON_DEMAND', async () => {
    let name = '';
    const status = await withinWindow(windowMs, async (open) => {
      name = fresh('mode');
      await createActive(pacedClient, name, 2);
      open();
      await pacedClient.send(new UpdateStreamModeCommand({ StreamARN: arn(name), StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
      return statusOf(pacedClient, name);
    });
    expect(status).toBe('UPDATING');
    await waitActive(pacedClient, name);
    expect((await pacedClient.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!.StreamModeDetails).toEqual({ StreamMode: 'ON_DEMAND' });
    await expectAwsError(
      pacedClient.send(new UpdateStreamModeCommand({ StreamARN: arn(name), StreamModeDetails: { StreamMode: 'ON_DEMAND' } })),
      'InvalidArgumentException',
      `Stream ${name} under account ${ACCOUNT} is already in ON_DEMAND mode.`,
    );
    await expectAwsError(
      pacedClient.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(0), NewStartingHashKey: '1000' })),
      'ValidationException',
      `Request is invalid. Stream ${name} under account ${ACCOUNT} is in On-Demand mode.`,
    );
    await pacedClient.send(new UpdateStreamModeCommand({ StreamARN: arn(name), StreamModeDetails: { StreamMode: 'PROVISIONED' } }));
    await waitActive(pacedClient, name);
    expect((await pacedClient.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!.StreamModeDetails).toEqual({ StreamMode: 'PROVISIONED' });
  });
});

describe('enhanced monitoring', () => {
  it('enables and disables shard-level metrics, ALL expanding to every metric', async () => {
    const name = fresh('metrics');
    await createActive(client, name);
    const on = await client.send(new EnableEnhancedMonitoringCommand({ StreamName: name, ShardLevelMetrics: ['IncomingBytes', 'OutgoingRecords'] }));
    expect(on).toMatchObject({ StreamName: name, StreamARN: arn(name), CurrentShardLevelMetrics: [], DesiredShardLevelMetrics: ['IncomingBytes', 'OutgoingRecords'] });
    const all = await client.send(new EnableEnhancedMonitoringCommand({ StreamARN: arn(name), ShardLevelMetrics: ['ALL'] }));
    expect(all.DesiredShardLevelMetrics).toEqual(['IncomingBytes', 'IncomingRecords', 'OutgoingBytes', 'OutgoingRecords', 'WriteProvisionedThroughputExceeded', 'ReadProvisionedThroughputExceeded', 'IteratorAgeMilliseconds']);
    const off = await client.send(new DisableEnhancedMonitoringCommand({ StreamName: name, ShardLevelMetrics: ['IncomingBytes', 'IteratorAgeMilliseconds'] }));
    expect(off.CurrentShardLevelMetrics).toHaveLength(7);
    expect(off.DesiredShardLevelMetrics).toEqual(['IncomingRecords', 'OutgoingBytes', 'OutgoingRecords', 'WriteProvisionedThroughputExceeded', 'ReadProvisionedThroughputExceeded']);
    expect((await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!.EnhancedMonitoring).toEqual([{ ShardLevelMetrics: off.DesiredShardLevelMetrics }]);
    await expectAwsError(
      client.send(new EnableEnhancedMonitoringCommand({ StreamName: name, ShardLevelMetrics: [] })),
      'ValidationException',
      "1 validation error detected: Value '[]' at 'shardLevelMetrics' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  });
});

describe('tags', () => {
  it('adds, lists with pagination, removes, and caps at 50 tags', async () => {
    const name = fresh('tags');
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1, Tags: { team: 'edge' } }));
    await waitActive(client, name);
    await client.send(new AddTagsToStreamCommand({ StreamName: name, Tags: { env: 'test', owner: 'ops', zone: 'a' } }));
    const p1 = await client.send(new ListTagsForStreamCommand({ StreamName: name, Limit: 2 }));
    expect(p1.Tags).toEqual([{ Key: 'env', Value: 'test' }, { Key: 'owner', Value: 'ops' }]);
    expect(p1.HasMoreTags).toBe(true);
    const p2 = await client.send(new ListTagsForStreamCommand({ StreamName: name, Limit: 2, ExclusiveStartTagKey: 'owner' }));
    expect(p2.Tags).toEqual([{ Key: 'team', Value: 'edge' }, { Key: 'zone', Value: 'a' }]);
    expect(p2.HasMoreTags).toBe(false);
    await client.send(new AddTagsToStreamCommand({ StreamName: name, Tags: { env: 'prod' } }));
    await client.send(new RemoveTagsFromStreamCommand({ StreamName: name, TagKeys: ['owner', 'zone', 'absent'] }));
    expect((await client.send(new ListTagsForStreamCommand({ StreamName: name }))).Tags).toEqual([{ Key: 'env', Value: 'prod' }, { Key: 'team', Value: 'edge' }]);

    const many = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v']));
    await expectAwsError(
      client.send(new AddTagsToStreamCommand({ StreamName: name, Tags: many })),
      'InvalidArgumentException',
      `Failed to add tags to stream ${name} under account ${ACCOUNT} because a given stream cannot have more than 50 tags associated with it.`,
    );
    const fortyEight = Object.fromEntries(Object.entries(many).slice(0, 48));
    await client.send(new AddTagsToStreamCommand({ StreamName: name, Tags: fortyEight }));
    const all = await client.send(new ListTagsForStreamCommand({ StreamName: name }));
    expect(all.Tags).toHaveLength(50);
    expect(all.HasMoreTags).toBe(false);
    await expectAwsError(
      client.send(new AddTagsToStreamCommand({ StreamName: name, Tags: { one: 'more' } })),
      'InvalidArgumentException',
      `Failed to add tags to stream ${name} under account ${ACCOUNT} because a given stream cannot have more than 50 tags associated with it.`,
    );
    await expectAwsError(
      client.send(new AddTagsToStreamCommand({ StreamName: name, Tags: { 'bad%key': 'v' } })),
      'InvalidArgumentException',
      `Failed to add tags to stream ${name} under account ${ACCOUNT} because some tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'.`,
    );
    await expectAwsError(
      client.send(new ListTagsForStreamCommand({ StreamName: name, Limit: 51 })),
      'ValidationException',
      "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50",
    );
    await expectAwsError(
      client.send(new RemoveTagsFromStreamCommand({ StreamName: name, TagKeys: [] })),
      'ValidationException',
      "1 validation error detected: Value '[]' at 'tagKeys' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  });
});

describe('server-side encryption', () => {
  it('seals records at rest after StartStreamEncryption and returns them decrypted', async () => {
    const name = fresh('sse');
    await createActive(client, name, 1);
    const before = `PLAINTEXT-BEFORE-${name}`;
    const secret = `SECRET-AFTER-${name}`;
    const after = `PLAINTEXT-AFTER-STOP-${name}`;
    expect((await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from(before) }))).EncryptionType).toBe('NONE');

    await expectAwsError(
      client.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'NONE', KeyId: 'alias/aws/kinesis' })),
      'InvalidArgumentException',
      'KMS is the only valid EncryptionType for this request.',
    );
    await expectAwsError(
      client.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: 'no such key' })),
      'KMSNotFoundException',
      "Key 'no such key' does not exist.",
    );
    await client.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }));
    await waitActive(client, name);
    const summary = (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!;
    expect(summary).toMatchObject({ EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
    expect((await client.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription).toMatchObject({ EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });

    const put = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from(secret) }));
    expect(put.EncryptionType).toBe('KMS');
    const batch = await client.send(new PutRecordsCommand({ StreamName: name, Records: [{ PartitionKey: 'k', Data: Buffer.from(secret + '-batch') }] }));
    expect(batch.EncryptionType).toBe('KMS');

    const got = await readFrom(client, await iterator(client, name, shardId(0), 'TRIM_HORIZON'), 1);
    expect(got.map(text)).toEqual([before, secret, secret + '-batch']);
    expect(got[1]!.EncryptionType).toBe('KMS');
    expect(got[2]!.EncryptionType).toBe('KMS');
    expect(got[0]!.EncryptionType).not.toBe('KMS');

    const onDisk = Buffer.concat(filesUnder(path.join(gw.dataDir, 'streams')).filter((f) => f.includes(name)).map((f) => fs.readFileSync(f)));
    expect(onDisk.includes(before)).toBe(true);
    expect(onDisk.includes(secret)).toBe(false);

    await client.send(new StopStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }));
    await waitActive(client, name);
    expect((await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!.EncryptionType).toBe('NONE');
    expect((await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from(after) }))).EncryptionType).toBe('NONE');
    const all = await readFrom(client, await iterator(client, name, shardId(0), 'TRIM_HORIZON'), 1);
    expect(all.map(text)).toEqual([before, secret, secret + '-batch', after]);
    const onDisk2 = Buffer.concat(filesUnder(path.join(gw.dataDir, 'streams')).filter((f) => f.includes(name)).map((f) => fs.readFileSync(f)));
    expect(onDisk2.includes(after)).toBe(true);
    expect(onDisk2.includes(secret)).toBe(false);
  });
});

describe('StreamARN addressing', () => {
  it('works in place of StreamName across actions', async () => {
    const name = fresh('byarn');
    await createActive(client, name, 2);
    const StreamARN = arn(name);
    expect((await client.send(new DescribeStreamSummaryCommand({ StreamARN }))).StreamDescriptionSummary!.StreamName).toBe(name);
    expect((await client.send(new DescribeStreamCommand({ StreamARN }))).StreamDescription!.Shards).toHaveLength(2);
    expect((await client.send(new ListShardsCommand({ StreamARN }))).Shards).toHaveLength(2);
    const put = await client.send(new PutRecordCommand({ StreamARN, PartitionKey: 'k', ExplicitHashKey: '0', Data: Buffer.from('by-arn') }));
    const puts = await client.send(new PutRecordsCommand({ StreamARN, Records: [{ PartitionKey: 'k', ExplicitHashKey: '0', Data: Buffer.from('by-arn-2') }] }));
    expect(puts.FailedRecordCount).toBe(0);
    const it0 = (await client.send(new GetShardIteratorCommand({ StreamARN, ShardId: put.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator!;
    const got = await client.send(new GetRecordsCommand({ StreamARN, ShardIterator: it0 }));
    expect(got.Records!.map(text)).toEqual(['by-arn', 'by-arn-2']);
    await client.send(new AddTagsToStreamCommand({ StreamARN, Tags: { via: 'arn' } }));
    expect((await client.send(new ListTagsForStreamCommand({ StreamARN }))).Tags).toEqual([{ Key: 'via', Value: 'arn' }]);
    await client.send(new RemoveTagsFromStreamCommand({ StreamARN, TagKeys: ['via'] }));
    await client.send(new IncreaseStreamRetentionPeriodCommand({ StreamARN, RetentionPeriodHours: 72 }));
    await client.send(new DecreaseStreamRetentionPeriodCommand({ StreamARN, RetentionPeriodHours: 48 }));
    expect((await client.send(new DescribeStreamSummaryCommand({ StreamName: name, StreamARN }))).StreamDescriptionSummary!.RetentionPeriodHours).toBe(48);
    await client.send(new SplitShardCommand({ StreamARN, ShardToSplit: shardId(1), NewStartingHashKey: (HASH_MAX - 1000n).toString() }));
    await waitActive(client, name);
    await client.send(new MergeShardsCommand({ StreamARN, ShardToMerge: shardId(2), AdjacentShardToMerge: shardId(3) }));
    await waitActive(client, name);
    await client.send(new UpdateShardCountCommand({ StreamARN, TargetShardCount: 3, ScalingType: 'UNIFORM_SCALING' }));
    await waitActive(client, name);
    await client.send(new StartStreamEncryptionCommand({ StreamARN, EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }));
    await waitActive(client, name);
    await client.send(new StopStreamEncryptionCommand({ StreamARN, EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }));
    await waitActive(client, name);

    await expectAwsError(
      client.send(new DescribeStreamSummaryCommand({ StreamName: 'other', StreamARN })),
      'InvalidArgumentException',
      `StreamARN ${StreamARN} does not match StreamName other.`,
    );
    await expectAwsError(
      client.send(new DescribeStreamSummaryCommand({ StreamARN: `arn:aws:kinesis:us-east-1:111111111111:stream/${name}` })),
      'ResourceNotFoundException',
      `Stream ${name} under account 111111111111 not found.`,
    );
    await expectAwsError(client.send(new DescribeStreamSummaryCommand({})), 'InvalidArgumentException', 'Either StreamName or StreamARN must be provided.');
    await expectAwsError(
      client.send(new DescribeStreamSummaryCommand({ StreamARN: 'arn:aws:s3:::bucket' })),
      'ValidationException',
      "1 validation error detected: Value 'arn:aws:s3:::bucket' at 'streamARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+",
    );
    await client.send(new DeleteStreamCommand({ StreamARN }));
    await waitUntilStreamNotExists({ client, minDelay: 1, maxWaitTime: 10 }, { StreamARN });
  });
});

describe('restart', () => {
  it('keeps streams, shards, tags, retention, sequence numbers and records across a restart', async () => {
    const first = await testGateway();
    const dataDir = first.dataDir;
    let c = kinesisClient(first.url);
    const name = 'durable';
    await c.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2, Tags: { keep: 'me' } }));
    await waitActive(c, name);
    await c.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 96 }));
    const Records = Array.from({ length: 50 }, (_, i) => ({ PartitionKey: `p${i}`, Data: Buffer.from(`durable-${i}`) }));
    const put = await c.send(new PutRecordsCommand({ StreamName: name, Records }));
    expect(put.FailedRecordCount).toBe(0);
    await c.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(1), NewStartingHashKey: (HASH_MAX - (1n << 100n)).toString() }));
    await waitActive(c, name);
    await c.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }));
    await waitActive(c, name);
    const sealed = await c.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'x', ExplicitHashKey: '0', Data: Buffer.from('sealed-before-restart') }));
    const before = (await c.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription!;
    const savedIterator = await iterator(c, name, shardId(0), 'TRIM_HORIZON');
    const readAll = async (cl: KinesisClient) => {
      const out: Record<string, string[]> = {};
      for (const s of before.Shards!) out[s.ShardId!] = (await readFrom(cl, await iterator(cl, name, s.ShardId!, 'TRIM_HORIZON'), 2)).map((r) => `${r.SequenceNumber}:${text(r)}`);
      return out;
    };
    const recordsBefore = await readAll(c);
    c.destroy();
    await first.close();

    const second = await testGateway({ dataDir });
    c = kinesisClient(second.url);
    try {
      const after = (await c.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription!;
      expect(after.StreamStatus).toBe('ACTIVE');
      expect(after.Shards).toEqual(before.Shards);
      expect(after.StreamCreationTimestamp).toEqual(before.StreamCreationTimestamp);
      expect(after).toMatchObject({ RetentionPeriodHours: 96, EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
      expect((await c.send(new ListTagsForStreamCommand({ StreamName: name }))).Tags).toEqual([{ Key: 'keep', Value: 'me' }]);
      expect((await c.send(new ListStreamsCommand({}))).StreamNames).toEqual([name]);
      expect(await readAll(c)).toEqual(recordsBefore);
      expect(Object.values(recordsBefore).flat()).toHaveLength(51);
      expect(recordsBefore[shardId(0)]!.at(-1)).toBe(`${sealed.SequenceNumber}:sealed-before-restart`);
      // An iterator issued before the restart still reads (its key lives in the data directory).
      const viaOld = await c.send(new GetRecordsCommand({ ShardIterator: savedIterator }));
      expect(viaOld.Records!.length).toBeGreaterThan(0);
      // New records continue the sequence.
      const next = await c.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'x', ExplicitHashKey: '0', Data: Buffer.from('after-restart') }));
      expect(next.ShardId).toBe(sealed.ShardId);
      expect(BigInt(next.SequenceNumber!)).toBeGreaterThan(BigInt(sealed.SequenceNumber!));
    } finally {
      c.destroy();
      await second.close();
    }
  });
});
