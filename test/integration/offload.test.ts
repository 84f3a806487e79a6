// Proves the PutRecords offload (parse, SigV4, validation, base64 and MD5 in a
// worker thread) and the Firehose PutRecordBatch offload (parse, SigV4,
// validation, base64) are invisible on the wire: a gateway with workers and
// one without answer the same requests with the same status and body, errors
// included, and route records to the same shards (deliver the same bytes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { CreateDeliveryStreamCommand, DescribeDeliveryStreamCommand, FirehoseClient } from '@aws-sdk/client-firehose';
import { kinesisClient, testGateway, testOperator, waitActive } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/wait.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { signRequest } from '../../sdk/protocol/sigv4.ts';
import { listObjects } from '../../gateway/firehose/destinations/filesystem.ts';
import fs from 'node:fs';
import path from 'node:path';

let withWorkers: Gateway;
let inline: Gateway;
beforeAll(async () => {
  // Every request to the worker, however idle the main thread (by default an idle one parses requests itself).
  withWorkers = await testGateway({ offloadWorkers: 1, offloadInlineBusyPercentMax: 0, enforceLimits: false });
  inline = await testGateway({ offloadWorkers: 0, enforceLimits: false });
  expect(await withWorkers.startOffloadWorkers()).toBe(true); // They start with the first request otherwise, which would run inline.
  for (const gw of [withWorkers, inline]) {
    const c = kinesisClient(gw.url);
    await c.send(new CreateStreamCommand({ StreamName: 'o', ShardCount: 3 }));
    await waitActive(c, 'o');
    const f = new FirehoseClient({ endpoint: gw.url, region: 'us-east-1', credentials: { ...testOperator }, maxAttempts: 1 });
    await f.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: 'fo',
      ExtendedS3DestinationConfiguration: { RoleARN: 'arn:aws:iam::000000000000:role/f', BucketARN: 'arn:aws:s3:::fo', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } },
    }));
    await waitFor('fo ACTIVE', async () => (await f.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'fo' }))).DeliveryStreamDescription?.DeliveryStreamStatus === 'ACTIVE');
    f.destroy();
  }
});
afterAll(async () => {
  await withWorkers.close();
  await inline.close();
});

function send(gw: Gateway, body: string, sign: { secret?: string; target?: string; service?: string } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(gw.url);
  const headers = signRequest({
    method: 'POST', url: new URL('/', url), headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': sign.target ?? 'Kinesis_20131202.PutRecords' }, body,
    accessKeyId: testOperator.accessKeyId, secretAccessKey: sign.secret ?? testOperator.secretAccessKey, region: 'us-east-1', service: sign.service ?? 'kinesis', now: Date.now(),
  });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/', headers: { ...headers, host: url.host, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Sequence numbers differ between gateways (creation times); shard placement and everything else must not. */
const shape = (r: { status: number; body: Record<string, unknown> }) => ({
  status: r.status,
  body: Array.isArray(r.body.Records)
    ? { ...r.body, Records: (r.body.Records as Array<Record<string, string>>).map((x) => ({ ...x, SequenceNumber: x.SequenceNumber ? 'seq' : undefined })) }
    : r.body,
});

describe('PutRecords offload', () => {
  it('answers exactly as the inline path does', async () => {
    const records = Array.from({ length: 40 }, (_, i) => ({ PartitionKey: `key-${i}`, Data: Buffer.from(`r${i}`).toString('base64') }));
    const cases: Array<[string, { secret?: string }?]> = [
      [JSON.stringify({ StreamName: 'o', Records: records })],
      [JSON.stringify({ StreamName: 'o', Records: [{ PartitionKey: 'k', ExplicitHashKey: '1', Data: 'AA==' }, { PartitionKey: 'k', ExplicitHashKey: '340282366920938463463374607431768211455', Data: 'AQ==' }] })],
      [JSON.stringify({ StreamName: 'o', Records: [{ PartitionKey: 'k', ExplicitHashKey: '340282366920938463463374607431768211456', Data: 'AA==' }] })],
      [JSON.stringify({ StreamName: 'o', Records: [{ PartitionKey: 'k', Data: 'not base64!' }] })],
      [JSON.stringify({ StreamName: 'o', Records: [{ PartitionKey: '', Data: 'AA==' }] })],
      [JSON.stringify({ StreamName: 'o', Records: 'nope' })],
      [JSON.stringify({ StreamName: 'missing', Records: records })],
      ['{"StreamName": "o", "Records": [', {}],
      ['[1,2]'],
      [JSON.stringify({ StreamName: 'o', Records: records }), { secret: 'wrong-secret-wrong-secret' }],
    ];
    for (const [body, sign] of cases) {
      const a = await send(withWorkers, body, sign);
      const b = await send(inline, body, sign);
      expect(shape(a), body.slice(0, 80)).toEqual(shape(b));
    }
  });

  it('keeps both paths busy under concurrent load without losing or misrouting a record', async () => {
    const batches = Array.from({ length: 24 }, (_, b) => JSON.stringify({ StreamName: 'o', Records: Array.from({ length: 100 }, (_, i) => ({ PartitionKey: `b${b}-${i}`, Data: Buffer.alloc(64, b).toString('base64') })) }));
    const results = await Promise.all(batches.map((body) => send(withWorkers, body)));
    const reference = await Promise.all(batches.slice(0, 4).map((body) => send(inline, body)));
    expect(results.every((r) => r.status === 200 && r.body.FailedRecordCount === 0)).toBe(true);
    for (let i = 0; i < 4; i++) expect(shape(results[i]!)).toEqual(shape(reference[i]!));
  });
});

describe('buffers passed between the threads (issue #19)', () => {
  it('stores every byte as sent while bodies and frame buffers are reused across requests', async () => {
    // 60 requests of 120 x 1 KiB random records, 12 at a time: bodies and frames well past the 64 KiB
    // pooling threshold, each buffer used by several requests in turn. A buffer reused while a write
    // still held it would store another request's bytes under these keys.
    const sent = new Map<string, Buffer>();
    const bodies = Array.from({ length: 60 }, (_, b) => {
      const Records = Array.from({ length: 120 }, (_, i) => {
        const data = randomBytes(1024);
        sent.set(`p${b}-${i}`, data);
        return { PartitionKey: `p${b}-${i}`, Data: data.toString('base64') };
      });
      return JSON.stringify({ StreamName: 'o', Records });
    });
    for (let i = 0; i < bodies.length; i += 12) {
      const results = await Promise.all(bodies.slice(i, i + 12).map((body) => send(withWorkers, body)));
      expect(results.every((r) => r.status === 200 && r.body.FailedRecordCount === 0)).toBe(true);
    }
    const c = kinesisClient(withWorkers.url);
    const got = new Map<string, Buffer>();
    for (const s of (await c.send(new ListShardsCommand({ StreamName: 'o' }))).Shards!) {
      let { ShardIterator } = await c.send(new GetShardIteratorCommand({ StreamName: 'o', ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
      for (;;) {
        const r = await c.send(new GetRecordsCommand({ ShardIterator, Limit: 10_000 }));
        for (const x of r.Records!) if (x.PartitionKey!.startsWith('p')) got.set(x.PartitionKey!, Buffer.from(x.Data!));
        if (!r.Records!.length && r.MillisBehindLatest === 0) break;
        ShardIterator = r.NextShardIterator;
      }
    }
    expect(got.size).toBe(sent.size);
    let wrong = 0;
    for (const [k, v] of sent) if (!got.get(k)?.equals(v)) wrong++;
    expect(wrong).toBe(0);
  }, 60_000);
});

describe('Firehose PutRecordBatch offload', () => {
  const firehose = { target: 'Firehose_20150804.PutRecordBatch', service: 'firehose' };
  /** Record ids differ between gateways (random per delivery stream); whether each record got one must not. */
  const masked = (r: { status: number; body: Record<string, unknown> }) => ({
    status: r.status,
    body: Array.isArray(r.body.RequestResponses)
      ? { ...r.body, RequestResponses: (r.body.RequestResponses as Array<Record<string, string>>).map((x) => ({ ...x, RecordId: x.RecordId ? 'id' : undefined })) }
      : r.body,
  });

  it('answers exactly as the inline path does, errors in the same order', async () => {
    const records = Array.from({ length: 40 }, (_, i) => ({ Data: Buffer.from(`{"i":${i}}`).toString('base64') }));
    const big = Buffer.alloc(1_000_000, 1).toString('base64');
    const cases: Array<[string, { secret?: string; service?: string }?]> = [
      [JSON.stringify({ DeliveryStreamName: 'fo', Records: records })],
      [JSON.stringify({ DeliveryStreamName: 'fo', Records: [{ Data: '' }] })],
      [JSON.stringify({ DeliveryStreamName: 'fo', Records: [{ Data: 'not base64!' }] })],
      [JSON.stringify({ DeliveryStreamName: 'fo', Records: [] })],
      [JSON.stringify({ DeliveryStreamName: 'fo', Records: [{}] })],
      [JSON.stringify({ DeliveryStreamName: 'fo', Records: 'nope' })],
      [JSON.stringify({ DeliveryStreamName: 'bad name!', Records: records })],
      [JSON.stringify({ DeliveryStreamName: 'missing', Records: records })],
      [JSON.stringify({ DeliveryStreamName: 'fo', Records: Array.from({ length: 5 }, () => ({ Data: big })) })],
      ['{"DeliveryStreamName": "fo", "Records": ['],
      ['[1,2]'],
      [JSON.stringify({ DeliveryStreamName: 'fo', Records: records }), { secret: 'wrong-secret-wrong-secret' }],
      [JSON.stringify({ DeliveryStreamName: 'fo', Records: records }), { service: 'kinesis' }],
      // A bad signature on a body that does not parse: the parse error comes first, as on the generic path.
      ['{', { secret: 'wrong-secret-wrong-secret' }],
    ];
    for (const [body, sign] of cases) {
      const a = await send(withWorkers, body, { ...firehose, ...sign });
      const b = await send(inline, body, { ...firehose, ...sign });
      expect(masked(a), body.slice(0, 80)).toEqual(masked(b));
    }
  });

  it('stages every record of concurrent batches through both paths', async () => {
    const batches = Array.from({ length: 24 }, (_, b) => JSON.stringify({ DeliveryStreamName: 'fo', Records: Array.from({ length: 100 }, (_, i) => ({ Data: Buffer.from(`${b}-${i}\n`).toString('base64') })) }));
    const results = await Promise.all(batches.map((body) => send(withWorkers, body, firehose)));
    expect(results.every((r) => r.status === 200 && r.body.FailedPutCount === 0 && (r.body.RequestResponses as unknown[]).length === 100)).toBe(true);
    await withWorkers.firehose.streams.get('fo')!.worker.flush();
    const dir = path.join((withWorkers as Gateway & { dataDir: string }).dataDir, 'firehose-buckets', 'fo');
    const delivered = listObjects(dir).map((k) => fs.readFileSync(path.join(dir, k), 'utf8')).join('\n');
    const lines = new Set(delivered.split('\n').filter(Boolean));
    for (let b = 0; b < 24; b++) for (let i = 0; i < 100; i++) expect(lines.has(`${b}-${i}`)).toBe(true);
  });
});
