/**
 * The uplink: drains one destination's DiskBuffer into a gateway stream.
 *
 * One loop, one request in flight: peek the oldest records, send them as one
 * PutRecords request, ack the longest prefix the gateway accepted, and go
 * round again. Everything after the first refused record is sent again, so a
 * record is never acked before the records ahead of it. Failures change only
 * the pace: throttling halves the request rate, a lost link turns sending
 * into single-record probes with backoff, and records the gateway refuses for
 * good (no stream, no permission) are retried slowly and, once they and the
 * refusal are older than `maxRecordAgeMs`, moved to the dead-letter file.
 * Nothing is dropped silently. See docs/agent-uplink.md.
 *
 * @example
 * const uplink = new Uplink({
 *   buffer, stream: 'telemetry', endpoint: 'https://gateway.local:4567', region: 'us-east-1',
 *   credentials: { accessKeyId, secretAccessKey }, ca,
 * });
 * uplink.start();
 * // ... inputs append to the buffer ...
 * await uplink.stop({ deadlineMs: 5000 });
 * await buffer.close();
 */
import assert from 'node:assert/strict';
import type { BufferedRecord } from '../buffer/index.ts';
import { JsonRpcClient } from '../../sdk/http/json-rpc-client.ts';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import { acceptedPrefix, planAggregated, planPlain, wireBytes, type PlannedRequest } from './batch.ts';
import { classifyRecordError, classifyRequestError, describeError } from './classify.ts';
import type { FailureClass, LinkState } from './events.ts';
import { resolveUplinkOptions, type ResolvedUplinkOptions, type UplinkOptions } from './options.ts';
import { Pacer, backoffMs } from './pacer.ts';

export interface UplinkStats {
  /** Records the gateway accepted and the buffer acked. */
  sentRecords: number;
  /** Records sent again after a failed request or an earlier failed record. */
  retriedRecords: number;
  /** Records the gateway answered with a throttling error. */
  throttledRecords: number;
  /** Records accepted by the gateway but sent again because a record ahead of them failed: known duplicates. */
  resentAcceptedRecords: number;
  deadLetteredRecords: number;
  requests: number;
  link: LinkState;
  lastError: { message: string; failure: FailureClass | 'fatal'; atMs: number } | undefined;
  /** Age of the oldest record still in the buffer. */
  oldestUnsentAgeMs: number | undefined;
  requestRatePerSecond: number;
}

/** Beyond the request timeout, how long the uplink waits for a call to settle on its own. */
const callGraceMs = 1000;

interface PutRecordsAnswer {
  FailedRecordCount?: number;
  Records: Array<{ SequenceNumber?: string; ShardId?: string; ErrorCode?: string; ErrorMessage?: string }>;
}

export class Uplink {
  private readonly o: ResolvedUplinkOptions;
  private readonly pacer: Pacer;
  private client: JsonRpcClient | undefined;
  private loop: Promise<void> | undefined;
  private stopping: { deadlineAtMs: number } | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private aborted = false;
  private wakeUp: (() => void) | undefined;
  private link: LinkState = 'up';
  /** Consecutive failures per class, for backoff; reset by an accepted request. */
  private attempts = { unreachable: 0, transient: 0, refused: 0 };
  /** Start of the current run of refusals; dead-lettering waits for it to be maxRecordAgeMs old. */
  private refusedSinceMs: number | undefined;
  private lastError: UplinkStats['lastError'];
  private readonly counters = { sentRecords: 0, retriedRecords: 0, throttledRecords: 0, resentAcceptedRecords: 0, deadLetteredRecords: 0, requests: 0 };

  constructor(options: UplinkOptions) {
    this.o = resolveUplinkOptions(options);
    this.pacer = new Pacer(this.o.bandwidthBytesPerSecondMax);
  }

  /** Starts draining the buffer in the background. Once per Uplink. */
  start(): void {
    if (this.loop) throw new TributaryError('UPLINK_STATE', 'the uplink was already started');
    const o = this.o;
    this.client = new JsonRpcClient({
      endpoint: o.endpoint, region: o.region, service: 'kinesis', targetPrefix: 'Kinesis_20131202', credentials: o.credentials,
      timeoutMs: o.requestTimeoutMs, ...(o.ca ? { ca: o.ca } : {}), ...(o.cert ? { cert: o.cert, key: o.key! } : {}),
    });
    this.loop = this.run();
  }

  /**
   * Keeps sending until the buffer is empty or `deadlineMs` has passed, then
   * stops; a request still in flight at the deadline is abandoned (its records
   * stay in the buffer). After this resolves the uplink touches the buffer no
   * more, so the caller may close it.
   */
  async stop(options: { deadlineMs: number }): Promise<void> {
    assert.ok(Number.isFinite(options.deadlineMs) && options.deadlineMs >= 0, 'deadlineMs must be a non-negative number');
    if (!this.loop) return;
    if (!this.stopping) {
      this.stopping = { deadlineAtMs: this.o.now() + options.deadlineMs };
      this.deadlineTimer = setTimeout(() => this.abort(), options.deadlineMs);
    }
    this.wake();
    try {
      await this.loop;
    } finally {
      clearTimeout(this.deadlineTimer);
      this.client?.close();
    }
  }

  /** Looks at the buffer now instead of after the idle poll (call after appending). */
  wake(): void {
    this.wakeUp?.();
  }

  stats(): UplinkStats {
    const oldest = this.o.buffer.stats().oldestUnackedCapturedAtMs;
    return {
      ...this.counters, link: this.link, lastError: this.lastError,
      oldestUnsentAgeMs: oldest === undefined ? undefined : Math.max(0, this.o.now() - oldest),
      requestRatePerSecond: this.pacer.rate,
    };
  }

  private abort(): void {
    this.aborted = true;
    // Destroys the sockets of a request in flight: its call rejects at once.
    this.client?.close();
    this.wake();
  }

  private pastDeadline(): boolean {
    return this.aborted || (this.stopping !== undefined && this.o.now() >= this.stopping.deadlineAtMs);
  }

  private async run(): Promise<void> {
    let error: string | undefined;
    try {
      await this.drain();
    } catch (err) {
      // The buffer failed (closed under us, wrong key, disk error): nothing more can be sent.
      error = describeError(err);
      this.lastError = { message: error, failure: 'fatal', atMs: this.o.now() };
    }
    let unsentRecords = 0;
    try {
      unsentRecords = this.o.buffer.stats().depthRecords;
    } catch (err) {
      error ??= describeError(err);
    }
    this.o.onEvent({ type: 'stopped', unsentRecords, ...(error !== undefined ? { error } : {}) });
  }

  private async drain(): Promise<void> {
    const o = this.o;
    while (!this.pastDeadline()) {
      // While the link is down, probe with the single oldest record.
      const batch = await o.buffer.peek(this.link === 'down' ? 1 : o.batchRecordsMax, o.batchBytesMax);
      if (batch.length === 0) {
        if (this.stopping) return;
        await this.sleep(o.idlePollMs);
        continue;
      }
      const wait = this.pacer.delayMs(o.now());
      if (wait > 0) {
        await this.sleep(wait);
        continue;
      }
      const req = o.aggregate ? planAggregated(batch, o.batchRecordsMax, o.batchBytesMax) : planPlain(batch, o.batchRecordsMax, o.batchBytesMax);
      this.pacer.started(o.now(), wireBytes(req, o.stream));
      await this.send(batch, req);
    }
  }

  private async send(batch: BufferedRecord[], req: PlannedRequest): Promise<void> {
    const Records = req.entries.map(({ records: _records, ...entry }) => entry);
    let answer: PutRecordsAnswer;
    this.counters.requests++;
    try {
      answer = await this.call(Records);
    } catch (err) {
      if (this.aborted) return; // Stopped mid-request: the records stay in the buffer.
      await this.requestFailed(batch, req, err);
      return;
    }
    this.markUp();
    const ok = answer.Records.map((r) => typeof r.SequenceNumber === 'string' && r.ErrorCode === undefined);
    const n = acceptedPrefix(req, ok);
    if (n > 0) await this.ackThrough(batch, n);
    if (n === req.records) {
      this.pacer.accepted();
      this.attempts = { unreachable: 0, transient: 0, refused: 0 };
      this.refusedSinceMs = undefined;
      return;
    }
    await this.partlyFailed(batch, req, answer, ok, n);
  }

  /**
   * One PutRecords call, bounded in time even if a reset socket never
   * settles the call: the client's own timeout plus a grace period.
   */
  private call(Records: unknown[]): Promise<PutRecordsAnswer> {
    const limitMs = this.o.requestTimeoutMs + callGraceMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TributaryError('UPLINK_TIMEOUT', `PutRecords got no answer within ${limitMs} ms`)), limitMs);
    });
    const call = this.client!.call<PutRecordsAnswer>('PutRecords', { StreamName: this.o.stream, Records }).then((answer) => {
      // A peer's malformed answer is an operating error (treated like a broken link), not a crash.
      if (!Array.isArray(answer?.Records) || answer.Records.length !== Records.length) {
        throw new TributaryError('UPLINK_BAD_ANSWER', `PutRecords answered ${Array.isArray(answer?.Records) ? answer.Records.length : 'no'} results for ${Records.length} entries`);
      }
      return answer;
    });
    return Promise.race([call, expired]).finally(() => clearTimeout(timer));
  }

  private async ackThrough(batch: BufferedRecord[], n: number): Promise<void> {
    await this.o.buffer.ack(batch[n - 1]!.position);
    this.counters.sentRecords += n;
  }

  /** Some entries failed; records `n..` of the request are sent again. */
  private async partlyFailed(batch: BufferedRecord[], req: PlannedRequest, answer: PutRecordsAnswer, ok: boolean[], n: number): Promise<void> {
    const failureOf = new Array<FailureClass | undefined>(req.records);
    let throttled = 0;
    answer.Records.forEach((r, k) => {
      const entry = req.entries[k]!;
      if (ok[k]) {
        for (const i of entry.records) if (i >= n) this.counters.resentAcceptedRecords++;
        return;
      }
      const failure = classifyRecordError(r.ErrorCode ?? 'InternalFailure');
      for (const i of entry.records) failureOf[i] = failure;
      if (failure === 'throttled') throttled += entry.records.length;
    });
    this.counters.retriedRecords += req.records - n;
    const firstFailed = answer.Records.find((_, k) => !ok[k]);
    const message = `${firstFailed?.ErrorCode ?? 'InternalFailure'}: ${firstFailed?.ErrorMessage ?? ''}`;
    const failure = failureOf[n]!;
    this.lastError = { message, failure, atMs: this.o.now() };
    if (throttled > 0) this.noteThrottled(throttled);
    if (failure === 'refused') return this.refused(batch.slice(0, req.records), n, (i) => failureOf[i] === 'refused', message);
    if (failure === 'transient') return this.retryLater('transient', req.records - n, message);
  }

  private async requestFailed(batch: BufferedRecord[], req: PlannedRequest, err: unknown): Promise<void> {
    const failure = classifyRequestError(err);
    const message = describeError(err);
    this.lastError = { message, failure, atMs: this.o.now() };
    this.counters.retriedRecords += req.records;
    if (failure === 'unreachable') {
      this.markDown(message);
      return this.retryLater('unreachable', req.records, message);
    }
    this.markUp();
    if (failure === 'throttled') return this.noteThrottled(req.records);
    return this.refused(batch.slice(0, req.records), 0, () => true, message);
  }

  private noteThrottled(records: number): void {
    this.counters.throttledRecords += records;
    this.pacer.throttled();
    this.o.onEvent({ type: 'throttled', records, requestRatePerSecond: this.pacer.rate });
  }

  private async retryLater(failure: 'unreachable' | 'transient' | 'refused', records: number, error: string): Promise<void> {
    const attempt = ++this.attempts[failure];
    const delayMs = backoffMs(attempt, this.o.retryBaseMs, this.o.retryMaxMs);
    this.o.onEvent({ type: 'retry', failure, records, delayMs, error });
    await this.sleep(delayMs);
  }

  /**
   * Records from `n` on were refused for good. The run of them that is older
   * than maxRecordAgeMs goes to the dead-letter file (then is acked) once the
   * refusals have lasted that long too; the rest wait and are retried slowly.
   */
  private async refused(batch: BufferedRecord[], n: number, isRefused: (i: number) => boolean, reason: string): Promise<void> {
    const now = this.o.now();
    this.refusedSinceMs ??= now;
    const maxAge = this.o.maxRecordAgeMs;
    let k = n;
    if (now - this.refusedSinceMs >= maxAge) {
      while (k < batch.length && isRefused(k) && now - batch[k]!.capturedAtMs >= maxAge) k++;
    }
    if (k === n) return this.retryLater('refused', batch.length - n, reason);
    const doomed = batch.slice(n, k);
    await this.o.buffer.deadLetter(doomed, reason);
    await this.o.buffer.ack(doomed.at(-1)!.position);
    this.counters.deadLetteredRecords += doomed.length;
    this.o.onEvent({ type: 'dead-lettered', records: doomed.length, reason });
  }

  private markUp(): void {
    this.attempts.unreachable = 0;
    if (this.link === 'up') return;
    this.link = 'up';
    this.o.onEvent({ type: 'link', state: 'up' });
  }

  private markDown(error: string): void {
    if (this.link === 'down') return;
    this.link = 'down';
    this.o.onEvent({ type: 'link', state: 'down', error });
  }

  /** Waits `ms` (never past the stop deadline); `wake()` and stopping end the wait early. */
  private sleep(ms: number): Promise<void> {
    if (this.stopping) ms = Math.min(ms, Math.max(0, this.stopping.deadlineAtMs - this.o.now()));
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
