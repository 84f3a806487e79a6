/**
 * The KCL's lease protocol over any `LeaseStore`: which leases this worker
 * holds, and the four moves: take (expired or free leases, up to a fair
 * share), renew (every lease, every `leaseDurationMs / 3`), steal (one at a
 * time, from the most loaded worker, when below the fair share and nothing
 * is free) and release (graceful shutdown). Every write bumps
 * `leaseCounter` and is conditional on the value read, so the store orders
 * competing workers and a worker that lost a lease learns it on its next
 * write.
 *
 * Expiry is judged as the KCL does, without trusting other machines'
 * clocks: a lease is expired when this worker has watched its counter stand
 * still for `leaseDurationMs` (a lease first seen with an owner counts as
 * just renewed).
 */
import { TributaryError } from '../../protocol/errors.ts';
import { checkpointShardEnd, copyLease, LeaseConflictError, type Checkpoint, type Lease, type LeaseStore } from './types.ts';

export interface LeaseCoordinatorOptions {
  workerId: string;
  leaseDurationMs: number;
  /** Leases this worker will hold at most (protects a lone worker from a huge stream). */
  leasesMax?: number;
  /** Called when a held lease is lost: taken by another worker, or not renewed within `leaseDurationMs`. */
  onLost?: (leaseKey: string) => void;
  now?: () => number;
  random?: () => number;
}

/** The lease was taken over (or went unrenewed): stop processing its shard. */
export class LeaseLostError extends TributaryError {
  constructor(leaseKey: string, options?: { cause?: unknown }) {
    super('LEASE_LOST', `lease ${leaseKey} is no longer held by this worker`, options);
  }
}

interface Held {
  lease: Lease;
  renewedMs: number;
}

export const leasesMaxDefault = 1000;

export class LeaseCoordinator {
  private readonly held = new Map<string, Held>();
  /** Per lease: the counter last seen and when it last changed (local clock). */
  private readonly seen = new Map<string, { counter: number; changedMs: number }>();
  /** Per lease: this worker's writes, one at a time, so a renewal never races a checkpoint. */
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    readonly store: LeaseStore,
    private readonly o: LeaseCoordinatorOptions,
  ) {
    if (!(o.leaseDurationMs > 0)) throw new RangeError('leaseDurationMs must be positive');
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
  }

  get workerId(): string {
    return this.o.workerId;
  }

  /** Leases held now (renewed within the lease duration). */
  heldKeys(): string[] {
    return [...this.held.keys()].filter((k) => this.holds(k));
  }

  holds(leaseKey: string): boolean {
    const h = this.held.get(leaseKey);
    return h !== undefined && this.now() - h.renewedMs < this.o.leaseDurationMs;
  }

  /** A copy of a held lease (its checkpoint is this worker's latest). */
  heldLease(leaseKey: string): Lease | undefined {
    const h = this.held.get(leaseKey);
    return h ? copyLease(h.lease) : undefined;
  }

  /** Reads the table and updates the expiry observations. */
  async scan(): Promise<Lease[]> {
    const leases = await this.store.list();
    const now = this.now();
    const keys = new Set<string>();
    for (const l of leases) {
      keys.add(l.leaseKey);
      const s = this.seen.get(l.leaseKey);
      if (!s || s.counter !== l.leaseCounter) this.seen.set(l.leaseKey, { counter: l.leaseCounter, changedMs: now });
    }
    for (const k of this.seen.keys()) if (!keys.has(k)) this.seen.delete(k);
    return leases;
  }

  isExpired(l: Lease): boolean {
    if (l.leaseOwner === undefined) return true;
    const s = this.seen.get(l.leaseKey);
    return s !== undefined && s.counter === l.leaseCounter && this.now() - s.changedMs > this.o.leaseDurationMs;
  }

  /**
   * One taker pass (the KCL's LeaseTaker): take free or expired leases up to
   * this worker's fair share; with none free and still below it, steal one
   * lease from the most loaded worker. Returns the leases taken.
   */
  async take(): Promise<string[]> {
    const leases = (await this.scan()).filter((l) => l.checkpoint.sequenceNumber !== checkpointShardEnd);
    const mine = this.heldKeys().length;
    const load = new Map<string, Lease[]>();
    const available: Lease[] = [];
    for (const l of leases) {
      if (this.held.has(l.leaseKey) && l.leaseOwner === this.o.workerId) continue;
      if (this.isExpired(l)) available.push(l);
      else load.set(l.leaseOwner!, [...(load.get(l.leaseOwner!) ?? []), l]);
    }
    load.delete(this.o.workerId);
    const workers = load.size + 1;
    const target = Math.min(this.o.leasesMax ?? leasesMaxDefault, Math.ceil(leases.length / workers));
    const need = target - mine;
    if (need <= 0) return [];
    let candidates: Lease[];
    if (available.length > 0) candidates = this.shuffle(available).slice(0, need);
    else {
      const [, most] = [...load.entries()].sort((a, b) => b[1].length - a[1].length)[0] ?? [undefined, []];
      // The KCL's rule: steal only from a worker above the target, or at it when we are short by more than one.
      const steal = most.length > target || (most.length === target && need > 1);
      candidates = steal ? this.shuffle(most).slice(0, 1) : [];
    }
    const taken: string[] = [];
    for (const l of candidates) {
      try {
        await this.write(l.leaseKey, { ...copyLease(l), leaseOwner: this.o.workerId, leaseCounter: l.leaseCounter + 1 }, l.leaseCounter);
        taken.push(l.leaseKey);
      } catch (err) {
        if (!(err instanceof LeaseConflictError)) throw err;
        // Another worker got there first; it is theirs.
      }
    }
    return taken;
  }

  /** Renews every held lease; leases lost meanwhile are dropped (and reported through `onLost`). */
  async renewAll(): Promise<void> {
    await Promise.all(
      [...this.held.keys()].map((key) =>
        this.serial(key, async () => {
          const h = this.held.get(key);
          if (!h) return;
          if (this.now() - h.renewedMs >= this.o.leaseDurationMs) return this.lose(key);
          try {
            await this.writeHeld(key, h.lease);
          } catch (err) {
            if (err instanceof LeaseConflictError) return this.lose(key);
            // A store outage: keep the lease until its duration runs out, then give it up.
          }
        }),
      ),
    );
  }

  /** Records a checkpoint on a held lease; throws `LeaseLostError` if the lease was taken over. */
  checkpoint(leaseKey: string, checkpoint: Checkpoint): Promise<void> {
    return this.serial(leaseKey, async () => {
      const h = this.held.get(leaseKey);
      if (!h || !this.holds(leaseKey)) throw new LeaseLostError(leaseKey);
      await this.writeHeldOrLose(leaseKey, { ...h.lease, checkpoint: { ...checkpoint } });
    });
  }

  /** Marks a held lease's shard finished (`SHARD_END`) and lets go of it: nobody needs to hold it again. */
  finish(leaseKey: string): Promise<void> {
    return this.serial(leaseKey, async () => {
      const h = this.held.get(leaseKey);
      if (!h) throw new LeaseLostError(leaseKey);
      const { leaseOwner: _, ...rest } = h.lease;
      const next = { ...rest, leaseCounter: h.lease.leaseCounter + 1, checkpoint: { sequenceNumber: checkpointShardEnd, subSequenceNumber: 0 } };
      try {
        await this.store.put(next, h.lease.leaseCounter);
      } catch (err) {
        if (!(err instanceof LeaseConflictError)) throw err;
        this.lose(leaseKey);
        throw new LeaseLostError(leaseKey, { cause: err });
      }
      this.held.delete(leaseKey);
    });
  }

  /** Gives a held lease back (graceful shutdown) so another worker takes it at once, without waiting for expiry. */
  release(leaseKey: string): Promise<void> {
    return this.serial(leaseKey, async () => {
      const h = this.held.get(leaseKey);
      if (!h) return;
      this.held.delete(leaseKey);
      const { leaseOwner: _, ...rest } = h.lease;
      try {
        await this.store.put({ ...rest, leaseCounter: h.lease.leaseCounter + 1 }, h.lease.leaseCounter);
      } catch (err) {
        if (!(err instanceof LeaseConflictError)) throw err;
        // Already someone else's: nothing to give back.
      }
    });
  }

  /** Creates a lease unless one exists; true when this call created it. */
  async create(lease: Lease): Promise<boolean> {
    try {
      await this.store.put(lease, undefined);
      return true;
    } catch (err) {
      if (err instanceof LeaseConflictError) return false;
      throw err;
    }
  }

  private async writeHeldOrLose(key: string, lease: Lease): Promise<void> {
    try {
      await this.writeHeld(key, lease);
    } catch (err) {
      if (!(err instanceof LeaseConflictError)) throw err;
      this.lose(key);
      throw new LeaseLostError(key, { cause: err });
    }
  }

  /** Writes `lease` with the next counter, conditional on the one held. */
  private async writeHeld(key: string, lease: Lease): Promise<void> {
    const h = this.held.get(key)!;
    await this.write(key, { ...copyLease(lease), leaseOwner: this.o.workerId, leaseCounter: h.lease.leaseCounter + 1 }, h.lease.leaseCounter);
  }

  private async write(key: string, next: Lease, expected: number): Promise<void> {
    const startedMs = this.now();
    await this.store.put(next, expected);
    // Held from when the write was sent: the store may have committed it at once.
    this.held.set(key, { lease: next, renewedMs: startedMs });
    this.seen.set(key, { counter: next.leaseCounter, changedMs: startedMs });
  }

  private lose(key: string): void {
    if (!this.held.delete(key)) return;
    this.o.onLost?.(key);
  }

  private serial<T>(key: string, f: () => Promise<T>): Promise<T> {
    const run = (this.chains.get(key) ?? Promise.resolve()).then(f, f);
    const tail = run.catch(() => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return run;
  }

  private shuffle<T>(xs: T[]): T[] {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}
