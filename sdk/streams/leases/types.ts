/**
 * Leases, as the KCL keeps them: one row per shard saying which worker reads
 * it (`leaseOwner`), a fencing counter every write bumps (`leaseCounter`),
 * and how far the shard has been processed (`checkpoint`). Every write is
 * conditional on the counter the writer last saw, so a worker whose lease
 * was taken over loses its next renewal or checkpoint instead of
 * overwriting the new owner's progress.
 *
 * A `LeaseStore` keeps the rows; three implementations pass the same tests:
 * `FileLeaseStore` (one worker, a local file), `GatewayLeaseStore` (a lease
 * table in the gateway's metadata store, for many workers) and
 * `PostgresLeaseStore`.
 */
import { TributaryError } from '../../protocol/errors.ts';

/** Where a shard's processing stands. `sequenceNumber` is a Kinesis sequence number or a sentinel. */
export interface Checkpoint {
  /** `TRIM_HORIZON`/`LATEST` before the first record, a sequence number, or `SHARD_END` once the shard is finished. */
  sequenceNumber: string;
  /** Position inside a KPL-aggregated record (0 for plain records): the last user record processed. */
  subSequenceNumber: number;
}

export const checkpointShardEnd = 'SHARD_END';
export const checkpointTrimHorizon = 'TRIM_HORIZON';
export const checkpointLatest = 'LATEST';

/** One shard's lease. Field names follow the KCL's lease table (lowerCamel, as its DynamoDB items). */
export interface Lease {
  /** The shard id. */
  leaseKey: string;
  /** The worker that holds it; absent when free. */
  leaseOwner?: string;
  /** Bumped by every write (take, renew, checkpoint, release): the fencing token. */
  leaseCounter: number;
  checkpoint: Checkpoint;
  /** Shards that must be finished (checkpoint `SHARD_END`) before this one is processed. */
  parentShardIds: string[];
}

/** A conditional write found a different `leaseCounter` (or a lease where none was expected). */
export class LeaseConflictError extends TributaryError {
  constructor(leaseKey: string, options?: { cause?: unknown }) {
    super('LEASE_CONFLICT', `lease ${leaseKey} was changed by another worker`, options);
  }
}

/**
 * Storage for one application's lease table. Writes replace the whole lease
 * and are conditional: `expectedCounter` undefined means "only if absent".
 *
 * @example
 * const store = new FileLeaseStore('/var/lib/myapp/leases.json');
 * await store.ensureTable();
 * await store.put({ leaseKey: 'shardId-000000000000', leaseCounter: 0, checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 }, parentShardIds: [] }, undefined);
 */
export interface LeaseStore {
  /** Creates the table when missing (idempotent). */
  ensureTable(): Promise<void>;
  list(): Promise<Lease[]>;
  /** Writes `lease` if the stored counter equals `expectedCounter` (or, when undefined, no lease exists); else throws `LeaseConflictError`. */
  put(lease: Lease, expectedCounter: number | undefined): Promise<void>;
  /** Deletes a lease if its counter equals `expectedCounter`; else throws `LeaseConflictError`. */
  delete(leaseKey: string, expectedCounter: number): Promise<void>;
  close(): Promise<void>;
}

/** Table names: what the gateway's API and the PostgreSQL store accept. */
export const leaseTableNamePattern = /^[a-zA-Z0-9_.-]{1,128}$/;

export function assertLease(l: Lease): void {
  if (typeof l.leaseKey !== 'string' || l.leaseKey.length === 0) throw new TypeError('lease.leaseKey must be a non-empty string');
  if (!Number.isSafeInteger(l.leaseCounter) || l.leaseCounter < 0) throw new TypeError(`lease ${l.leaseKey}: leaseCounter must be a non-negative integer`);
  if (typeof l.checkpoint?.sequenceNumber !== 'string' || !Number.isSafeInteger(l.checkpoint.subSequenceNumber)) throw new TypeError(`lease ${l.leaseKey}: bad checkpoint`);
  if (!Array.isArray(l.parentShardIds)) throw new TypeError(`lease ${l.leaseKey}: parentShardIds must be a list`);
}

/** A copy with only the lease's own fields (stores hand out copies, never their own objects). */
export function copyLease(l: Lease): Lease {
  return {
    leaseKey: l.leaseKey,
    ...(l.leaseOwner !== undefined ? { leaseOwner: l.leaseOwner } : {}),
    leaseCounter: l.leaseCounter,
    checkpoint: { sequenceNumber: l.checkpoint.sequenceNumber, subSequenceNumber: l.checkpoint.subSequenceNumber },
    parentShardIds: [...l.parentShardIds],
  };
}
