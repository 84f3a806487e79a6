/**
 * Where delivered objects go. The delivery worker hands a destination one
 * finished object (key and body) at a time and advances its checkpoint only
 * after `putObject` resolves, so an implementation must resolve only once the
 * object is durable. The local filesystem is the one implementation today;
 * an S3-compatible store, an HTTP endpoint or PostgreSQL implement the same
 * interface (an HTTP endpoint ignores the key).
 */
export interface Destination {
  /** For logs and metrics: `filesystem`, `s3`, `http`, ... */
  readonly kind: string;
  /** Writes one object; resolves when it is durable, rejects (and writes nothing visible) otherwise. */
  putObject(key: string, body: Buffer, options?: PutObjectOptions): Promise<void>;
}

/** Per-object settings from the delivery stream's destination config. */
export interface PutObjectOptions {
  /** ExtendedS3's EncryptionConfiguration (`NoEncryptionConfig` or `KMSEncryptionConfig`); see object-encryption.ts. */
  encryption?: Record<string, unknown>;
  /**
   * Set for a data object (not for error objects): the staging counters it
   * covers and its records after processing (uncompressed), for destinations
   * that load the object further and keep their own exactly-once
   * bookkeeping (Redshift).
   */
  contents?: ObjectContents;
}

export interface ObjectContents {
  /** The object holds records of the staging counters [firstCounter, endCounter). */
  firstCounter: number;
  endCounter: number;
  records: ReadonlyArray<{ counter: number; data: Buffer }>;
}

/** Turns a destination configuration (a bucket ARN today) into a Destination. */
export interface DestinationResolver {
  forBucket(bucketArn: string): Destination;
}
