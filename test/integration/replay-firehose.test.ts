// Proves that what Firehose delivered comes back record for record: a real gateway delivers
// objects with every CompressionFormat (UNCOMPRESSED, GZIP, ZIP, Snappy, HADOOP_SNAPPY), with
// KMSEncryptionConfig (opened with the gateway's master key), converted to Parquet, and made of
// KPL aggregates; `tributary replay` (the real CLI) reads each archive folder, or the same objects
// from an S3-compatible prefix (s3rver), into a stream, and the stream holds exactly the records
// that were put, byte for byte.
import fs from 'node:fs';
import path from 'node:path';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { PutRecordBatchCommand, type FirehoseClient } from '@aws-sdk/client-firehose';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listObjects } from '../../gateway/firehose/destinations/filesystem.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { aggregate } from '../../sdk/protocol/kpl-aggregation.ts';
import { createActiveDeliveryStream, firehoseClient } from '../helpers/firehose.ts';
import { createActiveStream, kinesisClient, tempDir, testGateway } from '../helpers/gateway.ts';
import { cli, cliBundle, profileFor, readAll } from '../helpers/replay.ts';
import { waitFor } from '../helpers/wait.ts';

const role = 'arn:aws:iam::000000000000:role/firehose';
const kmsKey = 'arn:aws:kms:us-east-1:000000000000:key/0b6f5d4e-1c2a-4e8b-9f00-123456789abc';
const newline = { Enabled: true, Processors: [{ Type: 'AppendDelimiterToRecord' as const }] };
const schemas = { 'db.events': { columns: [{ name: 'device', type: 'string' as const }, { name: 'n', type: 'bigint' as const }, { name: 'v', type: 'double' as const }, { name: 'ok', type: 'boolean' as const }] } };

let gw: Gateway & { dataDir: string };
let fh: FirehoseClient;
let c: KinesisClient;
let profile: string;

beforeAll(async () => {
  gw = await testGateway({ enforceLimits: false, firehoseSchemas: schemas });
  fh = firehoseClient(gw.url);
  c = kinesisClient(gw.url);
  profile = profileFor(gw.url);
  await cliBundle();
});
afterAll(async () => {
  fh?.destroy();
  c?.destroy();
  await gw?.close();
});

const bucketDir = (bucket: string) => path.join(gw.dataDir, 'firehose-buckets', bucket);

async function waitObjects(bucket: string, n: number): Promise<string[]> {
  return waitFor(`${n} objects in ${bucket}`, () => {
    const keys = fs.existsSync(bucketDir(bucket)) ? listObjects(bucketDir(bucket)) : [];
    return keys.length >= n && keys;
  }, { intervalMs: 50 });
}

/** Delivers `batches` (one object each) through a new delivery stream into bucket `name`. */
async function deliver(name: string, batches: Buffer[][], extra: Record<string, unknown>): Promise<void> {
  await createActiveDeliveryStream(fh, {
    DeliveryStreamName: name,
    ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: `arn:aws:s3:::${name}`, BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 0 }, ...extra },
  });
  for (let b = 0; b < batches.length; b++) {
    const r = await fh.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: batches[b]!.map((Data) => ({ Data })) }));
    expect(r.FailedPutCount).toBe(0);
    await waitObjects(name, b + 1);
  }
}

async function replayInto(source: string, stream: string, extra: string[] = []): Promise<Record<string, unknown>> {
  await createActiveStream(c, stream, 2);
  const { stdout } = await cli(['replay', source, '--into', `stream:${stream}`, '--checkpoint', path.join(tempDir('trb-rf-'), 'cp.json'), '--progress', 'none', '--profile', profile, ...extra]);
  return JSON.parse(stdout.trim()).replay;
}

const sorted = (xs: Buffer[]) => xs.map((x) => x.toString('base64')).sort();
const lines = (tag: string, n: number) => Array.from({ length: n }, (_, i) => Buffer.from(JSON.stringify({ device: `d${i % 7}`, i, tag, text: 'ü€'.repeat(i % 5) })));

describe('replay of Firehose archives into a stream', () => {
  for (const format of ['UNCOMPRESSED', 'GZIP', 'ZIP', 'Snappy', 'HADOOP_SNAPPY'] as const) {
    it(`${format}: newline-delimited records come back byte for byte, keys from the data`, async () => {
      const name = `fh-${format.toLowerCase().replace('_', '-')}`;
      const batches = [lines(name, 150), lines(`${name}-2`, 90)];
      await deliver(name, batches, { CompressionFormat: format, ProcessingConfiguration: newline });
      const summary = await replayInto(`firehose:${bucketDir(name)}`, `${name}-out`, ['--partition-key', '$.device']);
      expect(summary).toMatchObject({ finished: true, sent: 240, rejected: 0 });
      const stored = await readAll(c, `${name}-out`);
      expect(sorted(stored.map((r) => r.data))).toEqual(sorted(batches.flat()));
      for (const r of stored) expect(r.key).toBe(JSON.parse(r.data.toString()).device);
    });
  }

  it('encrypted objects (KMSEncryptionConfig) open with the gateway\'s master key, and not without it', async () => {
    const batches = [lines('enc', 120)];
    await deliver('fh-enc', batches, { CompressionFormat: 'GZIP', ProcessingConfiguration: newline, EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: kmsKey } } });
    const err = (await replayInto(`firehose:${bucketDir('fh-enc')}`, 'fh-enc-nokey').catch((e: unknown) => e)) as { stderr: string };
    expect(err.stderr).toContain('is encrypted (KMSEncryptionConfig): pass --data <gateway data dir> or --key-file <keys/master.key>');
    const summary = await replayInto(`firehose:${bucketDir('fh-enc')}`, 'fh-enc-out', ['--data', gw.dataDir]);
    expect(summary).toMatchObject({ finished: true, sent: 120 });
    expect(sorted((await readAll(c, 'fh-enc-out')).map((r) => r.data))).toEqual(sorted(batches.flat()));
  });

  it('Parquet objects come back as compact JSON in column order (byte for byte for such records)', async () => {
    const docs = Array.from({ length: 200 }, (_, i) => Buffer.from(JSON.stringify({ device: `p${i % 5}`, n: i * 1000003, v: i / 8, ok: i % 3 === 0 })));
    await deliver('fh-parquet', [docs], {
      CompressionFormat: 'UNCOMPRESSED', BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 1 },
      DataFormatConversionConfiguration: {
        Enabled: true, SchemaConfiguration: { DatabaseName: 'db', TableName: 'events', RoleARN: role, Region: 'us-east-1', VersionId: 'LATEST' },
        InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: {} } }, OutputFormatConfiguration: { Serializer: { ParquetSerDe: { Compression: 'SNAPPY' } } },
      },
    });
    const summary = await replayInto(bucketDir('fh-parquet'), 'fh-parquet-out');
    expect(summary).toMatchObject({ finished: true, sent: 200 });
    expect(sorted((await readAll(c, 'fh-parquet-out')).map((r) => r.data))).toEqual(sorted(docs));
  });

  it('KPL aggregates delivered back to back split into their user records, keys kept', async () => {
    const users = Array.from({ length: 300 }, (_, i) => ({ partitionKey: `k${i % 11}`, data: Buffer.from(`user-record-${i}`) }));
    const aggregates = [0, 100, 200].map((at) => aggregate(users.slice(at, at + 100)));
    await deliver('fh-kpl', [aggregates], { CompressionFormat: 'GZIP' });
    const summary = await replayInto(`firehose:${bucketDir('fh-kpl')}`, 'fh-kpl-out');
    expect(summary).toMatchObject({ finished: true, sent: 300, rejected: 0 });
    const stored = await readAll(c, 'fh-kpl-out');
    expect(stored.map((r) => `${r.key}=${r.data}`).sort()).toEqual(users.map((u) => `${u.partitionKey}=${u.data}`).sort());
  });

  it('reads the same archive from an S3-compatible prefix', async () => {
    const storeDir = tempDir('trb-s3rver-');
    const store = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: storeDir });
    const { port } = (await store.run()) as { port: number };
    const endpoint = `http://127.0.0.1:${port}`;
    const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'archive' }));
      const batches = [lines('s3', 80)];
      await deliver('fh-for-s3', batches, { CompressionFormat: 'Snappy', ProcessingConfiguration: newline });
      for (const key of listObjects(bucketDir('fh-for-s3'))) {
        await s3.send(new PutObjectCommand({ Bucket: 'archive', Key: `firehose/${key}`, Body: fs.readFileSync(path.join(bucketDir('fh-for-s3'), key)) }));
      }
      await createActiveStream(c, 'fh-s3-out', 1);
      const { stdout } = await cli(['replay', 's3://archive/firehose/', '--s3-endpoint', endpoint, '--into', 'stream:fh-s3-out', '--checkpoint', path.join(storeDir, 'cp.json'), '--progress', 'none', '--profile', profile],
        { env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } });
      expect(JSON.parse(stdout.trim()).replay).toMatchObject({ finished: true, sent: 80 });
      expect(sorted((await readAll(c, 'fh-s3-out')).map((r) => r.data))).toEqual(sorted(batches.flat()));
    } finally {
      s3.destroy();
      await store.close();
    }
  });
});
