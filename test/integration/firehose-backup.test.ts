// Source record backup (ExtendedS3 `S3BackupMode: Enabled`) end to end with
// the stock @aws-sdk/client-firehose: a real gateway on port 0 whose config
// maps a Lambda ARN to an HTTP transformer this test runs. The destination
// bucket gets the transformed records; the backup bucket gets the records as
// they were put, under the backup configuration's own prefix and compression
// (read back with gunzip). Also: DescribeDeliveryStream's S3BackupDescription,
// UpdateDestination (enable, S3BackupUpdate, no way back to Disabled), and a
// destination that fails after the backup was written (the backup is not
// written twice; the checkpoint waits for both).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateDeliveryStreamCommand, DescribeDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand, UpdateDestinationCommand,
  type CreateDeliveryStreamCommandInput, type ExtendedS3DestinationConfiguration,
} from '@aws-sdk/client-firehose';
import { listObjects } from '../../gateway/firehose/destinations/filesystem.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { testGateway } from '../helpers/gateway.ts';
import { createActiveDeliveryStream, firehoseClient } from '../helpers/firehose.ts';
import { waitFor } from '../helpers/wait.ts';

const role = 'arn:aws:iam::000000000000:role/firehose';
const upperArn = 'arn:aws:lambda:us-east-1:000000000000:function:upper';
const destinationId = 'destinationId-000000000001';

let gw: Gateway & { dataDir: string };
let client: FirehoseClient;
let transformer: http.Server;
let invocations = 0;

function startTransformer(): Promise<string> {
  transformer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      invocations++;
      const event = JSON.parse(body) as { records: Array<{ recordId: string; data: string }> };
      const records = event.records.map((r) => ({ recordId: r.recordId, result: 'Ok', data: Buffer.from(Buffer.from(r.data, 'base64').toString().toUpperCase()).toString('base64') }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ records }));
    });
  });
  return new Promise((resolve) => transformer.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(transformer.address() as AddressInfo).port}/transform`)));
}

beforeAll(async () => {
  const url = await startTransformer();
  gw = await testGateway({ firehoseLambdas: { [upperArn]: { url } } });
  client = firehoseClient(gw.url);
});

afterAll(async () => {
  client?.destroy();
  await gw?.close();
  await new Promise((r) => transformer?.close(r));
});

const bucketDir = (bucket: string) => path.join(gw.dataDir, 'firehose-buckets', bucket);
const processing = {
  Enabled: true,
  Processors: [
    { Type: 'Lambda' as const, Parameters: [{ ParameterName: 'LambdaArn' as const, ParameterValue: upperArn }] },
    { Type: 'AppendDelimiterToRecord' as const },
  ],
};

const createActive = (input: CreateDeliveryStreamCommandInput) => createActiveDeliveryStream(client, input);

/** An ExtendedS3 destination on bucket `<name>` with a 900 s buffer and the transformer, so that one flush makes one buffer. */
function extended(name: string, extra: Partial<ExtendedS3DestinationConfiguration> = {}): ExtendedS3DestinationConfiguration {
  return { RoleARN: role, BucketARN: `arn:aws:s3:::${name}`, BufferingHints: { SizeInMBs: 128, IntervalInSeconds: 900 }, ProcessingConfiguration: processing, ...extra };
}

async function put(name: string, records: string[]): Promise<void> {
  const r = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: records.map((d) => ({ Data: Buffer.from(d) })) }));
  expect(r.FailedPutCount).toBe(0);
}

function objects(bucket: string): Array<{ key: string; body: Buffer }> {
  return listObjects(bucketDir(bucket)).map((key) => ({ key, body: fs.readFileSync(path.join(bucketDir(bucket), key)) }));
}

async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { name: string; message: string };
  }
  throw new Error('expected an error');
}

async function describeDestination(name: string) {
  const d = (await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name }))).DeliveryStreamDescription!;
  return { versionId: d.VersionId!, ext: d.Destinations![0]!.ExtendedS3DestinationDescription! };
}

describe('Firehose source record backup (S3BackupMode Enabled)', () => {
  it('delivers transformed records and backs up the records as put, with the backup prefix and compression', async () => {
    await createActive({
      DeliveryStreamName: 'bk-main',
      ExtendedS3DestinationConfiguration: extended('bk-main', {
        Prefix: 'out/',
        S3BackupMode: 'Enabled',
        S3BackupConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::bk-main-backup', Prefix: 'raw/', ErrorOutputPrefix: 'raw-errors/', CompressionFormat: 'GZIP', BufferingHints: { SizeInMBs: 2, IntervalInSeconds: 120 } },
      }),
    });
    await put('bk-main', ['alpha', 'beta', 'gamma']);
    await gw.firehose.streams.get('bk-main')!.worker.flush();

    const main = objects('bk-main');
    expect(main).toHaveLength(1);
    expect(main[0]!.key).toMatch(/^out\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/bk-main-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}$/);
    expect(main[0]!.body.toString()).toBe('ALPHA\nBETA\nGAMMA\n');

    const backup = objects('bk-main-backup');
    expect(backup).toHaveLength(1);
    expect(backup[0]!.key).toMatch(/^raw\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/bk-main-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}\.gz$/);
    // The source records: before the Lambda and before AppendDelimiterToRecord.
    expect(gunzipSync(backup[0]!.body).toString()).toBe('alphabetagamma');
    // Same hour directory as the destination's object (the oldest record's arrival time).
    expect(backup[0]!.key.split('/').slice(1, 5)).toEqual(main[0]!.key.split('/').slice(1, 5));

    const metrics = gw.firehose.metrics.render();
    expect(metrics).toMatch(/tributary_firehose_BackupToS3_Records\{delivery_stream="bk-main"\} 3/);
    expect(metrics).toMatch(/tributary_firehose_DeliveryToS3_Records\{delivery_stream="bk-main"\} 3/);
  });

  it('describes the backup with AWS defaults filled in', async () => {
    const { ext } = await describeDestination('bk-main');
    expect(ext.S3BackupMode).toBe('Enabled');
    expect(ext.S3BackupDescription).toEqual({
      RoleARN: role, BucketARN: 'arn:aws:s3:::bk-main-backup', Prefix: 'raw/', ErrorOutputPrefix: 'raw-errors/',
      BufferingHints: { SizeInMBs: 2, IntervalInSeconds: 120 }, CompressionFormat: 'GZIP',
      EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' }, CloudWatchLoggingOptions: { Enabled: false },
    });
    expect(Object.keys(ext)).not.toContain('S3BackupConfiguration');
  });

  it('updates the backup member-wise, and refuses to disable it again', async () => {
    const before = await describeDestination('bk-main');
    const off = await errorOf(client.send(new UpdateDestinationCommand({
      DeliveryStreamName: 'bk-main', CurrentDeliveryStreamVersionId: before.versionId, DestinationId: destinationId,
      ExtendedS3DestinationUpdate: { S3BackupMode: 'Disabled' },
    })));
    expect(off.name).toBe('InvalidArgumentException');
    expect(off.message).toContain('cannot be changed from Enabled to Disabled');
    expect((await describeDestination('bk-main')).versionId).toBe(before.versionId);

    await client.send(new UpdateDestinationCommand({
      DeliveryStreamName: 'bk-main', CurrentDeliveryStreamVersionId: before.versionId, DestinationId: destinationId,
      ExtendedS3DestinationUpdate: { S3BackupUpdate: { Prefix: 'raw2/', CompressionFormat: 'UNCOMPRESSED' } },
    }));
    const after = await describeDestination('bk-main');
    expect(after.versionId).toBe(String(Number(before.versionId) + 1));
    expect(after.ext.S3BackupMode).toBe('Enabled');
    expect(after.ext.S3BackupDescription).toMatchObject({ BucketARN: 'arn:aws:s3:::bk-main-backup', Prefix: 'raw2/', ErrorOutputPrefix: 'raw-errors/', CompressionFormat: 'UNCOMPRESSED', BufferingHints: { SizeInMBs: 2, IntervalInSeconds: 120 } });

    await put('bk-main', ['delta']);
    await gw.firehose.streams.get('bk-main')!.worker.flush();
    const raw2 = objects('bk-main-backup').filter((o) => o.key.startsWith('raw2/'));
    expect(raw2).toHaveLength(1);
    expect(raw2[0]!.key).toMatch(/\/bk-main-2-[\d-]+-[0-9a-f-]{36}$/);
    expect(raw2[0]!.body.toString()).toBe('delta');
  });

  it('enables the backup on a delivery stream created without it; only records delivered afterwards are backed up', async () => {
    await createActive({ DeliveryStreamName: 'bk-later', ExtendedS3DestinationConfiguration: extended('bk-later') });
    await put('bk-later', ['one']);
    await gw.firehose.streams.get('bk-later')!.worker.flush();
    expect((await describeDestination('bk-later')).ext.S3BackupMode).toBe('Disabled');

    const missing = await errorOf(client.send(new UpdateDestinationCommand({
      DeliveryStreamName: 'bk-later', CurrentDeliveryStreamVersionId: '1', DestinationId: destinationId,
      ExtendedS3DestinationUpdate: { S3BackupMode: 'Enabled' },
    })));
    expect(missing.name).toBe('InvalidArgumentException');
    expect(missing.message).toContain('S3BackupConfiguration is required');

    await client.send(new UpdateDestinationCommand({
      DeliveryStreamName: 'bk-later', CurrentDeliveryStreamVersionId: '1', DestinationId: destinationId,
      ExtendedS3DestinationUpdate: { S3BackupMode: 'Enabled', S3BackupUpdate: { RoleARN: role, BucketARN: 'arn:aws:s3:::bk-later-backup' } },
    }));
    const { ext } = await describeDestination('bk-later');
    expect(ext.S3BackupMode).toBe('Enabled');
    expect(ext.S3BackupDescription).toMatchObject({ BucketARN: 'arn:aws:s3:::bk-later-backup', CompressionFormat: 'UNCOMPRESSED', BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300 } });

    await put('bk-later', ['two']);
    await gw.firehose.streams.get('bk-later')!.worker.flush();
    const backup = objects('bk-later-backup');
    expect(backup).toHaveLength(1);
    // No prefix: the default hour path at the bucket's root.
    expect(backup[0]!.key).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\d{2}\/bk-later-2-/);
    expect(backup[0]!.body.toString()).toBe('two');
    expect(objects('bk-later').map((o) => o.body.toString())).toEqual(['ONE\n', 'TWO\n']);
  });

  it('refuses backup configurations it cannot honour at create', async () => {
    const create = (name: string, extra: Partial<ExtendedS3DestinationConfiguration>) =>
      errorOf(client.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: name, ExtendedS3DestinationConfiguration: extended(name, extra) })));
    const noConfig = await create('bk-bad', { S3BackupMode: 'Enabled' });
    expect(noConfig.name).toBe('InvalidArgumentException');
    const partition = await create('bk-bad', {
      S3BackupMode: 'Enabled',
      S3BackupConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::bk-bad-backup', Prefix: 'p/!{partitionKeyFromQuery:team}/', ErrorOutputPrefix: 'e/' },
    });
    expect(partition.name).toBe('InvalidArgumentException');
    const noErrorPrefix = await create('bk-bad', {
      S3BackupMode: 'Enabled',
      S3BackupConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::bk-bad-backup', Prefix: 'p/!{timestamp:yyyy}/' },
    });
    expect(noErrorPrefix.message).toContain('ErrorOutputPrefix');
    const escape = await create('bk-bad', { S3BackupMode: 'Enabled', S3BackupConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::bk-bad-backup', Prefix: '../x/' } });
    expect(escape.name).toBe('InvalidArgumentException');
  });

  it('waits for both objects before the checkpoint moves, and does not write the backup twice when only the destination failed', async () => {
    await createActive({
      DeliveryStreamName: 'bk-retry',
      ExtendedS3DestinationConfiguration: extended('bk-retry', { S3BackupMode: 'Enabled', S3BackupConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::bk-retry-backup' } }),
    });
    // The destination bucket's directory is a file: every write to it fails (S3.ENOTDIR) until it is removed.
    fs.mkdirSync(path.dirname(bucketDir('bk-retry')), { recursive: true });
    fs.writeFileSync(bucketDir('bk-retry'), 'not a directory');
    const worker = gw.firehose.streams.get('bk-retry')!.worker;
    await put('bk-retry', ['x1', 'x2']);
    const before = invocations;
    const flushed = worker.flush();
    await waitFor('a retry of the batch', () => invocations >= before + 2, { intervalMs: 50 });
    expect(objects('bk-retry-backup').map((o) => o.body.toString())).toEqual(['x1x2']);
    expect(worker.deliveredCounter).toBe(0);
    fs.rmSync(bucketDir('bk-retry'));
    await flushed;
    expect(worker.deliveredCounter).toBe(2);
    expect(objects('bk-retry').map((o) => o.body.toString())).toEqual(['X1\nX2\n']);
    expect(objects('bk-retry-backup').map((o) => o.body.toString())).toEqual(['x1x2']);
  });
});
