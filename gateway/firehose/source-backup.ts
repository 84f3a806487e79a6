/**
 * Source record backup (`S3BackupMode: Enabled` of ExtendedS3 and Redshift):
 * every buffer's records as received (before the Lambda, format conversion
 * and dynamic partitioning) also go to `S3BackupConfiguration`'s bucket, as
 * one object named as the S3 destination names its objects, with that
 * configuration's Prefix, CompressionFormat and EncryptionConfiguration.
 *
 * AWS: "Firehose can back up all untransformed records to your S3 bucket
 * concurrently while delivering transformed records to the destination ...
 * You cannot disable source record backup after you enable it." (Firehose
 * developer guide, Back up source records.)
 *
 * The delivery worker writes the backup object before the destination's and
 * moves its checkpoint only once both are durable; a retry of the same batch
 * whose backup is already written does not write it again (RetryBatch.backedUp).
 */
import { randomUUID } from 'node:crypto';
import { AwsError } from '../../sdk/protocol/errors.ts';
import { compress, compressionExtension } from './compression.ts';
import { bucketOf, keyEscapes } from './destinations/filesystem.ts';
import type { Destination } from './destinations/types.ts';
import { normaliseS3, type ExtendedS3Wire } from './model.ts';
import { checkPrefixes, objectKey, objectName, type KeyContext } from './object-key.ts';

/** The backup bucket's configuration with AWS's defaults, when backup is on. */
export function sourceBackupOf(d: ExtendedS3Wire): ExtendedS3Wire | undefined {
  return d.S3BackupMode === 'Enabled' && d.S3BackupConfiguration ? normaliseS3(d.S3BackupConfiguration) : undefined;
}

/** Checked at create and after an update (common.ts checkDestination), so nothing accepted fails later. */
export function checkSourceBackup(d: ExtendedS3Wire): void {
  const c = d.S3BackupConfiguration;
  if (d.S3BackupMode === 'Enabled' && !c) throw new AwsError('InvalidArgumentException', 'S3BackupConfiguration is required when S3BackupMode is Enabled.');
  if (!c) return;
  if (typeof c.RoleARN !== 'string' || typeof c.BucketARN !== 'string') {
    throw new AwsError('InvalidArgumentException', 'S3BackupConfiguration needs RoleARN and BucketARN.');
  }
  const b = normaliseS3(c);
  const bucket = bucketOf(b.BucketARN);
  if (!/^[\w.-]{1,255}$/.test(bucket) || bucket.startsWith('.')) throw new AwsError('InvalidArgumentException', `BucketARN ${b.BucketARN} does not name a bucket.`);
  checkPrefixes(b.Prefix, b.ErrorOutputPrefix);
  for (const p of [b.Prefix, b.ErrorOutputPrefix]) {
    if (p && /!\{partitionKeyFrom/.test(p)) throw new AwsError('InvalidArgumentException', `The S3 backup prefix ${p} cannot use partition keys: the backup holds the records before partitioning.`);
    if (p && keyEscapes(p.replace(/!\{[^}]*\}/g, 'x') + 'x')) throw new AwsError('InvalidArgumentException', `Prefix ${p} would leave the bucket's directory on this gateway.`);
  }
}

/** UpdateDestination: backup can be enabled, never disabled again (AWS's rule). */
export function checkSourceBackupUpdate(current: ExtendedS3Wire, next: ExtendedS3Wire): void {
  if (current.S3BackupMode === 'Enabled' && next.S3BackupMode !== 'Enabled') {
    throw new AwsError('InvalidArgumentException', 'S3BackupMode cannot be changed from Enabled to Disabled; source record backup cannot be disabled once enabled.');
  }
}

export interface SourceBackupResult {
  key: string;
  records: number;
  objectBytes: number;
}

/** Writes one buffer's source records to the backup bucket; resolves once the object is durable. */
export async function writeSourceBackup(
  backup: ExtendedS3Wire,
  records: ReadonlyArray<{ data: Buffer }>,
  c: { base: KeyContext; target: Destination; now: number },
): Promise<SourceBackupResult> {
  const ctx: KeyContext = { ...c.base, uuid: randomUUID(), extension: compressionExtension[backup.CompressionFormat] };
  const key = objectKey(backup.Prefix, ctx);
  const body = await compress(backup.CompressionFormat, Buffer.concat(records.map((r) => r.data)), { entryName: objectName({ ...ctx, extension: '' }), mtimeMs: c.now });
  await c.target.putObject(key, body, { encryption: backup.EncryptionConfiguration });
  return { key, records: records.length, objectBytes: body.length };
}
