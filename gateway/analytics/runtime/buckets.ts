/**
 * Reading objects from the buckets Firehose writes to: reference data
 * (S3ReferenceDataSource) and schema discovery on a file (S3Configuration).
 * A bucket is a local directory (`firehose.buckets.<bucket>: <dir>`, default
 * `<dataDir>/firehose-buckets/<bucket>`) or an S3-compatible store
 * (`firehose.buckets.<bucket>.s3`), exactly as for Firehose delivery.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { bucketOf, keyEscapes } from '../../firehose/destinations/filesystem.ts';
import type { BucketResolver } from '../../firehose/destinations/buckets.ts';
import type { S3BucketConfig } from '../../firehose/destinations/s3.ts';
import { referenceObjectBytesMax } from '../../../sdk/protocol/analytics/limits.ts';
import { TributaryError } from '../../../sdk/protocol/errors.ts';

export class BucketReader {
  private readonly clients = new Map<string, S3Client>();

  constructor(
    private readonly buckets: BucketResolver,
    private readonly s3: Readonly<Record<string, S3BucketConfig>>,
  ) {}

  /** The object's bytes, or undefined when there is none; larger than AWS's 1 GB reference limit is an error. */
  async read(bucketArn: string, key: string): Promise<Buffer | undefined> {
    const bucket = bucketOf(bucketArn);
    const store = this.s3[bucket];
    return store ? this.readS3(bucket, store, key) : this.readFile(bucket, key);
  }

  private async readFile(bucket: string, key: string): Promise<Buffer | undefined> {
    if (keyEscapes(key)) throw new TributaryError('BAD_KEY', `object key ${JSON.stringify(key)} would leave the bucket directory`);
    const file = path.join(this.buckets.dirOf(bucket), key);
    try {
      const st = await fsp.stat(file);
      if (!st.isFile()) return undefined;
      if (st.size > referenceObjectBytesMax) throw new TributaryError('OBJECT_TOO_LARGE', `${bucket}/${key} is ${st.size} bytes; reference data is at most ${referenceObjectBytesMax}`);
      return await fsp.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private async readS3(bucket: string, store: S3BucketConfig, key: string): Promise<Buffer | undefined> {
    let client = this.clients.get(bucket);
    if (!client) {
      client = new S3Client({
        endpoint: store.endpoint,
        region: store.region,
        credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
        forcePathStyle: store.forcePathStyle,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      this.clients.set(bucket, client);
    }
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: store.bucket ?? bucket, Key: key }));
      if ((res.ContentLength ?? 0) > referenceObjectBytesMax) throw new TributaryError('OBJECT_TOO_LARGE', `${bucket}/${key} is ${res.ContentLength} bytes; reference data is at most ${referenceObjectBytesMax}`);
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  close(): void {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }
}
