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
  putObject(key: string, body: Buffer): Promise<void>;
}

/** Turns a destination configuration (a bucket ARN today) into a Destination. */
export interface DestinationResolver {
  forBucket(bucketArn: string): Destination;
}
