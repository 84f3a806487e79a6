/**
 * DiscoverInputSchema's samples from this gateway: a data stream read from
 * TRIM_HORIZON (LAST_STOPPED_POINT too: there is no application to have
 * stopped) or from NOW (waiting up to `discoveryWaitMs` for records, as AWS
 * samples a live stream), a delivery stream's most recent staged records
 * (or new ones within the wait), an object of a bucket, and the optional
 * preprocessor.
 */
import { analyticsErrors } from '../../../sdk/protocol/analytics/errors.ts';
import type { DiscoverySources } from '../api/discovery.ts';
import { preprocessor } from './preprocess.ts';
import type { RuntimeDeps } from './runtime-deps.ts';
import { DeliveryStreamRecordSource, StreamRecordSource, type RecordSource, type SourceRecord } from './sources.ts';

/** How long discovery waits for records that are not there yet. */
export const discoveryWaitMs = 5000;
/** How long discovery retries a failing preprocessor. */
export const preprocessWaitMs = 30_000;

async function collect(source: RecordSource, max: number, waitMs: number): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  const deadline = Date.now() + waitMs;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), waitMs);
  try {
    while (out.length < max) {
      const batch = await source.next(abort.signal);
      out.push(...batch);
      if (batch.length === 0 && (out.length > 0 || Date.now() >= deadline)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return out.slice(0, max);
}

export function discoverySources(deps: RuntimeDeps, waitMs = discoveryWaitMs): DiscoverySources {
  return {
    async fromStream(name, position, max) {
      const rt = deps.streams.find(name);
      if (!rt || rt.meta.status === 'CREATING' || rt.meta.status === 'DELETING') return undefined;
      const source = new StreamRecordSource(deps.streams, name, position === 'NOW' ? 'NOW' : 'TRIM_HORIZON');
      return (await collect(source, max, position === 'NOW' ? waitMs : 0)).map((r) => r.data);
    },
    async fromDeliveryStream(name, max) {
      const rt = deps.firehose.streams.get(name);
      if (!rt) return undefined;
      const from = Math.max(rt.staging.firstCounter(), rt.staging.durableCounter - max);
      const recent = new DeliveryStreamRecordSource(deps.firehose, name, { positions: { incarnation: rt.meta.createdMs, shards: { '0': from } } });
      const got = await collect(recent, max, from < rt.staging.durableCounter ? 0 : waitMs);
      return got.map((r) => r.data);
    },
    async fromObject(bucketArn, key) {
      return deps.buckets.read(bucketArn, key);
    },
    async preprocess(lambdaArn, sourceArn, records) {
      const target = deps.lambdas(lambdaArn);
      if (!target || 'mqtt' in target) throw analyticsErrors.invalid(`Lambda function ${lambdaArn} is not mapped to a function endpoint on this gateway.`);
      const run = preprocessor({ target, applicationArn: '', sourceArn, firehose: sourceArn.includes(':firehose:'), log: deps.log });
      const now = Date.now();
      try {
        const out = await run(records.map((data, i) => ({ data, arrivalMs: now, partitionKey: '', sequenceNumber: String(i), shardId: 'shardId-000000000000' })), AbortSignal.timeout(preprocessWaitMs));
        return out.ok.map((r) => r.data);
      } catch (err) {
        throw analyticsErrors.invalid(`The input preprocessor ${lambdaArn} failed: ${String((err as Error)?.message ?? err)}`);
      }
    },
  };
}
