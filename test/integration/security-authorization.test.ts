// Issue #11, items 3, 4 and 5: proves that policies hold for every resource a
// call touches, against a real `tributary gateway start` child process over
// TLS, with the stock AWS SDK clients signing as devices paired over the wire.
// A device allowed `firehose:*` on its own names cannot make a delivery stream
// read another device's stream or write to buckets its policy does not name,
// nor can one allowed `kinesisanalytics:*` sample another device's stream
// with DiscoverInputSchema or make an application read it (item 3); a device cannot describe or deregister another device's consumer
// by pairing its ConsumerARN with its own StreamARN, and a mismatched pair is
// refused even for an operator (item 4); the built-in device policy no longer
// lets `dev` write `dev-b`, and pairing refuses names whose resources would
// overlap (item 5).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateStreamCommand, DeregisterStreamConsumerCommand, DescribeStreamConsumerCommand, PutRecordCommand, RegisterStreamConsumerCommand,
} from '@aws-sdk/client-kinesis';
import { CreateDeliveryStreamCommand, DescribeDeliveryStreamCommand, UpdateDestinationCommand, type FirehoseClient } from '@aws-sdk/client-firehose';
import { CreateApplicationCommand, DescribeApplicationCommand, DiscoverInputSchemaCommand } from '@aws-sdk/client-kinesis-analytics';
import { waitActive } from '../helpers/gateway.ts';
import { analyticsClient, tickerInput } from '../helpers/analytics.ts';
import { spawnTestGateway, tlsTools } from '../helpers/attack.ts';

let gw: Awaited<ReturnType<typeof spawnTestGateway>>;
let tools: ReturnType<typeof tlsTools>;
const op = () => tools.kinesis();
const role = 'arn:aws:iam::000000000000:role/firehose';
const denied = (user: string, action: string, arn: string) =>
  `User: arn:aws:iam::000000000000:user/${user} is not authorized to perform: ${action} on resource: ${arn} because no identity-based policy allows the ${action} action`;

const device = (name: string, policy: string) => tools.pair(name, policy);
const putPolicy = (name: string, doc: unknown) => tools.admin('PutPolicy', { Name: name, Document: JSON.stringify(doc) });

async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  throw new Error('expected the call to fail');
}

async function stream(name: string): Promise<string> {
  const c = op();
  await c.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  await waitActive(c, name);
  return `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`;
}

beforeAll(async () => {
  gw = await spawnTestGateway([], { tls: true });
  tools = tlsTools(gw);
});
afterAll(async () => {
  await gw?.kill();
});

describe('Firehose authorizes the source stream and the destinations (issue #11, item 3)', () => {
  let thief: FirehoseClient;
  beforeAll(async () => {
    await putPolicy('firehose-own', {
      statements: [
        { actions: ['firehose:*', 'kinesis:*'], resources: ['deliverystream/*-${device}', 'stream/*-${device}'] },
        { actions: ['s3:PutObject'], resources: ['bucket/*-${device}'] },
        { actions: ['firehose:DeliverToHttpEndpoint'], resources: ['httpendpoint/http://127.0.0.1:*'] },
      ],
    });
    await device('victim', 'device');
    thief = tools.firehose(await device('thief', 'firehose-own'));
    await stream('telemetry-victim');
    await stream('telemetry-thief');
  });

  it("refuses a delivery stream that would read another device's stream", async () => {
    const err = await errorOf(thief.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: 'steal-thief', DeliveryStreamType: 'KinesisStreamAsSource',
      KinesisStreamSourceConfiguration: { KinesisStreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/telemetry-victim', RoleARN: role },
      HttpEndpointDestinationConfiguration: {
        EndpointConfiguration: { Url: 'http://127.0.0.1:9/collect' },
        S3Configuration: { RoleARN: role, BucketARN: 'arn:aws:s3:::backup-thief' },
      },
    })));
    expect(err).toEqual({ name: 'AccessDeniedException', message: denied('thief', 'kinesis:DescribeStream', 'arn:aws:kinesis:us-east-1:000000000000:stream/telemetry-victim') });
    expect((await errorOf(tools.firehose().send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'steal-thief' })))).name).toBe('ResourceNotFoundException');
  });

  it('refuses buckets and endpoints the policy does not name, and allows its own', async () => {
    const source = { KinesisStreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/telemetry-thief', RoleARN: role };
    const bucket = await errorOf(thief.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: 'own-thief', DeliveryStreamType: 'KinesisStreamAsSource', KinesisStreamSourceConfiguration: source,
      ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::archive-victim' },
    })));
    expect(bucket).toEqual({ name: 'AccessDeniedException', message: denied('thief', 's3:PutObject', 'arn:aws:s3:::archive-victim') });
    const endpoint = await errorOf(thief.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: 'own-thief', HttpEndpointDestinationConfiguration: {
        EndpointConfiguration: { Url: 'https://collector.example/in' }, S3Configuration: { RoleARN: role, BucketARN: 'arn:aws:s3:::backup-thief' },
      },
    })));
    expect(endpoint).toEqual({ name: 'AccessDeniedException', message: denied('thief', 'firehose:DeliverToHttpEndpoint', 'arn:aws:firehose:us-east-1:000000000000:httpendpoint/https://collector.example/in') });

    await thief.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: 'own-thief', DeliveryStreamType: 'KinesisStreamAsSource', KinesisStreamSourceConfiguration: source,
      ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::archive-thief' },
    }));
    // Re-pointing it at someone else's bucket is refused as creating it there was.
    const update = await errorOf(thief.send(new UpdateDestinationCommand({
      DeliveryStreamName: 'own-thief', CurrentDeliveryStreamVersionId: '1', DestinationId: 'destinationId-000000000001',
      ExtendedS3DestinationUpdate: { BucketARN: 'arn:aws:s3:::archive-victim' },
    })));
    expect(update).toEqual({ name: 'AccessDeniedException', message: denied('thief', 's3:PutObject', 'arn:aws:s3:::archive-victim') });
  });
});

describe('Analytics authorizes the streams an application reads and writes (issue #11, item 3)', () => {
  it("refuses sampling another device's stream and an application reading it", async () => {
    await putPolicy('analytics-own', {
      statements: [
        { actions: ['kinesisanalytics:*', 'kinesis:*'], resources: ['application/*-${device}', 'stream/*-${device}'] },
        // DiscoverInputSchema is an account-level call: its own resource is *; what it samples is checked apart.
        { actions: ['kinesisanalytics:DiscoverInputSchema'], resources: ['*'] },
      ],
    });
    const ticks = await stream('ticks-owner');
    await op().send(new PutRecordCommand({ StreamName: 'ticks-owner', PartitionKey: 'k', Data: Buffer.from('{"TICKER_SYMBOL":"SECRET","PRICE":1}') }));
    const own = await stream('ticks-spy');
    await op().send(new PutRecordCommand({ StreamName: 'ticks-spy', PartitionKey: 'k', Data: Buffer.from('{"TICKER_SYMBOL":"OWN","PRICE":2}') }));
    const spy = analyticsClient(gw.url, await device('spy', 'analytics-own'), tools.ca);
    const role = 'arn:aws:iam::000000000000:role/kda';
    const sample = await errorOf(spy.send(new DiscoverInputSchemaCommand({ ResourceARN: ticks, RoleARN: role, InputStartingPositionConfiguration: { InputStartingPosition: 'TRIM_HORIZON' } })));
    expect(sample).toEqual({ name: 'AccessDeniedException', message: denied('spy', 'kinesis:DescribeStream', ticks) });
    const app = await errorOf(spy.send(new CreateApplicationCommand({
      ApplicationName: 'copy-spy', Inputs: [tickerInput(ticks)],
      Outputs: [{ Name: 'DESTINATION_SQL_STREAM', KinesisStreamsOutput: { ResourceARN: own, RoleARN: role }, DestinationSchema: { RecordFormatType: 'JSON' } }],
    })));
    expect(app).toEqual({ name: 'AccessDeniedException', message: denied('spy', 'kinesis:DescribeStream', ticks) });
    expect((await errorOf(analyticsClient(gw.url, gw.operator, tools.ca).send(new DescribeApplicationCommand({ ApplicationName: 'copy-spy' })))).name).toBe('ResourceNotFoundException');
    // Its own stream it may sample.
    expect((await spy.send(new DiscoverInputSchemaCommand({ ResourceARN: own, RoleARN: role, InputStartingPositionConfiguration: { InputStartingPosition: 'TRIM_HORIZON' } }))).$metadata.httpStatusCode).toBe(200);
  });
});

describe('consumer ARNs are authorized as the stream they name (issue #11, item 4)', () => {
  it("refuses another device's consumer behind the caller's own StreamARN, and mismatched pairs", async () => {
    await putPolicy('streams-own', { statements: [{ actions: ['kinesis:*'], resources: ['stream/*-${device}'] }] });
    const ownArn = await stream('events-alice');
    const otherArn = await stream('events-bob');
    const { Consumer } = await op().send(new RegisterStreamConsumerCommand({ StreamARN: otherArn, ConsumerName: 'bobs-reader' }));
    const alice = tools.kinesis(await device('alice', 'streams-own'));
    const describe = await errorOf(alice.send(new DescribeStreamConsumerCommand({ StreamARN: ownArn, ConsumerARN: Consumer!.ConsumerARN })));
    expect(describe).toEqual({ name: 'AccessDeniedException', message: denied('alice', 'kinesis:DescribeStreamConsumer', 'arn:aws:kinesis:us-east-1:000000000000:stream/events-bob') });
    const deregister = await errorOf(alice.send(new DeregisterStreamConsumerCommand({ StreamARN: ownArn, ConsumerARN: Consumer!.ConsumerARN })));
    expect(deregister.name).toBe('AccessDeniedException');
    // Still there; and an operator, allowed on both streams, gets the mismatch refused.
    const still = await op().send(new DescribeStreamConsumerCommand({ ConsumerARN: Consumer!.ConsumerARN }));
    expect(still.ConsumerDescription?.ConsumerName).toBe('bobs-reader');
    const mismatch = await errorOf(op().send(new DeregisterStreamConsumerCommand({ StreamARN: ownArn, ConsumerARN: Consumer!.ConsumerARN })));
    expect(mismatch).toEqual({ name: 'InvalidArgumentException', message: `ConsumerARN ${Consumer!.ConsumerARN} does not match StreamARN ${ownArn}.` });
    const wrongName = await errorOf(op().send(new DescribeStreamConsumerCommand({ ConsumerName: 'other', ConsumerARN: Consumer!.ConsumerARN })));
    expect(wrongName.name).toBe('InvalidArgumentException');
  });
});

describe('device names own disjoint resources (issue #11, item 5)', () => {
  it("keeps device dev off dev-b's stream under the built-in policy", async () => {
    await stream('dev-b');
    const dev = tools.kinesis(await device('dev', 'device'));
    const err = await errorOf(dev.send(new PutRecordCommand({ StreamName: 'dev-b', PartitionKey: 'k', Data: Buffer.from('x') })));
    expect(err).toEqual({ name: 'AccessDeniedException', message: denied('dev', 'kinesis:PutRecord', 'arn:aws:kinesis:us-east-1:000000000000:stream/dev-b') });
    // Its own names still work: <device> and *-<device>.
    await stream('logs-dev');
    expect((await dev.send(new PutRecordCommand({ StreamName: 'logs-dev', PartitionKey: 'k', Data: Buffer.from('x') }))).ShardId).toBe('shardId-000000000000');
  });

  it('refuses to pair a name whose resources would overlap a paired device', async () => {
    await device('yard', 'device');
    for (const name of ['front-yard', 'x-front-yard']) {
      const err = await errorOf(tools.admin('CreatePairingCode', { DeviceName: name }));
      expect(err.message).toContain(`device name ${name} overlaps device `);
    }
    // Names that merely share a prefix do not overlap.
    await tools.admin('CreatePairingCode', { DeviceName: 'yard-2' });
  });
});
