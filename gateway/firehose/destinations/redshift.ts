/**
 * The Redshift destination on PostgreSQL, delivered as AWS does it: the
 * delivery worker's object goes first to the intermediate bucket
 * (S3Configuration, the ordinary bucket destination and key layout), then a
 * COPY-style load puts its rows into the table: one transaction per object,
 * a multi-row INSERT of the parsed rows (pg-copy-streams is not available
 * here, and a table that fails to load must leave nothing behind either way).
 *
 * Exactly once: the same transaction records the object in
 * `tributary_firehose_loads` (delivery stream incarnation, object key,
 * staging counters). A crash after COMMIT but before the worker's checkpoint
 * re-delivers those staging records after restart, in an object with a new
 * key; the load then finds its counters recorded and skips them (only records
 * past the recorded end are loaded, if the new object holds more).
 *
 * A load that fails is retried with backoff for RetryOptions.DurationInSeconds;
 * after that the object is skipped and a Redshift manifest naming it
 * (`{"entries":[{"url":"s3://bucket/key","mandatory":true}]}`) is written
 * under the error prefix with the error output type `redshift-failed`, as
 * Firehose does for manual backfill. Nothing is dropped silently: the
 * intermediate object stays in the bucket and the manifest points at it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import type { Logger } from '../../log.ts';
import type { FirehoseMetrics } from '../metrics.ts';
import type { DeliveryStreamMeta } from '../model.ts';
import { errorObjectKey } from '../object-key.ts';
import { jdbcKey, parseColumns, parseCopyOptions, parseTableName, rowsOf, columnKey, type ColumnInfo, type CopySpec, type Row } from '../redshift-copy.ts';
import type { RedshiftConnections, RedshiftWire } from '../redshift-model.ts';
import type { Destination, DestinationResolver, ObjectContents, PutObjectOptions } from './types.ts';
import { bucketOf } from './filesystem.ts';

/** The bookkeeping table, created in the target database on first use. */
export const loadsTable = 'tributary_firehose_loads';
/** Backoff between load attempts (capped by what is left of the retry duration). */
export const redshiftRetryMsMin = 500;
export const redshiftRetryMsMax = 30_000;
/** PostgreSQL allows 65,535 bind parameters per statement; stay under it, and keep statements to this many rows. */
export const insertParamsMax = 60_000;
export const insertRowsMax = 1000;
/** Connections per delivery stream: one load runs at a time, the second serves the bookkeeping table's creation. */
export const poolConnectionsMax = 2;

export interface RedshiftDestinationOptions {
  /** The delivery stream's current metadata (UpdateDestination changes it between objects). */
  meta: () => DeliveryStreamMeta;
  /** The intermediate bucket's destinations (filesystem or S3-compatible). */
  buckets: DestinationResolver;
  connections: RedshiftConnections;
  log: Logger;
  metrics: FirehoseMetrics;
  now: () => number;
}

export interface LoadResult {
  rows: number;
  bytes: number;
  /** The object (or all of its records) was loaded before: nothing was inserted. */
  duplicate: boolean;
}

/** Per delivery stream: a DestinationResolver whose objects are staged in the bucket, then loaded. */
export class RedshiftDestination implements DestinationResolver {
  readonly kind = 'redshift';
  private pool: { url: string; pool: pg.Pool } | undefined;
  private bookkeeping: Promise<void> | undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  private running: Promise<unknown> | undefined;

  constructor(private readonly o: RedshiftDestinationOptions) {}

  forBucket(bucketArn: string): Destination {
    return { kind: this.kind, putObject: (key, body, options) => this.putObject(bucketArn, key, body, options) };
  }

  /** Ends retry waits (the object stays staged for the next start) and closes the connections. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.running?.catch(() => {});
    await this.pool?.pool.end();
    this.pool = undefined;
  }

  private async putObject(bucketArn: string, key: string, body: Buffer, options: PutObjectOptions | undefined): Promise<void> {
    const bucket = this.o.buckets.forBucket(bucketArn);
    // Error objects (processing-failed) only go to the bucket.
    if (!options?.contents) return bucket.putObject(key, body, options);
    await bucket.putObject(key, body, options);
    const run = this.loadWithRetry(bucketArn, key, body, options.contents, options);
    this.running = run;
    try {
      await run;
    } finally {
      this.running = undefined;
    }
  }

  private async loadWithRetry(bucketArn: string, key: string, body: Buffer, contents: ObjectContents, options: PutObjectOptions): Promise<void> {
    const name = this.o.meta().name;
    const l = { delivery_stream: name };
    const started = this.o.now();
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new Error(`delivery stream ${name} is closing; object ${key} stays staged`);
      const meta = redshiftMeta(this.o.meta());
      try {
        const r = await this.load(meta, key, body, contents);
        this.o.metrics.redshift.success.inc(l);
        if (!r.duplicate) {
          this.o.metrics.redshift.records.inc(l, r.rows);
          this.o.metrics.redshift.bytes.inc(l, r.bytes);
        }
        this.o.log.debug('firehose redshift load', { deliveryStream: name, key, rows: r.rows, duplicate: r.duplicate });
        return;
      } catch (err) {
        this.o.metrics.redshift.attemptsFailed.inc(l);
        const left = started + meta.redshift.RetryOptions.DurationInSeconds * 1000 - this.o.now();
        const message = String((err as Error)?.message ?? err);
        if (left <= 0 || this.closed) {
          if (this.closed) throw err;
          await this.writeManifest(meta, bucketArn, key, options);
          this.o.metrics.redshift.skipped.inc(l);
          this.o.log.error('firehose redshift load failed for the retry duration; manifest written', { deliveryStream: name, key, err: message });
          return;
        }
        const wait = Math.min(left, redshiftRetryMsMax, redshiftRetryMsMin * 2 ** attempt);
        this.o.log.warn('firehose redshift load failed; retrying', { deliveryStream: name, key, retryMs: wait, err: message });
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, wait).unref();
        });
        this.wake = undefined;
      }
    }
  }

  /** A Redshift COPY manifest naming the skipped object, under `<ErrorOutputPrefix>redshift-failed/YYYY/MM/DD/HH/`. */
  private async writeManifest(meta: DeliveryStreamMeta, bucketArn: string, key: string, options: PutObjectOptions): Promise<void> {
    const manifest = { entries: [{ url: `s3://${bucketOf(bucketArn)}/${key}`, mandatory: true }] };
    const manifestKey = errorObjectKey(meta.destination.ErrorOutputPrefix, {
      timeMs: this.o.now(), name: meta.name, version: meta.versionId, uuid: randomUUID(), randomString: randomUUID().replace(/-/g, '').slice(0, 11),
      errorOutputType: 'redshift-failed', extension: '',
    });
    const { contents: _contents, ...rest } = options;
    await this.o.buckets.forBucket(bucketArn).putObject(manifestKey, Buffer.from(JSON.stringify(manifest)), rest);
  }

  private poolFor(r: RedshiftWire): pg.Pool {
    const url = this.o.connections[jdbcKey(r.ClusterJDBCURL)];
    // Checked at create and update; a config change that drops the mapping is an operating error, retried.
    if (url === undefined) throw new Error(`ClusterJDBCURL ${jdbcKey(r.ClusterJDBCURL)} is no longer in the gateway config (firehose.redshift)`);
    if (this.pool?.url !== url) {
      const old = this.pool?.pool;
      void old?.end().catch(() => {});
      const pool = new pg.Pool({ connectionString: url, max: poolConnectionsMax, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
      // An idle connection that dies is replaced on next use; it must not crash the gateway.
      pool.on('error', (err) => this.o.log.warn('firehose redshift connection lost', { err: err.message }));
      this.pool = { url, pool };
      this.bookkeeping = undefined;
    }
    return this.pool.pool;
  }

  /** One object, one transaction: rows and bookkeeping commit together or not at all. */
  async load(meta: DeliveryStreamMeta & { redshift: RedshiftWire }, key: string, body: Buffer, contents: ObjectContents): Promise<LoadResult> {
    const pool = this.poolFor(meta.redshift);
    this.bookkeeping ??= ensureLoadsTable(pool).catch((err: unknown) => {
      this.bookkeeping = undefined;
      throw err;
    });
    await this.bookkeeping;
    const spec = parseCopyOptions(meta.redshift.CopyCommand.CopyOptions);
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const r = await loadInTransaction(client, meta, key, body, contents, spec);
        await client.query('COMMIT');
        return r;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        throw err;
      }
    } finally {
      client.release(broken);
    }
  }
}

async function ensureLoadsTable(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    // Two delivery streams on one database must not race CREATE TABLE IF NOT EXISTS (it can fail on pg_type).
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('tributary_firehose_loads'))");
    await client.query(`CREATE TABLE IF NOT EXISTS ${loadsTable} (
      delivery_stream text NOT NULL,
      object_key text NOT NULL,
      first_counter bigint,
      end_counter bigint,
      rows_loaded bigint NOT NULL,
      loaded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (delivery_stream, object_key))`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

async function loadInTransaction(
  client: pg.PoolClient, meta: DeliveryStreamMeta & { redshift: RedshiftWire }, key: string, body: Buffer, contents: ObjectContents, spec: CopySpec,
): Promise<LoadResult> {
  // The delivery stream's incarnation (name plus creation id): a re-created delivery stream starts its counters again.
  const stream = meta.dir;
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${loadsTable}:${stream}`]);
  const seen = await client.query<{ done: boolean; until: string | null }>(
    `SELECT bool_or(object_key = $2) AS done, max(end_counter) AS until FROM ${loadsTable} WHERE delivery_stream = $1`, [stream, key],
  );
  const loadedUntil = seen.rows[0]?.until === null || seen.rows[0]?.until === undefined ? -1 : Number(seen.rows[0].until);
  if (seen.rows[0]?.done || loadedUntil >= contents.endCounter) return { rows: 0, bytes: 0, duplicate: true };
  let text: string;
  let headerSpec = spec;
  if (loadedUntil > contents.firstCounter) {
    // Part of these records was loaded from an earlier object (a crash before the checkpoint): load only the rest.
    text = Buffer.concat(contents.records.filter((r) => r.counter >= loadedUntil).map((r) => r.data)).toString('utf8');
    headerSpec = { ...spec, ignoreHeader: 0 };
  } else text = (spec.gzip ? gunzipSync(body) : body).toString('utf8');
  const table = parseTableName(meta.redshift.CopyCommand.DataTableName).join('.');
  const columns = await targetColumns(client, table, parseColumns(meta.redshift.CopyCommand.DataTableColumns));
  const rows = rowsOf(text, headerSpec, columns.map((c) => c.info));
  await insertRows(client, table, columns.map((c) => c.sql), rows);
  await client.query(
    `INSERT INTO ${loadsTable} (delivery_stream, object_key, first_counter, end_counter, rows_loaded) VALUES ($1, $2, $3, $4, $5)`,
    [stream, key, contents.firstCounter, contents.endCounter, rows.length],
  );
  return { rows: rows.length, bytes: Buffer.byteLength(text), duplicate: false };
}

/** The columns to fill, with their types: DataTableColumns in order, or all of the table's. Fails (retried) when the table is missing. */
async function targetColumns(client: pg.PoolClient, table: string, named: string[]): Promise<Array<{ sql: string; info: ColumnInfo }>> {
  const res = await client.query<{ name: string; type: string }>(
    'SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
    [table],
  );
  const all = res.rows.map((r) => ({ sql: quoteIdent(r.name), info: { name: r.name, type: r.type.toLowerCase() } }));
  if (named.length === 0) return all;
  return named.map((c) => {
    const found = all.find((a) => a.info.name === columnKey(c));
    if (!found) throw new Error(`column "${columnKey(c)}" of relation ${table} does not exist`);
    return found;
  });
}

async function insertRows(client: pg.PoolClient, table: string, columns: string[], rows: Row[]): Promise<void> {
  if (rows.length === 0 || columns.length === 0) return;
  const per = Math.max(1, Math.min(insertRowsMax, Math.floor(insertParamsMax / columns.length)));
  for (let at = 0; at < rows.length; at += per) {
    const chunk = rows.slice(at, at + per);
    const params: Array<string | null> = [];
    const tuples = chunk.map((row) => `(${row.map((v) => (params.push(v), `$${params.length}`)).join(', ')})`);
    await client.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, params);
  }
}

function redshiftMeta(m: DeliveryStreamMeta): DeliveryStreamMeta & { redshift: RedshiftWire } {
  assert.ok(m.redshift, `delivery stream ${m.name} has no Redshift destination`);
  return m as DeliveryStreamMeta & { redshift: RedshiftWire };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
