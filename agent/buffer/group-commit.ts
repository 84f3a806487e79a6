/**
 * Group commit for the `always` fsync policy: every append that arrives while
 * an fdatasync is in flight waits for the next one, so one fdatasync covers
 * many appends and each append resolves only after a sync that started after
 * its write.
 */
import fs from 'node:fs';

const fdatasync = (fd: number) => new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class GroupCommit {
  private waiters: Waiter[] = [];
  private running = false;
  /** Descriptors retired by a segment roll while a sync was in flight; closed when it ends. */
  private retired: number[] = [];

  constructor(private readonly activeFd: () => number | undefined) {}

  /** Resolves once everything written before the call is on disk. */
  sync(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.running) void this.loop();
    });
  }

  get busy(): boolean {
    return this.running;
  }

  /** Closes `fd` now, or after the sync in flight (which may be using it). */
  retire(fd: number): void {
    if (this.running) this.retired.push(fd);
    else fs.closeSync(fd);
  }

  private async loop(): Promise<void> {
    this.running = true;
    while (this.waiters.length > 0) {
      const batch = this.waiters.splice(0);
      const fd = this.activeFd();
      try {
        // A roll fdatasyncs the old segment before retiring it, so syncing the
        // active one covers every write made before this batch started.
        if (fd !== undefined) await fdatasync(fd);
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err as Error);
      }
      for (const r of this.retired.splice(0)) fs.closeSync(r);
    }
    this.running = false;
  }
}
