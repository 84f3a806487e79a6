/**
 * What the delivery worker does with a batch besides writing one object to
 * the S3 destination: retry for a bounded duration, then route the batch to
 * the error output; deliver to an HTTP endpoint with S3 backup.
 *
 * Retry duration: the clock starts at a batch's first failed attempt (AWS:
 * "this duration starts after the initial attempt ... fails"); an attempt
 * that begins after it ran out writes the batch's records to the backup
 * bucket's error prefix instead (`http-endpoint-failed/`, or `s3-failed/`
 * for the S3 destination), as JSON lines with the last error. If that write
 * fails too, it is retried with backoff until it succeeds: the checkpoint
 * only moves past records that are durable somewhere, so nothing is dropped.
 *
 * A batch that failed is re-read with the same records, so every attempt of
 * one HTTP request carries the same request id, as the specification asks.
 */
import { randomUUID } from 'node:crypto';
import { compress } from './compression.ts';
import type { Destination } from './destinations/types.ts';
import { postRecords, type HttpEndpointError } from './destinations/http-endpoint.ts';
import type { HttpEndpointWire } from './http-endpoint-model.ts';
import type { ExtendedS3Wire } from './model.ts';
import { errorObjectKey, objectKey, objectName, type ErrorOutputType, type KeyContext } from './object-key.ts';
import type { ProcessedRecord } from './processing.ts';

/** One batch's retry state: kept from its first attempt until its records are durable somewhere. */
export interface RetryBatch {
  startCounter: number;
  endCounter: number;
  requestId: string;
  attempts: number;
  firstFailureMs?: number;
  lastError?: unknown;
  /** The HTTP endpoint acknowledged the batch: a retry only redoes the backup write. */
  sent: boolean;
  /** The source record backup (S3BackupMode Enabled) of the batch is durable: a retry does not write it again. */
  backedUp?: boolean;
  /** The retry duration ran out and the next attempt was scheduled at once. */
  expiredSeen?: boolean;
}

export class DeliveryRetry {
  batch: RetryBatch | undefined;

  /** Records to read for the next attempt: exactly the failed batch's, if it starts here. */
  readLimit(startCounter: number): number | undefined {
    const b = this.batch;
    return b && b.startCounter === startCounter ? b.endCounter - startCounter : undefined;
  }

  /** The batch an attempt is about to deliver (the failed one again, or a new one). */
  begin(startCounter: number, endCounter: number): RetryBatch {
    const b = this.batch;
    if (!b || b.startCounter !== startCounter || b.endCounter !== endCounter) {
      this.batch = { startCounter, endCounter, requestId: randomUUID(), attempts: 0, sent: false };
    }
    this.batch!.attempts++;
    return this.batch!;
  }

  failed(nowMs: number, err: unknown): void {
    if (!this.batch) return;
    this.batch.firstFailureMs ??= nowMs;
    this.batch.lastError = err;
  }

  /** The batch's records are durable (destination, backup or error output). */
  done(): void {
    this.batch = undefined;
  }

  expired(nowMs: number, retryMs: number): boolean {
    const first = this.batch?.firstFailureMs;
    return first !== undefined && nowMs - first >= retryMs;
  }

  /**
   * The wait before the next attempt: the backoff, cut short so that the
   * first attempt past the retry duration (the one that writes the error
   * output) is not late; a failing error-output write backs off in full.
   */
  waitMs(backoffMs: number, nowMs: number, retryMs: number): number {
    const b = this.batch;
    if (b?.firstFailureMs === undefined) return backoffMs;
    const left = b.firstFailureMs + retryMs - nowMs;
    if (left > 0) return Math.min(backoffMs, left);
    if (b.expiredSeen) return backoffMs;
    b.expiredSeen = true;
    return 0;
  }
}

/** The retry duration of a destination: RetryOptions for an HTTP endpoint, the gateway's `firehose.s3RetryMs` for S3. */
export function retryMsOf(http: HttpEndpointWire | undefined, s3RetryMs: number): number {
  return http ? http.RetryOptions.DurationInSeconds * 1000 : s3RetryMs;
}

export interface RouteContext {
  records: ProcessedRecord[];
  destination: ExtendedS3Wire;
  http: HttpEndpointWire | undefined;
  base: KeyContext;
  target: Destination;
  batch: RetryBatch;
  /** The retry duration ran out before this attempt began. */
  expired: boolean;
  sourceArn: string;
  now: number;
  /** The operator's allow-list (`firehose.httpEndpointsAllowed`): a URL it does not allow is never posted to. */
  httpEndpointAllowed?: (url: string) => boolean;
}

export interface RouteResult {
  key: string;
  objectBytes: number;
  /** Records the HTTP endpoint acknowledged. */
  httpRecords?: number;
  /** Records written to the backup bucket with S3BackupMode AllData. */
  backupRecords?: number;
  errorOutput?: { type: ErrorOutputType; records: number; errorCode: string };
}

/**
 * Delivers a batch when it does not go to the S3 destination as one object:
 * to an HTTP endpoint, or to the error output once the retry duration ran
 * out. `undefined`: the worker writes the S3 object as usual. Throws when an
 * attempt fails (the worker retries).
 */
export async function routeBatch(c: RouteContext): Promise<RouteResult | undefined> {
  if (!c.http) return c.expired && c.records.length ? writeErrorOutput(c, 's3-failed') : undefined;
  if (!c.records.length) return { key: '', objectBytes: 0 };
  const out: RouteResult = { key: '', objectBytes: 0 };
  if (!c.batch.sent) {
    if (c.expired) Object.assign(out, await writeErrorOutput(c, 'http-endpoint-failed'));
    else {
      await postRecords(c.http, { requestId: c.batch.requestId, timestampMs: c.now, records: c.records.map((r) => r.data), sourceArn: c.sourceArn }, c.httpEndpointAllowed ? { allowed: c.httpEndpointAllowed } : {});
      out.httpRecords = c.records.length;
    }
    c.batch.sent = true;
  }
  if (c.http.S3BackupMode === 'AllData') {
    // Every record also goes to the backup bucket as an object, as the S3 destination names it.
    const key = objectKey(c.destination.Prefix, c.base);
    const body = await compress(c.destination.CompressionFormat, Buffer.concat(c.records.map((r) => r.data)), {
      entryName: objectName({ ...c.base, extension: '' }),
      mtimeMs: c.now,
    });
    await c.target.putObject(key, body, { encryption: c.destination.EncryptionConfiguration });
    Object.assign(out, { key, objectBytes: body.length, backupRecords: c.records.length });
  }
  return out;
}

async function writeErrorOutput(c: RouteContext, type: ErrorOutputType): Promise<RouteResult> {
  const err = c.batch.lastError as (Partial<HttpEndpointError> & { code?: unknown }) | undefined;
  const errorCode = errorCodeOf(type, err);
  const errorMessage = String(err?.message ?? 'delivery failed');
  const lines = c.records.map(
    (r) =>
      JSON.stringify({
        attemptsMade: c.batch.attempts - 1,
        arrivalTimestamp: r.arrivalMs,
        errorCode,
        errorMessage,
        attemptEndingTimestamp: c.now,
        rawData: r.data.toString('base64'),
        ...(c.http ? { EndpointUrl: c.http.EndpointConfiguration.Url, requestId: c.batch.requestId } : {}),
      }) + '\n',
  );
  const key = errorObjectKey(c.destination.ErrorOutputPrefix, { ...c.base, uuid: randomUUID(), errorOutputType: type, extension: '' });
  const body = Buffer.from(lines.join(''));
  await c.target.putObject(key, body, { encryption: c.destination.EncryptionConfiguration });
  return { key, objectBytes: body.length, errorOutput: { type, records: c.records.length, errorCode } };
}

function errorCodeOf(type: ErrorOutputType, err: { code?: unknown } | undefined): string {
  const code = typeof err?.code === 'string' ? err.code : undefined;
  if (type === 'http-endpoint-failed') return code?.startsWith('HttpEndpoint.') ? code : 'HttpEndpoint.DestinationException';
  return `S3.${code ?? 'InternalError'}`;
}
