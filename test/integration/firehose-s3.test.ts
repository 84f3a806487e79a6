// Proves the S3-compatible destination end to end against a real third-party
// S3 implementation (s3rver, on 127.0.0.1 with a temporary directory): a
// gateway whose YAML config maps Firehose buckets to the store delivers GZIP
// and UNCOMPRESSED objects that the stock @aws-sdk/client-s3 reads back under
// the filesystem destination's key layout; KMS-encrypted delivery streams
// are sealed by the gateway (client mode) or handed to the store (server
// mode); a store that goes down is retried until it is back, and each record
// is delivered once.
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { FirehoseClient, PutRecordBatchCommand, type CreateDeliveryStreamCommandInput } from '@aws-sdk/client-firehose';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../gateway/config.ts';
import { S3Destination, s3MultipartThresholdBytes } from '../../gateway/firehose/destinations/s3.ts';
import { decryptObject, isEncryptedObject } from '../../gateway/firehose/object-encryption.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { tempDir, testGateway, metricsText } from '../helpers/gateway.ts';
import { createActiveDeliveryStream, firehoseClient } from '../helpers/firehose.ts';
import { waitFor } from '../helpers/wait.ts';

const role = 'arn:aws:iam::000000000000:role/firehose';
const kmsKey = 'arn:aws:kms:us-east-1:000000000000:key/0b6f5d4e-1c2a-4e8b-9f00-123456789abc';
const newline = { Enabled: true, Processors: [{ Type: 'AppendDelimiterToRecord' as const }] };
const storeCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const storeBuckets = ['delivered', 'sealed', 'store-kms', 'outage'];

let storeDir: string;
let storePort: number;
let store: S3rver | undefined;
let s3: S3Client;
let gw: Gateway & { dataDir: string };
let client: FirehoseClient;


async function startStore(port: number): Promise<number> {
  store = new S3rver({ address: '127.0.0.1', port, silent: true, directory: storeDir });
  const addr = (await store.run()) as { port: number };
  return addr.port;
}

/** Stops the store at once: keep-alive sockets of the gateway's client are cut too. */
async function stopStore(): Promise<void> {
  const s = store!;
  store = undefined;
  const server = s.httpServer;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

const createActive = (input: CreateDeliveryStreamCommandInput) => createActiveDeliveryStream(client, input);

async function keysIn(bucket: string, prefix = ''): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

async function waitForKeys(bucket: string, prefix: string, n: number, timeoutMs = 20_000): Promise<string[]> {
  return waitFor(`${n} objects under ${bucket}/${prefix}`, async () => {
    const keys = await keysIn(bucket, prefix);
    return keys.length >= n && keys;
  }, { timeoutMs, intervalMs: 100 });
}

async function getObject(bucket: string, key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

const records = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${prefix}-${i}`, v: 'y'.repeat(i % 40) }));

async function put(name: string, lines: string[]): Promise<void> {
  const r = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: lines.map((l) => ({ Data: Buffer.from(l) })) }));
  expect(r.FailedPutCount).toBe(0);
}

const utcHour = (d: Date) => `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/${String(d.getUTCHours()).padStart(2, '0')}/`;

beforeAll(async () => {
  storeDir = tempDir('trb-s3rver-');
  storePort = await startStore(0);
  const endpoint = `http://127.0.0.1:${storePort}`;
  s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...storeCredentials }, maxAttempts: 1 });
  for (const Bucket of storeBuckets) await s3.send(new CreateBucketCommand({ Bucket }));
  // The mapping goes through the gateway's YAML config, as an operator writes it.
  const store = (bucket: string, extra = '') =>
    `    ${bucket}:\n      s3:\n        endpoint: ${endpoint}\n        region: us-east-1\n        accessKeyId: S3RVER\n        secretAccessKey: S3RVER\n${extra}`;
  const yaml = [
    'firehose:',
    '  buckets:',
    store('fh-logs', '        bucket: delivered\n        forcePathStyle: true\n'),
    store('sealed'),
    store('store-kms', '        encryption: server\n'),
    store('outage'),
  ].join('\n');
  const config = parseGatewayConfig(yaml, 'gateway.yaml');
  expect(config.firehoseS3Buckets['fh-logs']).toEqual({ endpoint, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', bucket: 'delivered', forcePathStyle: true, encryption: 'client' });
  gw = await testGateway({ firehoseBuckets: config.firehoseBuckets, firehoseS3Buckets: config.firehoseS3Buckets });
  client = firehoseClient(gw.url);
});

afterAll(async () => {
  await gw?.close();
  client?.destroy();
  s3?.destroy();
  if (store) await stopStore();
});

describe('Firehose to an S3-compatible store (s3rver)', () => {
  it('delivers GZIP under a Prefix with expressions, read back with GetObject', async () => {
    await createActive({
      DeliveryStreamName: 's3-gzip',
      ExtendedS3DestinationConfiguration: {
        RoleARN: role, BucketARN: 'arn:aws:s3:::fh-logs', CompressionFormat: 'GZIP', Prefix: 'gz/!{timestamp:yyyy}/!{timestamp:MM}/', ErrorOutputPrefix: 'gz-errors/',
        BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 }, ProcessingConfiguration: newline,
      },
    });
    const before = new Date();
    const lines = records('gz', 300);
    await put('s3-gzip', lines);
    const [key] = await waitForKeys('delivered', 'gz/', 1);
    const y = String(before.getUTCFullYear());
    const m = String(before.getUTCMonth() + 1).padStart(2, '0');
    expect(key).toMatch(new RegExp(`^gz/${y}/${m}/s3-gzip-1-\\d{4}-\\d\\d-\\d\\d-\\d\\d-\\d\\d-\\d\\d-[0-9a-f-]{36}\\.gz$`));
    const body = await getObject('delivered', key!);
    expect(body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(gunzipSync(body).toString()).toBe(lines.map((l) => l + '\n').join(''));
  });

  it('delivers UNCOMPRESSED under the default hour path', async () => {
    await createActive({
      DeliveryStreamName: 's3-plain',
      ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::fh-logs', Prefix: 'plain/', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 }, ProcessingConfiguration: newline },
    });
    const before = new Date();
    const lines = records('plain', 50);
    await put('s3-plain', lines);
    const [key] = await waitForKeys('delivered', 'plain/', 1);
    expect(key!.startsWith(`plain/${utcHour(before)}s3-plain-1-`) || key!.startsWith(`plain/${utcHour(new Date())}s3-plain-1-`)).toBe(true);
    expect(key).toMatch(/^plain\/\d{4}\/\d\d\/\d\d\/\d\d\/s3-plain-1-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-[0-9a-f-]{36}$/);
    expect((await getObject('delivered', key!)).toString()).toBe(lines.map((l) => l + '\n').join(''));
  });

  it('seals objects of a KMS-encrypted delivery stream for a store without KMS (client mode)', async () => {
    await createActive({
      DeliveryStreamName: 's3-sealed',
      ExtendedS3DestinationConfiguration: {
        RoleARN: role, BucketARN: 'arn:aws:s3:::sealed', CompressionFormat: 'GZIP', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 }, ProcessingConfiguration: newline,
        EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: kmsKey } },
      },
    });
    const lines = records('sealed', 100);
    await put('s3-sealed', lines);
    const [key] = await waitForKeys('sealed', '', 1);
    expect(key).toMatch(/\.gz$/);
    const body = await getObject('sealed', key!);
    expect(isEncryptedObject(body)).toBe(true);
    expect(body.includes(Buffer.from('sealed-1'))).toBe(false);
    const masterKey = fs.readFileSync(path.join(gw.dataDir, 'keys', 'master.key'));
    const opened = decryptObject(masterKey, body);
    expect(opened.keyId).toBe(kmsKey);
    expect(gunzipSync(opened.body).toString()).toBe(lines.map((l) => l + '\n').join(''));
  });

  it('hands KMS encryption to the store in server mode (s3rver accepts and ignores it)', async () => {
    await createActive({
      DeliveryStreamName: 's3-store-kms',
      ExtendedS3DestinationConfiguration: {
        RoleARN: role, BucketARN: 'arn:aws:s3:::store-kms', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 }, ProcessingConfiguration: newline,
        EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: kmsKey } },
      },
    });
    const lines = records('kms', 10);
    await put('s3-store-kms', lines);
    const [key] = await waitForKeys('store-kms', '', 1);
    expect((await getObject('store-kms', key!)).toString()).toBe(lines.map((l) => l + '\n').join(''));
  });

  it('writes bodies above the multipart threshold whole, and rejects when the store refuses', async () => {
    const config = { endpoint: `http://127.0.0.1:${storePort}`, region: 'us-east-1', ...storeCredentials, forcePathStyle: true, encryption: 'client' as const };
    const d = new S3Destination('delivered', config, Buffer.alloc(32));
    try {
      const big = Buffer.alloc(s3MultipartThresholdBytes * 2 + 12345);
      for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
      await d.putObject('multipart/big.bin', big);
      expect((await getObject('delivered', 'multipart/big.bin')).equals(big)).toBe(true);
      // A bucket the store does not have: the put rejects (the delivery worker would retry) and nothing appears.
      const missing = new S3Destination('no-such-bucket', config, Buffer.alloc(32));
      await expect(missing.putObject('k', Buffer.from('x'))).rejects.toMatchObject({ code: 'S3_PUT_FAILED', message: expect.stringContaining('NoSuchBucket') });
      missing.close();
    } finally {
      d.close();
    }
  }, 30_000);

  it('retries while the store is down and delivers each record once when it is back', async () => {
    await createActive({
      DeliveryStreamName: 's3-outage',
      ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::outage', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 }, ProcessingConfiguration: newline },
    });
    await stopStore();
    const lines = records('outage', 200);
    await put('s3-outage', lines);
    // Several attempts fail (the SDK's own retries, then the worker's backoff) while the store is down.
    const failedAttempts = async () => {
      const text = await metricsText(gw);
      const attempts = Number(/tributary_firehose_DeliveryToS3_Attempts\{delivery_stream="s3-outage"\} (\d+)/.exec(text)?.[1] ?? 0);
      const success = Number(/tributary_firehose_DeliveryToS3_Success\{delivery_stream="s3-outage"\} (\d+)/.exec(text)?.[1] ?? 0);
      return attempts - success;
    };
    await waitFor('two failed attempts', async () => (await failedAttempts()) >= 2, { intervalMs: 100 });
    await startStore(storePort);
    const [first] = await waitForKeys('outage', '', 1, 40_000);
    // A later batch: had the first been written again, that object would have come before this one's.
    await put('s3-outage', ['after']);
    const keys = await waitForKeys('outage', '', 2, 40_000);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(first);
    expect((await getObject('outage', keys[0]!)).toString()).toBe(lines.map((l) => l + '\n').join(''));
    expect((await getObject('outage', keys[1]!)).toString()).toBe('after\n');
  }, 60_000);
});
