/**
 * An application output: records (one per row of the output's in-application
 * stream, encoded per its DestinationSchema) queue here and go out in
 * batches, one batch in flight at a time, so a slow destination gets bigger
 * batches rather than more requests. A batch is retried with backoff until
 * every record of it is taken (AWS KDA retries outputs the same way and
 * does not drop them); while the queue is over its cap the application stops
 * reading its input, so records wait in the source stream instead of in
 * memory.
 */
import type { Logger } from '../../../log.ts';
import { sleep } from '../sources.ts';

/** Records per batch handed to a destination. */
export const sinkBatchRecordsMax = 500;
export const sinkBatchBytesMax = 4 * 1024 * 1024;
/** Queue past which the application pauses its input. */
export const sinkQueueBytesMax = 32 * 1024 * 1024;
/** Backoff between attempts of a failing batch. */
export const sinkRetryMsMin = 100;
export const sinkRetryMsMax = 10_000;

/** Delivers a batch; returns the indexes (into the batch) of the records to try again. */
export type Deliver = (batch: Buffer[], attempt: number) => Promise<number[]>;

export interface SinkOptions {
  name: string;
  kind: string;
  deliver: Deliver;
  log: Logger;
  onDelivered?: (records: number, bytes: number) => void;
  onFailed?: (records: number) => void;
}

export class OutputSink {
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private inFlight = 0;
  private running: Promise<void> | undefined;
  private idle: Array<() => void> = [];
  private closed = false;
  private readonly abort = new AbortController();
  /** Records ever enqueued, and of those the ones in batches fully delivered (batches complete in order). */
  enqueuedTotal = 0;
  private completedTotal = 0;
  private waiters: Array<{ mark: number; resolve: () => void }> = [];

  constructor(readonly o: SinkOptions) {}

  get full(): boolean {
    return this.queuedBytes >= sinkQueueBytesMax;
  }

  /** Records queued or in flight. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  enqueue(records: Buffer[]): void {
    if (records.length === 0) return;
    this.enqueuedTotal += records.length;
    for (const r of records) {
      this.queue.push(r);
      this.queuedBytes += r.length;
    }
    this.kick();
  }

  private kick(): void {
    if (this.running || this.closed) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.queue.length && !this.closed) this.kick();
      else for (const f of this.idle.splice(0)) f();
    });
  }

  /** Resolves once the first `mark` records ever enqueued are delivered. */
  deliveredThrough(mark: number): Promise<void> {
    if (this.completedTotal >= mark) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ mark, resolve }));
  }

  private completed(n: number): void {
    this.completedTotal += n;
    const ready = this.waiters.filter((w) => w.mark <= this.completedTotal);
    this.waiters = this.waiters.filter((w) => w.mark > this.completedTotal);
    for (const w of ready) w.resolve();
  }

  /** Resolves once everything enqueued before the call is delivered. */
  flush(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private take(): Buffer[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && n < sinkBatchRecordsMax && (n === 0 || bytes + this.queue[n]!.length <= sinkBatchBytesMax)) bytes += this.queue[n++]!.length;
    const batch = this.queue.splice(0, n);
    this.queuedBytes -= bytes;
    return batch;
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.closed) {
      let batch = this.take();
      const size = batch.length;
      this.inFlight = batch.length;
      for (let attempt = 1; batch.length && !this.closed; attempt++) {
        let retry: number[];
        try {
          retry = await this.o.deliver(batch, attempt);
        } catch (err) {
          this.o.log.warn('analytics output delivery failed; retrying', { output: this.o.name, kind: this.o.kind, attempt, records: batch.length, err: String((err as Error)?.message ?? err) });
          retry = batch.map((_, i) => i);
        }
        const done = batch.length - retry.length;
        if (done > 0) this.o.onDelivered?.(done, batch.reduce((s, b, i) => (retry.includes(i) ? s : s + b.length), 0));
        if (retry.length) this.o.onFailed?.(retry.length);
        batch = retry.map((i) => batch[i]!);
        this.inFlight = batch.length;
        if (batch.length) await sleep(Math.min(sinkRetryMsMax, sinkRetryMsMin * 2 ** Math.min(attempt - 1, 16)), this.abort.signal);
      }
      this.inFlight = 0;
      if (batch.length === 0) this.completed(size);
    }
  }

  /** Stops delivering (what is still queued is dropped: the application's checkpoint predates it). */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    await this.running;
    for (const f of this.idle.splice(0)) f();
  }
}
