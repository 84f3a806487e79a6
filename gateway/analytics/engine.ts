/**
 * The SQL engine's interface: what the application runtime (gateway/analytics/runtime/),
 * the API's code validation and `tributary analytics run` use. Stable: extend
 * it, do not change what is here.
 *
 *   const app = compileApplication(code, { inputs, references });   // throws SqlError | SchemaError
 *   const off = app.subscribe('DESTINATION_SQL_STREAM', (row) => send(app.toJson(row)));
 *   app.pushRecord('SOURCE_SQL_STREAM', { Data, ApproximateArrivalTimestamp, PartitionKey });
 *   app.advance(Date.now());        // time passes without records: windows close
 *   app.advance(Infinity);          // end of input: every open window emits
 *
 * - `inputs` are the API's Input objects (NamePrefix, InputSchema,
 *   InputParallelism); each becomes in-application streams `<NamePrefix>_001`
 *   .. `_00n`. `references` are ReferenceDataSource objects with the object's
 *   bytes in `data`; each becomes an in-application table.
 * - `pushRecord` maps one Kinesis record to rows (JSON or CSV per the input
 *   schema). The rows' ROWTIME is `options.rowtime` if given (the live
 *   runtime passes its processing time), else the record's
 *   ApproximateArrivalTimestamp; ROWTIME never goes back: an earlier time is
 *   raised to the application's current time. A record that does not fit the
 *   schema becomes one error_stream row and nothing else happens.
 * - `advance(t)` raises the rowtime bound: no row before t will follow.
 *   Windows that end at or before t emit. Rows are pushed synchronously:
 *   listeners have seen every resulting row when a call returns.
 * - `subscribe(stream, listener)` delivers each row entering an
 *   in-application stream (DESTINATION_SQL_STREAM, error_stream, any other)
 *   in ROWTIME order. `toJson` / `toCsv` give the record a destination gets
 *   (DestinationSchema RecordFormatType JSON / CSV).
 * - Compile-time errors are `SqlError` (line, column, `describe(code)` with a
 *   caret) for the code and `SchemaError` for an input or reference schema.
 *   Runtime errors never throw out of the engine: they become error_stream
 *   rows (ERROR_TIME, ERROR_LEVEL, ERROR_NAME, MESSAGE, DATA_ROWTIME,
 *   DATA_ROW hex, PUMP_NAME).
 */
import { compileMapper, SchemaError, type SourceSchema } from './input/record-mapper.ts';
import { errorStreamName, buildGraph, type ApplicationGraph } from './planner/application.ts';
import { Horizon, type Column, type ErrorReport, type InAppStream, type Row } from './operators/stream.ts';
import { SqlError, SqlRuntimeError } from './sql/errors.ts';
import { parseApplicationCode } from './sql/parser.ts';
import { T, typeName } from './sql/types.ts';
import { toJsonValue, valueToString } from './sql/values.ts';

export { SqlError, SchemaError };
export type { SourceSchema };

/** Most in-application streams one input may map to (dev/limits.html: InputParallelism up to 64). */
export const inputParallelismMax = 64;
/** DATA_ROW holds at most this many hex characters (error_stream's VARCHAR(49152)). */
export const errorDataRowLengthMax = 49_152;

/** The API's Input, as far as the engine needs it. */
export interface EngineInput {
  NamePrefix: string;
  InputSchema: SourceSchema;
  InputParallelism?: { Count?: number };
}

/** The API's ReferenceDataSource, with the S3 object's content. */
export interface EngineReference {
  TableName: string;
  ReferenceSchema: SourceSchema;
  data: Uint8Array | string;
}

/** A Kinesis record as GetRecords returns it (Data as bytes). */
export interface EngineRecord {
  Data: Uint8Array;
  ApproximateArrivalTimestamp: number | Date;
  PartitionKey?: string;
  SequenceNumber?: string;
}

export interface CompileOptions {
  inputs: EngineInput[];
  references?: EngineReference[];
  /** Clock for CURRENT_TIMESTAMP, CURRENT_ROW_TIMESTAMP and ERROR_TIME; default: the application's current ROWTIME. */
  now?: () => number;
}

export interface StreamInfo {
  name: string;
  kind: 'source' | 'stream' | 'error';
  columns: Array<{ name: string; sqlType: string }>;
}

export interface OutputRow {
  stream: string;
  rowtime: number;
  /** Column values in the stream's column order (the engine's representation: TIMESTAMP as ms, ...). */
  values: unknown[];
}

export interface EngineStats {
  recordsIn: number;
  rowsIn: number;
  errors: number;
}

/** The in-application stream names of an input: `<prefix>_001` ... */
export function inputStreamNames(input: EngineInput): string[] {
  const n = input.InputParallelism?.Count ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > inputParallelismMax) throw new SchemaError(`InputParallelism Count must be 1..${inputParallelismMax} (got ${n})`);
  return Array.from({ length: n }, (_, k) => `${input.NamePrefix}_${String(k + 1).padStart(3, '0')}`);
}

const hexOf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function describeRow(data: ErrorReport['data']): string | null {
  if (data === null) return null;
  if (data instanceof Uint8Array) return hexOf(data).slice(0, errorDataRowLengthMax);
  const json = JSON.stringify(data.slice(1), (_k, v: unknown) => (v instanceof Uint8Array ? hexOf(v) : v));
  return Buffer.from(json, 'utf8').toString('hex').slice(0, errorDataRowLengthMax);
}

interface Source {
  streams: InAppStream[];
  map: ReturnType<typeof compileMapper>['map'];
  next: number;
}

export class AnalyticsApplication {
  private readonly graph: ApplicationGraph;
  private readonly sources = new Map<string, Source>();
  private time = -Infinity;
  private readonly stats: EngineStats = { recordsIn: 0, rowsIn: 0, errors: 0 };
  private readonly now: () => number;

  /** Use compileApplication. */
  constructor(code: string, options: CompileOptions) {
    this.now = options.now ?? (() => (Number.isFinite(this.time) ? this.time : 0));
    const statements = parseApplicationCode(code);
    const sources: Array<{ name: string; columns: Column[] }> = [];
    for (const input of options.inputs) {
      if (!input.NamePrefix) throw new SchemaError('an input needs a NamePrefix');
      const mapper = compileMapper(input.InputSchema, `input ${input.NamePrefix}`);
      const columns: Column[] = [...mapper.columns, { name: 'APPROXIMATE_ARRIVAL_TIME', type: T.timestamp, hidden: true }];
      const names = inputStreamNames(input);
      for (const name of names) sources.push({ name, columns });
      this.sources.set(input.NamePrefix, { streams: [], map: mapper.map, next: 0 });
      this.sourceNames.set(input.NamePrefix, names);
    }
    const tables = (options.references ?? []).map((ref) => loadReference(ref));
    this.graph = buildGraph(statements, { sources, tables, errors: (e) => this.reportError(e), horizon: this.horizon, now: () => this.now() });
    for (const [prefix, names] of this.sourceNames) this.sources.get(prefix)!.streams = names.map((n) => this.graph.streams.get(n)!);
  }

  private readonly sourceNames = new Map<string, string[]>();
  private readonly horizon = new Horizon();

  /** The application's in-application streams and their columns (ROWTIME not listed; every stream has it). */
  get streams(): StreamInfo[] {
    return [...this.graph.streams.values()].map((s) => ({ name: s.name, kind: s.kind, columns: s.columns.filter((c) => !c.hidden).map((c) => ({ name: c.name, sqlType: typeName(c.type) })) }));
  }

  hasStream(name: string): boolean {
    return this.graph.streams.has(name);
  }

  get statistics(): Readonly<EngineStats> {
    return this.stats;
  }

  /** The current rowtime bound. */
  get currentTime(): number {
    return this.time;
  }

  subscribe(stream: string, listener: (row: OutputRow) => void): () => void {
    const s = this.graph.streams.get(stream);
    if (!s) throw new SqlError(`stream '${stream}' not found`, undefined);
    return s.subscribe({ push: (r) => listener({ stream, rowtime: r[0] as number, values: r.slice(1, s.columns.length + 1) }), bound: () => {} });
  }

  /** Maps one record of input `prefix` to rows of its in-application stream(s). */
  pushRecord(prefix: string, record: EngineRecord, options: { rowtime?: number } = {}): void {
    const src = this.sources.get(prefix);
    if (!src) throw new SchemaError(`no input with NamePrefix '${prefix}'`);
    const arrival = record.ApproximateArrivalTimestamp instanceof Date ? record.ApproximateArrivalTimestamp.getTime() : record.ApproximateArrivalTimestamp;
    const t = Math.max(options.rowtime ?? arrival, this.time);
    this.advance(t);
    this.stats.recordsIn++;
    let rows: unknown[][];
    try {
      rows = src.map(record.Data);
    } catch (err) {
      if (!(err instanceof SqlRuntimeError)) throw err;
      this.reportError({ errorName: err.errorName, message: err.message, rowtime: t, data: record.Data, pump: null });
      return;
    }
    const stream = src.streams.length === 1 ? src.streams[0]! : src.streams[this.pick(src, record.PartitionKey)]!;
    for (const values of rows) {
      this.stats.rowsIn++;
      stream.push([t, ...values, arrival]);
    }
  }

  /**
   * Reports a record of input `prefix` the caller could not turn into rows
   * (a failed preprocessor, a missing event time): one error_stream row
   * with the record's bytes, at `rowtime` or else the application's current time.
   */
  reportRecordError(prefix: string, record: EngineRecord, error: { errorName: string; message: string }, rowtime?: number): void {
    if (!this.sources.has(prefix)) throw new SchemaError(`no input with NamePrefix '${prefix}'`);
    const arrival = record.ApproximateArrivalTimestamp instanceof Date ? record.ApproximateArrivalTimestamp.getTime() : record.ApproximateArrivalTimestamp;
    // Without a time of its own the record takes the application's current time (its arrival time before the first row).
    const t = Math.max(rowtime ?? (Number.isFinite(this.time) ? this.time : arrival), this.time);
    this.advance(t);
    this.stats.recordsIn++;
    this.reportError({ errorName: error.errorName, message: error.message, rowtime: t, data: record.Data, pump: null });
  }

  /** Rows pushed directly into an in-application stream (tests, replays of captured rows). */
  pushRow(streamName: string, rowtime: number, values: unknown[]): void {
    const s = this.graph.streams.get(streamName);
    if (!s || s.kind === 'error') throw new SqlError(`stream '${streamName}' not found`, undefined);
    const t = Math.max(rowtime, this.time);
    this.advance(t);
    this.stats.rowsIn++;
    const row: Row = new Array<unknown>(s.columns.length + 1).fill(null);
    row[0] = t;
    for (let k = 0; k < values.length && k < s.columns.length; k++) row[k + 1] = values[k];
    s.push(row);
  }

  private pick(src: Source, key: string | undefined): number {
    if (key === undefined) return src.next++ % src.streams.length;
    let h = 0;
    for (let k = 0; k < key.length; k++) h = (Math.imul(h, 31) + key.charCodeAt(k)) | 0;
    return Math.abs(h) % src.streams.length;
  }

  /** Raises the rowtime bound to t (ms; Infinity at the end of input). */
  advance(t: number): void {
    if (!(t > this.time)) return;
    if (t !== Infinity) this.time = t;
    // Nothing acts on a bound before the horizon: the bound catches up when time reaches it.
    if (t < this.horizon.at) return;
    this.horizon.at = Infinity;
    const targets = (this.boundTargets ??= [...this.graph.streams.values()].filter((s) => s.kind === 'source' || s.producerCount === 0));
    for (let k = 0; k < targets.length; k++) targets[k]!.bound(t);
  }

  /** Streams the engine's bound drives: the sources, and streams no pump writes. */
  private boundTargets: InAppStream[] | undefined;

  /**
   * Rows already in the engine's layout, `[rowtime, column1, ...]` with the
   * stream's columns (a source stream's last one is APPROXIMATE_ARRIVAL_TIME),
   * pushed into an in-application stream: the fast path for callers that map
   * records themselves, and for benchmarks. The arrays are taken over.
   */
  pushRows(streamName: string, rows: Row[]): void {
    const s = this.graph.streams.get(streamName);
    if (!s || s.kind === 'error') throw new SqlError(`stream '${streamName}' not found`, undefined);
    const width = s.columns.length + 1;
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k]!;
      if (row.length !== width) throw new SchemaError(`a row of ${streamName} has ${width} elements (ROWTIME and ${width - 1} columns), not ${row.length}`);
      let t = row[0] as number;
      if (t > this.time) this.advance(t);
      else row[0] = t = this.time;
      this.stats.rowsIn++;
      s.push(row);
    }
  }

  private reportError(e: ErrorReport): void {
    this.stats.errors++;
    const rowtime = Number.isFinite(this.time) ? this.time : (e.rowtime ?? 0);
    const message = e.message.length > 4096 ? e.message.slice(0, 4096) : e.message;
    this.graph.errorStream.push([rowtime, this.now(), 'ERROR', e.errorName.slice(0, 32), message, e.rowtime, describeRow(e.data), e.pump]);
  }

  private columnsOf(stream: string): Column[] {
    return this.graph.streams.get(stream)!.columns;
  }

  /** A destination's JSON record for a row: column name to value, TIMESTAMP as `YYYY-MM-DD HH:MM:SS.sss`. */
  toJson(row: OutputRow, options: { rowtime?: boolean } = {}): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (options.rowtime) out.ROWTIME = toJsonValue(row.rowtime, T.timestamp);
    this.columnsOf(row.stream).forEach((c, k) => {
      if (!c.hidden) out[c.name] = toJsonValue(row.values[k] ?? null, c.type);
    });
    return out;
  }

  /** A destination's CSV record for a row (comma-separated, no quoting of plain values, NULL as empty). */
  toCsv(row: OutputRow): string {
    return this.columnsOf(row.stream)
      .filter((c) => !c.hidden)
      .map((c, k) => {
        const v = row.values[k];
        if (v === null || v === undefined) return '';
        const s = valueToString(v, c.type);
        return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
      })
      .join(',');
  }
}

function loadReference(ref: EngineReference) {
  if (!ref.TableName) throw new SchemaError('a reference data source needs a TableName');
  const mapper = compileMapper(ref.ReferenceSchema, `reference table ${ref.TableName}`);
  const data = typeof ref.data === 'string' ? new TextEncoder().encode(ref.data) : ref.data;
  let rows: unknown[][];
  try {
    rows = mapper.map(data);
  } catch (err) {
    if (err instanceof SqlRuntimeError) throw new SchemaError(`reference table ${ref.TableName}: ${err.message}`);
    throw err;
  }
  return { name: ref.TableName, columns: mapper.columns, rows: rows.map((r) => [null, ...r]) };
}

/** Compiles application code against its inputs and reference data; throws SqlError or SchemaError. */
export function compileApplication(code: string, options: CompileOptions): AnalyticsApplication {
  return new AnalyticsApplication(code, options);
}

/** The name of the system error stream. */
export { errorStreamName };
