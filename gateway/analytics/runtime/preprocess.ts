/**
 * Input preprocessing (InputProcessingConfiguration): records go through a
 * function that speaks the Lambda preprocessing contract before the SQL sees
 * them (dev/lambda-preprocessing.html). The event is
 * `{invocationId, applicationArn, streamArn, records: [{recordId,
 * kinesisStreamRecordMetadata | kinesisFirehoseRecordMetadata, data}]}` and
 * the answer `{records: [{recordId, result: Ok | Dropped | ProcessingFailed,
 * data}]}`, checked as Firehose checks its transformation answers (the
 * contract is the same). An invocation that fails, or whose answer breaks
 * the contract, is retried with backoff until it succeeds, as AWS does (the
 * records wait in the source meanwhile); a ProcessingFailed record goes to
 * error_stream.
 */
import { randomUUID } from 'node:crypto';
import { checkResponse, invokerFor, type LambdaTarget } from '../../firehose/processors/lambda.ts';
import type { Logger } from '../../log.ts';
import type { SourceRecord } from './sources.ts';
import { sleep } from './sources.ts';

export const preprocessRetryMsMin = 200;
export const preprocessRetryMsMax = 10_000;
/** Records per invocation. */
export const preprocessRecordsMax = 500;

export interface PreprocessOutcome {
  ok: SourceRecord[];
  failed: Array<{ record: SourceRecord; errorName: string; message: string }>;
  dropped: number;
}

export interface PreprocessorOptions {
  target: LambdaTarget;
  applicationArn: string;
  sourceArn: string;
  firehose: boolean;
  log: Logger;
}

export function preprocessor(o: PreprocessorOptions): (records: SourceRecord[], signal: AbortSignal) => Promise<PreprocessOutcome> {
  const invoke = invokerFor(o.target) as unknown as (event: unknown) => Promise<unknown>;
  return async (records, signal) => {
    const out: PreprocessOutcome = { ok: [], failed: [], dropped: 0 };
    for (let i = 0; i < records.length; i += preprocessRecordsMax) {
      const chunk = records.slice(i, i + preprocessRecordsMax);
      const ids = chunk.map((_, k) => `${Date.now().toString(36)}-${i + k}-${randomUUID()}`);
      const event = {
        invocationId: randomUUID(),
        applicationArn: o.applicationArn,
        streamArn: o.sourceArn,
        records: chunk.map((r, k) => ({
          recordId: ids[k],
          ...(o.firehose
            ? { kinesisFirehoseRecordMetadata: { approximateArrivalTimestamp: r.arrivalMs } }
            : { kinesisStreamRecordMetadata: { sequenceNumber: r.sequenceNumber, partitionKey: r.partitionKey, shardId: r.shardId, approximateArrivalTimestamp: r.arrivalMs } }),
          data: r.data.toString('base64'),
        })),
      };
      // AWS: "For data preprocessing failures, Kinesis Data Analytics continues to retry Lambda invocations on
      // the same set of records until successful" - a failed invocation and an answer that breaks the contract alike.
      let verdict: ReturnType<typeof checkResponse>;
      for (let attempt = 1; ; attempt++) {
        let err: unknown;
        try {
          verdict = checkResponse(await invoke(event), ids);
          if (verdict.ok) break;
          err = new Error(`${verdict.error[0]}: ${verdict.error[1]}`);
        } catch (e) {
          err = e;
        }
        if (signal.aborted) throw err;
        o.log.warn('analytics preprocessor failed; retrying', { function: o.applicationArn, attempt, err: String((err as Error)?.message ?? err) });
        await sleep(Math.min(preprocessRetryMsMax, preprocessRetryMsMin * 2 ** Math.min(attempt - 1, 16)), signal);
        if (signal.aborted) throw err;
      }
      chunk.forEach((r, k) => {
        const v = verdict.byId.get(ids[k]!)!;
        if (v.result === 'Ok') out.ok.push({ ...r, data: v.data! });
        else if (v.result === 'Dropped') out.dropped++;
        else out.failed.push({ record: r, errorName: 'Lambda.ProcessingFailedStatus', message: 'ProcessingFailed status set for record' });
      });
    }
    return out;
  };
}
