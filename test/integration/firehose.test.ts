// Firehose end to end with the stock @aws-sdk/client-firehose (and the AWS
// CLI v2): the API and its errors, delivery to the filesystem destination in
// every compression read back with standard tools (gunzip, unzip, an
// independent Snappy decoder), the buffering triggers, object naming, the
// staging cap, and crash safety of a real gateway process under SIGKILL.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateDeliveryStreamCommand, DeleteDeliveryStreamCommand, DescribeDeliveryStreamCommand, FirehoseClient, ListDeliveryStreamsCommand,
  ListTagsForDeliveryStreamCommand, PutRecordBatchCommand, PutRecordCommand, StartDeliveryStreamEncryptionCommand, StopDeliveryStreamEncryptionCommand,
  TagDeliveryStreamCommand, UntagDeliveryStreamCommand, UpdateDestinationCommand, type CreateDeliveryStreamCommandInput,
} from '@aws-sdk/client-firehose';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import snappy from 'snappy';
import { aggregate } from '../../sdk/protocol/kpl-aggregation.ts';
import { crc32c } from '../../sdk/protocol/crc32c.ts';
import { listObjects } from '../../gateway/firehose/destinations/filesystem.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { createActiveStream, kinesisClient, tempDir, testGateway, testOperator, metricsText } from '../helpers/gateway.ts';
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.ts';
import { createActiveDeliveryStream, firehoseClient } from '../helpers/firehose.ts';
import { waitFor as waitForCondition } from '../helpers/wait.ts';

const run = promisify(execFile);
const role = 'arn:aws:iam::000000000000:role/firehose';
let gw: Gateway & { dataDir: string };
let client: FirehoseClient;
let mappedDir: string;
let flakyDir: string;

const bucketDir = (bucket: string) => path.join(gw.dataDir, 'firehose-buckets', bucket);
const newline = { Enabled: true, Processors: [{ Type: 'AppendDelimiterToRecord' as const }] };

const createActive = (input: CreateDeliveryStreamCommandInput, c = client) => createActiveDeliveryStream(c, input);

const waitFor = <T>(what: string, fn: () => T | Promise<T>, timeoutMs = 15_000) => waitForCondition(what, fn, { timeoutMs });
const describeStream = async (name: string) => (await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name }))).DeliveryStreamDescription!;
const scrape = () => metricsText(gw);

async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string; status: number | undefined }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected an error');
}

const records = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${prefix}-${i}`, v: 'x'.repeat(i % 50) }));

/** Decoders for each compression, by standard tools where there is one. */
async function decode(format: string, file: string): Promise<Buffer> {
  switch (format) {
    case 'UNCOMPRESSED':
      return fs.readFileSync(file);
    case 'GZIP':
      return (await run('gunzip', ['-c', file], { encoding: 'buffer', maxBuffer: 1 << 28 })).stdout;
    case 'ZIP':
      return (await run('unzip', ['-p', file], { encoding: 'buffer', maxBuffer: 1 << 28 })).stdout;
    case 'Snappy':
      return unframeSnappy(fs.readFileSync(file));
    case 'HADOOP_SNAPPY':
      return unframeHadoop(fs.readFileSync(file));
  }
  throw new Error(format);
}

/** The framing format parsed here, each block decoded by the native `snappy` package (Rust snap), CRCs checked. */
function unframeSnappy(buf: Buffer): Buffer {
  expect(buf.subarray(0, 10).toString('latin1')).toBe('\xff\x06\x00\x00sNaPpY');
  const out: Buffer[] = [];
  for (let at = 10; at < buf.length; ) {
    const type = buf[at]!;
    const len = buf.readUIntLE(at + 1, 3);
    const body = buf.subarray(at + 8, at + 4 + len);
    const data = type === 0 ? (snappy.uncompressSync(body, { asBuffer: true }) as Buffer) : body;
    expect(type === 0 || type === 1).toBe(true);
    const crc = crc32c(data);
    expect(buf.readUInt32LE(at + 4)).toBe(((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0);
    out.push(data);
    at += 4 + len;
  }
  return Buffer.concat(out);
}

function unframeHadoop(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const raw = buf.readUInt32BE(at);
    const clen = buf.readUInt32BE(at + 4);
    const data = snappy.uncompressSync(buf.subarray(at + 8, at + 8 + clen), { asBuffer: true }) as Buffer;
    expect(data.length).toBe(raw);
    out.push(data);
    at += 8 + clen;
  }
  return Buffer.concat(out);
}

beforeAll(async () => {
  mappedDir = tempDir('trb-fh-mapped-');
  flakyDir = path.join(tempDir('trb-fh-flaky-'), 'bucket');
  gw = await testGateway({ firehoseBuckets: { mapped: mappedDir, flaky: flakyDir }, firehoseStagingBytesMax: 2 * 1024 * 1024 });
  client = firehoseClient(gw.url);
});
afterAll(() => gw?.close());

describe('Firehose API', () => {
  it('creates, describes with AWS defaults, lists, updates and deletes', async () => {
    const created = await client.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: 'api', ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::api-bucket' }, Tags: [{ Key: 'team', Value: 'edge' }],
    }));
    expect(created.DeliveryStreamARN).toBe('arn:aws:firehose:us-east-1:000000000000:deliverystream/api');
    // (CREATING, the state before, has its own test below on a gateway that holds it.)
    await waitFor('api ACTIVE', async () => (await describeStream('api')).DeliveryStreamStatus === 'ACTIVE');
    const d = (await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'api' }))).DeliveryStreamDescription!;
    expect(d.DeliveryStreamStatus).toBe('ACTIVE');
    expect(d.DeliveryStreamType).toBe('DirectPut');
    expect(d.VersionId).toBe('1');
    expect(d.CreateTimestamp).toBeInstanceOf(Date);
    expect(d.DeliveryStreamEncryptionConfiguration).toEqual({ Status: 'DISABLED' });
    expect(d.HasMoreDestinations).toBe(false);
    const dest = d.Destinations![0]!;
    expect(dest.DestinationId).toBe('destinationId-000000000001');
    expect(dest.ExtendedS3DestinationDescription).toMatchObject({
      BucketARN: 'arn:aws:s3:::api-bucket', RoleARN: role, BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300 }, CompressionFormat: 'UNCOMPRESSED',
      EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' }, S3BackupMode: 'Disabled',
    });
    expect(dest.S3DestinationDescription).toMatchObject({ BucketARN: 'arn:aws:s3:::api-bucket', BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300 } });

    const listed = await client.send(new ListDeliveryStreamsCommand({}));
    expect(listed.DeliveryStreamNames).toContain('api');
    expect(listed.HasMoreDeliveryStreams).toBe(false);
    expect((await client.send(new ListDeliveryStreamsCommand({ DeliveryStreamType: 'KinesisStreamAsSource' }))).DeliveryStreamNames).toEqual([]);

    await client.send(new UpdateDestinationCommand({
      DeliveryStreamName: 'api', CurrentDeliveryStreamVersionId: '1', DestinationId: 'destinationId-000000000001',
      ExtendedS3DestinationUpdate: { BufferingHints: { IntervalInSeconds: 60 }, CompressionFormat: 'GZIP' },
    }));
    const after = (await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'api' }))).DeliveryStreamDescription!;
    expect(after.VersionId).toBe('2');
    expect(after.LastUpdateTimestamp).toBeInstanceOf(Date);
    expect(after.Destinations![0]!.ExtendedS3DestinationDescription).toMatchObject({ BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 60 }, CompressionFormat: 'GZIP' });
    const stale = await errorOf(client.send(new UpdateDestinationCommand({
      DeliveryStreamName: 'api', CurrentDeliveryStreamVersionId: '1', DestinationId: 'destinationId-000000000001', ExtendedS3DestinationUpdate: { Prefix: 'x/' },
    })));
    expect(stale.name).toBe('ConcurrentModificationException');
    expect(stale.status).toBe(400);

    await client.send(new TagDeliveryStreamCommand({ DeliveryStreamName: 'api', Tags: [{ Key: 'env', Value: 'test' }] }));
    await client.send(new UntagDeliveryStreamCommand({ DeliveryStreamName: 'api', TagKeys: ['team'] }));
    const tags = await client.send(new ListTagsForDeliveryStreamCommand({ DeliveryStreamName: 'api' }));
    expect(tags.Tags).toEqual([{ Key: 'env', Value: 'test' }]);
    expect(tags.HasMoreTags).toBe(false);

    await client.send(new StartDeliveryStreamEncryptionCommand({ DeliveryStreamName: 'api', DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' } }));
    // ENABLING lasts this gateway's 50 ms update delay, too short to catch on a busy machine: the test below sees it.
    await waitFor('encryption ENABLED', async () => (await describeStream('api')).DeliveryStreamEncryptionConfiguration!.Status === 'ENABLED');
    const put = await client.send(new PutRecordCommand({ DeliveryStreamName: 'api', Record: { Data: Buffer.from('x') } }));
    expect(put.Encrypted).toBe(true);
    expect(put.RecordId).toMatch(/^[0-9a-f]{64}$/);
    await client.send(new StopDeliveryStreamEncryptionCommand({ DeliveryStreamName: 'api' }));
    await waitFor('encryption DISABLED', async () => (await describeStream('api')).DeliveryStreamEncryptionConfiguration!.Status === 'DISABLED');
    expect((await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'api' }))).DeliveryStreamDescription!.DeliveryStreamEncryptionConfiguration).toEqual({ Status: 'DISABLED' });

    await client.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: 'api' }));
    expect((await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'api' }))).DeliveryStreamDescription!.DeliveryStreamStatus).toBe('DELETING');
    // Deleting delivers what was staged first: the one record above lands before the stream is gone.
    await waitFor('api gone', async () => (await errorOf(client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'api' })))).name === 'ResourceNotFoundException');
    const gone = await errorOf(client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'api' })));
    expect(gone).toEqual({ name: 'ResourceNotFoundException', message: 'Firehose api under account 000000000000 not found.', status: 400 });
    expect(listObjects(bucketDir('api-bucket'))).toHaveLength(1);
  });

  it('is CREATING until its create delay has passed', async () => {
    const slow = await testGateway({ createDelayMs: 600_000 });
    const c = firehoseClient(slow.url);
    try {
      await c.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: 'slow', ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::slow' } }));
      const d = await c.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'slow' }));
      expect(d.DeliveryStreamDescription!.DeliveryStreamStatus).toBe('CREATING');
    } finally {
      c.destroy();
      await slow.close();
    }
  });

  it('is ENABLING until its update delay has passed', async () => {
    const slow = await testGateway({ createDelayMs: 0, updateDelayMs: 600_000 });
    const c = firehoseClient(slow.url);
    try {
      await c.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: 'slow-enc', ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::slow' } }));
      await waitFor('slow-enc ACTIVE', async () => (await c.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'slow-enc' }))).DeliveryStreamDescription!.DeliveryStreamStatus === 'ACTIVE');
      await c.send(new StartDeliveryStreamEncryptionCommand({ DeliveryStreamName: 'slow-enc', DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' } }));
      const d = await c.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'slow-enc' }));
      expect(d.DeliveryStreamDescription!.DeliveryStreamEncryptionConfiguration).toEqual({ Status: 'ENABLING', KeyType: 'AWS_OWNED_CMK' });
    } finally {
      c.destroy();
      await slow.close();
    }
  });

  it('answers errors with AWS types and messages', async () => {
    await createActive({ DeliveryStreamName: 'errs', S3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::errs' } });
    const dup = await errorOf(client.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: 'errs', S3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::errs' } })));
    expect(dup).toEqual({ name: 'ResourceInUseException', message: 'Firehose errs under accountId 000000000000 already exists', status: 400 });
    const badName = await errorOf(client.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: 'bad name!', S3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::errs' } })));
    expect(badName.name).toBe('ValidationException');
    expect(badName.message).toBe("1 validation error detected: Value 'bad name!' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
    const hints = await errorOf(client.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: 'hints', ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::errs', BufferingHints: { SizeInMBs: 129, IntervalInSeconds: 901 } },
    })));
    expect(hints.name).toBe('ValidationException');
    expect(hints.message).toContain("Value '129' at 'extendedS3DestinationConfiguration.bufferingHints.sizeInMBs' failed to satisfy constraint: Member must have value less than or equal to 128");
    expect(hints.message).toContain("Value '901' at 'extendedS3DestinationConfiguration.bufferingHints.intervalInSeconds' failed to satisfy constraint: Member must have value less than or equal to 900");
    const none = await errorOf(client.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: 'none' })));
    expect(none.name).toBe('InvalidArgumentException');
    const exprs = await errorOf(client.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: 'exprs', ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::errs', Prefix: 'a/!{timestamp:yyyy}/' },
    })));
    expect(exprs.name).toBe('InvalidArgumentException');

    const missing = await errorOf(client.send(new PutRecordCommand({ DeliveryStreamName: 'nope', Record: { Data: Buffer.from('x') } })));
    expect(missing).toEqual({ name: 'ResourceNotFoundException', message: 'Firehose nope under account 000000000000 not found.', status: 400 });
    const tooMany = await errorOf(client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'errs', Records: Array.from({ length: 501 }, () => ({ Data: Buffer.from('x') })) })));
    expect(tooMany.name).toBe('ValidationException');
    expect(tooMany.message).toContain("at 'records' failed to satisfy constraint: Member must have length less than or equal to 500");
    const big = await errorOf(client.send(new PutRecordCommand({ DeliveryStreamName: 'errs', Record: { Data: Buffer.alloc(1000 * 1024 + 1) } })));
    expect(big.name).toBe('ValidationException');
    expect(big.message).toBe("1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1024001 cap=1024001]' at 'record.data' failed to satisfy constraint: Member must have length less than or equal to 1024000");
    const heavy = await errorOf(client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'errs', Records: Array.from({ length: 5 }, () => ({ Data: Buffer.alloc(900 * 1024) })) })));
    expect(heavy).toMatchObject({ name: 'InvalidArgumentException', status: 400 });
    const version = await errorOf(client.send(new UpdateDestinationCommand({ DeliveryStreamName: 'errs', CurrentDeliveryStreamVersionId: 'one', DestinationId: 'destinationId-000000000001' })));
    expect(version.name).toBe('ValidationException');
  });

  it("authorizes devices like PutRecords: their own delivery streams only", async () => {
    for (const name of ['logs-dev7', 'other-logs']) await createActive({ DeliveryStreamName: name, ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: `arn:aws:s3:::${name}` } });
    const { code } = await gw.principals.createPairingCode('dev7', 'device', 60_000);
    const paired = await gw.principals.redeem(code, randomBytes(32).toString('base64'));
    const device = firehoseClient(gw.url, { accessKeyId: paired!.principal.accessKeyId, secretAccessKey: paired!.secretAccessKey });
    const ok = await device.send(new PutRecordBatchCommand({ DeliveryStreamName: 'logs-dev7', Records: [{ Data: Buffer.from('x') }] }));
    expect(ok.FailedPutCount).toBe(0);
    const denied = await errorOf(device.send(new PutRecordBatchCommand({ DeliveryStreamName: 'other-logs', Records: [{ Data: Buffer.from('x') }] })));
    expect(denied.name).toBe('AccessDeniedException');
    const createDenied = await errorOf(device.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: 'new-dev7', S3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::x' } })));
    expect(createDenied.name).toBe('AccessDeniedException');
    device.destroy();
  });

  it('encrypts staging at rest under server-side encryption and delivers plaintext', async () => {
    await createActive({
      DeliveryStreamName: 'sse', DeliveryStreamEncryptionConfigurationInput: { KeyType: 'CUSTOMER_MANAGED_CMK', KeyARN: 'arn:aws:kms:us-east-1:000000000000:key/0b6f5d4e-1c2a-4e8b-9f00-123456789abc' },
      ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::sse', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 900 } },
    });
    const secret = 'top-secret-telemetry-0123456789';
    const put = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'sse', Records: [{ Data: Buffer.from(secret) }] }));
    expect(put.Encrypted).toBe(true);
    const stagingRoot = path.join(gw.dataDir, 'firehose', fs.readdirSync(path.join(gw.dataDir, 'firehose')).find((d) => d.startsWith('sse-'))!, 'staging');
    const staged = Buffer.concat(fs.readdirSync(stagingRoot).filter((f) => f.endsWith('.seg')).map((f) => fs.readFileSync(path.join(stagingRoot, f))));
    expect(staged.length).toBeGreaterThan(secret.length);
    expect(staged.includes(Buffer.from(secret))).toBe(false);
    await client.send(new UpdateDestinationCommand({
      DeliveryStreamName: 'sse', CurrentDeliveryStreamVersionId: '1', DestinationId: 'destinationId-000000000001', ExtendedS3DestinationUpdate: { BufferingHints: { IntervalInSeconds: 0 } },
    }));
    const keys = await waitFor('sse delivery', () => {
      const k = listObjects(bucketDir('sse'));
      return k.length === 1 && k;
    });
    expect(keys[0]).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\d{2}\/sse-2-/);
    expect(fs.readFileSync(path.join(bucketDir('sse'), keys[0]!), 'utf8')).toBe(secret);
  });

  it('fails records one by one past the staging cap (ServiceUnavailableException)', async () => {
    await createActive({ DeliveryStreamName: 'capped', ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::capped', BufferingHints: { SizeInMBs: 128, IntervalInSeconds: 900 } } });
    const batch = Array.from({ length: 3 }, () => ({ Data: Buffer.alloc(900 * 1024, 1) }));
    const r = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'capped', Records: batch }));
    expect(r.FailedPutCount).toBe(1);
    expect(r.RequestResponses![0]!.RecordId).toBeDefined();
    expect(r.RequestResponses![1]!.RecordId).toBeDefined();
    expect(r.RequestResponses![2]).toEqual({ ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' });
    await client.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: 'capped' }));
  });
});

describe('Firehose delivery to the filesystem', () => {
  for (const format of ['UNCOMPRESSED', 'GZIP', 'ZIP', 'Snappy', 'HADOOP_SNAPPY'] as const) {
    it(`delivers ${format} objects that standard tools read back`, async () => {
      const name = `fmt-${format.toLowerCase().replace('_', '-')}`;
      await createActive({
        DeliveryStreamName: name,
        ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: `arn:aws:s3:::${name}`, CompressionFormat: format, BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 }, ProcessingConfiguration: newline },
      });
      const sent = [...records(`${format}-a`, 400), ...records(`${format}-b`, 300)];
      await client.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: sent.slice(0, 400).map((s) => ({ Data: Buffer.from(s) })) }));
      const r = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: sent.slice(400).map((s) => ({ Data: Buffer.from(s) })) }));
      expect(r.FailedPutCount).toBe(0);
      expect(r.RequestResponses).toHaveLength(300);
      const dir = bucketDir(name);
      const expected = sent.map((s) => s + '\n').join('');
      // Both batches may land in one object or in two (a second interval later).
      let all: string[] = [];
      let text = '';
      await waitFor(`${format} delivery of every record`, async () => {
        all = listObjects(dir);
        text = (await Promise.all(all.map((k) => decode(format, path.join(dir, k))))).map((b) => b.toString()).join('');
        return text.length >= expected.length;
      });
      const ext = { UNCOMPRESSED: '', GZIP: '.gz', ZIP: '.zip', Snappy: '.snappy', HADOOP_SNAPPY: '.hsnappy' }[format];
      for (const k of all) {
        expect(k).toMatch(new RegExp(`^\\d{4}/\\d{2}/\\d{2}/\\d{2}/${name}-1-\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-[0-9a-f-]{36}${ext.replace('.', '\\.')}$`));
      }
      // Objects written in the same second sort by their UUID: compare as lines.
      expect(text.split('\n').sort()).toEqual(expected.split('\n').sort());
      if (all.length === 1) expect(text).toBe(expected);
    });
  }

  it('delivers on the interval when the size is not reached', async () => {
    await createActive({ DeliveryStreamName: 'interval', ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::interval', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 2 } } });
    const t0 = Date.now();
    await client.send(new PutRecordCommand({ DeliveryStreamName: 'interval', Record: { Data: Buffer.from('tick') } }));
    await waitFor('interval delivery', () => listObjects(bucketDir('interval')).length === 1, 15_000);
    // Not before the interval: the record waited for it, not for the size. And on it (give or take a busy machine's
    // delays), not on some later timer: within a few intervals.
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(8000);
    // The object appears a moment before its checkpoint (and the metrics) are updated.
    const metrics = await waitFor('delivery metrics', async () => {
      const m = await scrape();
      return m.includes('DeliveryToS3_Records{delivery_stream="interval"}') && m;
    });
    expect(metrics).toContain('tributary_firehose_DeliveryToS3_Records{delivery_stream="interval"} 1\n');
    expect(metrics).toContain('tributary_firehose_IncomingPutRequests{delivery_stream="interval"} 1\n');
    // The age of the object's one record when it was delivered: about the interval (a loaded machine adds to it).
    const freshness = Number(/tributary_firehose_DeliveryToS3_DataFreshness\{delivery_stream="interval"\} ([\d.e+-]+)\n/.exec(metrics)?.[1]);
    expect(freshness).toBeGreaterThanOrEqual(1.5);
    expect(freshness).toBeLessThanOrEqual(elapsed / 1000 + 0.1);
  });

  it('delivers at once when the size is reached, one buffer per object', async () => {
    await createActive({ DeliveryStreamName: 'size', ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::size', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 900 } } });
    const rec = Buffer.alloc(100 * 1024, 0x61);
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'size', Records: Array.from({ length: 15 }, () => ({ Data: rec })) }));
    const keys = await waitFor('size delivery', () => {
      const k = listObjects(bucketDir('size'));
      return k.length >= 1 && k;
    }, 3000);
    expect(keys).toHaveLength(1);
    // 10 records make 1 MiB; the other 5 wait for the interval.
    expect(fs.statSync(path.join(bucketDir('size'), keys[0]!)).size).toBe(10 * 100 * 1024);
  });

  it('names objects with custom prefixes and maps buckets to configured directories', async () => {
    await createActive({
      DeliveryStreamName: 'prefixed',
      ExtendedS3DestinationConfiguration: {
        RoleARN: role, BucketARN: 'arn:aws:s3:::mapped', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
        Prefix: 'logs/year=!{timestamp:yyyy}/month=!{timestamp:MM}/!{firehose:random-string}/', ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/',
      },
    });
    await client.send(new PutRecordCommand({ DeliveryStreamName: 'prefixed', Record: { Data: Buffer.from('hello') } }));
    const keys = await waitFor('prefixed delivery', () => {
      const k = listObjects(mappedDir);
      return k.length === 1 && k;
    });
    const now = new Date();
    const y = now.getUTCFullYear();
    const m = String(now.getUTCMonth() + 1).padStart(2, '0');
    expect(keys[0]).toMatch(new RegExp(`^logs/year=${y}/month=${m}/[A-Za-z0-9_-]{11}/prefixed-1-\\d{4}(-\\d{2}){5}-[0-9a-f-]{36}$`));
    expect(fs.readFileSync(path.join(mappedDir, keys[0]!), 'utf8')).toBe('hello');

    await createActive({ DeliveryStreamName: 'plainprefix', ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::plainprefix', Prefix: 'raw/', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } } });
    await client.send(new PutRecordCommand({ DeliveryStreamName: 'plainprefix', Record: { Data: Buffer.from('x') } }));
    const plain = await waitFor('plain prefix', () => {
      const k = listObjects(bucketDir('plainprefix'));
      return k.length === 1 && k;
    });
    expect(plain[0]).toMatch(/^raw\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/plainprefix-1-/);
  });

  it('retries a failing destination until it takes the object, losing nothing', async () => {
    fs.writeFileSync(flakyDir, 'a file where the bucket directory should be');
    await createActive({ DeliveryStreamName: 'flaky', ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::flaky', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 }, ProcessingConfiguration: newline } });
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'flaky', Records: ['a', 'b'].map((s) => ({ Data: Buffer.from(s) })) }));
    const during = await waitFor('a failed attempt', async () => {
      const m = await scrape();
      return /tributary_firehose_DeliveryToS3_Attempts\{delivery_stream="flaky"\} [1-9]/.test(m) && m;
    });
    expect(during).not.toContain('tributary_firehose_DeliveryToS3_Success{delivery_stream="flaky"}');
    fs.rmSync(flakyDir);
    const keys = await waitFor('retried delivery', () => {
      const k = listObjects(flakyDir);
      return k.length > 0 && k;
    }, 10_000);
    expect(keys.map((k) => fs.readFileSync(path.join(flakyDir, k), 'utf8')).join('')).toBe('a\nb\n');
  });

  it('works with the AWS CLI v2 put-record-batch', async () => {
    await createActive({ DeliveryStreamName: 'cli', ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::cli', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 }, ProcessingConfiguration: newline } });
    const env = { ...process.env, AWS_ACCESS_KEY_ID: testOperator.accessKeyId, AWS_SECRET_ACCESS_KEY: testOperator.secretAccessKey, AWS_DEFAULT_REGION: 'us-east-1', AWS_PAGER: '', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
    const recs = JSON.stringify(['{"a":1}', '{"a":2}'].map((s) => ({ Data: Buffer.from(s).toString('base64') })));
    const { stdout } = await run('/usr/bin/aws', ['--endpoint-url', gw.url, '--output', 'json', 'firehose', 'put-record-batch', '--delivery-stream-name', 'cli', '--records', recs], { env });
    const out = JSON.parse(stdout);
    expect(out.FailedPutCount).toBe(0);
    expect(out.RequestResponses).toHaveLength(2);
    const keys = await waitFor('cli delivery', () => {
      const k = listObjects(bucketDir('cli'));
      return k.length >= 1 && k;
    });
    expect(keys.map((k) => fs.readFileSync(path.join(bucketDir('cli'), k), 'utf8')).join('')).toBe('{"a":1}\n{"a":2}\n');
    const err = await run('/usr/bin/aws', ['--endpoint-url', gw.url, 'firehose', 'describe-delivery-stream', '--delivery-stream-name', 'missing'], { env }).catch((e: { stderr: string }) => e);
    expect((err as { stderr: string }).stderr).toContain('An error occurred (ResourceNotFoundException) when calling the DescribeDeliveryStream operation: Firehose missing under account 000000000000 not found.');
  });
});

describe('Firehose with a Kinesis stream as source', () => {
  it('delivers records written to the stream after creation, KPL aggregates de-aggregated', async () => {
    const kinesis = kinesisClient(gw.url);
    await createActiveStream(kinesis, 'fh-source', 2);
    await kinesis.send(new PutRecordsCommand({ StreamName: 'fh-source', Records: [{ PartitionKey: 'early', Data: Buffer.from('before') }] }));
    await createActive({
      DeliveryStreamName: 'from-stream', DeliveryStreamType: 'KinesisStreamAsSource',
      KinesisStreamSourceConfiguration: { KinesisStreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/fh-source', RoleARN: role },
      ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::from-stream', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 }, ProcessingConfiguration: newline },
    });
    const d = (await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'from-stream' }))).DeliveryStreamDescription!;
    expect(d.DeliveryStreamType).toBe('KinesisStreamAsSource');
    expect(d.Source?.KinesisStreamSourceDescription?.KinesisStreamARN).toBe('arn:aws:kinesis:us-east-1:000000000000:stream/fh-source');
    const plain = Array.from({ length: 50 }, (_, i) => `plain-${i}`);
    const agg = aggregate(['u1', 'u2', 'u3'].map((u) => ({ partitionKey: `k-${u}`, data: Buffer.from(u) })));
    await kinesis.send(new PutRecordsCommand({ StreamName: 'fh-source', Records: [...plain.map((p, i) => ({ PartitionKey: `pk-${i}`, Data: Buffer.from(p) })), { PartitionKey: 'agg', Data: agg }] }));
    const dir = bucketDir('from-stream');
    const lines = await waitFor('source delivery', () => {
      const got = listObjects(dir).flatMap((k) => fs.readFileSync(path.join(dir, k), 'utf8').split('\n').filter(Boolean));
      return got.length >= 53 && got;
    });
    expect([...lines].sort()).toEqual([...plain, 'u1', 'u2', 'u3'].sort());
    const direct = await errorOf(client.send(new PutRecordCommand({ DeliveryStreamName: 'from-stream', Record: { Data: Buffer.from('x') } })));
    expect(direct).toEqual({ name: 'InvalidArgumentException', message: 'This operation is not permitted on KinesisStreamAsSource delivery stream type.', status: 400 });
    const missing = await errorOf(client.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: 'from-missing', DeliveryStreamType: 'KinesisStreamAsSource',
      KinesisStreamSourceConfiguration: { KinesisStreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/none', RoleARN: role },
      ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::x' },
    })));
    expect(missing.name).toBe('InvalidArgumentException');
    kinesis.destroy();
  });
});

describe('Firehose crash safety', () => {
  const children: SpawnedGateway[] = [];
  afterAll(() => {
    for (const c of children) c.child.kill('SIGKILL');
  });

  it('delivers every acknowledged record after SIGKILL', async () => {
    const dataDir = tempDir('trb-fh-crash-');
    let child = await spawnGateway(['--data', dataDir, '--insecure-http', '--log-level', 'info']);
    children.push(child);
    const operator = JSON.parse(fs.readFileSync(path.join(dataDir, 'operator.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
    let c = firehoseClient(child.url, operator);
    await createActive({
      DeliveryStreamName: 'crash',
      ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::crash', BufferingHints: { SizeInMBs: 128, IntervalInSeconds: 900 }, ProcessingConfiguration: newline, CompressionFormat: 'GZIP' },
    }, c);
    const acked: string[] = [];
    let stop = false;
    const writer = async (w: number) => {
      for (let b = 0; !stop; b++) {
        const batch = records(`w${w}-b${b}`, 200);
        try {
          const r = await c.send(new PutRecordBatchCommand({ DeliveryStreamName: 'crash', Records: batch.map((s) => ({ Data: Buffer.from(s) })) }));
          r.RequestResponses!.forEach((res, i) => res.RecordId && acked.push(batch[i]!));
        } catch {
          return; // In flight at the kill: never acknowledged.
        }
      }
    };
    const writers = Array.from({ length: 4 }, (_, w) => writer(w));
    await waitFor('over 1,000 acknowledged records', () => acked.length > 1000, 30_000);
    child.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    expect(await child.exited).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThan(1000);
    const bucket = path.join(dataDir, 'firehose-buckets', 'crash');
    expect(listObjects(bucket)).toEqual([]); // nothing was due before the kill

    child = await spawnGateway(['--data', dataDir, '--insecure-http', '--log-level', 'info']);
    children.push(child);
    c = firehoseClient(child.url, operator);
    const delivered = new Set<string>();
    const lost = () => {
      for (const k of listObjects(bucket)) for (const line of execFileSync('gunzip', ['-c', path.join(bucket, k)], { maxBuffer: 1 << 28 }).toString().split('\n')) if (line) delivered.add(line);
      return acked.filter((a) => !delivered.has(a));
    };
    await waitFor('every acknowledged record delivered', () => lost().length === 0, 20_000);
    expect(listObjects(bucket).length).toBeGreaterThan(0);
    expect(lost()).toEqual([]);
    // Staging is trimmed to what is not yet delivered, and the checkpoint reached its end.
    const d = await c.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'crash' }));
    expect(d.DeliveryStreamDescription!.DeliveryStreamStatus).toBe('ACTIVE');
  }, 60_000);
});
