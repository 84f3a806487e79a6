/**
 * One delivery stream's delivery worker: reads records from the staging log
 * from the durable "delivered up to" checkpoint, runs the processing
 * pipeline, concatenates and compresses one object, writes it to the
 * destination, then advances the checkpoint (write, fsync, rename) and trims
 * staging segments that are wholly delivered.
 *
 * Buffering: an object is delivered when the undelivered bytes reach
 * SizeInMBs or the oldest undelivered record is IntervalInSeconds old,
 * whichever comes first. One delivery runs at a time per delivery stream.
 *
 * At least once: a crash after an object is in place but before the
 * checkpoint is saved delivers that object's records again (in a new object)
 * after restart. Nothing acknowledged is skipped: the checkpoint only moves
 * past records whose object is durable.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.ts';
import type { ShardLog } from '../storage/types.ts';
import type { StoredRecord } from '../storage/types.ts';
import { writeFileAtomic } from '../storage/local/segment.ts';
import { compress, compressionExtension } from './compression.ts';
import type { DestinationResolver } from './destinations/types.ts';
import type { ExtendedS3Wire } from './model.ts';
import { errorObjectKey, objectKey, objectName, type KeyContext } from './object-key.ts';
import { buildPipeline, runPipeline } from './processing.ts';
import type { PipelineContext } from './processors/index.ts';
import { partitionContext, partitionRecords, putPartitions } from './partitioning.ts';
import type { ProcessingCounts } from './processing-metrics.ts';
import { s3RetryMsDefault } from '../../sdk/protocol/firehose/limits.ts';
import { DeliveryRetry, retryMsOf, routeBatch, type RouteResult } from './delivery-retry.ts';
import type { HttpEndpointWire } from './http-endpoint-model.ts';
import { convertedExtension, convertFormat, type TableSchemas } from './format-conversion.ts';
import { sourceBackupOf, writeSourceBackup, type SourceBackupResult } from './source-backup.ts';

/** Records per staging read (a read also stops at the buffer size). */
export const deliveryReadRecordsMax = 200_000;
/** Backoff between failed attempts to write an object. */
export const deliveryRetryMsMin = 500;
export const deliveryRetryMsMax = 30_000;

export interface DeliveryEvent {
  records: number;
  bytes: number;
  objectBytes: number;
  key: string;
  /** Age of the oldest record in the object when it was written. */
  oldestAgeMs: number;
  /** Set when the batch went to an HTTP endpoint, the AllData backup or the error output (delivery-retry.ts). */
  routed?: RouteResult;
  /** What the processors did to the buffer (processing-metrics.ts). */
  processing?: ProcessingCounts;
  /** The source record backup object (S3BackupMode Enabled), when this attempt wrote it. */
  backup?: SourceBackupResult;
}

export interface DeliveryWorkerOptions {
  name: string;
  staging: ShardLog;
  checkpointFile: string;
  /** The current destination config and version (UpdateDestination changes them between objects). */
  config: () => { destination: ExtendedS3Wire; versionId: number; httpEndpoint?: HttpEndpointWire | undefined };
  /** For the HTTP endpoint's X-Amz-Firehose-Source-Arn header. */
  deliveryStreamArn?: string;
  /** How long a batch is retried against the S3 destination before it goes to the error output (`firehose.s3RetryMs`). */
  s3RetryMs?: number;
  destinations: DestinationResolver;
  log: Logger;
  now: () => number;
  onDelivered?: (e: DeliveryEvent) => void;
  /** A staged record's data in the clear (staging may be encrypted at rest). */
  open?: (record: StoredRecord) => Buffer;
  /** An attempt to write an object failed (it is retried). */
  onFailed?: (err: unknown) => void;
  /** Table schemas for record format conversion (gateway config `firehose.schemas`). */
  schemas?: TableSchemas | undefined;
  /** What the Lambda processor needs: the gateway's Lambda ARN mapping, this delivery stream's ARN and the Region. */
  processing?: PipelineContext;
  /** The operator's allow-list for HTTP endpoint URLs (`firehose.httpEndpointsAllowed`), checked before every post. */
  httpEndpointAllowed?: (url: string) => boolean;
}

interface PendingAppend {
  startCounter: number;
  endCounter: number;
  arrivalMs: number;
  bytes: number;
}

export class DeliveryWorker {
  /** Records below this counter are delivered (durably recorded in the checkpoint file). */
  deliveredCounter = 0;
  /** Data bytes staged and not yet delivered (for the size trigger and the staging cap). */
  pendingBytes = 0;
  private appends: PendingAppend[] = [];
  /** Records found in staging at start-up: delivered at once, whatever the hints. */
  private recoveredUntil = 0;
  private flushUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private flushWaiters: Array<{ counter: number; resolve: () => void }> = [];
  /** Objects written whose checkpoint failed to save: the retry saves the checkpoint, it does not write them again. */
  private unsaved: { counter: number; staged: Array<{ counter: number; data: Buffer }>; event: DeliveryEvent } | undefined;
  /** Ends a retry backoff early (close). */
  private wake: (() => void) | undefined;
  /** The failing batch's retry clock and request id. */
  private readonly retry = new DeliveryRetry();

  private constructor(private readonly o: DeliveryWorkerOptions) {}

  static async start(o: DeliveryWorkerOptions): Promise<DeliveryWorker> {
    const w = new DeliveryWorker(o);
    const saved = await readCheckpoint(o.checkpointFile);
    const end = o.staging.durableCounter;
    if (saved > end) {
      // Staging lost its tail (fsync policy other than always) after delivery: counters restart below the checkpoint.
      o.log.warn('firehose checkpoint past staging end; resetting', { deliveryStream: o.name, checkpoint: saved, stagingEnd: end });
      await writeCheckpoint(o.checkpointFile, end);
      w.deliveredCounter = end;
    } else w.deliveredCounter = Math.max(saved, o.staging.firstCounter());
    w.recoveredUntil = end;
    if (end > w.deliveredCounter) o.log.info('firehose delivering recovered records', { deliveryStream: o.name, records: end - w.deliveredCounter });
    w.schedule();
    return w;
  }

  /** Called once appended records are durable. */
  noteDurable(startCounter: number, endCounter: number, arrivalMs: number, bytes: number): void {
    if (endCounter <= this.deliveredCounter) return; // delivered already (read as soon as durable)
    if (startCounter < this.deliveredCounter) {
      // Partly delivered already: count the rest by share of records.
      bytes = Math.ceil((bytes * (endCounter - this.deliveredCounter)) / (endCounter - startCounter));
      startCounter = this.deliveredCounter;
    }
    this.appends.push({ startCounter, endCounter, arrivalMs, bytes });
    this.pendingBytes += bytes;
    this.schedule();
  }

  /** Delivers everything staged so far, whatever the hints; resolves when it is delivered. */
  flush(): Promise<void> {
    const counter = this.o.staging.durableCounter;
    if (counter <= this.deliveredCounter) return Promise.resolve();
    this.flushUntil = Math.max(this.flushUntil, counter);
    const done = new Promise<void>((resolve) => this.flushWaiters.push({ counter, resolve }));
    this.schedule();
    return done;
  }

  /** Re-evaluates the triggers (the buffering hints changed). */
  reschedule(): void {
    this.schedule();
  }

  /** Stops scheduling; waits for an object being written. Undelivered records stay staged for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.running;
  }

  private hints() {
    const h = this.o.config().destination.BufferingHints;
    return { bytes: h.SizeInMBs * 1024 * 1024, ms: h.IntervalInSeconds * 1000 };
  }

  private retryMs(): number {
    return retryMsOf(this.o.config().httpEndpoint, this.o.s3RetryMs ?? s3RetryMsDefault);
  }

  /** Delivers now when a trigger has fired; otherwise arms the interval timer. */
  private schedule(): void {
    if (this.closed || this.running) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.o.staging.durableCounter <= this.deliveredCounter) return;
    const due = this.dueInMs();
    if (due === Infinity) return;
    if (due <= 0) {
      this.running = this.deliverAll()
        .catch((err) => this.o.log.error('firehose delivery loop failed', { deliveryStream: this.o.name, err: String((err as Error)?.stack ?? err) }))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
      return;
    }
    this.timer = setTimeout(() => this.schedule(), due);
    this.timer.unref();
  }

  private dueInMs(): number {
    if (this.deliveredCounter < this.recoveredUntil || this.deliveredCounter < this.flushUntil) return 0;
    const { bytes, ms } = this.hints();
    if (this.pendingBytes >= bytes) return 0;
    const oldest = this.appends[0];
    // Durable but not yet noted (the put's continuation runs next): noteDurable schedules again.
    if (!oldest) return Infinity;
    return oldest.arrivalMs + ms - this.o.now();
  }

  private async deliverAll(): Promise<void> {
    let attempt = 0;
    while (!this.closed && this.o.staging.durableCounter > this.deliveredCounter && this.dueInMs() <= 0) {
      try {
        await this.deliverOne();
        attempt = 0;
      } catch (err) {
        this.o.onFailed?.(err);
        this.retry.failed(this.o.now(), err);
        const wait = this.retry.waitMs(Math.min(deliveryRetryMsMax, deliveryRetryMsMin * 2 ** attempt++), this.o.now(), this.retryMs());
        this.o.log.error('firehose delivery failed; retrying', { deliveryStream: this.o.name, retryMs: wait, err: String((err as Error)?.message ?? err) });
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, wait).unref();
        });
        this.wake = undefined;
      }
    }
  }

  /** Reads up to one buffer's worth, delivers it as one object, advances the checkpoint. */
  private async deliverOne(): Promise<void> {
    if (this.unsaved) return this.saveCheckpoint(this.unsaved);
    const { destination, versionId, httpEndpoint } = this.o.config();
    const { bytes: sizeBytes } = this.hints();
    const read = await this.o.staging.read(this.deliveredCounter, { limit: this.retry.readLimit(this.deliveredCounter) ?? deliveryReadRecordsMax, bytesMax: sizeBytes, arrivalMsMin: 0 });
    if (read.records.length === 0) {
      // A gap in staging (a repaired middle segment): skip to where records resume.
      if (read.nextCounter <= this.deliveredCounter) throw new Error(`staging read made no progress at counter ${this.deliveredCounter}`);
      await writeCheckpoint(this.o.checkpointFile, read.nextCounter);
      this.advance(read.nextCounter, []);
      return;
    }
    const first = read.records[0]!;
    const open = this.o.open;
    const staged = read.records.map((r) => ({ counter: r.counter, arrivalMs: r.arrivalMs, data: open && r.flags ? open(r) : r.data }));
    let dataBytes = 0;
    for (const r of staged) dataBytes += r.data.length;
    const batch = this.retry.begin(this.deliveredCounter, read.nextCounter);
    // Source record backup: the records as staged, before processing, durable before the checkpoint moves.
    const sourceBackup = sourceBackupOf(destination);
    let backup: SourceBackupResult | undefined;
    if (sourceBackup && !batch.backedUp) {
      const backupBase: KeyContext = { timeMs: first.arrivalMs, name: this.o.name, version: versionId, uuid: '', randomString: randomString(), extension: '' };
      backup = await writeSourceBackup(sourceBackup, staged, { base: backupBase, target: this.o.destinations.forBucket(sourceBackup.BucketARN), now: this.o.now() });
      batch.backedUp = true;
    }
    const processed = await runPipeline(buildPipeline(destination.ProcessingConfiguration, this.o.processing && { ...this.o.processing, ...partitionContext(destination) }), staged);
    // Dynamic partitioning: one object per partition key set; records without their keys join the failed ones.
    const partitions = partitionRecords(destination, processed);
    // Record format conversion (JSON to Parquet) after processing; records that do not convert join the failed ones.
    const converted = convertFormat(destination, processed, this.o.schemas);
    const now = this.o.now();
    const ext = convertedExtension(destination) ?? destination.FileExtension ?? compressionExtension[destination.CompressionFormat];
    const base: KeyContext = { timeMs: first.arrivalMs, name: this.o.name, version: versionId, uuid: randomUUID(), randomString: randomString(), extension: ext };
    const target = this.o.destinations.forBucket(destination.BucketARN);
    const expired = this.retry.expired(now, this.retryMs());
    const sourceArn = this.o.deliveryStreamArn ?? this.o.name;
    const routed = await routeBatch({ records: processed.ok, destination, http: httpEndpoint, base, target, batch, expired, sourceArn, now, ...(this.o.httpEndpointAllowed ? { httpEndpointAllowed: this.o.httpEndpointAllowed } : {}) });
    let key = routed?.key ?? '';
    let objectBytes = routed?.objectBytes ?? 0;
    if (partitions && !routed) ({ key, objectBytes } = await putPartitions(partitions, { destination, base, target, now }));
    else if (processed.ok.length && !routed) {
      key = objectKey(destination.Prefix, base);
      const body = converted?.body ?? await compress(destination.CompressionFormat, Buffer.concat(processed.ok.map((r) => r.data)), {
        entryName: objectName({ ...base, extension: '' }),
        mtimeMs: now,
      });
      const contents = { firstCounter: first.counter, endCounter: read.nextCounter, records: processed.ok };
      await target.putObject(key, body, { encryption: destination.EncryptionConfiguration, contents });
      objectBytes = body.length;
    }
    // Failed records go to the error prefix as JSON lines, as AWS writes them: one object per error output type.
    for (const type of new Set(processed.failed.map((r) => r.errorOutputType))) {
      const lines = processed.failed.filter((r) => r.errorOutputType === type).map((r) =>
        JSON.stringify({ attemptsMade: r.attemptsMade ?? 1, arrivalTimestamp: r.arrivalMs, errorCode: r.errorCode, errorMessage: r.errorMessage, attemptEndingTimestamp: now, rawData: r.data.toString('base64'), ...(r.lambdaArn ? { lambdaArn: r.lambdaArn } : {}) }) + '\n',
      );
      const errKey = errorObjectKey(destination.ErrorOutputPrefix, { ...base, uuid: randomUUID(), errorOutputType: type, extension: '' });
      await target.putObject(errKey, Buffer.from(lines.join('')), { encryption: destination.EncryptionConfiguration });
    }
    this.unsaved = { counter: read.nextCounter, staged, event: { records: staged.length, bytes: dataBytes, objectBytes, key, oldestAgeMs: now - first.arrivalMs } };
    if (routed) this.unsaved.event.routed = routed;
    if (backup) this.unsaved.event.backup = backup;
    this.unsaved.event.processing = { succeeded: processed.ok.length + (processed.dropped ?? 0), dropped: processed.dropped ?? 0, failed: processed.failed.length };
    this.retry.done();
    await this.saveCheckpoint(this.unsaved);
  }

  private async saveCheckpoint(done: NonNullable<DeliveryWorker['unsaved']>): Promise<void> {
    await writeCheckpoint(this.o.checkpointFile, done.counter);
    this.unsaved = undefined;
    this.advance(done.counter, done.staged);
    this.o.onDelivered?.(done.event);
    await this.trim();
  }

  /** Moves the in-memory cursor after the checkpoint is durable; `records` are the ones just delivered. */
  private advance(counter: number, records: Array<{ counter: number; data: Buffer }>): void {
    assert.ok(counter >= this.deliveredCounter, 'the checkpoint never moves back');
    this.deliveredCounter = counter;
    while (this.appends.length && this.appends[0]!.endCounter <= counter) this.pendingBytes -= this.appends.shift()!.bytes;
    const partial = this.appends[0];
    if (partial) {
      // Part of one append was delivered: keep its arrival time, count only what is left.
      let taken = 0;
      for (const r of records) if (r.counter >= partial.startCounter) taken += r.data.length;
      taken = Math.min(taken, partial.bytes);
      partial.bytes -= taken;
      partial.startCounter = counter;
      this.pendingBytes -= taken;
    } else this.pendingBytes = 0;
    for (const w of [...this.flushWaiters]) {
      if (w.counter <= counter) {
        this.flushWaiters.splice(this.flushWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  /** Drops staging segments whose records are all delivered. */
  private async trim(): Promise<void> {
    if (this.deliveredCounter >= this.o.staging.durableCounter) {
      await this.o.staging.trimBefore(Number.MAX_SAFE_INTEGER);
      return;
    }
    const next = await this.o.staging.read(this.deliveredCounter, { limit: 1, bytesMax: 1, arrivalMsMin: 0 });
    if (next.records[0]) await this.o.staging.trimBefore(next.records[0].arrivalMs);
  }
}

function randomString(): string {
  return randomBytes(8).toString('base64url').slice(0, 11);
}

export async function readCheckpoint(file: string): Promise<number> {
  try {
    const doc = JSON.parse(await fsp.readFile(file, 'utf8')) as { deliveredCounter?: unknown };
    assert.ok(typeof doc.deliveredCounter === 'number' && doc.deliveredCounter >= 0, `${file}: bad checkpoint`);
    return doc.deliveredCounter;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

export async function writeCheckpoint(file: string, deliveredCounter: number): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, JSON.stringify({ deliveredCounter }));
}
