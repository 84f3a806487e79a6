// Proves enhanced fan-out works with the stock AWS SDK v3 Kinesis client over HTTP/2 (its default handler): consumer registration, description, listing and deregistration with AWS's error names, and SubscribeToShard events for every starting position, across a split, with one subscription per consumer and shard and a lifetime that ends the stream cleanly (2 s here instead of AWS's 5 minutes). Then the SDK's own FanOutShardSource reads across many renewals with no loss or duplicate, and the put-to-event latency is measured.
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  ListStreamConsumersCommand,
  PutRecordCommand,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  SplitShardCommand,
  SubscribeToShardCommand,
  type KinesisClient,
  type StartingPosition,
  type SubscribeToShardEvent,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../gateway/config.ts';
import { streamsResourceOf } from '../../gateway/streams/actions/index.ts';
import fs from 'node:fs';
import path from 'node:path';
import { JsonRpcClient } from '../../sdk/http/json-rpc-client.ts';
import { FanOutShardSource } from '../../sdk/streams/fanout-source.ts';
import type { StreamRecord } from '../../sdk/streams/shard-source.ts';
import { createActiveStream, kinesisClient, testGateway, testOperator, waitActive } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/wait.ts';

type TestGateway = Awaited<ReturnType<typeof testGateway>>;

const ACCOUNT = '000000000000';
const streamArn = (name: string) => `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/${name}`;
const shard0 = 'shardId-000000000000';
const text = (d: Uint8Array | undefined) => Buffer.from(d!).toString('utf8');
const lifetimeMs = 2000;

let gw: TestGateway;
let client: KinesisClient;
let counter = 0;
const fresh = (label: string) => `${label}-${++counter}`;

beforeAll(async () => {
  gw = await testGateway({ subscriptionLifetimeMs: lifetimeMs });
  client = kinesisClient(gw.url);
});
afterAll(async () => {
  client.destroy();
  await gw.close();
});

async function expectAwsError(p: Promise<unknown>, name: string, message?: string): Promise<void> {
  const err = (await p.then(() => undefined, (e: unknown) => e)) as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  expect(err, `expected ${name}`).toBeDefined();
  expect(err!.name).toBe(name);
  if (message !== undefined) expect(err!.message).toBe(message);
}

async function activeConsumer(stream: string, name: string): Promise<string> {
  const { Consumer } = await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn(stream), ConsumerName: name }));
  await consumerActive(Consumer!.ConsumerARN!);
  return Consumer!.ConsumerARN!;
}

async function consumerActive(ConsumerARN: string, c: KinesisClient = client): Promise<void> {
  await waitFor(`consumer ${ConsumerARN} ACTIVE`, async () =>
    (await c.send(new DescribeStreamConsumerCommand({ ConsumerARN }))).ConsumerDescription!.ConsumerStatus === 'ACTIVE');
}

/** Resolves once `p` rejects with an AWS error named `name` (the state it names has been reached). */
async function untilError(what: string, call: () => Promise<unknown>, name: string): Promise<void> {
  await waitFor(what, () => call().then(() => false, (e: { name?: string }) => e.name === name));
}

async function put(stream: string, data: string): Promise<string> {
  const r = await client.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'k', Data: Buffer.from(data) }));
  return r.SequenceNumber!;
}

/**
 * Subscribes and gathers events until the stream ends, running `during` once
 * the subscription is live: its first event (sent at once) has arrived.
 */
async function subscribeAll(ConsumerARN: string, ShardId: string, StartingPosition: StartingPosition, during?: () => Promise<void>): Promise<{ events: SubscribeToShardEvent[]; endedAfterMs: number }> {
  const started = Date.now();
  const out = await client.send(new SubscribeToShardCommand({ ConsumerARN, ShardId, StartingPosition }));
  let pending: Promise<void> | undefined;
  const events: SubscribeToShardEvent[] = [];
  for await (const e of out.EventStream!) {
    expect(Object.keys(e)).toEqual(['SubscribeToShardEvent']);
    events.push(e.SubscribeToShardEvent!);
    if (during && !pending) pending = during();
  }
  await pending;
  return { events, endedAfterMs: Date.now() - started };
}

const dataOf = (events: SubscribeToShardEvent[]) => events.flatMap((e) => e.Records!.map((r) => text(r.Data)));

describe('consumer registration', () => {
  it('registers, describes, lists and deregisters consumers as AWS does', async () => {
    // Consumers stay DELETING for 2 s here, so the test sees that state however slow the machine.
    const regGw = await testGateway({ deleteDelayMs: 2000, subscriptionLifetimeMs: lifetimeMs });
    const client = kinesisClient(regGw.url);
    try {
      const s = fresh('reg');
      await createActiveStream(client, s, 1);
      const { Consumer } = await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn(s), ConsumerName: 'app.one' }));
      expect(Consumer!.ConsumerName).toBe('app.one');
      expect(Consumer!.ConsumerStatus).toBe('CREATING');
      const seconds = Math.floor(Consumer!.ConsumerCreationTimestamp!.getTime() / 1000);
      expect(Consumer!.ConsumerARN).toBe(`${streamArn(s)}/consumer/app.one:${seconds}`);
      expect(Math.abs(seconds * 1000 - Date.now())).toBeLessThan(5000);

      await consumerActive(Consumer!.ConsumerARN!, client);
      const byArn = await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: Consumer!.ConsumerARN }));
      expect(byArn.ConsumerDescription).toEqual({ ...Consumer, ConsumerStatus: 'ACTIVE', StreamARN: streamArn(s) });
      const byName = await client.send(new DescribeStreamConsumerCommand({ StreamARN: streamArn(s), ConsumerName: 'app.one' }));
      expect(byName.ConsumerDescription).toEqual(byArn.ConsumerDescription);
      const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: s }));
      expect(summary.StreamDescriptionSummary!.ConsumerCount).toBe(1);

      await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn(s), ConsumerName: 'app.two' }));
      const page1 = await client.send(new ListStreamConsumersCommand({ StreamARN: streamArn(s), MaxResults: 1 }));
      expect(page1.Consumers!.map((c) => c.ConsumerName)).toEqual(['app.one']);
      expect(page1.NextToken).toBeDefined();
      const page2 = await client.send(new ListStreamConsumersCommand({ StreamARN: streamArn(s), NextToken: page1.NextToken }));
      expect(page2.Consumers!.map((c) => c.ConsumerName)).toEqual(['app.two']);
      expect(page2.NextToken).toBeUndefined();

      await client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: Consumer!.ConsumerARN }));
      const deleting = await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: Consumer!.ConsumerARN }));
      expect(deleting.ConsumerDescription!.ConsumerStatus).toBe('DELETING');
      await expectAwsError(
        client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: Consumer!.ConsumerARN })),
        'ResourceInUseException',
        `Consumer app.one with creation timestamp ${seconds} under stream ${s} and account ${ACCOUNT} is not in ACTIVE status.`,
      );
      await untilError('app.one gone', () => client.send(new DescribeStreamConsumerCommand({ ConsumerARN: Consumer!.ConsumerARN })), 'ResourceNotFoundException');
      await expectAwsError(
        client.send(new DescribeStreamConsumerCommand({ ConsumerARN: Consumer!.ConsumerARN })),
        'ResourceNotFoundException',
        `Consumer app.one under stream ${s} and account ${ACCOUNT} not found.`,
      );
      await waitFor('app.two ACTIVE', async () =>
        (await client.send(new DescribeStreamConsumerCommand({ StreamARN: streamArn(s), ConsumerName: 'app.two' }))).ConsumerDescription!.ConsumerStatus === 'ACTIVE');
      await client.send(new DeregisterStreamConsumerCommand({ StreamARN: streamArn(s), ConsumerName: 'app.two' }));
      await waitFor('no consumers left', async () => (await client.send(new ListStreamConsumersCommand({ StreamARN: streamArn(s) }))).Consumers!.length === 0);
    } finally {
      client.destroy();
      await regGw.close();
    }
  });

  it('answers bad requests with AWS error names and messages', async () => {
    const s = fresh('regerr');
    await createActiveStream(client, s, 1);
    await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn(s), ConsumerName: 'dup' }));
    await expectAwsError(
      client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn(s), ConsumerName: 'dup' })),
      'ResourceInUseException',
      `Consumer dup under stream ${s} and account ${ACCOUNT} already exists.`,
    );
    await expectAwsError(
      client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn(s), ConsumerName: 'bad name' })),
      'ValidationException',
      "1 validation error detected: Value 'bad name' at 'consumerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
    );
    await expectAwsError(
      client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn(s), ConsumerName: 'x'.repeat(129) })),
      'ValidationException',
      `1 validation error detected: Value '${'x'.repeat(129)}' at 'consumerName' failed to satisfy constraint: Member must have length less than or equal to 128`,
    );
    await expectAwsError(
      client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn('nope'), ConsumerName: 'c' })),
      'ResourceNotFoundException',
      `Stream nope under account ${ACCOUNT} not found.`,
    );
    await expectAwsError(
      client.send(new DescribeStreamConsumerCommand({ StreamARN: streamArn(s) })),
      'InvalidArgumentException',
      'Either ConsumerARN or both StreamARN and ConsumerName must be provided.',
    );
    await expectAwsError(
      client.send(new DescribeStreamConsumerCommand({ ConsumerARN: `${streamArn(s)}/consumer/dup:1` })),
      'ResourceNotFoundException',
      `Consumer dup under stream ${s} and account ${ACCOUNT} not found.`,
    );
    await expectAwsError(client.send(new DescribeStreamConsumerCommand({ ConsumerARN: 'arn:aws:kinesis:us-east-1:1:x' })), 'ValidationException');
  });

  it('allows 20 consumers per stream and 5 in CREATING at once', async () => {
    // Its own gateway with a long CREATING phase, so that timing on a loaded machine cannot end it early.
    const slow = await testGateway({ createDelayMs: 3000, subscriptionLifetimeMs: lifetimeMs });
    const c = kinesisClient(slow.url);
    try {
      const s = 'limits';
      await c.send(new CreateStreamCommand({ StreamName: s, ShardCount: 1 }));
      await waitActive(c, s);
      const waitAllActive = () => waitFor('every consumer ACTIVE', async () =>
        (await c.send(new ListStreamConsumersCommand({ StreamARN: streamArn(s) }))).Consumers!.every((x) => x.ConsumerStatus === 'ACTIVE'));
      for (let i = 0; i < 5; i++) await c.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn(s), ConsumerName: `c${i}` }));
      await expectAwsError(
        c.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn(s), ConsumerName: 'c5' })),
        'LimitExceededException',
        `Only 5 consumers can be in CREATING status at once for stream ${s} under account ${ACCOUNT}.`,
      );
      for (let i = 5; i < 20; i += 5) {
        await waitAllActive();
        for (let k = i; k < i + 5; k++) await c.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn(s), ConsumerName: `c${k}` }));
      }
      await waitAllActive();
      await expectAwsError(
        c.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn(s), ConsumerName: 'c20' })),
        'LimitExceededException',
        `Consumer limit of 20 reached for stream ${s} under account ${ACCOUNT}.`,
      );
      expect((await c.send(new ListStreamConsumersCommand({ StreamARN: streamArn(s) }))).Consumers).toHaveLength(20);
    } finally {
      c.destroy();
      await slow.close();
    }
  }, 60_000);

  it('keeps consumers across a restart and deletes them with their stream', async () => {
    const other = await testGateway();
    const c1 = kinesisClient(other.url);
    await createActiveStream(c1, 'kept', 1);
    const { Consumer } = await c1.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn('kept'), ConsumerName: 'survivor' }));
    c1.destroy();
    await other.close();

    const again = await testGateway({ dataDir: other.dataDir });
    const c2 = kinesisClient(again.url);
    try {
      const d = await c2.send(new DescribeStreamConsumerCommand({ ConsumerARN: Consumer!.ConsumerARN }));
      expect(d.ConsumerDescription!.ConsumerStatus).toBe('ACTIVE');
      await expectAwsError(
        c2.send(new DeleteStreamCommand({ StreamName: 'kept' })),
        'ResourceInUseException',
        `Stream kept under account ${ACCOUNT} has registered consumers. Deregister them or set EnforceConsumerDeletion to delete the stream.`,
      );
      await c2.send(new DeleteStreamCommand({ StreamName: 'kept', EnforceConsumerDeletion: true }));
      await untilError('stream kept deleted', () => c2.send(new DescribeStreamSummaryCommand({ StreamName: 'kept' })), 'ResourceNotFoundException');
      await c2.send(new CreateStreamCommand({ StreamName: 'kept', ShardCount: 1 }));
      await waitActive(c2, 'kept');
      expect((await c2.send(new ListStreamConsumersCommand({ StreamARN: streamArn('kept') }))).Consumers).toEqual([]);
    } finally {
      c2.destroy();
      await again.close();
    }
  });
});

describe('SubscribeToShard', () => {
  it('sends records put before and during the subscription (TRIM_HORIZON), then ends cleanly after its lifetime', async () => {
    const s = fresh('trim');
    await createActiveStream(client, s, 1);
    const arn = await activeConsumer(s, 'reader');
    await put(s, 'before-1');
    await put(s, 'before-2');
    const { events, endedAfterMs } = await subscribeAll(arn, shard0, { Type: 'TRIM_HORIZON' }, async () => {
      await put(s, 'during-1');
      await client.send(new PutRecordsCommand({ StreamName: s, Records: [{ PartitionKey: 'a', Data: Buffer.from('during-2') }, { PartitionKey: 'b', Data: Buffer.from('during-3') }] }));
    });
    expect(dataOf(events)).toEqual(['before-1', 'before-2', 'during-1', 'during-2', 'during-3']);
    expect(endedAfterMs).toBeGreaterThanOrEqual(lifetimeMs - 50);
    expect(endedAfterMs).toBeLessThan(lifetimeMs + 1500);
    const withRecords = events.filter((e) => e.Records!.length);
    for (const e of withRecords) {
      expect(e.ContinuationSequenceNumber).toBe(e.Records!.at(-1)!.SequenceNumber);
      expect(e.MillisBehindLatest).toBe(0);
      expect(e.ChildShards).toBeUndefined();
      expect(e.Records![0]!.ApproximateArrivalTimestamp).toBeInstanceOf(Date);
      expect(e.Records![0]!.PartitionKey).toBeDefined();
    }
  });

  it('starts at LATEST, AFTER_SEQUENCE_NUMBER, AT_SEQUENCE_NUMBER and AT_TIMESTAMP', async () => {
    const s = fresh('positions');
    await createActiveStream(client, s, 1);
    const latest = await activeConsumer(s, 'latest');
    const after = await activeConsumer(s, 'after');
    const at = await activeConsumer(s, 'at');
    const byTime = await activeConsumer(s, 'time');
    const seq1 = await put(s, 'r1');
    const seq2 = await put(s, 'r2');
    // r2 arrived before its answer, r3 arrives after it is sent: a time strictly between them (1 ms resolution).
    const answered = Date.now();
    await waitFor('the clock past r2', () => Date.now() > answered);
    const t = new Date();
    await waitFor('the clock past t', () => Date.now() > t.getTime());
    await put(s, 'r3');
    const results = await Promise.all([
      subscribeAll(latest, shard0, { Type: 'LATEST' }, async () => {
        await put(s, 'r4');
      }),
      subscribeAll(after, shard0, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq1 }),
      subscribeAll(at, shard0, { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: seq2 }),
      subscribeAll(byTime, shard0, { Type: 'AT_TIMESTAMP', Timestamp: t }),
    ]);
    const [l, a, as, ts] = results.map((r) => dataOf(r.events));
    expect(l).toEqual(['r4']);
    expect(a).toEqual(['r2', 'r3', 'r4']);
    expect(as).toEqual(['r2', 'r3', 'r4']);
    expect(ts).toEqual(['r3', 'r4']);
  });

  it('resubscribing from each ContinuationSequenceNumber loses and repeats nothing, even on an empty shard', async () => {
    const s = fresh('continue');
    await createActiveStream(client, s, 1);
    const arn = await activeConsumer(s, 'renewing');
    const first = await subscribeAll(arn, shard0, { Type: 'TRIM_HORIZON' });
    expect(dataOf(first.events)).toEqual([]);
    const marker = first.events.at(-1)!.ContinuationSequenceNumber!;
    expect(marker).toMatch(/^\d+$/);
    await put(s, 'first');
    const second = await subscribeAll(arn, shard0, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: marker }, async () => {
      await put(s, 'second');
    });
    expect(dataOf(second.events)).toEqual(['first', 'second']);
  });

  it('ends a split shard with ChildShards after its last record', async () => {
    const s = fresh('split');
    await createActiveStream(client, s, 1);
    const arn = await activeConsumer(s, 'splitter');
    await put(s, 'parent-1');
    const { events, endedAfterMs } = await subscribeAll(arn, shard0, { Type: 'TRIM_HORIZON' }, async () => {
      await client.send(new SplitShardCommand({ StreamName: s, ShardToSplit: shard0, NewStartingHashKey: (1n << 127n).toString() }));
    });
    expect(dataOf(events)).toEqual(['parent-1']);
    expect(endedAfterMs).toBeLessThan(lifetimeMs);
    const last = events.at(-1)!;
    expect(last.ContinuationSequenceNumber).toBeUndefined();
    expect(last.ChildShards).toEqual([
      { ShardId: 'shardId-000000000001', ParentShards: [shard0], HashKeyRange: { StartingHashKey: '0', EndingHashKey: ((1n << 127n) - 1n).toString() } },
      { ShardId: 'shardId-000000000002', ParentShards: [shard0], HashKeyRange: { StartingHashKey: (1n << 127n).toString(), EndingHashKey: ((1n << 128n) - 1n).toString() } },
    ]);
    // A closed shard read from its start again replays its records and ends at once; AWS refuses a second
    // subscription within the first one's window (the lifetime here), so retry while it says so.
    const again = await waitFor('a second subscription accepted', () => subscribeAll(arn, shard0, { Type: 'TRIM_HORIZON' }).catch((e: Error) => {
      if (e.name === 'ResourceInUseException') return undefined;
      throw e;
    }), { intervalMs: 100 });
    expect(dataOf(again.events)).toEqual(['parent-1']);
    expect(again.events.at(-1)!.ChildShards).toHaveLength(2);
  });

  it('allows one subscription per consumer and shard', async () => {
    const s = fresh('busy');
    await createActiveStream(client, s, 2);
    const arn = await activeConsumer(s, 'only');
    // While the first subscription is live, a second one on the same consumer and shard is refused.
    await subscribeAll(arn, shard0, { Type: 'LATEST' }, async () => {
      await expectAwsError(
        client.send(new SubscribeToShardCommand({ ConsumerARN: arn, ShardId: shard0, StartingPosition: { Type: 'LATEST' } })),
        'ResourceInUseException',
        `Another active subscription exists for this consumer: ${ACCOUNT}:${s}:${shard0}:only`,
      );
      // Another shard, or another consumer, is free.
      const other = await activeConsumer(s, 'other');
      await Promise.all([subscribeAll(arn, 'shardId-000000000001', { Type: 'LATEST' }), subscribeAll(other, shard0, { Type: 'LATEST' })]);
    });
  });

  it('refuses consumers that are not ACTIVE, unknown shards and bad starting positions', async () => {
    const s = fresh('suberr');
    await createActiveStream(client, s, 1);
    const { Consumer } = await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn(s), ConsumerName: 'new' }));
    const seconds = Math.floor(Consumer!.ConsumerCreationTimestamp!.getTime() / 1000);
    await expectAwsError(
      client.send(new SubscribeToShardCommand({ ConsumerARN: Consumer!.ConsumerARN, ShardId: shard0, StartingPosition: { Type: 'LATEST' } })),
      'ResourceInUseException',
      `Consumer new with creation timestamp ${seconds} under stream: ${s} , account ${ACCOUNT} is not in ACTIVE status.`,
    );
    await consumerActive(Consumer!.ConsumerARN!);
    await expectAwsError(
      client.send(new SubscribeToShardCommand({ ConsumerARN: Consumer!.ConsumerARN, ShardId: 'shardId-000000000009', StartingPosition: { Type: 'LATEST' } })),
      'ResourceNotFoundException',
      `Could not find shard shardId-000000000009 in stream ${s} under account ${ACCOUNT}.`,
    );
    await expectAwsError(
      client.send(new SubscribeToShardCommand({ ConsumerARN: Consumer!.ConsumerARN, ShardId: shard0, StartingPosition: { Type: 'AT_SEQUENCE_NUMBER' } })),
      'InvalidArgumentException',
      'Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and SequenceNumber or (2) TRIM_HORIZON or LATEST and no SequenceNumber. Request specified AT_SEQUENCE_NUMBER and no SequenceNumber.',
    );
    await expectAwsError(
      client.send(new SubscribeToShardCommand({ ConsumerARN: `${streamArn(s)}/consumer/ghost:1`, ShardId: shard0, StartingPosition: { Type: 'LATEST' } })),
      'ResourceNotFoundException',
      `Consumer ghost under stream ${s} and account ${ACCOUNT} not found.`,
    );
  });

  it('ends a subscription with ResourceNotFoundException when its consumer is deregistered', async () => {
    const s = fresh('dereg');
    await createActiveStream(client, s, 1);
    const arn = await activeConsumer(s, 'leaving');
    const out = await client.send(new SubscribeToShardCommand({ ConsumerARN: arn, ShardId: shard0, StartingPosition: { Type: 'LATEST' } }));
    await client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: arn }));
    const err = await (async () => {
      for await (const _ of out.EventStream!) void _;
    })().then(() => undefined, (e: unknown) => e as Error);
    expect(err?.name).toBe('ResourceNotFoundException');
  });
});

describe('configuration and policies', () => {
  it('reads the subscription lifetime from the config file', () => {
    expect(parseGatewayConfig('streams:\n  subscriptionLifetimeMs: 60000\n', 'g.yaml').subscriptionLifetimeMs).toBe(60000);
    expect(parseGatewayConfig('', 'g.yaml').subscriptionLifetimeMs).toBe(300000);
    expect(() => parseGatewayConfig('streams:\n  subscriptionLifetimeMs: 10\n', 'g.yaml')).toThrow('subscriptionLifetimeMs');
  });

  it('maps consumer actions to their stream for policies', () => {
    const consumerArn = `${streamArn('telemetry-dev1')}/consumer/c:1700000000`;
    expect(streamsResourceOf(gw.registry, 'SubscribeToShard', { ConsumerARN: consumerArn })).toBe('stream/telemetry-dev1');
    expect(streamsResourceOf(gw.registry, 'DeregisterStreamConsumer', { ConsumerARN: consumerArn })).toBe('stream/telemetry-dev1');
    expect(streamsResourceOf(gw.registry, 'RegisterStreamConsumer', { StreamARN: streamArn('s'), ConsumerName: 'c' })).toBe('stream/s');
    expect(streamsResourceOf(gw.registry, 'ListStreamConsumers', { StreamARN: streamArn('s') })).toBe('stream/s');
  });
});

describe('FanOutShardSource', () => {
  const sourceFor = (g: TestGateway, consumerName: string) => new FanOutShardSource({ endpoint: g.url, region: 'us-east-1', credentials: { ...testOperator }, consumerName });

  it('reads across many renewals without loss or duplicates, and ends with the children of a split', async () => {
    const short = await testGateway({ subscriptionLifetimeMs: 500 });
    const c = kinesisClient(short.url);
    const source = sourceFor(short, 'sdk-reader');
    try {
      await createActiveStream(c, 'renew', 1);
      const total = 400;
      const seen: StreamRecord[] = [];
      let childShards: unknown;
      const ac = new AbortController();
      const reading = (async () => {
        for await (const batch of source.read('renew', shard0, { type: 'TRIM_HORIZON' }, ac.signal)) {
          seen.push(...batch.records);
          if (batch.childShards) childShards = batch.childShards;
        }
      })();
      // Batches of 10, each read before the next is put; every 100 records, a renewal must have happened
      // (the lifetime is 500 ms), so the records span at least four subscriptions.
      const subscriptions = () => Number(short.metrics.render().split('\n').find((l) => l.includes('action="SubscribeToShard"') && l.includes('outcome="ok"'))?.split(' ').at(-1) ?? 0);
      for (let i = 0; i < total; i += 10) {
        const before = subscriptions();
        await c.send(new PutRecordsCommand({ StreamName: 'renew', Records: Array.from({ length: 10 }, (_, k) => ({ PartitionKey: 'p', Data: Buffer.from(`m${i + k}`) })) }));
        await waitFor(`records up to m${i + 9} read`, () => seen.length >= i + 10);
        if ((i + 10) % 100 === 0) await waitFor('a renewal', () => subscriptions() > before);
      }
      await c.send(new SplitShardCommand({ StreamName: 'renew', ShardToSplit: shard0, NewStartingHashKey: '1000' }));
      await reading;
      expect(seen.map((r) => text(r.data))).toEqual(Array.from({ length: total }, (_, i) => `m${i}`));
      expect(childShards).toEqual([
        { shardId: 'shardId-000000000001', parentShards: [shard0] },
        { shardId: 'shardId-000000000002', parentShards: [shard0] },
      ]);
      const line = short.metrics.render().split('\n').find((l) => l.includes('action="SubscribeToShard"') && l.includes('outcome="ok"'));
      expect(Number(line?.split(' ').at(-1))).toBeGreaterThanOrEqual(4);
    } finally {
      source.close();
      c.destroy();
      await short.close();
    }
  }, 30_000);

  it('subscribes over TLS (ALPN h2) trusting the gateway CA', async () => {
    const secure = await testGateway({ tlsEnabled: true });
    const ca = fs.readFileSync(path.join(secure.dataDir, 'tls', 'ca.crt'), 'utf8');
    const rpc = new JsonRpcClient({ endpoint: secure.url, region: 'us-east-1', service: 'kinesis', targetPrefix: 'Kinesis_20131202', credentials: { ...testOperator }, ca });
    const source = new FanOutShardSource({ endpoint: secure.url, region: 'us-east-1', credentials: { ...testOperator }, consumerName: 'tls-reader', ca });
    try {
      expect(secure.url).toMatch(/^https:/);
      await rpc.call('CreateStream', { StreamName: 'secure', ShardCount: 1 });
      await waitFor('stream secure ACTIVE', async () =>
        (await rpc.call<{ StreamDescriptionSummary: { StreamStatus: string } }>('DescribeStreamSummary', { StreamName: 'secure' })).StreamDescriptionSummary.StreamStatus === 'ACTIVE');
      for (const d of ['a', 'b', 'c']) await rpc.call('PutRecord', { StreamName: 'secure', PartitionKey: 'p', Data: Buffer.from(d).toString('base64') });
      const ac = new AbortController();
      const got: string[] = [];
      for await (const batch of source.read('secure', shard0, { type: 'TRIM_HORIZON' }, ac.signal)) {
        got.push(...batch.records.map((r) => text(r.data)));
        if (got.length >= 3) ac.abort();
      }
      expect(got).toEqual(['a', 'b', 'c']);
      const consumer = await source.describeConsumer({ StreamARN: streamArn('secure'), ConsumerName: 'tls-reader' });
      expect(consumer.ConsumerStatus).toBe('ACTIVE');
      await source.deregisterConsumer(consumer.ConsumerARN);
    } finally {
      source.close();
      rpc.close();
      await secure.close();
    }
  });

  it('pushes records as they land (put-to-event p50 and p99 reported)', async () => {
    const s = fresh('latency');
    await createActiveStream(client, s, 1);
    const source = sourceFor(gw, 'latency-reader');
    const ac = new AbortController();
    // From the moment the client has the put's answer (the record has landed) to the event: the time the put
    // itself takes is the write path's, which a busy machine stretches, not the push's.
    const ackedAt = new Map<string, number>();
    const eventAt = new Map<string, number>();
    const puts: Array<Promise<unknown>> = [];
    let warmSeen = false;
    const n = 300;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const reading = (async () => {
      for await (const batch of source.read(s, shard0, { type: 'LATEST' }, ac.signal)) {
        const now = performance.now();
        for (const r of batch.records) {
          if (text(r.data).startsWith('w')) warmSeen = true;
          else eventAt.set(text(r.data), now);
        }
        if (eventAt.size >= n) done();
      }
    })();
    await source.consumerArnFor(s);
    // The subscription starts at LATEST: warm-up records until one comes through show it is live.
    let warm = 0;
    await waitFor('the subscription live', async () => {
      await client.send(new PutRecordCommand({ StreamName: s, PartitionKey: 'p', Data: Buffer.from(`w${warm++}`) }));
      return warmSeen;
    }, { intervalMs: 50 });
    for (let i = 0; i < n; i++) {
      puts.push(client.send(new PutRecordCommand({ StreamName: s, PartitionKey: 'p', Data: Buffer.from(`l${i}`) })).then(() => ackedAt.set(`l${i}`, performance.now())));
      // Pacing, not synchronisation: one put every 5 ms, an open loop of 200 puts/s.
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(puts);
    await all;
    ac.abort();
    await reading;
    source.close();
    // An event may even come before the client has read the put's answer: a negative latency.
    const latencies = [...eventAt].map(([k, at]) => at - ackedAt.get(k)!).sort((a, b) => a - b);
    expect(latencies).toHaveLength(n);
    const p50 = latencies[Math.floor(n * 0.5)]!;
    const p99 = latencies[Math.floor(n * 0.99)]!;
    console.log(`fan-out put answered->event latency over ${n} records: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (lifetime ${lifetimeMs} ms, renewals included)`);
    // Records are pushed as they land, not picked up by a timer: delivery on a 1 s poll (GetRecords' pace) or at each
    // renewal would put the median at 500 ms or more. The median, not the tail, so a busy machine's stalls cannot
    // decide it; the p99 target (< 200 ms, issue #5) is measured by `npm run bench -- sdk` (docs/benchmarks.md).
    expect(p50).toBeLessThan(250);
  }, 30_000);
});
