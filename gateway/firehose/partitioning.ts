/**
 * Dynamic partitioning (ExtendedS3 `DynamicPartitioningConfiguration`):
 * records are grouped by their partition keys, from the MetadataExtraction
 * processor's jq query (`!{partitionKeyFromQuery:k}`) and from the Lambda
 * transformer's `metadata.partitionKeys` (`!{partitionKeyFromLambda:k}`),
 * and each distinct key set of a buffer becomes its own object under the
 * Prefix evaluated with those keys (`device=!{partitionKeyFromQuery:device}/`
 * gives `device=d1/`, `device=d2/`, ...).
 *
 * AWS's rules, checked at create / update: with dynamic partitioning on, an
 * ErrorOutputPrefix is required, the Prefix must use a partition key
 * namespace, every `partitionKeyFromQuery` key must be one the query
 * defines, and some processor must produce keys; with it off, the Prefix may
 * not use those namespaces and MetadataExtraction has nothing to feed; it
 * cannot be switched on for an existing delivery stream. A record whose keys
 * are missing (or would not make a key that stays inside the bucket
 * directory) goes to the error prefix as `partitioning-failed`.
 */
import { randomUUID } from 'node:crypto';
import { AwsError } from '../../sdk/protocol/errors.ts';
import { compress } from './compression.ts';
import { keyEscapes } from './destinations/filesystem.ts';
import type { Destination } from './destinations/types.ts';
import type { ExtendedS3Wire } from './model.ts';
import { objectKey, objectName, type KeyContext } from './object-key.ts';
import type { ProcessedRecord, ProcessingResult, Processor } from './processing.ts';
import { checkMetadataExtraction, metadataExtractionFailed } from './processors/metadata-extraction.ts';

/** AWS Firehose quotas: 500 active partitions per delivery stream (by default); here, per buffer. */
export const activePartitionsMax = 500;

type Namespace = 'partitionKeyFromQuery' | 'partitionKeyFromLambda';
const partitionExpression = /!\{(partitionKeyFromQuery|partitionKeyFromLambda):([^}]*)\}/g;

/** The partition key expressions a prefix uses. */
export function partitionRefs(prefix: string | undefined): Array<{ ns: Namespace; key: string }> {
  return [...(prefix ?? '').matchAll(partitionExpression)].map((m) => ({ ns: m[1] as Namespace, key: m[2]! }));
}

function enabledProcessors(d: ExtendedS3Wire) {
  return d.ProcessingConfiguration?.Enabled ? (d.ProcessingConfiguration.Processors ?? []) : [];
}

const invalid = (message: string) => new AwsError('InvalidArgumentException', message);

/** CreateDeliveryStream / UpdateDestination checks; throws InvalidArgumentException. */
export function checkDynamicPartitioning(d: ExtendedS3Wire): void {
  const enabled = d.DynamicPartitioningConfiguration?.Enabled === true;
  const refs = partitionRefs(d.Prefix);
  const processors = enabledProcessors(d);
  const extraction = processors.find((p) => p.Type === 'MetadataExtraction');
  const lambda = processors.find((p) => p.Type === 'Lambda');
  if (!enabled) {
    if (refs.length) throw invalid('Prefix expressions !{partitionKeyFromQuery:...} and !{partitionKeyFromLambda:...} need DynamicPartitioningConfiguration with Enabled true.');
    if (extraction) throw invalid('The MetadataExtraction processor is only supported when dynamic partitioning is enabled.');
    return;
  }
  if (!d.ErrorOutputPrefix) throw invalid('ErrorOutputPrefix cannot be null or empty when dynamic partitioning is enabled.');
  if (!extraction && !lambda) throw invalid('Dynamic partitioning needs an enabled MetadataExtraction or Lambda processor to produce partition keys.');
  if (!refs.length) throw invalid('Prefix must contain at least one !{partitionKeyFromQuery:...} or !{partitionKeyFromLambda:...} expression when dynamic partitioning is enabled.');
  if (d.DataFormatConversionConfiguration?.Enabled) throw invalid('Dynamic partitioning together with DataFormatConversionConfiguration is not supported by this gateway yet.');
  const queryKeys = extraction ? checkMetadataExtraction(extraction.Parameters) : [];
  for (const r of refs) {
    if (r.ns === 'partitionKeyFromQuery' && !extraction) throw invalid(`Prefix uses !{partitionKeyFromQuery:${r.key}} but no MetadataExtraction processor is enabled.`);
    if (r.ns === 'partitionKeyFromQuery' && !queryKeys.includes(r.key)) throw invalid(`Prefix uses partition key ${r.key}, which MetadataExtractionQuery does not define.`);
    if (r.ns === 'partitionKeyFromLambda' && !lambda) throw invalid(`Prefix uses !{partitionKeyFromLambda:${r.key}} but no Lambda processor is enabled.`);
  }
}

/** UpdateDestination: dynamic partitioning cannot be switched on for an existing delivery stream (AWS's rule). */
export function checkPartitioningUpdate(current: ExtendedS3Wire, next: ExtendedS3Wire): void {
  if (next.DynamicPartitioningConfiguration?.Enabled && !current.DynamicPartitioningConfiguration?.Enabled) {
    throw invalid('Dynamic partitioning cannot be enabled on an existing delivery stream.');
  }
}

/** Why a record cannot be placed by the Prefix's partition keys (undefined: it can), and its keys. */
function keysOf(r: ProcessedRecord, refs: ReturnType<typeof partitionRefs>): { why?: string; keys: NonNullable<KeyContext['partitionKeys']> } {
  const keys: NonNullable<KeyContext['partitionKeys']> = {};
  for (const { ns, key } of refs) {
    const value = ns === 'partitionKeyFromQuery' ? r.partitionKeys?.query?.[key] : r.partitionKeys?.lambda?.[key];
    if (value === undefined) return { why: `partition key ${key} (${ns}) is missing`, keys };
    // A value such as ".." or "a/../b" would leave the bucket's directory on a filesystem destination.
    if (keyEscapes(`${value}/x`)) return { why: `partition key ${key} has the value ${JSON.stringify(value)}, which cannot be part of a key here`, keys };
    (keys[ns === 'partitionKeyFromQuery' ? 'query' : 'lambda'] ??= {})[key] = value;
  }
  return { keys };
}

const partitioningFailed = (r: ProcessedRecord, why: string) => ({
  ...r,
  errorOutputType: 'partitioning-failed' as const,
  errorCode: metadataExtractionFailed,
  errorMessage: `Failed to evaluate the S3 prefix: ${why}`,
});

/** What the delivery worker adds to the pipeline context when dynamic partitioning is on. */
export function partitionContext(d: ExtendedS3Wire): { partitionPrefix?: string } {
  return d.DynamicPartitioningConfiguration?.Enabled ? { partitionPrefix: d.Prefix ?? '' } : {};
}

/**
 * The pipeline step that sends records without the keys the Prefix uses to
 * `partitioning-failed`; it runs after MetadataExtraction and before
 * AppendDelimiterToRecord, so that `rawData` is the record without the delimiter.
 */
export function partitionKeyProcessor(prefix: string): Processor {
  const refs = partitionRefs(prefix);
  return {
    type: 'PartitionKeys',
    process(records) {
      const result: ProcessingResult = { ok: [], failed: [] };
      for (const r of records) {
        const { why } = keysOf(r, refs);
        if (why) result.failed.push(partitioningFailed(r, why));
        else result.ok.push(r);
      }
      return result;
    },
  };
}

export interface PartitionGroup {
  keys: NonNullable<KeyContext['partitionKeys']>;
  records: ProcessedRecord[];
}

/**
 * Groups `processed.ok` by partition key set when dynamic partitioning is on
 * (undefined when it is off). Records without the keys the Prefix uses move
 * to `processed.failed` as `partitioning-failed`, and `processed.ok` is left
 * holding the grouped records in their order.
 */
export function partitionRecords(d: ExtendedS3Wire, processed: ProcessingResult): PartitionGroup[] | undefined {
  if (!d.DynamicPartitioningConfiguration?.Enabled) return undefined;
  const refs = partitionRefs(d.Prefix);
  const groups = new Map<string, PartitionGroup>();
  const fail = (r: ProcessedRecord, why: string) => processed.failed.push(partitioningFailed(r, why));
  for (const r of processed.ok) {
    // Normally checked in the pipeline already (partitionKeyProcessor); kept for a pipeline built without it.
    const { why, keys } = keysOf(r, refs);
    if (why) {
      fail(r, why);
      continue;
    }
    const id = JSON.stringify([keys.query ?? {}, keys.lambda ?? {}]);
    let g = groups.get(id);
    if (!g) {
      if (groups.size >= activePartitionsMax) {
        fail(r, `more than ${activePartitionsMax} partitions in one buffer`);
        continue;
      }
      g = { keys, records: [] };
      groups.set(id, g);
    }
    g.records.push(r);
  }
  const out = [...groups.values()];
  processed.ok = out.flatMap((g) => g.records);
  return out;
}

/** Writes one object per partition; returns the first key and the bytes written. */
export async function putPartitions(
  groups: PartitionGroup[],
  o: { destination: ExtendedS3Wire; base: KeyContext; target: Destination; now: number },
): Promise<{ key: string; objectBytes: number }> {
  let key = '';
  let objectBytes = 0;
  for (const g of groups) {
    const ctx: KeyContext = { ...o.base, uuid: randomUUID(), timeMs: g.records[0]!.arrivalMs, partitionKeys: g.keys };
    const k = objectKey(o.destination.Prefix, ctx);
    const body = await compress(o.destination.CompressionFormat, Buffer.concat(g.records.map((r) => r.data)), { entryName: objectName({ ...ctx, extension: '' }), mtimeMs: o.now });
    await o.target.putObject(k, body, { encryption: o.destination.EncryptionConfiguration });
    key ||= k;
    objectBytes += body.length;
  }
  return { key, objectBytes };
}
