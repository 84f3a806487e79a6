/**
 * One lane of a replay: the records whose partition key hashes to it, sent
 * one request at a time, so a key's records reach the target in order.
 * Records the target throttled go first in the next request, ahead of newer
 * ones. See checkpoint.ts for the window a lane writes down before sending.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Counters, LaneState, LaneWindow } from './checkpoint.ts';
import { RetryableError, type Outcome, type ReplayRecord, type ReplayTarget } from './types.ts';

export interface LaneHost {
  readonly target: ReplayTarget;
  readonly counters: Counters;
  /** Saves the checkpoint (group commit) and resolves once it is on disk. */
  save(): Promise<void>;
  reject(r: ReplayRecord, reason: string): void;
  /** True once the source is read to its end (a lane then sends what it has without lingering). */
  readonly sourceDone: boolean;
  readonly stopping: boolean;
  /** Wait for more records before sending a part-full request (max speed only). */
  readonly lingerMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

/** Requests' worth of records a lane may hold queued: the reader runs ahead of a lane waiting for an answer. */
const queueBatchesMax = 4;

export class Lane {
  /** Lane records at or past `state.taken`, not yet in a window, in order. */
  private queue: ReplayRecord[] = [];
  private queueBytes = 0;
  /** The window's records, once all are collected (on resume, while the source is re-read). */
  private windowRecords: ReplayRecord[] = [];
  private windowRetry = new Set<number>();
  /** Whether the current window may have reached the target (then its body must not change). */
  private windowSent = false;
  /** On resume: the window's records are complete once the source is read up to `window.to`. */
  private collecting = false;
  private wake: (() => void) | undefined;
  private spaceWaiters: Array<() => void> = [];
  private attempts = 0;
  private wantAny = false;

  constructor(readonly index: number, readonly state: LaneState, private readonly host: LaneHost) {
    if (state.window) {
      this.windowRetry = new Set(state.window.retry);
      this.windowSent = true;
      this.collecting = true;
    }
  }

  /** How a record read from the source (ordinal order) relates to this lane. */
  offer(r: ReplayRecord): 'done' | 'window' | 'new' {
    const w = this.state.window;
    if (w && this.collecting && (this.windowRetry.has(r.ordinal) || (r.ordinal >= w.from && r.ordinal < w.to))) {
      this.windowRecords.push(r);
      return 'window';
    }
    if (r.ordinal < this.state.taken) return 'done';
    return 'new';
  }

  /** The reader passed ordinal `n`: a resumed window whose range ends there is complete. */
  passed(n: number): void {
    const w = this.state.window;
    if (this.collecting && w && n + 1 >= w.to) {
      this.collecting = false;
      // Retry records come first, then the range, each in ordinal order: the request as first sent.
      this.windowRecords.sort((a, b) => (this.windowRetry.has(b.ordinal) ? 1 : 0) - (this.windowRetry.has(a.ordinal) ? 1 : 0) || a.ordinal - b.ordinal);
      this.nudge();
    }
  }

  get full(): boolean {
    return this.queue.length >= this.host.target.batchRecordsMax * queueBatchesMax || this.queueBytes >= this.host.target.batchBytesMax * queueBatchesMax;
  }

  push(r: ReplayRecord): void {
    this.queue.push(r);
    this.queueBytes += r.dataBytes + r.partitionKey.length;
    if (this.wantAny || this.queue.length >= this.host.target.batchRecordsMax || this.queueBytes >= this.host.target.batchBytesMax) this.nudge();
  }

  /** Resolves when the queue has room (backpressure on the reader). */
  space(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  nudge(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Waits for `nudge()` (or `ms`); with `any`, the next pushed record nudges too. */
  private idle(ms: number, any: boolean): Promise<void> {
    this.wantAny = any;
    return new Promise((resolve) => {
      const t = ms > 0 ? setTimeout(() => this.nudge(), ms) : undefined;
      this.wake = () => {
        this.wantAny = false;
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Sends until the source is done and nothing is left, or the run stops. */
  async run(): Promise<void> {
    const h = this.host;
    while (!h.stopping) {
      const w = this.state.window;
      if (w && this.collecting) {
        await this.idle(0, true);
        continue;
      }
      if (w && this.windowSent) {
        await this.sendWindow(); // Resumed, or resent after a failed request: the same body, the same number.
        continue;
      }
      if (w) {
        // Records carried over from a throttled request: back off, then add what queued up meanwhile.
        if (this.pendingBackoff > 0) await sleep(this.pendingBackoff);
        this.pendingBackoff = 0;
        this.plan();
        await this.sendWindow();
        continue;
      }
      if (this.queue.length === 0) {
        if (h.sourceDone) return;
        await this.idle(0, true);
        continue;
      }
      if (!h.sourceDone && h.lingerMs > 0 && this.queue.length < h.target.batchRecordsMax && this.queueBytes < h.target.batchBytesMax / 2) {
        await this.idle(h.lingerMs, false);
      }
      this.plan();
      await this.sendWindow();
    }
  }

  /** Forms the next window: records carried over, then as many queued records as the request allows. */
  private plan(): void {
    const t = this.host.target;
    let w = this.state.window;
    assert.ok(!w || !this.windowSent, 'a sent window is never extended');
    if (!w) {
      w = { batch: ++this.state.lastBatch, retry: [], from: this.state.taken, to: this.state.taken };
      this.state.window = w;
      this.windowRecords = [];
    }
    let bytes = 0;
    for (const r of this.windowRecords) bytes += r.dataBytes + r.partitionKey.length;
    let k = 0;
    while (k < this.queue.length && this.windowRecords.length < t.batchRecordsMax) {
      const r = this.queue[k]!;
      const n = r.dataBytes + r.partitionKey.length;
      if (this.windowRecords.length > 0 && bytes + n > t.batchBytesMax) break;
      this.windowRecords.push(r);
      bytes += n;
      k++;
    }
    if (k > 0) {
      w.to = this.queue[k - 1]!.ordinal + 1;
      this.state.taken = w.to;
      this.queue.splice(0, k);
      this.queueBytes = 0;
      for (const r of this.queue) this.queueBytes += r.dataBytes + r.partitionKey.length;
      this.releaseSpace();
    }
  }

  private releaseSpace(): void {
    if (this.full) return;
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const f of waiters) f();
  }

  private async sendWindow(): Promise<void> {
    const h = this.host;
    const w = this.state.window!;
    await h.save();
    this.windowSent = true;
    let outcomes: Outcome[];
    try {
      h.counters.requests++;
      outcomes = await h.target.send(this.index, w.batch, this.windowRecords);
    } catch (err) {
      if (!(err instanceof RetryableError)) throw err;
      h.counters.retried += this.windowRecords.length;
      if (err.throttled) h.counters.throttled += this.windowRecords.length;
      await sleep(this.backoffMs());
      return; // The same window, the same batch number, again.
    }
    this.settle(w, outcomes);
  }

  private settle(w: LaneWindow, outcomes: Outcome[]): void {
    const h = this.host;
    const carry: ReplayRecord[] = [];
    let throttled = 0;
    outcomes.forEach((o, i) => {
      const r = this.windowRecords[i]!;
      if (o.kind === 'ok') {
        h.counters.sent++;
        h.counters.sentBytes += r.dataBytes;
      } else if (o.kind === 'rejected') h.reject(r, o.reason);
      else {
        carry.push(r);
        throttled++;
      }
    });
    if (carry.length === 0) {
      this.state.window = null;
      this.windowRecords = [];
      this.attempts = 0;
      return;
    }
    // What is left is a new request: a new batch number, records in their order, ahead of newer ones.
    h.counters.retried += carry.length;
    h.counters.throttled += throttled;
    this.state.window = { batch: ++this.state.lastBatch, retry: carry.map((r) => r.ordinal), from: w.to, to: w.to };
    this.windowRetry = new Set(this.state.window.retry);
    this.windowRecords = carry;
    this.windowSent = false;
    // Back off before the next request (the plan adds queued records meanwhile).
    this.pendingBackoff = this.backoffMs();
  }

  /** Set by settle: wait this long before sending again. */
  pendingBackoff = 0;

  private backoffMs(): number {
    const h = this.host;
    const ms = Math.min(h.retryMaxMs, h.retryBaseMs * 2 ** this.attempts++);
    return ms / 2 + Math.random() * (ms / 2);
  }
}
