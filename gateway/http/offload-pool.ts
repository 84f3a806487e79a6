/**
 * A small pool of offload workers (see offload.ts). `run` returns undefined
 * when the caller should do the job inline: while the main thread's event
 * loop has time to spare (the request then skips two thread hops), or when
 * every worker already has a full queue. Under load the workers take it all,
 * so the main thread keeps to HTTP, the shard logs and the answers; the
 * front door applies the results in arrival order whoever prepared them
 * (arrival-order.ts).
 *
 * The workers start with the first job, not with the gateway: an idle
 * gateway holds none (each costs about 10 MB). Jobs run inline until they
 * are up, and for good if they cannot start; the arrival order keeps the
 * requests prepared meanwhile from overtaking one another (it was missing
 * when f9821ae first tried this, and producer.test.ts caught it).
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.ts';
import { BufferPool } from './buffer-pool.ts';
import type { OffloadJob, OffloadResult } from './offload.ts';

/**
 * Jobs counted in flight per worker (sent, and the result not yet taken by
 * the main thread) past which the main thread prepares new ones itself. It
 * was 2: a busy main thread takes results late, so the count stayed high and
 * the main thread parsed most requests while the worker idled (issue #19).
 */
const queuedPerWorkerMax = 8;
/** Below this percentage of busy time over the last sample the main thread prepares requests itself. */
export const offloadInlineBusyPercentMaxDefault = 50;
/** How often the main thread's event-loop utilization is sampled. */
const utilizationSampleMs = 50;

/** Spare request-body buffers kept on the main thread (the workers hand bodies back), and PutRecords frame buffers awaiting a trip to a worker. */
const bodySparesMax = 16;
const bodySpareBytesMax = 16 * 1024 * 1024;
const frameSparesMax = 16;
const frameSpareBytesMax = 16 * 1024 * 1024;

export class OffloadPool {
  /**
   * Request bodies for readBody (admission.ts): a body sent to a worker comes
   * back with its result and serves a later request, so the bodies of a
   * steady load cost no allocation (buffer-pool.ts).
   */
  readonly bodies = new BufferPool(bodySparesMax, bodySpareBytesMax);
  /** Frame buffers the main thread is done with (RecordFrames.release), sent to the workers with the next jobs. */
  private readonly frameSpares = new BufferPool(frameSparesMax, frameSpareBytesMax);
  private workers: Array<{ worker: Worker; inFlight: number }> = [];
  private pending = new Map<number, { resolve: (r: OffloadResult) => void; slot: { inFlight: number } }>();
  private nextId = 1;
  private closed = false;
  private eluMark = performance.eventLoopUtilization();
  private eluAtMs = performance.now();
  /** 0 at first: the first requests after an idle start are prepared here. */
  private utilization = 0;

  /** Set by the first job (or `start`): settles once the workers run, or have failed to start and none is left. */
  private starting: Promise<void> | undefined;

  private constructor(
    private readonly size: number,
    private readonly log: Logger,
    private readonly inlineBusyPercentMax: number,
  ) {}

  /** A pool of `size` workers, started by the first job. */
  static create(size: number, log: Logger, options: { inlineBusyPercentMax?: number } = {}): OffloadPool {
    return new OffloadPool(size, log, options.inlineBusyPercentMax ?? offloadInlineBusyPercentMaxDefault);
  }

  /**
   * Starts the workers now, if the first job has not, and waits until each
   * has loaded; if they cannot start (a missing worker file, say), every
   * job runs inline. Resolves whether or not they started.
   */
  start(): Promise<void> {
    this.starting ??= Promise.allSettled(Array.from({ length: this.size }, () => this.spawn())).then(async (results) => {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (!failed) return;
      this.log.warn('offload workers unavailable; parsing PutRecords on the main thread', { err: String((failed.reason as Error)?.message ?? failed.reason) });
      const started = this.workers;
      this.workers = [];
      await Promise.all(started.map((w) => w.worker.terminate()));
    });
    return this.starting;
  }

  /** Whether workers are running (tests). */
  get running(): boolean {
    return this.workers.length > 0;
  }

  private spawn(): Promise<void> {
    // Under tsx (tests, development) the worker is TypeScript, loaded through
    // tsx's loader (a worker does not inherit --import); in the bundle it sits beside it.
    const dev = import.meta.url.endsWith('.ts');
    const file = new URL(dev ? './offload-worker.ts' : './offload-worker.mjs', import.meta.url);
    const worker = dev
      ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(file.href)}); })`, { eval: true })
      : new Worker(file);
    return new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (m: { ready?: boolean }) => {
        if (!m.ready) return reject(new Error('offload worker spoke before it was ready'));
        worker.off('error', reject);
        this.adopt(worker);
        resolve();
      });
    });
  }

  private adopt(worker: Worker): void {
    const slot = { worker, inFlight: 0 };
    worker.unref();
    worker.on('message', (msg: { id: number; result: OffloadResult; body?: Uint8Array }) => {
      if (msg.body) this.bodies.give(msg.body.buffer as ArrayBuffer);
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      p.slot.inFlight--;
      p.resolve(msg.result);
    });
    worker.on('error', (err) => this.fail(slot, err));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(slot, new Error(`offload worker exited with code ${code}`));
    });
    this.workers.push(slot);
  }

  /** Fails a dead worker's jobs (the requests answer InternalFailure) and stops using it. */
  private fail(slot: { worker: Worker; inFlight: number }, err: Error): void {
    this.log.error('offload worker failed; continuing inline', { err: err.message });
    this.workers = this.workers.filter((w) => w !== slot);
    for (const [id, p] of this.pending) {
      if (p.slot === slot) {
        this.pending.delete(id);
        p.resolve({ ok: false, type: 'InternalFailure', status: 500 });
      }
    }
  }

  /** The main thread's event-loop utilization over the last complete sample (0 to 1). */
  private mainUtilization(): number {
    const now = performance.now();
    if (now - this.eluAtMs >= utilizationSampleMs) {
      const mark = performance.eventLoopUtilization();
      this.utilization = performance.eventLoopUtilization(mark, this.eluMark).utilization;
      this.eluMark = mark;
      this.eluAtMs = now;
    }
    return this.utilization;
  }

  /** Sends the job to the least busy worker; undefined: the caller prepares it inline. */
  run(job: OffloadJob): Promise<OffloadResult> | undefined {
    if (this.closed) return undefined;
    if (!this.starting) void this.start();
    if (this.inlineBusyPercentMax > 0 && 100 * this.mainUtilization() < this.inlineBusyPercentMax) return undefined;
    let best: { worker: Worker; inFlight: number } | undefined;
    for (const w of this.workers) if (!best || w.inFlight < best.inFlight) best = w;
    if (!best || best.inFlight >= queuedPerWorkerMax) return undefined;
    const id = this.nextId++;
    const body = job.body;
    // Transfer the body when it owns its whole ArrayBuffer (or a pooled one); a view into a shared one is copied.
    const whole = body.byteOffset === 0 && (body.byteLength === body.buffer.byteLength || this.bodies.owns(body.buffer));
    const owned = whole ? body : Uint8Array.prototype.slice.call(body);
    // A frame buffer to reuse goes along, for the worker's next frames.
    const spare = this.frameSpares.takeSpare();
    best.inFlight++;
    const slot = best;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve, slot });
      const transfer = [owned.buffer as ArrayBuffer, ...(spare ? [spare] : [])];
      slot.worker.postMessage({ id, job: { ...job, body: owned }, ...(spare ? { spare } : {}) }, transfer);
    });
  }

  /** A frame buffer the main thread is done with (see RecordFrames.release): a worker reuses it. */
  recycleFrames(ab: ArrayBuffer): void {
    if (!this.closed && this.workers.length) this.frameSpares.give(ab);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.starting;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    for (const p of this.pending.values()) p.resolve({ ok: false, type: 'ServiceUnavailableException', status: 503 });
    this.pending.clear();
  }
}
