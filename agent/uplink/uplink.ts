/**
 * The uplink: drains one destination's DiskBuffer into a gateway stream.
 *
 * One loop, one request in flight: the oldest records form a window, sent
 * as one PutRecords request; the records the gateway accepted are marked,
 * only the others go again (under the gateway's per-shard ordering, records
 * of a key after a refused one are refused too, so per-key order holds), and
 * the window's settled prefix is acked. With a producer id, each request
 * carries an idempotency key `<producer>/<batch>` and the window is written
 * down before each send (intent.ts): a request resent after a lost answer or
 * an agent crash is answered from the gateway's memory, so every record is
 * stored exactly once. Failures change only
 * the pace: throttling sets it to the records the gateway accepted per
 * second (pacer.ts), a lost link turns sending
 * into single-record probes with backoff, and records the gateway refuses for
 * good (no stream, no permission) are retried slowly and, once they and the
 * refusal are older than `maxRecordAgeMs`, moved to the dead-letter file.
 * Nothing is dropped silently. With a scheduler shared by the agent's
 * uplinks, higher-priority destinations send first (scheduler.ts). With
 * `newestFirst`, an old backlog is put behind the records appended since:
 * the buffer is read in two parts, each in order, and a window belongs to
 * one part. See docs/agent-uplink.md.
 *
 * @example
 * const uplink = new Uplink({
 *   buffer, stream: 'telemetry', endpoint: 'https://gateway.local:4567', region: 'us-east-1',
 *   credentials: { accessKeyId, secretAccessKey }, ca,
 *   producerId: 'dev-17/telemetry', intentFile: '/var/lib/tributary/uplink/telemetry.json',
 * });
 * uplink.start();
 * // ... inputs append to the buffer ...
 * await uplink.stop({ deadlineMs: 5000 });
 * await buffer.close();
 */
import assert from 'node:assert/strict';
import { bufferLimits, type BufferedRecord, type BufferPart } from '../buffer/index.ts';
import { JsonRpcClient } from '../../sdk/http/json-rpc-client.ts';
import { AwsError, TributaryError } from '../../sdk/protocol/errors.ts';
import { idempotencyHeader, parseStaleBatch } from '../../sdk/protocol/idempotency.ts';
import { randomInt } from 'node:crypto';
import { planAggregated, planPlain, wireBytes, type PlannedRequest } from './batch.ts';
import { readIntent, recordId, writeIntent, type SendWindow } from './intent.ts';
import { classifyRecordError, classifyRequestError, describeError } from './classify.ts';
import type { FailureClass, LinkState } from './events.ts';
import { resolveUplinkOptions, type ResolvedUplinkOptions, type UplinkOptions } from './options.ts';
import { Pacer, backoffMs } from './pacer.ts';
import type { SchedulerSlot } from './scheduler.ts';

export interface UplinkStats {
  /** Records the gateway accepted (acked from the buffer once every record ahead of them is settled too). */
  sentRecords: number;
  /** Records sent again after a failed request or an earlier failed record. */
  retriedRecords: number;
  /** Records the gateway answered with a throttling error. */
  throttledRecords: number;
  deadLetteredRecords: number;
  requests: number;
  link: LinkState;
  lastError: { message: string; failure: FailureClass | 'fatal'; atMs: number } | undefined;
  /** Age of the oldest record still in the buffer. */
  oldestUnsentAgeMs: number | undefined;
  /** The pace the uplink keeps after throttling, in records per second (undefined: not paced). */
  pacedRecordsPerSecond: number | undefined;
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
  private link: LinkState = 'unknown';
  /** The last intent write failed: exactly-once is degraded until one succeeds. */
  private intentUnsaved = false;
  /** Consecutive failures per class, for backoff; reset by an accepted request. */
  private attempts = { unreachable: 0, transient: 0, refused: 0 };
  /** Start of the current run of refusals; dead-lettering waits for it to be maxRecordAgeMs old. */
  private refusedSinceMs: number | undefined;
  private lastError: UplinkStats['lastError'];
  /** The records being sent now; see intent.ts. */
  private window: SendWindow | undefined;
  /** The last batch number used in an idempotency key. */
  private lastBatch = 0;
  private intentDirty = false;
  /** This uplink's place in the shared scheduler, while it runs. */
  private slot: SchedulerSlot | undefined;
  /** Newest-first: a catch-up was seen running (for the `finished` event). */
  private catchingUp = false;
  private readonly counters = { sentRecords: 0, retriedRecords: 0, throttledRecords: 0, deadLetteredRecords: 0, requests: 0 };

  constructor(options: UplinkOptions) {
    this.o = resolveUplinkOptions(options);
    this.pacer = new Pacer(this.o.bandwidthBytesPerSecondMax);
  }

  /** Starts draining the buffer in the background. Once per Uplink. */
  start(): void {
    if (this.loop) throw new TributaryError('UPLINK_STATE', 'the uplink was already started');
    const o = this.o;
    const saved = o.intentFile ? readIntent(o.intentFile) : undefined;
    // Without a saved number, start at a random one: never equal to a number a lost state directory used.
    this.lastBatch = saved?.lastBatch ?? randomInt(1, 2 ** 47);
    this.window = saved?.window;
    this.client = new JsonRpcClient({
      endpoint: o.endpoint, region: o.region, service: 'kinesis', targetPrefix: 'Kinesis_20131202', credentials: o.credentials,
      timeoutMs: o.requestTimeoutMs, ...(o.ca ? { ca: o.ca } : {}), ...(o.cert ? { cert: o.cert, key: o.key! } : {}),
    });
    if (o.scheduler) this.slot = o.scheduler.join(o.priority);
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
      pacedRecordsPerSecond: pacedRate(this.pacer),
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
    if (this.slot) this.o.scheduler!.leave(this.slot);
    let unsentRecords = 0;
    try {
      await this.saveIntent();
    } catch (err) {
      error ??= describeError(err);
    }
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
      // Stopping with the gateway unreachable: nothing can be sent, so the deadline need not be waited out
      // (a restart then takes a moment, not the whole deadline; the records stay in the buffer).
      if (this.stopping && this.link === 'down') return;
      const current = await this.lineUp();
      if (!current) {
        if (this.slot) this.slot.backlogBatches = 0;
        if (this.stopping) return;
        await this.sleep(o.idlePollMs);
        continue;
      }
      if ('lingerMs' in current) {
        await this.sleep(current.lingerMs);
        continue;
      }
      const wait = this.pacer.delayMs(o.now());
      if (wait > 0) {
        await this.sleep(wait);
        continue;
      }
      const turn = this.turnDelayMs();
      if (turn > 0) {
        // Looks again soon: the uplinks ahead of this one may run dry before its turn comes.
        await this.sleep(Math.min(turn, o.idlePollMs));
        continue;
      }
      const { w, records } = current;
      const pending: number[] = [];
      w.done.forEach((done, i) => done || pending.push(i));
      const subset = pending.map((i) => records[i]!);
      const req = w.aggregate ? planAggregated(subset, w.batchRecordsMax, w.batchBytesMax) : planPlain(subset, w.batchRecordsMax, w.batchBytesMax);
      await this.saveIntent();
      const bytes = wireBytes(req, o.stream);
      this.pacer.started(o.now(), req.records, bytes);
      if (this.slot) o.scheduler!.started(this.slot, o.now(), bytes);
      await this.send(w, records, pending, req);
    }
  }

  /**
   * The window to send from: the remembered one, lined up with the front of
   * the buffer by record identity (records acked since are dropped from it),
   * or a new one planned from the oldest records.
   */
  private async lineUp(): Promise<{ w: SendWindow; records: BufferedRecord[] } | { lingerMs: number } | undefined> {
    const o = this.o;
    const w = this.window;
    if (w) {
      const records = await o.buffer.peek(w.ids.length, Number.MAX_SAFE_INTEGER, { part: partOf(w) });
      const k = records.length > 0 ? w.ids.indexOf(recordId(records[0]!)) : -1;
      const rest = w.ids.length - k;
      if (k >= 0 && records.length >= rest && records.slice(0, rest).every((r, j) => recordId(r) === w.ids[k + j])) {
        if (k > 0) {
          w.ids = w.ids.slice(k);
          w.done = w.done.slice(k);
          this.intentDirty = true;
        }
        if (w.done.every(Boolean)) {
          await this.advance(w, records.slice(0, rest));
        } else return { w, records: records.slice(0, rest) };
      }
      // Acked in full, or no longer in the buffer (a corrupt segment was skipped): a new window.
      this.window = undefined;
      this.intentDirty = true;
    }
    const live = o.newestFirst && this.liveFirst();
    // While the link is down, probe with the single oldest record (of the part).
    // Aggregated, a request's 500 entries carry many records each: peek as many as the bytes allow.
    const peekRecords = this.link === 'down' ? 1 : o.aggregate ? bufferLimits.peekRecordsMax : o.batchRecordsMax;
    const batch = await o.buffer.peek(peekRecords, o.batchBytesMax, { part: live ? 'live' : 'backlog' });
    if (batch.length === 0) return undefined;
    const req = o.aggregate ? planAggregated(batch, o.batchRecordsMax, o.batchBytesMax) : planPlain(batch, o.batchRecordsMax, o.batchBytesMax);
    if (o.lingerMs > 0 && !this.stopping && this.link === 'up' && req.records === batch.length && batch.length < o.batchRecordsMax && req.bytes < o.batchBytesMax / 2) {
      // Not full: wait for more records, until the oldest has lingered long enough.
      const waitMs = batch[0]!.capturedAtMs + o.lingerMs - o.now();
      if (waitMs > 0) return { lingerMs: Math.min(waitMs, o.lingerMs) };
    }
    const records = batch.slice(0, req.records);
    const fresh: SendWindow = {
      batch: ++this.lastBatch, ids: records.map(recordId), done: records.map(() => false),
      aggregate: o.aggregate, batchRecordsMax: o.batchRecordsMax, batchBytesMax: o.batchBytesMax, ...(live ? { live } : {}),
    };
    this.window = fresh;
    this.intentDirty = true;
    return { w: fresh, records };
  }

  /**
   * Newest-first: starts a catch-up when the link is up and more than a
   * batch waits with the oldest record at least `catchUpAgeMs` old; says
   * whether the next window comes from the live part (it does while that
   * part has records; the backlog follows).
   */
  private liveFirst(): boolean {
    const o = this.o;
    const b = o.buffer;
    let c = b.catchUp();
    if (!c && this.catchingUp) {
      this.catchingUp = false;
      o.onEvent({ type: 'catch-up', state: 'finished', backlogRecords: 0 });
    }
    if (!c && this.link === 'up') {
      const s = b.stats();
      const old = s.oldestUnackedCapturedAtMs !== undefined && o.now() - s.oldestUnackedCapturedAtMs >= o.catchUpAgeMs;
      if (old && (s.depthRecords > o.batchRecordsMax || s.depthBytes > o.batchBytesMax) && b.startCatchUp()) {
        c = b.catchUp()!;
        o.onEvent({ type: 'catch-up', state: 'started', backlogRecords: c.backlogRecords });
      }
    }
    if (c) this.catchingUp = true;
    return c !== undefined && c.liveRecords > 0;
  }

  /** With a scheduler: reports this uplink's backlog and health, and returns how long its turn is away. */
  private turnDelayMs(): number {
    const slot = this.slot;
    if (!slot) return 0;
    const o = this.o;
    const s = o.buffer.stats();
    slot.backlogBatches = Math.max(Math.ceil(s.depthRecords / o.batchRecordsMax), Math.ceil(s.depthBytes / o.batchBytesMax));
    slot.healthy = this.link === 'up' && this.attempts.transient === 0 && this.refusedSinceMs === undefined;
    return o.scheduler!.delayMs(slot, o.now());
  }

  /**
   * Writes the window down when it changed (before a send, and before acking
   * what an answer settled). When the disk refuses even after the disk guard
   * gave up its reserve, sending goes on (draining is what frees the disk);
   * until a write succeeds again, a crash may duplicate the window's records.
   */
  private async saveIntent(): Promise<void> {
    if (!this.o.intentFile || !this.intentDirty) return;
    this.intentDirty = false;
    const space = this.o.space;
    try {
      await writeIntent(this.o.intentFile, { v: 1, lastBatch: this.lastBatch, window: this.window }, this.o.intentSync, space && ((e) => space.noSpace(e)));
    } catch (err) {
      this.intentDirty = true;
      if (!this.intentUnsaved) this.o.onEvent({ type: 'intent-unsaved', error: describeError(err) });
      this.intentUnsaved = true;
      return;
    }
    if (this.intentUnsaved) this.o.onEvent({ type: 'intent-saved' });
    this.intentUnsaved = false;
  }

  /** Acks the window's settled prefix (after writing the window down) and drops it from the window. */
  private async advance(w: SendWindow, records: BufferedRecord[]): Promise<void> {
    let n = 0;
    while (n < w.done.length && w.done[n]) n++;
    if (n === 0) return;
    // A window settled whole needs no record of it: after a crash before the ack, its
    // request is resent under the same key and answered from the gateway's memory.
    // Settled in part, the rest goes under a new batch number, which must be on disk first.
    if (n < w.done.length) await this.saveIntent();
    await this.o.buffer.ack(records[n - 1]!.position);
    w.ids = w.ids.slice(n);
    w.done = w.done.slice(n);
    records.splice(0, n);
    if (w.ids.length === 0 && this.window === w) this.window = undefined;
    this.intentDirty = true;
  }

  /** Sends the window's unsettled records (`pending`, window indexes) as planned in `req`. */
  private async send(w: SendWindow, records: BufferedRecord[], pending: number[], req: PlannedRequest): Promise<void> {
    const Records = req.entries.map(({ records: _records, ...entry }) => entry);
    let answer: PutRecordsAnswer;
    this.counters.requests++;
    try {
      answer = await this.call(Records, w.batch);
    } catch (err) {
      if (this.aborted) return; // Stopped mid-request: the records stay in the buffer, the window on disk.
      await this.requestFailed(w, records, pending, req, err);
      return;
    }
    // An answer uses up the batch number: what is left goes under a new one.
    w.batch = ++this.lastBatch;
    this.intentDirty = true;
    this.markUp();
    const failureOf = new Map<number, FailureClass>();
    let throttled = 0;
    let firstFailed: PutRecordsAnswer['Records'][number] | undefined;
    answer.Records.forEach((r, k) => {
      const entry = req.entries[k]!;
      if (typeof r.SequenceNumber === 'string' && r.ErrorCode === undefined) {
        for (const i of entry.records) w.done[pending[i]!] = true;
        this.counters.sentRecords += entry.records.length;
        return;
      }
      firstFailed ??= r;
      const failure = classifyRecordError(r.ErrorCode ?? 'InternalFailure');
      for (const i of entry.records) failureOf.set(pending[i]!, failure);
      if (failure === 'throttled') throttled += entry.records.length;
    });
    await this.advance(w, records);
    this.pacer.answered(this.o.now(), req.records - failureOf.size, throttled);
    if (failureOf.size === 0) {
      this.attempts = { unreachable: 0, transient: 0, refused: 0 };
      this.refusedSinceMs = undefined;
      return;
    }
    this.counters.retriedRecords += failureOf.size;
    const message = `${firstFailed?.ErrorCode ?? 'InternalFailure'}: ${firstFailed?.ErrorMessage ?? ''}`;
    const first = w.done.findIndex((d) => !d);
    const failure = failureOf.get(first);
    this.lastError = { message, failure: failure ?? 'transient', atMs: this.o.now() };
    if (throttled > 0) this.noteThrottled(throttled);
    if (failure === 'refused') return this.refused(w, records, (i) => failureOf.get(i) === 'refused', message);
    if (failure === 'transient') return this.retryLater('transient', failureOf.size, message);
  }

  /**
   * One PutRecords call, bounded in time even if a reset socket never
   * settles the call: the client's own timeout plus a grace period. With a
   * producer id, the batch number goes along as the idempotency key.
   */
  private call(Records: unknown[], batch: number): Promise<PutRecordsAnswer> {
    const limitMs = this.o.requestTimeoutMs + callGraceMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TributaryError('UPLINK_TIMEOUT', `PutRecords got no answer within ${limitMs} ms`)), limitMs);
    });
    const headers: Record<string, string> = this.o.producerId ? { [idempotencyHeader]: `${this.o.producerId}/${batch}` } : {};
    const call = this.client!.call<PutRecordsAnswer>('PutRecords', { StreamName: this.o.stream, Records }, headers).then((answer) => {
      // A peer's malformed answer is an operating error (treated like a broken link), not a crash.
      if (!Array.isArray(answer?.Records) || answer.Records.length !== Records.length) {
        throw new TributaryError('UPLINK_BAD_ANSWER', `PutRecords answered ${Array.isArray(answer?.Records) ? answer.Records.length : 'no'} results for ${Records.length} entries`);
      }
      return answer;
    });
    return Promise.race([call, expired]).finally(() => clearTimeout(timer));
  }

  /** The request got no answer, or an error for all of it: the same request (and key) goes again. */
  private async requestFailed(w: SendWindow, records: BufferedRecord[], pending: number[], req: PlannedRequest, err: unknown): Promise<void> {
    const gatewayLast = err instanceof AwsError && err.type === 'InvalidArgumentException' ? parseStaleBatch(err.message) : undefined;
    if (gatewayLast !== undefined && this.o.producerId) {
      // The gateway knows a later batch of ours than this one: our numbering was lost (a new state
      // directory started low). Nothing of this request was stored; continue above its number.
      this.lastBatch = Math.max(this.lastBatch, gatewayLast);
      w.batch = ++this.lastBatch;
      this.intentDirty = true;
      this.o.onEvent({ type: 'retry', failure: 'transient', records: req.records, delayMs: 0, error: describeError(err) });
      return;
    }
    const failure = classifyRequestError(err);
    const message = describeError(err);
    this.lastError = { message, failure, atMs: this.o.now() };
    this.counters.retriedRecords += req.records;
    if (failure === 'unreachable') {
      this.markDown(message);
      return this.retryLater('unreachable', req.records, message);
    }
    this.markUp();
    if (failure === 'throttled') {
      this.pacer.answered(this.o.now(), 0, req.records);
      return this.noteThrottled(req.records);
    }
    const inRequest = new Set(pending.slice(0, req.records));
    return this.refused(w, records, (i) => inRequest.has(i), message);
  }

  private noteThrottled(records: number): void {
    this.counters.throttledRecords += records;
    this.o.onEvent({ type: 'throttled', records, pacedRecordsPerSecond: pacedRate(this.pacer) });
  }

  private async retryLater(failure: 'unreachable' | 'transient' | 'refused', records: number, error: string): Promise<void> {
    const attempt = ++this.attempts[failure];
    // Backing off: it must not hold lower priorities back meanwhile.
    if (this.slot) this.slot.healthy = false;
    const delayMs = backoffMs(attempt, this.o.retryBaseMs, this.o.retryMaxMs);
    this.o.onEvent({ type: 'retry', failure, records, delayMs, error });
    await this.sleep(delayMs);
  }

  /**
   * The window's first unsettled records were refused for good. The run of
   * them older than maxRecordAgeMs goes to the dead-letter file (then is
   * acked) once the refusals have lasted that long too; the rest wait and are
   * retried slowly.
   */
  private async refused(w: SendWindow, records: BufferedRecord[], isRefused: (i: number) => boolean, reason: string): Promise<void> {
    const now = this.o.now();
    this.refusedSinceMs ??= now;
    const maxAge = this.o.maxRecordAgeMs;
    const start = w.done.findIndex((d) => !d);
    let k = start;
    if (now - this.refusedSinceMs >= maxAge) {
      while (k < w.done.length && !w.done[k] && isRefused(k) && now - records[k]!.capturedAtMs >= maxAge) k++;
    }
    if (k === start) return this.retryLater('refused', w.done.filter((d) => !d).length, reason);
    const doomed = records.slice(start, k);
    await this.o.buffer.deadLetter(doomed, reason);
    for (let i = start; i < k; i++) w.done[i] = true;
    w.batch = ++this.lastBatch; // What is left is a different request.
    this.intentDirty = true;
    this.counters.deadLetteredRecords += doomed.length;
    this.o.onEvent({ type: 'dead-lettered', records: doomed.length, reason });
    await this.advance(w, records);
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

function pacedRate(p: Pacer): number | undefined {
  return Number.isFinite(p.recordsPerSecond) ? Math.round(p.recordsPerSecond) : undefined;
}

function partOf(w: SendWindow): BufferPart {
  return w.live ? 'live' : 'backlog';
}
