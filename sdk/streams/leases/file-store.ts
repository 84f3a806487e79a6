/**
 * A lease table in one local JSON file, for a single worker process: every
 * write replaces the file atomically (temporary file, fsync, rename), so a
 * crash leaves the previous checkpoints or the new ones. Operations on one
 * file are serialized inside the process (across every store object opened
 * on it) and re-read the file; two processes must not share the file
 * (use `GatewayLeaseStore` or `PostgresLeaseStore` for several workers).
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { assertLease, copyLease, LeaseConflictError, type Lease, type LeaseStore } from './types.ts';
import { writeFileAtomic } from '../../fs/atomic-file.ts';

/** Per file: the operations of every store object on it, one at a time. */
const queues = new Map<string, Promise<void>>();

interface FileDoc {
  version: 1;
  leases: Lease[];
}

/**
 * @example
 * const leases = new FileLeaseStore('./state/telemetry-leases.json');
 * const consumer = new StreamConsumer({ ...connection, stream: 'telemetry', leases, handler });
 */
export class FileLeaseStore implements LeaseStore {
  readonly file: string;

  constructor(file: string) {
    this.file = path.resolve(file);
  }

  ensureTable(): Promise<void> {
    return this.serial(async () => {
      const leases = await this.load();
      try {
        await fsp.access(this.file);
      } catch {
        await this.save(leases);
      }
    });
  }

  list(): Promise<Lease[]> {
    return this.serial(async () => [...(await this.load()).values()].map(copyLease));
  }

  put(lease: Lease, expectedCounter: number | undefined): Promise<void> {
    assertLease(lease);
    return this.serial(async () => {
      const leases = await this.load();
      const current = leases.get(lease.leaseKey);
      if (expectedCounter === undefined ? current !== undefined : current?.leaseCounter !== expectedCounter) throw new LeaseConflictError(lease.leaseKey);
      const next = new Map(leases).set(lease.leaseKey, copyLease(lease));
      await this.save(next);
    });
  }

  delete(leaseKey: string, expectedCounter: number): Promise<void> {
    return this.serial(async () => {
      const leases = await this.load();
      if (leases.get(leaseKey)?.leaseCounter !== expectedCounter) throw new LeaseConflictError(leaseKey);
      const next = new Map(leases);
      next.delete(leaseKey);
      await this.save(next);
    });
  }

  async close(): Promise<void> {
    await queues.get(this.file);
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = (queues.get(this.file) ?? Promise.resolve()).then(f, f);
    const tail = run.then(() => undefined, () => undefined);
    queues.set(this.file, tail);
    void tail.then(() => {
      if (queues.get(this.file) === tail) queues.delete(this.file);
    });
    return run;
  }

  private async load(): Promise<Map<string, Lease>> {
    let text: string | undefined;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const doc = text === undefined ? { version: 1, leases: [] } : (JSON.parse(text) as FileDoc);
    if (doc.version !== 1 || !Array.isArray(doc.leases)) throw new Error(`${this.file} is not a Tributary lease file`);
    for (const l of doc.leases) assertLease(l);
    return new Map(doc.leases.map((l) => [l.leaseKey, l]));
  }

  /** Replaces the file atomically: a failed write changes nothing. */
  private async save(leases: Map<string, Lease>): Promise<void> {
    await fsp.mkdir(path.dirname(this.file), { recursive: true });
    const doc: FileDoc = { version: 1, leases: [...leases.values()] };
    await writeFileAtomic(this.file, JSON.stringify(doc));
  }
}
