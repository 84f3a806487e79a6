/**
 * A lease in JetStream KV that lets exactly one gateway process run a
 * background job (a Firehose delivery stream's Kinesis source reader, ...).
 *
 * The key `lease.<job>` holds the holder's id. The holder renews it every
 * `leaseMs / 4` with a compare-and-set on the revision it last wrote; every
 * other process reads it as often and takes it over, with a compare-and-set
 * on the revision it read, only when that revision has not changed for a
 * whole `leaseMs` by its own clock. No clocks are compared between
 * processes. A holder whose renewal fails on a compare-and-set (another
 * process took over) stops the job at once; one that cannot reach the
 * cluster stops it once `leaseMs * 0.6` has passed since its last renewal,
 * well before anyone can take over (`leaseMs` after the last renewal they
 * saw), so two processes never run the job at the same time unless a
 * process stalls for longer than that margin. A process that shuts down
 * deletes the key (compare-and-set again), so another takes over at its next
 * look rather than after `leaseMs`. Jobs keep their own state in KV with
 * compare-and-set as well, which fences a holder that stalled.
 */
import { randomBytes } from 'node:crypto';
import type { KV } from '@nats-io/kv';

export const jobLeaseMsDefault = 10_000;

interface Logs {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface ExclusiveJob {
  /** Starts the job here (this process now holds its lease). */
  start(): Promise<void>;
  /** Stops it (the lease is lost or given up); resolves when nothing of it runs. */
  stop(): Promise<void>;
}

/** Every process's holder id: its own, random per start. */
export const processHolderId = `${process.pid}-${randomBytes(6).toString('hex')}`;

export class KvJobLease {
  private revision = 0;
  private holding = false;
  private lastRenewMs = 0;
  private seenRevision = -1;
  private seenAtMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly kv: KV,
    private readonly job: string,
    private readonly work: ExclusiveJob,
    private readonly o: { leaseMs: number; log: Logs; now?: () => number },
  ) {}

  private get key(): string {
    return `lease.${this.job}`;
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  begin(): void {
    this.arm(0);
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((err) => this.o.log.warn('job lease check failed', { job: this.job, err: String((err as Error)?.message ?? err) }))
        .finally(() => {
          this.ticking = undefined;
          this.arm(Math.max(50, Math.floor(this.o.leaseMs / 4)));
        });
    }, ms);
    this.timer.unref();
  }

  private value(): string {
    return JSON.stringify({ holder: processHolderId, renewedMs: this.now() });
  }

  private async tick(): Promise<void> {
    if (this.holding) return this.renew();
    const e = await this.kv.get(this.key);
    if (!e || e.operation !== 'PUT') {
      // Free (never held, or given up): take it.
      const rev = e ? await this.kv.update(this.key, this.value(), e.revision).catch(() => 0) : await this.kv.create(this.key, this.value()).catch(() => 0);
      if (rev) await this.acquired(rev);
      return;
    }
    if (e.revision !== this.seenRevision) {
      this.seenRevision = e.revision;
      this.seenAtMs = this.now();
      return;
    }
    if (this.now() - this.seenAtMs < this.o.leaseMs) return;
    // Not renewed for a whole lease: its holder is gone. The compare-and-set fails if it renewed meanwhile.
    const rev = await this.kv.update(this.key, this.value(), e.revision).catch(() => 0);
    if (rev) {
      this.o.log.info('job lease taken over', { job: this.job, from: safeHolder(e.string()) });
      await this.acquired(rev);
    }
  }

  private async acquired(revision: number): Promise<void> {
    this.revision = revision;
    this.holding = true;
    this.lastRenewMs = this.now();
    this.o.log.info('job lease acquired; starting the job here', { job: this.job, holder: processHolderId });
    try {
      await this.work.start();
    } catch (err) {
      this.o.log.warn('job failed to start; giving its lease up', { job: this.job, err: String((err as Error)?.message ?? err) });
      await this.lose();
      await this.kv.delete(this.key, { previousSeq: this.revision }).catch(() => {});
    }
  }

  private async renew(): Promise<void> {
    try {
      this.revision = await this.kv.update(this.key, this.value(), this.revision);
      this.lastRenewMs = this.now();
    } catch (err) {
      const conflict = /wrong last sequence/i.test(String((err as Error)?.message));
      if (conflict || this.now() - this.lastRenewMs > this.o.leaseMs * 0.6) {
        this.o.log.warn('job lease lost; stopping the job here', { job: this.job, reason: conflict ? 'taken over' : 'cluster unreachable', err: String((err as Error)?.message ?? err) });
        await this.lose();
      }
    }
  }

  private async lose(): Promise<void> {
    this.holding = false;
    this.seenRevision = -1;
    await this.work.stop();
  }

  /** Stops the job if it runs here and gives the lease up, so that another process takes it at once. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    if (!this.holding) return;
    await this.lose();
    await this.kv.delete(this.key, { previousSeq: this.revision }).catch((err) => this.o.log.warn('job lease release failed', { job: this.job, err: String(err) }));
  }
}

function safeHolder(text: string): string | undefined {
  try {
    return String((JSON.parse(text) as { holder?: unknown }).holder);
  } catch {
    return undefined;
  }
}
