/**
 * The Lambda processor: record transformation by a function that speaks
 * Firehose's Lambda transformation contract. There is no Lambda here; the
 * gateway config maps each LambdaArn to a transformer:
 *
 *   firehose:
 *     lambdas:
 *       "arn:aws:lambda:us-east-1:000000000000:function:enrich": { url: "http://127.0.0.1:9000/transform" }
 *       "arn:aws:lambda:us-east-1:000000000000:function:local": { module: /srv/transformers/local.mjs }
 *
 * An HTTP transformer gets the invocation event as a JSON POST and answers
 * the response JSON (2xx); a module's default export is
 * `async function (event) { return { records: [...] } }`. The event is what
 * Lambda gets from Firehose: `{invocationId, deliveryStreamArn, region,
 * records: [{recordId, approximateArrivalTimestamp, data}]}`, data in base64.
 *
 * The answer is checked as Firehose checks it: every recordId back exactly
 * once, `result` one of Ok / Dropped / ProcessingFailed, `data` base64 for
 * Ok. A response that breaks the contract fails the whole invocation's
 * records with Firehose's error code; an invocation that fails (error,
 * non-2xx, timeout) is retried NumberOfRetries times, then its records fail.
 * Failed records go to the error prefix under `processing-failed/` with
 * `attemptsMade` and `lambdaArn`, as AWS writes them.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AwsError, TributaryError } from '../../../sdk/protocol/errors.ts';
import type { ProcessedRecord, ProcessingResult, Processor } from '../processing.ts';

/** AWS Firehose developer guide, data transformation: NumberOfRetries 0-300, default 3. */
export const lambdaRetriesMax = 300;
export const lambdaRetriesDefault = 3;
/** AWS Firehose developer guide: the Lambda processor's BufferSizeInMBs is 0.2-3 (default 1) and its interval 60-900 s (default 60). */
export const lambdaBufferMiBMin = 0.2;
export const lambdaBufferMiBMax = 3;
export const lambdaBufferMiBDefault = 1;
export const lambdaBufferSecondsMin = 60;
export const lambdaBufferSecondsMax = 900;
/** AWS Lambda quotas: a synchronous invocation's payload (request and response) is at most 6 MB. */
export const lambdaPayloadBytesMax = 6 * 1024 * 1024;
/** Firehose gives a transformation function at most 5 minutes (the Lambda timeout it recommends is at most 1 minute). */
export const lambdaInvokeTimeoutMsDefault = 60_000;
export const lambdaInvokeTimeoutMsMax = 300_000;
/** Records per invocation, so that a batch of tiny records still makes a bounded event. */
export const lambdaRecordsPerInvocationMax = 10_000;
/** Backoff between attempts of one invocation. */
export const lambdaRetryMsMin = 100;
export const lambdaRetryMsMax = 5_000;

/** Where a Lambda ARN goes on this gateway (config `firehose.lambdas`). */
export type LambdaTarget = { url: string; timeoutMs?: number } | { module: string; timeoutMs?: number };

export interface LambdaEvent {
  invocationId: string;
  deliveryStreamArn: string;
  region: string;
  records: Array<{ recordId: string; approximateArrivalTimestamp: number; data: string }>;
}

/** What the processor needs from the gateway around it. */
export interface LambdaContext {
  lambdas: Readonly<Record<string, LambdaTarget>>;
  deliveryStreamArn: string;
  region: string;
}

/** An invocation that failed (retried); `code` is Firehose's error code for the records if it keeps failing. */
export class LambdaInvokeError extends TributaryError {
  constructor(
    readonly errorCode: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('LAMBDA_INVOKE_FAILED', message, options);
    this.name = 'LambdaInvokeError';
  }
}

/** Firehose's error codes and messages for the records of a failed transformation (as AWS writes them in processing-failed objects). */
export const lambdaErrors = {
  functionError: ['Lambda.FunctionError', 'The Lambda function was successfully invoked but it returned an error result.'],
  invokeLimitExceeded: ['Lambda.InvokeLimitExceeded', 'The Lambda concurrent execution limit is exceeded. Increase the concurrent execution limit.'],
  missingRecordId: ['Lambda.MissingRecordId', 'One or more record Ids were not returned. Ensure that the Lambda function returns all received record Ids.'],
  duplicatedRecordId: ['Lambda.DuplicatedRecordId', 'Multiple records were returned with the same record Id. Ensure that the Lambda function returns unique record Ids for each record.'],
  jsonProcessing: ['Lambda.JsonProcessingException', 'There was an error parsing returned records from the Lambda function. Ensure that the returned records follow the status model required by Kinesis Data Firehose.'],
  processingFailed: ['Lambda.ProcessingFailedStatus', 'ProcessingFailed status set for record'],
} as const satisfies Record<string, readonly [string, string]>;

type Params = Record<string, string>;

function paramsOf(parameters: Array<{ ParameterName: string; ParameterValue: string }> | undefined): Params {
  return Object.fromEntries((parameters ?? []).map((p) => [p.ParameterName, p.ParameterValue]));
}

function numberParam(p: Params, name: string, min: number, max: number, integer: boolean): number | undefined {
  const raw = p[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new AwsError('InvalidArgumentException', `Lambda processor parameter ${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max} (got ${raw}).`);
  }
  return n;
}

/** Checks a Lambda processor's parameters at create/update; throws InvalidArgumentException. */
export function checkLambdaProcessor(parameters: Array<{ ParameterName: string; ParameterValue: string }> | undefined, lambdas: Readonly<Record<string, LambdaTarget>>): void {
  const p = paramsOf(parameters);
  const arn = p.LambdaArn;
  if (!arn) throw new AwsError('InvalidArgumentException', 'LambdaArn is required for the Lambda processor.');
  if (!Object.hasOwn(lambdas, arn)) {
    throw new AwsError('InvalidArgumentException', `Lambda function ${arn} is not mapped to a transformer on this gateway (firehose.lambdas in the gateway config).`);
  }
  numberParam(p, 'NumberOfRetries', 0, lambdaRetriesMax, true);
  numberParam(p, 'BufferSizeInMBs', lambdaBufferMiBMin, lambdaBufferMiBMax, false);
  numberParam(p, 'BufferIntervalInSeconds', lambdaBufferSecondsMin, lambdaBufferSecondsMax, true);
  for (const name of Object.keys(p)) {
    if (!['LambdaArn', 'NumberOfRetries', 'RoleArn', 'BufferSizeInMBs', 'BufferIntervalInSeconds'].includes(name)) {
      throw new AwsError('InvalidArgumentException', `Parameter ${name} is not valid for processor type Lambda.`);
    }
  }
}

/** Turns a target into a function that invokes it once. */
export function invokerFor(target: LambdaTarget): (event: LambdaEvent) => Promise<unknown> {
  const timeoutMs = Math.min(target.timeoutMs ?? lambdaInvokeTimeoutMsDefault, lambdaInvokeTimeoutMsMax);
  if ('url' in target) return (event) => invokeHttp(target.url, event, timeoutMs);
  const href = pathToFileURL(path.resolve(target.module)).href;
  return async (event) => {
    let mod: { default?: unknown };
    try {
      mod = (await import(href)) as { default?: unknown };
    } catch (err) {
      throw new LambdaInvokeError(lambdaErrors.functionError[0], `cannot load ${target.module}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
    if (typeof mod.default !== 'function') throw new LambdaInvokeError(lambdaErrors.functionError[0], `${target.module} has no default export function`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LambdaInvokeError(lambdaErrors.functionError[0], `transformer timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([(mod.default as (e: LambdaEvent) => unknown)(event), timeout]);
    } catch (err) {
      if (err instanceof LambdaInvokeError) throw err;
      throw new LambdaInvokeError(lambdaErrors.functionError[0], `transformer threw: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  };
}

async function invokeHttp(url: string, event: LambdaEvent, timeoutMs: number): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event), signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new LambdaInvokeError(lambdaErrors.functionError[0], `transformer ${url} unreachable: ${(err as Error).message}`, { cause: err });
  }
  const text = await res.text();
  if (res.status === 429) throw new LambdaInvokeError(lambdaErrors.invokeLimitExceeded[0], `transformer ${url} answered 429`);
  if (res.status < 200 || res.status > 299) throw new LambdaInvokeError(lambdaErrors.functionError[0], `transformer ${url} answered ${res.status}`);
  if (text.length > lambdaPayloadBytesMax * 2) throw new LambdaInvokeError(lambdaErrors.functionError[0], `transformer ${url} answered more than ${lambdaPayloadBytesMax * 2} bytes`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // not JSON: the contract check reports it
  }
}

type Verdict = { ok: true; byId: Map<string, { result: string; data?: Buffer; partitionKeys?: Record<string, string> }> } | { ok: false; error: readonly [string, string] };

/** Checks a response against the contract: each id exactly once, a known result, base64 data for Ok. Pure. */
export function checkResponse(response: unknown, ids: readonly string[]): Verdict {
  const records = (response as { records?: unknown } | null)?.records;
  if (typeof response !== 'object' || response === null || !Array.isArray(records)) return { ok: false, error: lambdaErrors.jsonProcessing };
  const wanted = new Set(ids);
  const byId: Extract<Verdict, { ok: true }>['byId'] = new Map();
  for (const r of records as Array<Record<string, unknown>>) {
    if (typeof r !== 'object' || r === null || typeof r.recordId !== 'string') return { ok: false, error: lambdaErrors.missingRecordId };
    if (!wanted.has(r.recordId)) return { ok: false, error: lambdaErrors.missingRecordId };
    if (byId.has(r.recordId)) return { ok: false, error: lambdaErrors.duplicatedRecordId };
    if (r.result !== 'Ok' && r.result !== 'Dropped' && r.result !== 'ProcessingFailed') return { ok: false, error: lambdaErrors.jsonProcessing };
    let data: Buffer | undefined;
    if (r.result === 'Ok') {
      if (typeof r.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(r.data) || r.data.length % 4 !== 0) return { ok: false, error: lambdaErrors.functionError };
      data = Buffer.from(r.data, 'base64');
    }
    const keys = (r.metadata as { partitionKeys?: unknown } | undefined)?.partitionKeys;
    let partitionKeys: Record<string, string> | undefined;
    if (keys !== undefined && keys !== null) {
      if (typeof keys !== 'object' || Array.isArray(keys)) return { ok: false, error: lambdaErrors.jsonProcessing };
      partitionKeys = {};
      for (const [k, v] of Object.entries(keys)) {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return { ok: false, error: lambdaErrors.jsonProcessing };
        partitionKeys[k] = String(v);
      }
    }
    byId.set(r.recordId, { result: r.result, ...(data ? { data } : {}), ...(partitionKeys ? { partitionKeys } : {}) });
  }
  if (byId.size !== wanted.size) return { ok: false, error: lambdaErrors.missingRecordId };
  return { ok: true, byId };
}

/** Splits a batch into invocations of at most `bytesMax` record bytes (base64 adds a third) and a bounded record count. */
function chunks(records: ProcessedRecord[], bytesMax: number): ProcessedRecord[][] {
  const out: ProcessedRecord[][] = [];
  let cur: ProcessedRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    if (cur.length && (bytes + r.data.length > bytesMax || cur.length >= lambdaRecordsPerInvocationMax)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(r);
    bytes += r.data.length;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Builds the processor for one Lambda ProcessingConfiguration entry (parameters checked at create). */
export function lambdaProcessor(parameters: Array<{ ParameterName: string; ParameterValue: string }> | undefined, ctx: LambdaContext): Processor {
  const p = paramsOf(parameters);
  const arn = p.LambdaArn!;
  const target = ctx.lambdas[arn];
  const retries = p.NumberOfRetries !== undefined ? Number(p.NumberOfRetries) : lambdaRetriesDefault;
  const bufferBytes = Math.floor((p.BufferSizeInMBs !== undefined ? Number(p.BufferSizeInMBs) : lambdaBufferMiBDefault) * 1024 * 1024);
  const invoke = target ? invokerFor(target) : undefined;
  return {
    type: 'Lambda',
    async process(records) {
      const result: ProcessingResult = { ok: [], failed: [] };
      for (const chunk of chunks(records, bufferBytes)) {
        const r = await transform(chunk, { arn, retries, ctx, invoke });
        result.ok.push(...r.ok);
        result.failed.push(...r.failed);
        result.dropped = (result.dropped ?? 0) + (r.dropped ?? 0);
      }
      return result;
    },
  };
}

interface TransformOptions {
  arn: string;
  retries: number;
  ctx: LambdaContext;
  invoke: ((event: LambdaEvent) => Promise<unknown>) | undefined;
}

/** One invocation (with its retries) over one chunk. */
async function transform(chunk: ProcessedRecord[], o: TransformOptions): Promise<ProcessingResult> {
  // Record ids are unique within the invocation; the staging counter plus the position covers de-aggregated sub-records.
  const ids = chunk.map((r, i) => `${r.counter.toString().padStart(20, '0')}${i.toString().padStart(6, '0')}`);
  const records = chunk.map((r, i) => ({ recordId: ids[i]!, approximateArrivalTimestamp: r.arrivalMs, data: r.data.toString('base64') }));
  let attempts = 0;
  let response: unknown;
  let failure: readonly [string, string] | undefined;
  for (;;) {
    attempts++;
    try {
      // The mapping was checked at create; a config reload that dropped it fails the records rather than the delivery.
      if (!o.invoke) throw new LambdaInvokeError(lambdaErrors.functionError[0], `Lambda function ${o.arn} is not mapped on this gateway`);
      response = await o.invoke({ invocationId: randomUUID(), deliveryStreamArn: o.ctx.deliveryStreamArn, region: o.ctx.region, records });
      failure = undefined;
      break;
    } catch (err) {
      if (!(err instanceof LambdaInvokeError)) throw err;
      failure = err.errorCode === lambdaErrors.invokeLimitExceeded[0] ? lambdaErrors.invokeLimitExceeded : lambdaErrors.functionError;
      if (attempts > o.retries) break;
      await new Promise((r) => setTimeout(r, Math.min(lambdaRetryMsMax, lambdaRetryMsMin * 2 ** (attempts - 1))));
    }
  }
  const fail = (r: ProcessedRecord, e: readonly [string, string]) => ({ ...r, errorOutputType: 'processing-failed' as const, errorCode: e[0], errorMessage: e[1], attemptsMade: attempts, lambdaArn: o.arn });
  if (failure) return { ok: [], failed: chunk.map((r) => fail(r, failure)) };
  const verdict = checkResponse(response, ids);
  if (!verdict.ok) return { ok: [], failed: chunk.map((r) => fail(r, verdict.error)) };
  const out: ProcessingResult = { ok: [], failed: [], dropped: 0 };
  chunk.forEach((r, i) => {
    const v = verdict.byId.get(ids[i]!)!;
    if (v.result === 'Dropped') out.dropped!++;
    else if (v.result === 'ProcessingFailed') out.failed.push(fail(r, lambdaErrors.processingFailed));
    else out.ok.push({ ...r, data: v.data!, ...(v.partitionKeys ? { partitionKeys: { ...r.partitionKeys, lambda: v.partitionKeys } } : {}) });
  });
  return out;
}
