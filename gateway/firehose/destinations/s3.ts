/**
 * The S3-compatible destination: a bucket ARN that the gateway config maps
 * to an S3 endpoint (`firehose.buckets.<bucket>.s3`) is written there with
 * `@aws-sdk/client-s3`, under exactly the keys the filesystem destination
 * uses (object-key.ts). `putObject` resolves only after the store answered
 * 200 to PutObject (or to CompleteMultipartUpload), so the delivery worker's
 * checkpoint never passes an object the store has not taken.
 *
 * Bodies up to `s3MultipartThresholdBytes` go in one PutObject with a
 * Content-MD5 the store checks; larger ones as a multipart upload
 * (`@aws-sdk/lib-storage`), aborted on failure so nothing partial is
 * visible. The SDK retries throttling and transient errors
 * (`s3AttemptsMax`); what still fails is retried by the delivery worker with
 * its backoff.
 *
 * Encryption (`KMSEncryptionConfig`): with `encryption: server` the object
 * is sent with `ServerSideEncryption: aws:kms` and `SSEKMSKeyId` (for stores
 * with a KMS); with `encryption: client` (the default: most self-hosted
 * stores have none) it is sealed by the gateway (object-encryption.ts).
 */
import { createHash } from 'node:crypto';
import { S3Client, PutObjectCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { TributaryError } from '../../../sdk/protocol/errors.ts';
import { encryptObject, kmsKeyArnOf } from '../object-encryption.ts';
import type { Destination, PutObjectOptions } from './types.ts';

/** An S3-compatible store one Firehose bucket maps to (gateway config `firehose.buckets.<bucket>.s3`). */
export interface S3BucketConfig {
  /** `http(s)://host:port` of the store. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The bucket's name in the store; the Firehose bucket's name when absent. */
  bucket?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most self-hosted stores need. */
  forcePathStyle: boolean;
  /** Who encrypts objects of delivery streams with a KMSEncryptionConfig. */
  encryption: 'client' | 'server';
}

/** Bodies above this go as multipart uploads. */
export const s3MultipartThresholdBytes = 16 * 1024 * 1024;
/** Part size of a multipart upload (S3: at least 5 MiB except the last, at most 10,000 parts). */
export const s3PartBytes = 16 * 1024 * 1024;
/** Parts uploaded at once: memory held is at most this many parts. */
export const s3PartsInFlightMax = 4;
/** Attempts per request inside the SDK (its standard retry strategy) before the delivery worker's backoff takes over. */
export const s3AttemptsMax = 3;
export const s3ConnectTimeoutMs = 5_000;
export const s3RequestTimeoutMs = 120_000;

/** Largest object body: 128 MiB buffer before compression, far below S3's 5 TiB, but the parts must fit 10,000. */
const s3PartsMax = 10_000;

export class S3Destination implements Destination {
  readonly kind = 's3';
  readonly bucket: string;
  private readonly client: S3Client;

  constructor(
    firehoseBucket: string,
    private readonly config: S3BucketConfig,
    /** The gateway's master key, for client-side encryption. */
    private readonly masterKey: Buffer,
  ) {
    this.bucket = config.bucket ?? firehoseBucket;
    this.client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
      forcePathStyle: config.forcePathStyle,
      maxAttempts: s3AttemptsMax,
      // Third-party stores often lack the newer flexible checksums (and aws-chunked bodies): send them only where S3 requires them; Content-MD5 covers PutObject.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: s3ConnectTimeoutMs, requestTimeout: s3RequestTimeoutMs },
    });
  }

  async putObject(key: string, body: Buffer, options: PutObjectOptions = {}): Promise<void> {
    const kmsKeyArn = kmsKeyArnOf(options.encryption);
    const server = kmsKeyArn !== undefined && this.config.encryption === 'server';
    const data = kmsKeyArn !== undefined && !server ? encryptObject(this.masterKey, kmsKeyArn, body) : body;
    const input: PutObjectCommandInput = {
      Bucket: this.bucket,
      Key: key,
      ContentType: 'application/octet-stream',
      ...(server ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: kmsKeyArn } : {}),
    };
    if (Math.ceil(data.length / s3PartBytes) > s3PartsMax) throw new TributaryError('S3_OBJECT_TOO_LARGE', `object ${key} needs more than ${s3PartsMax} parts`);
    try {
      if (data.length <= s3MultipartThresholdBytes) await this.putSingle(input, data);
      else await this.putMultipart(input, data);
    } catch (err) {
      if (err instanceof TributaryError) throw err;
      const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      throw new TributaryError('S3_PUT_FAILED', `s3 ${this.config.endpoint} bucket ${this.bucket}: ${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`, { cause: err });
    }
  }

  private async putSingle(input: PutObjectCommandInput, data: Buffer): Promise<void> {
    const md5 = createHash('md5').update(data).digest('base64');
    const out = await this.client.send(new PutObjectCommand({ ...input, Body: data, ContentLength: data.length, ContentMD5: md5 }));
    const status = out.$metadata.httpStatusCode;
    if (status !== 200) throw new TributaryError('S3_PUT_FAILED', `s3 ${this.config.endpoint} bucket ${this.bucket}: PutObject answered HTTP ${status}`);
  }

  private async putMultipart(input: PutObjectCommandInput, data: Buffer): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { ...input, Body: data },
      partSize: s3PartBytes,
      queueSize: s3PartsInFlightMax,
      // A failed upload is aborted: no parts left behind, nothing visible.
      leavePartsOnError: false,
    });
    const out = await upload.done();
    const status = out.$metadata.httpStatusCode;
    if (status !== undefined && status !== 200) throw new TributaryError('S3_PUT_FAILED', `s3 ${this.config.endpoint} bucket ${this.bucket}: CompleteMultipartUpload answered HTTP ${status}`);
  }

  /** Closes the client's sockets. */
  close(): void {
    this.client.destroy();
  }
}
