/**
 * A small pool of offload workers (see offload.ts). `run` returns undefined
 * when every worker already has enough queued, so the caller does the job
 * inline: the main thread never idles while work waits, and both cores stay
 * busy under load.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.ts';
import type { OffloadJob, OffloadResult } from './offload.ts';

/** Jobs queued per worker before the main thread starts taking them itself. */
const queuedPerWorkerMax = 2;

export class OffloadPool {
  private workers: Array<{ worker: Worker; inFlight: number }> = [];
  private pending = new Map<number, { resolve: (r: OffloadResult) => void; slot: { inFlight: number } }>();
  private nextId = 1;
  private closed = false;

  private constructor(private readonly log: Logger) {}

  /**
   * Starts `size` workers and waits until each has loaded; if they cannot
   * start (a missing worker file, say), the gateway runs everything inline.
   */
  static async start(size: number, log: Logger): Promise<OffloadPool | undefined> {
    const pool = new OffloadPool(log);
    try {
      await Promise.all(Array.from({ length: size }, () => pool.spawn()));
      return pool;
    } catch (err) {
      log.warn('offload workers unavailable; parsing PutRecords on the main thread', { err: (err as Error).message });
      await pool.close();
      return undefined;
    }
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
    worker.on('message', (msg: { id: number; result: OffloadResult }) => {
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

  run(job: OffloadJob): Promise<OffloadResult> | undefined {
    let best: { worker: Worker; inFlight: number } | undefined;
    for (const w of this.workers) if (!best || w.inFlight < best.inFlight) best = w;
    if (!best || best.inFlight >= queuedPerWorkerMax) return undefined;
    const id = this.nextId++;
    const body = job.body;
    // Transfer the body when it owns its whole ArrayBuffer; a view into a shared one is copied.
    const owned = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? body : body.slice();
    best.inFlight++;
    const slot = best;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve, slot });
      slot.worker.postMessage({ id, job: { ...job, body: owned } }, [owned.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    for (const p of this.pending.values()) p.resolve({ ok: false, type: 'ServiceUnavailableException', status: 503 });
    this.pending.clear();
  }
}
