// Issue #6: the HTTP endpoint destination and bounded retries, end to end.
// A real gateway is driven with the stock @aws-sdk/client-firehose, and a
// node:http endpoint on 127.0.0.1 that this file runs checks every request
// (headers, access key, common attributes, body format, gzip) and answers as
// each test scripts it: 200, 500 for a while, down for good, or a wrong
// request id. Failed batches must land in the backup bucket's error prefix
// with their error code, AllData must back every record up, and an S3
// destination that keeps failing must route its records to `s3-failed/`.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateDeliveryStreamCommand, DescribeDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand, UpdateDestinationCommand,
  type CreateDeliveryStreamCommandInput, type HttpEndpointDestinationConfiguration,
} from '@aws-sdk/client-firehose';
import { listObjects } from '../../gateway/firehose/destinations/filesystem.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { testGateway, metricsText } from '../helpers/gateway.ts';
import { createActiveDeliveryStream, firehoseClient } from '../helpers/firehose.ts';
import { waitFor } from '../helpers/wait.ts';

const role = 'arn:aws:iam::000000000000:role/firehose';
const accessKey = 'k3y-for-the-endpoint';
let gw: Gateway & { dataDir: string };
let client: FirehoseClient;

interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: { requestId: string; timestamp: number; records: Array<{ data: string }> };
}
/** Requests by path; `answer` scripts the endpoint's response per path. */
const seen: Seen[] = [];
const answer = new Map<string, (s: Seen) => { status: number; body: unknown }>();
let endpoint: http.Server;
let endpointUrl: string;

beforeAll(async () => {
  endpoint = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = zlib.gunzipSync(raw);
      const s: Seen = { path: req.url ?? '', headers: req.headers, body: JSON.parse(raw.toString('utf8')) as Seen['body'] };
      seen.push(s);
      const a = answer.get(s.path)?.(s) ?? { status: 200, body: { requestId: s.body.requestId, timestamp: Date.now() } };
      res.writeHead(a.status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
  endpointUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;
  gw = await testGateway({ firehoseS3RetryMs: 1500 });
  client = firehoseClient(gw.url);
});

afterAll(async () => {
  client?.destroy();
  await gw?.close();
  await new Promise((r) => endpoint.close(r));
});

/**
 * Waits until /metrics shows every line given and returns the exposition. A delivery's checkpoint, and its metrics
 * with it, move a moment after the endpoint answered or the object was written; a wrong value never shows up.
 */
async function metricsWith(...lines: string[]): Promise<string> {
  return waitFor(`metrics showing ${lines.join(' and ')}`, async () => {
    const m = await metricsText(gw);
    return lines.every((l) => m.includes(l)) && m;
  });
}

const createActive = (input: CreateDeliveryStreamCommandInput) => createActiveDeliveryStream(client, input);

/** An HTTP endpoint delivery stream delivering at once (IntervalInSeconds 0) to `<endpoint>/<name>`. */
function httpStream(name: string, extra: Partial<HttpEndpointDestinationConfiguration> = {}): CreateDeliveryStreamCommandInput {
  return {
    DeliveryStreamName: name,
    HttpEndpointDestinationConfiguration: {
      EndpointConfiguration: { Url: `${endpointUrl}/${name}`, Name: 'test endpoint', AccessKey: accessKey },
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
      S3Configuration: { RoleARN: role, BucketARN: `arn:aws:s3:::backup-${name}`, ErrorOutputPrefix: 'errors/' },
      ...extra,
    },
  };
}

const bucketDir = (bucket: string) => path.join(gw.dataDir, 'firehose-buckets', bucket);
const records = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const put = (name: string, data: string[]) => client.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: data.map((d) => ({ Data: Buffer.from(d) })) }));
const decoded = (s: Seen) => s.body.records.map((r) => Buffer.from(r.data, 'base64').toString('utf8'));
const forPath = (name: string) => seen.filter((s) => s.path === `/${name}`);

/** The error objects under `<bucket>/<prefix>`: their JSON lines. */
function errorLines(bucket: string, prefix: string): Array<Record<string, unknown>> {
  return listObjects(bucketDir(bucket))
    .filter((k) => k.startsWith(prefix))
    .flatMap((k) => fs.readFileSync(path.join(bucketDir(bucket), k), 'utf8').trim().split('\n'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('HTTP endpoint destination', () => {
  it('POSTs the records as the specification defines, with the access key, common attributes and gzip', async () => {
    await createActive(
      httpStream('spec', {
        RequestConfiguration: { ContentEncoding: 'GZIP', CommonAttributes: [{ AttributeName: 'env', AttributeValue: 'test' }, { AttributeName: 'team', AttributeValue: 'data' }] },
      }),
    );
    const data = records('spec', 20);
    await put('spec', data);
    const s = await waitFor('a request', () => forPath('spec')[0]);
    expect(s.headers['x-amz-firehose-protocol-version']).toBe('1.0');
    expect(s.headers['x-amz-firehose-access-key']).toBe(accessKey);
    expect(s.headers['x-amz-firehose-source-arn']).toBe('arn:aws:firehose:us-east-1:000000000000:deliverystream/spec');
    expect(s.headers['x-amz-firehose-request-id']).toBe(s.body.requestId);
    expect(s.headers['content-type']).toBe('application/json');
    expect(s.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(String(s.headers['x-amz-firehose-common-attributes']))).toEqual({ commonAttributes: { env: 'test', team: 'data' } });
    expect(s.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(s.body.timestamp - Date.now())).toBeLessThan(10_000);
    expect(decoded(s)).toEqual(data);
    const metrics = await metricsWith(
      'tributary_firehose_DeliveryToHttpEndpoint_Records{delivery_stream="spec"} 20\n',
      'tributary_firehose_DeliveryToHttpEndpoint_Success{delivery_stream="spec"} 1\n',
    );
    expect(metrics).toMatch(/tributary_firehose_DeliveryToHttpEndpoint_DataFreshness\{delivery_stream="spec"\} [\d.]+\n/);
    // FailedDataOnly: the batch is done, and nothing is in the backup bucket.
    expect(listObjects(bucketDir('backup-spec'))).toEqual([]);

    const d = await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'spec' }));
    const dest = d.DeliveryStreamDescription!.Destinations![0]!;
    expect(dest.DestinationId).toBe('destinationId-000000000001');
    expect(dest.ExtendedS3DestinationDescription).toBeUndefined();
    const h = dest.HttpEndpointDestinationDescription!;
    expect(h.EndpointConfiguration).toEqual({ Url: `${endpointUrl}/spec`, Name: 'test endpoint' }); // never the access key
    expect(h.RetryOptions).toEqual({ DurationInSeconds: 300 });
    expect(h.S3BackupMode).toBe('FailedDataOnly');
    expect(h.BufferingHints).toEqual({ SizeInMBs: 1, IntervalInSeconds: 0 });
    expect(h.S3DestinationDescription?.BucketARN).toBe('arn:aws:s3:::backup-spec');
    expect(h.S3DestinationDescription?.BufferingHints).toEqual({ SizeInMBs: 5, IntervalInSeconds: 300 });
  });

  it('uses AWS defaults and sends no Content-Encoding or attribute headers when not configured', async () => {
    await createActive({
      DeliveryStreamName: 'plain',
      HttpEndpointDestinationConfiguration: {
        EndpointConfiguration: { Url: `${endpointUrl}/plain` },
        S3Configuration: { RoleARN: role, BucketARN: 'arn:aws:s3:::backup-plain' },
      },
    });
    const d = await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'plain' }));
    const h = d.DeliveryStreamDescription!.Destinations![0]!.HttpEndpointDestinationDescription!;
    // AWS's defaults for the HTTP endpoint's hints: 5 MiB / 300 s.
    expect(h.BufferingHints).toEqual({ SizeInMBs: 5, IntervalInSeconds: 300 });
    expect(h.RequestConfiguration).toEqual({ ContentEncoding: 'NONE' });
    await client.send(
      new UpdateDestinationCommand({
        DeliveryStreamName: 'plain',
        CurrentDeliveryStreamVersionId: d.DeliveryStreamDescription!.VersionId!,
        DestinationId: 'destinationId-000000000001',
        HttpEndpointDestinationUpdate: { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 }, RetryOptions: { DurationInSeconds: 60 } },
      }),
    );
    const d2 = await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'plain' }));
    expect(d2.DeliveryStreamDescription!.VersionId).toBe('2');
    const h2 = d2.DeliveryStreamDescription!.Destinations![0]!.HttpEndpointDestinationDescription!;
    expect(h2.RetryOptions).toEqual({ DurationInSeconds: 60 });
    expect(h2.EndpointConfiguration).toEqual({ Url: `${endpointUrl}/plain` });
    await put('plain', ['a', 'b']);
    const s = await waitFor('a request', () => forPath('plain')[0]);
    expect(s.headers['content-encoding']).toBeUndefined();
    expect(s.headers['x-amz-firehose-common-attributes']).toBeUndefined();
    expect(s.headers['x-amz-firehose-access-key']).toBeUndefined();
    expect(decoded(s)).toEqual(['a', 'b']);
  });

  it('retries a failing endpoint with the same request id and delivers once it recovers', async () => {
    let failures = 2;
    let acknowledged = 0;
    answer.set('/recover', (s) => {
      if (failures > 0) {
        failures--;
        return { status: 500, body: { requestId: s.body.requestId, errorMessage: 'busy' } };
      }
      acknowledged++;
      return { status: 200, body: { requestId: s.body.requestId, timestamp: Date.now() } };
    });
    await createActive(httpStream('recover', { RetryOptions: { DurationInSeconds: 30 } }));
    const data = records('recover', 10);
    await put('recover', data);
    await metricsWith(
      'tributary_firehose_DeliveryToHttpEndpoint_Records{delivery_stream="recover"} 10\n',
      'tributary_firehose_DeliveryToHttpEndpoint_Attempts{delivery_stream="recover"} 3\n', // Two failed, one answered.
    );
    // A later batch: had the first been delivered again, that would have come before it.
    await put('recover', ['after']);
    await waitFor('the later batch', () => acknowledged === 2);
    const reqs = forPath('recover');
    expect(reqs.map(decoded)).toEqual([data, data, data, ['after']]);
    expect(new Set(reqs.slice(0, 3).map((s) => s.body.requestId)).size).toBe(1);
    expect(reqs[3]!.body.requestId).not.toBe(reqs[0]!.body.requestId);
    expect(errorLines('backup-recover', 'errors/')).toEqual([]);
  });

  it('routes records to the backup bucket error prefix once the retry duration runs out, losing none', async () => {
    answer.set('/down', () => ({ status: 503, body: { errorMessage: 'down for maintenance' } }));
    await createActive(httpStream('down', { RetryOptions: { DurationInSeconds: 2 } }));
    const data = records('down', 50);
    const started = Date.now();
    await put('down', data);
    const lines = await waitFor('error output', () => {
      const l = errorLines('backup-down', 'errors/http-endpoint-failed/');
      return l.length === data.length ? l : undefined;
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(lines.map((l) => Buffer.from(String(l.rawData), 'base64').toString('utf8'))).toEqual(data);
    expect(lines[0]!.errorCode).toBe('HttpEndpoint.DestinationException');
    expect(String(lines[0]!.errorMessage)).toContain('503');
    expect(lines[0]!.attemptsMade).toBeGreaterThanOrEqual(2);
    // The key carries the error output type and the hour path.
    expect(listObjects(bucketDir('backup-down'))[0]).toMatch(/^errors\/http-endpoint-failed\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/down-1-/);
    await metricsWith('tributary_firehose_DeliveryToErrorOutput_Records{delivery_stream="down",error_output_type="http-endpoint-failed"} 50\n');
  });

  it('counts an answer naming the wrong request id as a failure', async () => {
    answer.set('/wrongid', () => ({ status: 200, body: { requestId: 'not-the-one', timestamp: Date.now() } }));
    await createActive(httpStream('wrongid', { RetryOptions: { DurationInSeconds: 0 } }));
    await put('wrongid', ['x', 'y']);
    const lines = await waitFor('error output', () => {
      const l = errorLines('backup-wrongid', 'errors/http-endpoint-failed/');
      return l.length === 2 ? l : undefined;
    });
    expect(lines[0]!.errorCode).toBe('HttpEndpoint.InvalidResponseFromDestination');
    expect(forPath('wrongid').length).toBeGreaterThanOrEqual(1);
  });

  it('fails over an endpoint that refuses connections', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await createActive({
      DeliveryStreamName: 'refused',
      HttpEndpointDestinationConfiguration: {
        EndpointConfiguration: { Url: `http://127.0.0.1:${port}/` },
        BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
        RetryOptions: { DurationInSeconds: 1 },
        S3Configuration: { RoleARN: role, BucketARN: 'arn:aws:s3:::backup-refused' },
      },
    });
    await put('refused', ['r']);
    // No ErrorOutputPrefix: `<error-output-type>/YYYY/MM/DD/HH/`.
    const lines = await waitFor('error output', () => {
      const l = errorLines('backup-refused', 'http-endpoint-failed/');
      return l.length === 1 ? l : undefined;
    });
    expect(lines[0]!.errorCode).toBe('HttpEndpoint.ConnectionFailed');
  });

  it('backs up every record to the bucket with S3BackupMode AllData', async () => {
    await createActive(httpStream('alldata', { S3BackupMode: 'AllData', S3Configuration: { RoleARN: role, BucketARN: 'arn:aws:s3:::backup-alldata', Prefix: 'all/', CompressionFormat: 'GZIP' } }));
    const first = records('alldata-a', 30);
    const second = records('alldata-b', 30);
    await put('alldata', first);
    await waitFor('first request', () => forPath('alldata').length >= 1);
    await put('alldata', second);
    const keys = await waitFor('backup objects', () => {
      const k = listObjects(bucketDir('backup-alldata'));
      const got = k.flatMap((key) => zlib.gunzipSync(fs.readFileSync(path.join(bucketDir('backup-alldata'), key))).toString('utf8').match(/alldata-[ab]-\d+/g) ?? []);
      return got.length === 60 ? k : undefined;
    });
    expect(keys.every((k) => /^all\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/alldata-1-.*\.gz$/.test(k))).toBe(true);
    expect(forPath('alldata').flatMap(decoded)).toEqual([...first, ...second]);
    await metricsWith('tributary_firehose_BackupToS3_Records{delivery_stream="alldata"} 60\n');
  });

  it('refuses values outside the model with ValidationException and https-less garbage with InvalidArgumentException', async () => {
    const err = async (p: Promise<unknown>) => p.then(() => undefined, (e: Error) => ({ name: e.name, message: e.message }));
    const big = await err(client.send(new CreateDeliveryStreamCommand(httpStream('bad1', { BufferingHints: { SizeInMBs: 65, IntervalInSeconds: 0 } }))));
    expect(big?.name).toBe('ValidationException');
    expect(big?.message).toContain('less than or equal to 64');
    const retry = await err(client.send(new CreateDeliveryStreamCommand(httpStream('bad2', { RetryOptions: { DurationInSeconds: 7201 } }))));
    expect(retry?.name).toBe('ValidationException');
    const url = await err(client.send(new CreateDeliveryStreamCommand(httpStream('bad3', { EndpointConfiguration: { Url: 'ftp://example.com/' } }))));
    expect(url?.name).toBe('ValidationException');
    const mode = await err(client.send(new CreateDeliveryStreamCommand(httpStream('bad4', { S3BackupMode: 'Everything' as 'AllData' }))));
    expect(mode?.name).toBe('ValidationException');
  });
});

describe('S3 destination retry duration (firehose.s3RetryMs)', () => {
  it('routes a batch whose object keeps failing to s3-failed/ in the error prefix, with the error code', async () => {
    // A file where the Prefix's directory should be: every object write fails, the error prefix still works.
    fs.mkdirSync(bucketDir('s3retry'), { recursive: true });
    fs.writeFileSync(path.join(bucketDir('s3retry'), 'blocked'), 'not a directory');
    await createActive({
      DeliveryStreamName: 's3retry',
      ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::s3retry', Prefix: 'blocked/', ErrorOutputPrefix: 'errors/', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } },
    });
    const data = records('s3retry', 5);
    await put('s3retry', data);
    const lines = await waitFor('error output', () => {
      const l = errorLines('s3retry', 'errors/s3-failed/');
      return l.length === data.length ? l : undefined;
    });
    expect(lines.map((l) => Buffer.from(String(l.rawData), 'base64').toString('utf8'))).toEqual(data);
    expect(String(lines[0]!.errorCode)).toMatch(/^S3\./);
    const metrics = await metricsWith('tributary_firehose_DeliveryToErrorOutput_Records{delivery_stream="s3retry",error_output_type="s3-failed"} 5\n');
    expect(metrics).not.toContain('tributary_firehose_DeliveryToS3_Records{delivery_stream="s3retry"}');
  });
});
