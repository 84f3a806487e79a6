/**
 * A lease table in PostgreSQL, for many workers that already share a
 * database. Conditional writes are single statements (`INSERT … ON CONFLICT
 * DO NOTHING`, `UPDATE … WHERE lease_counter = $n`), so PostgreSQL's row
 * locking does the fencing; a statement that touched no row is a conflict.
 *
 * Schema (created by `ensureTable`; one SQL table holds every application's
 * lease table, keyed by `table_name`):
 *
 *   CREATE TABLE IF NOT EXISTS tributary_leases (
 *     table_name text NOT NULL, lease_key text NOT NULL,
 *     lease_owner text, lease_counter bigint NOT NULL,
 *     checkpoint text NOT NULL, checkpoint_sub bigint NOT NULL,
 *     parent_shard_ids text[] NOT NULL,
 *     PRIMARY KEY (table_name, lease_key));
 */
import pg from 'pg';
import { assertLease, LeaseConflictError, leaseTableNamePattern, type Lease, type LeaseStore } from './types.ts';

export interface PostgresLeaseStoreOptions {
  /** A `pg` connection string (`postgres://user@host:5432/db`) or a pool you own (then `close()` leaves it open). */
  connection: string | pg.Pool;
  /** The application's lease table (rows are keyed by it). */
  table: string;
  /** The SQL table that holds the rows; default `tributary_leases`. May be schema-qualified. */
  sqlTable?: string;
}

const sqlTableDefault = 'tributary_leases';
const poolSizeMax = 4;

/**
 * @example
 * const leases = new PostgresLeaseStore({ connection: 'postgres://app@db.internal/app', table: 'billing-app' });
 * const consumer = new StreamConsumer({ ...connection, stream: 'telemetry', leases, handler });
 */
export class PostgresLeaseStore implements LeaseStore {
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly sql: string;
  readonly table: string;

  constructor(o: PostgresLeaseStoreOptions) {
    if (!leaseTableNamePattern.test(o.table)) throw new TypeError(`lease table names are 1-128 of [a-zA-Z0-9_.-] (got ${JSON.stringify(o.table)})`);
    const sqlTable = o.sqlTable ?? sqlTableDefault;
    if (!/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/.test(sqlTable)) throw new TypeError(`sqlTable must be a plain (optionally schema-qualified) lower-case identifier (got ${sqlTable})`);
    this.sql = sqlTable;
    this.table = o.table;
    this.ownsPool = typeof o.connection === 'string';
    this.pool = typeof o.connection === 'string' ? new pg.Pool({ connectionString: o.connection, max: poolSizeMax }) : o.connection;
    // pg emits errors of idle connections (a server restart) on the pool; unheard, they would end the process.
    // The next query opens a new connection, and its failure reaches the caller.
    if (this.ownsPool) this.pool.on('error', () => undefined);
  }

  async ensureTable(): Promise<void> {
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS ${this.sql} (
        table_name text NOT NULL, lease_key text NOT NULL,
        lease_owner text, lease_counter bigint NOT NULL,
        checkpoint text NOT NULL, checkpoint_sub bigint NOT NULL,
        parent_shard_ids text[] NOT NULL,
        PRIMARY KEY (table_name, lease_key))`,
    );
  }

  async list(): Promise<Lease[]> {
    const r = await this.pool.query(
      `SELECT lease_key, lease_owner, lease_counter, checkpoint, checkpoint_sub, parent_shard_ids FROM ${this.sql} WHERE table_name = $1 ORDER BY lease_key`,
      [this.table],
    );
    return r.rows.map((row: Record<string, unknown>) => ({
      leaseKey: row.lease_key as string,
      ...(row.lease_owner !== null ? { leaseOwner: row.lease_owner as string } : {}),
      leaseCounter: Number(row.lease_counter),
      checkpoint: { sequenceNumber: row.checkpoint as string, subSequenceNumber: Number(row.checkpoint_sub) },
      parentShardIds: row.parent_shard_ids as string[],
    }));
  }

  async put(lease: Lease, expectedCounter: number | undefined): Promise<void> {
    assertLease(lease);
    const values = [this.table, lease.leaseKey, lease.leaseOwner ?? null, lease.leaseCounter, lease.checkpoint.sequenceNumber, lease.checkpoint.subSequenceNumber, lease.parentShardIds];
    const r = expectedCounter === undefined
      ? await this.pool.query(
        `INSERT INTO ${this.sql} (table_name, lease_key, lease_owner, lease_counter, checkpoint, checkpoint_sub, parent_shard_ids)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (table_name, lease_key) DO NOTHING`,
        values,
      )
      : await this.pool.query(
        `UPDATE ${this.sql} SET lease_owner = $3, lease_counter = $4, checkpoint = $5, checkpoint_sub = $6, parent_shard_ids = $7
         WHERE table_name = $1 AND lease_key = $2 AND lease_counter = $8`,
        [...values, expectedCounter],
      );
    if (r.rowCount !== 1) throw new LeaseConflictError(lease.leaseKey);
  }

  async delete(leaseKey: string, expectedCounter: number): Promise<void> {
    const r = await this.pool.query(`DELETE FROM ${this.sql} WHERE table_name = $1 AND lease_key = $2 AND lease_counter = $3`, [this.table, leaseKey, expectedCounter]);
    if (r.rowCount !== 1) throw new LeaseConflictError(leaseKey);
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }
}
