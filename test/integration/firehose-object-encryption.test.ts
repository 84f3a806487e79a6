// Proves encryption of delivered objects on the filesystem destination: a
// delivery stream created by the stock client with
// EncryptionConfiguration.KMSEncryptionConfig writes objects (and error
// objects) whose bytes are not the plaintext, under the usual keys, and
// `tributary firehose decrypt` (a real CLI process) and `decryptObject` give
// the records back; NoEncryptionConfig still writes plaintext.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { FirehoseClient, PutRecordBatchCommand, type CreateDeliveryStreamCommandInput } from '@aws-sdk/client-firehose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listObjects } from '../../gateway/firehose/destinations/filesystem.ts';
import { decryptObject, isEncryptedObject } from '../../gateway/firehose/object-encryption.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { testGateway } from '../helpers/gateway.ts';
import { repoRoot } from '../helpers/spawn-gateway.ts';
import { createActiveDeliveryStream, firehoseClient } from '../helpers/firehose.ts';
import { tributaryBundle } from '../helpers/bundles.ts';
import { waitFor } from '../helpers/wait.ts';

const exec = promisify(execFile);
const cli = (...args: string[]) =>
  exec(process.execPath, [tributaryBundle(), ...args], { cwd: repoRoot, encoding: 'buffer', maxBuffer: 1 << 26 });
const role = 'arn:aws:iam::000000000000:role/firehose';
const kmsKey = 'arn:aws:kms:us-east-1:000000000000:key/0b6f5d4e-1c2a-4e8b-9f00-123456789abc';
const newline = { Enabled: true, Processors: [{ Type: 'AppendDelimiterToRecord' as const }] };

let gw: Gateway & { dataDir: string };
let client: FirehoseClient;
const bucketDir = (bucket: string) => path.join(gw.dataDir, 'firehose-buckets', bucket);

const createActive = (input: CreateDeliveryStreamCommandInput) => createActiveDeliveryStream(client, input);

async function waitForObjects(bucket: string, n: number): Promise<string[]> {
  return waitFor(`${n} objects in ${bucket}`, () => { const keys = listObjects(bucketDir(bucket)); return keys.length >= n && keys; }, { intervalMs: 50 });
}

const records = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${prefix}-${i}`, secret: `s3cr3t-${i}` }));

beforeAll(async () => {
  gw = await testGateway();
  client = firehoseClient(gw.url);
});
afterAll(async () => {
  await gw?.close();
  client?.destroy();
});

describe('encryption of delivered objects (filesystem destination)', () => {
  it('writes sealed objects under the usual keys; the CLI and decryptObject give the records back', async () => {
    await createActive({
      DeliveryStreamName: 'enc-plain',
      ExtendedS3DestinationConfiguration: {
        RoleARN: role, BucketARN: 'arn:aws:s3:::enc', Prefix: 'plain/', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 }, ProcessingConfiguration: newline,
        EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: kmsKey } },
      },
    });
    const lines = records('enc', 200);
    const expected = lines.map((l) => l + '\n').join('');
    const r = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'enc-plain', Records: lines.map((l) => ({ Data: Buffer.from(l) })) }));
    expect(r.FailedPutCount).toBe(0);
    const [key] = await waitForObjects('enc', 1);
    expect(key).toMatch(/^plain\/\d{4}\/\d\d\/\d\d\/\d\d\/enc-plain-1-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-[0-9a-f-]{36}$/);
    const file = path.join(bucketDir('enc'), key!);
    const bytes = fs.readFileSync(file);
    expect(isEncryptedObject(bytes)).toBe(true);
    expect(bytes.includes(Buffer.from('s3cr3t'))).toBe(false);
    expect(bytes.includes(Buffer.from('"id"'))).toBe(false);
    // Header: magic, version 1, the key ARN in the clear (so an operator sees which key it needs).
    expect(bytes.subarray(0, 5)).toEqual(Buffer.from('TRBE\x01', 'latin1'));
    expect(bytes.subarray(7, 7 + bytes.readUInt16BE(5)).toString()).toBe(kmsKey);

    const masterKey = fs.readFileSync(path.join(gw.dataDir, 'keys', 'master.key'));
    expect(decryptObject(masterKey, bytes)).toEqual({ keyId: kmsKey, body: Buffer.from(expected) });
    const { stdout } = await cli('firehose', 'decrypt', '--data', gw.dataDir, file);
    expect(stdout.toString()).toBe(expected);
    const out = path.join(gw.dataDir, 'decrypted.jsonl');
    await cli('firehose', 'decrypt', '--key-file', path.join(gw.dataDir, 'keys', 'master.key'), '-o', out, file);
    expect(fs.readFileSync(out, 'utf8')).toBe(expected);
  });

  it('encrypts after compression: decrypting a GZIP object gives gzip bytes', async () => {
    await createActive({
      DeliveryStreamName: 'enc-gzip',
      ExtendedS3DestinationConfiguration: {
        RoleARN: role, BucketARN: 'arn:aws:s3:::enc-gz', CompressionFormat: 'GZIP', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 }, ProcessingConfiguration: newline,
        EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: kmsKey } },
      },
    });
    const lines = records('gz', 100);
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'enc-gzip', Records: lines.map((l) => ({ Data: Buffer.from(l) })) }));
    const [key] = await waitForObjects('enc-gz', 1);
    expect(key).toMatch(/\.gz$/);
    const masterKey = fs.readFileSync(path.join(gw.dataDir, 'keys', 'master.key'));
    const { body } = decryptObject(masterKey, fs.readFileSync(path.join(bucketDir('enc-gz'), key!)));
    expect(gunzipSync(body).toString()).toBe(lines.map((l) => l + '\n').join(''));
  });

  it('the CLI refuses a plaintext object and a wrong master key', async () => {
    await createActive({
      DeliveryStreamName: 'enc-none',
      ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::enc-none', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } },
    });
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'enc-none', Records: [{ Data: Buffer.from('clear text') }] }));
    const [key] = await waitForObjects('enc-none', 1);
    const plainFile = path.join(bucketDir('enc-none'), key!);
    expect(fs.readFileSync(plainFile, 'utf8')).toBe('clear text');
    const plain = await cli('firehose', 'decrypt', '--data', gw.dataDir, plainFile).then(() => undefined, (e: { code: number; stderr: Buffer }) => e);
    expect(plain?.code).toBe(2);
    expect(plain?.stderr.toString()).toContain('not an encrypted Firehose object');

    const sealed = listObjects(bucketDir('enc'))[0]!;
    const wrongKey = path.join(gw.dataDir, 'wrong.key');
    fs.writeFileSync(wrongKey, Buffer.alloc(32, 1));
    const wrong = await cli('firehose', 'decrypt', '--key-file', wrongKey, path.join(bucketDir('enc'), sealed)).then(() => undefined, (e: { code: number; stderr: Buffer }) => e);
    expect(wrong?.code).toBe(2);
    expect(wrong?.stderr.toString()).toContain('cannot decrypt the object');
  });
});
