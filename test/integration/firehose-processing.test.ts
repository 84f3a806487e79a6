// Firehose processing end to end with the stock @aws-sdk/client-firehose: a
// real gateway on port 0 whose config maps Lambda ARNs to an HTTP transformer
// this test runs and to a local ES module, then delivery streams with the
// Lambda, RecordDeAggregation, MetadataExtraction and AppendDelimiterToRecord
// processors and dynamic partitioning. It reads the delivered objects and the
// error objects (processing-failed / partitioning-failed JSON lines, as AWS
// writes them) back from the bucket directory, and checks the create-time
// refusals for configurations the gateway cannot honour.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand, UpdateDestinationCommand,
  type CreateDeliveryStreamCommandInput, type ProcessingConfiguration,
} from '@aws-sdk/client-firehose';
import { listObjects } from '../../gateway/firehose/destinations/filesystem.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { tempDir, testGateway, metricsText } from '../helpers/gateway.ts';
import { createActiveDeliveryStream, firehoseClient } from '../helpers/firehose.ts';

const role = 'arn:aws:iam::000000000000:role/firehose';
const httpArn = 'arn:aws:lambda:us-east-1:000000000000:function:upper';
const moduleArn = 'arn:aws:lambda:us-east-1:000000000000:function:module';
const flakyArn = 'arn:aws:lambda:us-east-1:000000000000:function:flaky';
const brokenArn = 'arn:aws:lambda:us-east-1:000000000000:function:broken';

let gw: Gateway & { dataDir: string };
let client: FirehoseClient;
let transformer: http.Server;
/** How the HTTP transformer answers; the test switches it per case. */
let mode: 'contract' | 'missing-id' | 'error' = 'contract';
const events: Array<{ invocationId: string; deliveryStreamArn: string; region: string; records: Array<{ recordId: string; approximateArrivalTimestamp: number; data: string }> }> = [];

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString();

/** The contract: "drop" records are Dropped, "fail" records ProcessingFailed, the rest upper-cased, with the JSON `team` as a Lambda partition key. */
function answer(event: (typeof events)[number]): unknown {
  const records = event.records.map((r) => {
    const text = unb64(r.data);
    if (text.includes('drop')) return { recordId: r.recordId, result: 'Dropped', data: r.data };
    if (text.includes('fail')) return { recordId: r.recordId, result: 'ProcessingFailed', data: r.data };
    let team: string | undefined;
    try {
      team = (JSON.parse(text) as { team?: string }).team;
    } catch {
      team = undefined;
    }
    return { recordId: r.recordId, result: 'Ok', data: b64(text.toUpperCase()), ...(team ? { metadata: { partitionKeys: { team } } } : {}) };
  });
  if (mode === 'missing-id') records.pop();
  return { records };
}

function startTransformer(): Promise<string> {
  transformer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const event = JSON.parse(body) as (typeof events)[number];
      events.push(event);
      if (mode === 'error') {
        res.writeHead(500).end('boom');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer(event)));
    });
  });
  return new Promise((resolve) => transformer.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(transformer.address() as AddressInfo).port}/transform`)));
}

beforeAll(async () => {
  const url = await startTransformer();
  const dir = tempDir('trb-lambda-');
  const modulePath = path.join(dir, 'transform.mjs');
  fs.writeFileSync(
    modulePath,
    `export default async function (event) {
      return { records: event.records.map((r) => ({ recordId: r.recordId, result: 'Ok', data: Buffer.from('module:' + Buffer.from(r.data, 'base64').toString()).toString('base64') })) };
    }\n`,
  );
  gw = await testGateway({ firehoseLambdas: { [httpArn]: { url }, [moduleArn]: { module: modulePath }, [flakyArn]: { url }, [brokenArn]: { module: path.join(dir, 'missing.mjs') } } });
  client = firehoseClient(gw.url);
});

afterAll(async () => {
  client?.destroy();
  await gw?.close();
  await new Promise((r) => transformer?.close(r));
});

const bucketDir = (bucket: string) => path.join(gw.dataDir, 'firehose-buckets', bucket);
const lambda = (arn: string, extra: Array<{ ParameterName: 'NumberOfRetries'; ParameterValue: string }> = []) => ({
  Type: 'Lambda' as const,
  Parameters: [{ ParameterName: 'LambdaArn' as const, ParameterValue: arn }, ...extra],
});
const newline = { Type: 'AppendDelimiterToRecord' as const };

const createActive = (input: CreateDeliveryStreamCommandInput) => createActiveDeliveryStream(client, input);

/** A delivery stream on its own bucket with a 900 s buffer, so that one flush makes one buffer. */
async function stream(name: string, processing: ProcessingConfiguration, extra: Record<string, unknown> = {}): Promise<void> {
  await createActive({
    DeliveryStreamName: name,
    ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: `arn:aws:s3:::${name}`, BufferingHints: { SizeInMBs: 128, IntervalInSeconds: 900 }, ProcessingConfiguration: processing, ...extra },
  });
}

/** Puts the records in one PutRecordBatch and delivers them as one buffer. */
async function putAndFlush(name: string, records: string[]): Promise<void> {
  const r = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: records.map((d) => ({ Data: Buffer.from(d) })) }));
  expect(r.FailedPutCount).toBe(0);
  await gw.firehose.streams.get(name)!.worker.flush();
}

function objects(bucket: string, prefix = ''): Array<{ key: string; body: string }> {
  return listObjects(bucketDir(bucket))
    .filter((k) => k.startsWith(prefix))
    .map((key) => ({ key, body: fs.readFileSync(path.join(bucketDir(bucket), key), 'utf8') }));
}

function errorLines(bucket: string, prefix: string): Array<Record<string, unknown>> {
  return objects(bucket, prefix).flatMap((o) => o.body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));
}

async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message };
  }
  throw new Error('expected an error');
}

describe('Lambda processor with an HTTP transformer', () => {
  it('transforms Ok records, counts Dropped ones out, and routes ProcessingFailed ones to processing-failed/', async () => {
    mode = 'contract';
    events.length = 0;
    await stream('upper', { Enabled: true, Processors: [lambda(httpArn), newline] });
    const before = Date.now();
    await putAndFlush('upper', ['hello one', 'please drop me', 'this will fail', 'hello two']);

    // One invocation with the event Lambda gets from Firehose.
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event.deliveryStreamArn).toBe('arn:aws:firehose:us-east-1:000000000000:deliverystream/upper');
    expect(event.region).toBe('us-east-1');
    expect(event.invocationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.records.map((r) => unb64(r.data))).toEqual(['hello one', 'please drop me', 'this will fail', 'hello two']);
    expect(new Set(event.records.map((r) => r.recordId)).size).toBe(4);
    expect(event.records[0]!.approximateArrivalTimestamp).toBeGreaterThanOrEqual(before - 1000);

    const delivered = objects('upper').filter((o) => !o.key.startsWith('processing-failed/'));
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.key).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\d{2}\/upper-1-/);
    expect(delivered[0]!.body).toBe('HELLO ONE\nHELLO TWO\n');

    const failed = objects('upper', 'processing-failed/');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.key).toMatch(/^processing-failed\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/upper-1-/);
    const lines = errorLines('upper', 'processing-failed/');
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(Object.keys(line)).toEqual(['attemptsMade', 'arrivalTimestamp', 'errorCode', 'errorMessage', 'attemptEndingTimestamp', 'rawData', 'lambdaArn']);
    expect(line).toMatchObject({ attemptsMade: 1, errorCode: 'Lambda.ProcessingFailedStatus', rawData: b64('this will fail'), lambdaArn: httpArn });
    expect(line.arrivalTimestamp).toBe(event.records[2]!.approximateArrivalTimestamp);
    expect(line.attemptEndingTimestamp as number).toBeGreaterThanOrEqual(line.arrivalTimestamp as number);

    // Dropped records are counted, not delivered (flush resolves once the checkpoint, and so the metrics, moved).
    const metrics = await metricsText(gw);
    expect(metrics).toContain('tributary_firehose_Processing_DroppedRecords{delivery_stream="upper"} 1\n');
    expect(metrics).toContain('tributary_firehose_Processing_FailedRecords{delivery_stream="upper"} 1\n');
    expect(metrics).toContain('tributary_firehose_SucceedProcessing_Records{delivery_stream="upper"} 3\n');
  });

  it('fails the whole batch when the response misses a recordId (Lambda.MissingRecordId)', async () => {
    mode = 'missing-id';
    await stream('missing', { Enabled: true, Processors: [lambda(httpArn), newline] });
    await putAndFlush('missing', ['a', 'b', 'c']);
    mode = 'contract';
    expect(objects('missing').filter((o) => !o.key.startsWith('processing-failed/'))).toEqual([]);
    const lines = errorLines('missing', 'processing-failed/');
    expect(lines.map((l) => unb64(l.rawData as string))).toEqual(['a', 'b', 'c']);
    for (const l of lines) {
      expect(l.errorCode).toBe('Lambda.MissingRecordId');
      expect(l.errorMessage).toMatch(/record Ids were not returned/);
    }
  });

  it('retries a failing invocation NumberOfRetries times, then fails its records (Lambda.FunctionError)', async () => {
    mode = 'error';
    events.length = 0;
    await stream('flaky', { Enabled: true, Processors: [lambda(flakyArn, [{ ParameterName: 'NumberOfRetries', ParameterValue: '2' }])] });
    await putAndFlush('flaky', ['x', 'y']);
    mode = 'contract';
    expect(events).toHaveLength(3);
    expect(new Set(events.map((e) => e.invocationId)).size).toBe(3);
    expect(new Set(events.map((e) => e.records.map((r) => r.recordId).join()))).toHaveLength(1);
    const lines = errorLines('flaky', 'processing-failed/');
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatchObject({ attemptsMade: 3, errorCode: 'Lambda.FunctionError', lambdaArn: flakyArn });
  });

  it('refuses an ARN the gateway does not map, and bad Lambda parameters', async () => {
    const create = (name: string, processors: ProcessingConfiguration['Processors']) =>
      client.send(new CreateDeliveryStreamCommand({
        DeliveryStreamName: name,
        ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::nope', ProcessingConfiguration: { Enabled: true, Processors: processors } },
      }));
    const unknown = await errorOf(create('unknown-arn', [lambda('arn:aws:lambda:us-east-1:000000000000:function:nowhere')]));
    expect(unknown.name).toBe('InvalidArgumentException');
    expect(unknown.message).toMatch(/function:nowhere is not mapped/);
    const retries = await errorOf(create('bad-retries', [lambda(httpArn, [{ ParameterName: 'NumberOfRetries', ParameterValue: '301' }])]));
    expect(retries.message).toMatch(/NumberOfRetries must be an integer between 0 and 300/);
    const two = await errorOf(create('two-lambdas', [lambda(httpArn), lambda(moduleArn)]));
    expect(two.message).toMatch(/Only one processor of type Lambda/);
  });
});

describe('Lambda processor with a local module', () => {
  it('runs the module’s default export with the same contract', async () => {
    await stream('module', { Enabled: true, Processors: [newline, lambda(moduleArn)] });
    await putAndFlush('module', ['one', 'two']);
    const delivered = objects('module');
    expect(delivered).toHaveLength(1);
    // The delimiter is appended after the transformation, whatever the list order (AWS's fixed order).
    expect(delivered[0]!.body).toBe('module:one\nmodule:two\n');
  });

  it('fails the records of a module that cannot be loaded, and keeps delivering', async () => {
    await stream('broken', { Enabled: true, Processors: [lambda(brokenArn, [{ ParameterName: 'NumberOfRetries', ParameterValue: '0' }])] });
    await putAndFlush('broken', ['p', 'q']);
    const lines = errorLines('broken', 'processing-failed/');
    expect(lines.map((l) => [unb64(l.rawData as string), l.errorCode, l.attemptsMade])).toEqual([['p', 'Lambda.FunctionError', 1], ['q', 'Lambda.FunctionError', 1]]);
  });
});

describe('dynamic partitioning', () => {
  const extraction = (query: string) => ({
    Type: 'MetadataExtraction' as const,
    Parameters: [
      { ParameterName: 'MetadataExtractionQuery' as const, ParameterValue: query },
      { ParameterName: 'JsonParsingEngine' as const, ParameterValue: 'JQ-1.6' },
    ],
  });
  const dp = { DynamicPartitioningConfiguration: { Enabled: true, RetryOptions: { DurationInSeconds: 300 } } };

  it('writes one object per device per buffer under device=<x>/, failures to partitioning-failed/', async () => {
    await stream('by-device', { Enabled: true, Processors: [extraction('{device: .device}'), newline] }, {
      ...dp,
      Prefix: 'device=!{partitionKeyFromQuery:device}/',
      ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/',
    });
    const recs = ['{"device":"a","n":1}', '{"device":"b","n":2}', '{"device":"a","n":3}', 'not json', '{"n":5}', '{"device":"c","n":6}'];
    await putAndFlush('by-device', recs);
    const a = objects('by-device', 'device=a/');
    const b = objects('by-device', 'device=b/');
    const c = objects('by-device', 'device=c/');
    expect([a.length, b.length, c.length]).toEqual([1, 1, 1]);
    expect(a[0]!.key).toMatch(/^device=a\/by-device-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}$/);
    expect(a[0]!.body).toBe('{"device":"a","n":1}\n{"device":"a","n":3}\n');
    expect(b[0]!.body).toBe('{"device":"b","n":2}\n');
    const lines = errorLines('by-device', 'errors/partitioning-failed/');
    expect(lines.map((l) => unb64(l.rawData as string))).toEqual(['not json', '{"n":5}']);
    for (const l of lines) expect(l.errorCode).toBe('DynamicPartitioning.MetadataExtractionFailed');

    // A second buffer makes new objects, again one per device.
    await putAndFlush('by-device', ['{"device":"a","n":7}']);
    expect(objects('by-device', 'device=a/')).toHaveLength(2);
  });

  it('partitions by the transformer’s metadata.partitionKeys after de-aggregating JSON records', async () => {
    mode = 'contract';
    await stream('by-team', {
      Enabled: true,
      Processors: [lambda(httpArn), { Type: 'RecordDeAggregation', Parameters: [{ ParameterName: 'SubRecordType', ParameterValue: 'JSON' }] }, newline],
    }, { ...dp, Prefix: 'team=!{partitionKeyFromLambda:team}/!{timestamp:yyyy}/', ErrorOutputPrefix: 'errors/' });
    await putAndFlush('by-team', ['{"team":"red","v":1}{"team":"blue","v":2}\n{"team":"red","v":3}', '{"v":4}']);
    const year = new Date().getUTCFullYear();
    const red = objects('by-team', `team=RED/`);
    expect(red).toHaveLength(0); // keys come from the transformer's metadata, which reads the original JSON
    expect(objects('by-team', `team=red/${year}/`).map((o) => o.body)).toEqual(['{"TEAM":"RED","V":1}\n{"TEAM":"RED","V":3}\n']);
    expect(objects('by-team', `team=blue/${year}/`).map((o) => o.body)).toEqual(['{"TEAM":"BLUE","V":2}\n']);
    const lines = errorLines('by-team', 'errors/partitioning-failed/');
    expect(lines.map((l) => unb64(l.rawData as string))).toEqual(['{"V":4}']);
  });

  it('splits DELIMITED records on a base64 delimiter', async () => {
    await stream('delimited', {
      Enabled: true,
      Processors: [
        { Type: 'RecordDeAggregation', Parameters: [{ ParameterName: 'SubRecordType', ParameterValue: 'DELIMITED' }, { ParameterName: 'Delimiter', ParameterValue: b64('####') }] },
        extraction('{k: .k}'),
        newline,
      ],
    }, { ...dp, Prefix: 'k=!{partitionKeyFromQuery:k}/', ErrorOutputPrefix: 'errors/' });
    await putAndFlush('delimited', ['{"k":1}####{"k":2}####{"k":1}']);
    expect(objects('delimited', 'k=1/').map((o) => o.body)).toEqual(['{"k":1}\n{"k":1}\n']);
    expect(objects('delimited', 'k=2/').map((o) => o.body)).toEqual(['{"k":2}\n']);
  });

  it('refuses configurations AWS refuses, and jq outside the subset, at create', async () => {
    const create = (name: string, processors: ProcessingConfiguration['Processors'], extra: Record<string, unknown>) =>
      client.send(new CreateDeliveryStreamCommand({
        DeliveryStreamName: name,
        ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::nope', ProcessingConfiguration: { Enabled: true, Processors: processors }, ...extra },
      }));
    const prefix = { Prefix: 'd=!{partitionKeyFromQuery:device}/', ErrorOutputPrefix: 'errors/' };
    const cases: Array<[ProcessingConfiguration['Processors'], Record<string, unknown>, RegExp]> = [
      [[extraction('{device: .device}')], { ...dp, Prefix: prefix.Prefix }, /ErrorOutputPrefix cannot be null or empty/],
      [[extraction('{device: .device}')], { ...dp, Prefix: 'static/', ErrorOutputPrefix: 'errors/' }, /at least one !\{partitionKeyFromQuery/],
      [[extraction('{other: .device}')], { ...dp, ...prefix }, /partition key device, which MetadataExtractionQuery does not define/],
      [[extraction('[.device]')], { ...dp, ...prefix }, /MetadataExtractionQuery is not supported: .*array construction/],
      [[extraction('.device')], { ...dp, ...prefix }, /must construct an object/],
      [[newline], { ...dp, ...prefix }, /needs an enabled MetadataExtraction or Lambda processor/],
      [[extraction('{device: .device}')], prefix, /need DynamicPartitioningConfiguration with Enabled true/],
      [[{ Type: 'RecordDeAggregation', Parameters: [{ ParameterName: 'SubRecordType', ParameterValue: 'DELIMITED' }] }], {}, /Delimiter must be a non-empty base64/],
      [[{ Type: 'Decompression' }], {}, /Processor type Decompression is not supported/],
    ];
    for (const [processors, extra, message] of cases) {
      const e = await errorOf(create(`refused-${randomBytes(4).toString('hex')}`, processors, extra));
      expect(e.name).toBe('InvalidArgumentException');
      expect(e.message).toMatch(message);
    }
  });

  it('cannot be switched on by UpdateDestination', async () => {
    await stream('late-dp', { Enabled: true, Processors: [newline] });
    const e = await errorOf(client.send(new UpdateDestinationCommand({
      DeliveryStreamName: 'late-dp', CurrentDeliveryStreamVersionId: '1', DestinationId: 'destinationId-000000000001',
      ExtendedS3DestinationUpdate: {
        ...dp, Prefix: 'd=!{partitionKeyFromQuery:device}/', ErrorOutputPrefix: 'errors/',
        ProcessingConfiguration: { Enabled: true, Processors: [extraction('{device: .device}')] },
      },
    })));
    expect(e.message).toMatch(/cannot be enabled on an existing delivery stream/);
  });
});
