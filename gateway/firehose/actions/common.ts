/** Checks several Firehose actions share. */
import { firehoseErrors } from '../../../sdk/protocol/firehose/errors.ts';
import { AwsError } from '../../../sdk/protocol/errors.ts';
import { bucketOf, keyEscapes } from '../destinations/filesystem.ts';
import type { ExtendedS3Wire } from '../model.ts';
import { checkPrefixes } from '../object-key.ts';
import { checkProcessing } from '../processing.ts';
import type { ProcessingOptions } from '../processors/index.ts';
import { checkDynamicPartitioning } from '../partitioning.ts';
import { checkFormatConversion, type TableSchemas } from '../format-conversion.ts';
import type { DeliveryStreamRuntime, FirehoseRegistry } from '../registry.ts';
import { checkSourceBackup } from '../source-backup.ts';

/** Control-plane changes need an ACTIVE delivery stream. */
export function requireActive(reg: FirehoseRegistry, rt: DeliveryStreamRuntime): void {
  if (rt.meta.status !== 'ACTIVE') throw firehoseErrors.notActive(rt.meta.name, reg.accountId, rt.meta.status);
}

/** Data-plane calls need an ACTIVE delivery stream; AWS answers "not found" otherwise. */
export function requireWritable(reg: FirehoseRegistry, rt: DeliveryStreamRuntime): void {
  if (rt.meta.status !== 'ACTIVE') throw firehoseErrors.notFound(rt.meta.name, reg.accountId);
  if (rt.meta.type === 'KinesisStreamAsSource') throw firehoseErrors.notDirectPut();
}

/** What this gateway can deliver: checked at create and after an update, so nothing accepted fails later. */
export function checkDestination(d: ExtendedS3Wire, schemas?: TableSchemas, processing: ProcessingOptions = {}): void {
  checkPrefixes(d.Prefix, d.ErrorOutputPrefix);
  for (const p of [d.Prefix, d.ErrorOutputPrefix]) {
    if (p && keyEscapes(p.replace(/!\{[^}]*\}/g, 'x') + 'x')) throw new AwsError('InvalidArgumentException', `Prefix ${p} would leave the bucket's directory on this gateway.`);
  }
  if (!/^[\w.-]{1,255}$/.test(bucketOf(d.BucketARN)) || bucketOf(d.BucketARN).startsWith('.')) {
    throw new AwsError('InvalidArgumentException', `BucketARN ${d.BucketARN} does not name a bucket.`);
  }
  checkProcessing(d.ProcessingConfiguration, processing);
  checkFormatConversion(d, schemas);
  checkDynamicPartitioning(d);
  checkSourceBackup(d);
}

/** Refuses an HTTP endpoint URL the operator's allow-list (`firehose.httpEndpointsAllowed`) does not name (issue #11, item 9). */
export function requireAllowedEndpoint(reg: FirehoseRegistry, url: string): void {
  if (!reg.httpEndpointAllowed(url)) {
    // Not observed on AWS (which posts anywhere public); worded as this gateway's other configuration refusals.
    throw new AwsError('InvalidArgumentException', `EndpointConfiguration.Url ${url} is not allowed by this gateway (firehose.httpEndpointsAllowed).`);
  }
}

/** The one-of-many destination members: exactly one must be given. */
export function refuseUnsupported(input: Record<string, unknown>, names: readonly string[]): void {
  for (const n of names) {
    if (input[n] !== undefined) throw new AwsError('InvalidArgumentException', `${n.replace(/Configuration$|Update$/, '')} is not supported by this gateway; use ExtendedS3.`);
  }
}
