/**
 * Picks the destination for an ExtendedS3 bucket ARN from the gateway
 * config: an S3-compatible store when `firehose.buckets.<bucket>` maps it to
 * one, the local directory otherwise (the filesystem destination). Objects
 * of delivery streams with a `KMSEncryptionConfig` are sealed by the gateway
 * before they reach the filesystem (object-encryption.ts); the S3
 * destination decides for itself (server- or client-side).
 */
import { encryptObject, kmsKeyArnOf } from '../object-encryption.ts';
import { bucketOf, FilesystemResolver } from './filesystem.ts';
import { S3Destination, type S3BucketConfig } from './s3.ts';
import type { Destination, DestinationResolver, PutObjectOptions } from './types.ts';

/** Any destination that stores bytes as given, with KMS encryption done by the gateway. */
export class ClientEncryptedDestination implements Destination {
  readonly kind: string;
  constructor(
    private readonly inner: Destination,
    private readonly masterKey: Buffer,
  ) {
    this.kind = inner.kind;
  }

  putObject(key: string, body: Buffer, options: PutObjectOptions = {}): Promise<void> {
    const kmsKeyArn = kmsKeyArnOf(options.encryption);
    if (kmsKeyArn === undefined) return this.inner.putObject(key, body, options);
    // The inner destination stores the sealed bytes as they are; the other options pass through.
    const { encryption: _sealedHere, ...rest } = options;
    return this.inner.putObject(key, encryptObject(this.masterKey, kmsKeyArn, body), rest);
  }
}

export interface BucketResolverOptions {
  dataDir: string;
  /** Bucket name to local directory. */
  directories: Readonly<Record<string, string>>;
  /** Bucket name to S3-compatible store. */
  s3: Readonly<Record<string, S3BucketConfig>>;
  /** The gateway's master key (client-side encryption). */
  masterKey: Buffer;
}

export class BucketResolver implements DestinationResolver {
  private readonly filesystem: FilesystemResolver;
  private readonly cache = new Map<string, Destination>();
  private readonly stores: S3Destination[] = [];

  constructor(private readonly o: BucketResolverOptions) {
    this.filesystem = new FilesystemResolver(o.dataDir, o.directories);
  }

  forBucket(bucketArn: string): Destination {
    const bucket = bucketOf(bucketArn);
    let d = this.cache.get(bucket);
    if (!d) {
      const store = this.o.s3[bucket];
      if (store) {
        const s3 = new S3Destination(bucket, store, this.o.masterKey);
        this.stores.push(s3);
        d = s3;
      } else d = new ClientEncryptedDestination(this.filesystem.forBucket(bucketArn), this.o.masterKey);
      this.cache.set(bucket, d);
    }
    return d;
  }

  /** The local directory of a bucket that is not mapped to a store. */
  dirOf(bucket: string): string {
    return this.filesystem.dirOf(bucket);
  }

  /** Closes the S3 clients' sockets (gateway shutdown). */
  close(): void {
    for (const s of this.stores) s.close();
    this.stores.length = 0;
    this.cache.clear();
  }
}
