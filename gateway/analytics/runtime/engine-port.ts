/**
 * What the runtime needs of the SQL engine (gateway/analytics/engine.ts):
 * compile an application's code against its input and reference tables,
 * push records into an in-application input stream, advance the rowtime
 * bound so windows close without rows, and subscribe to in-application
 * streams. Kept as a port so the runtime states its needs in one place;
 * engine-adapter.ts binds it to the engine.
 */
import type { InputMeta, ReferenceMeta } from '../api/model.ts';

export interface EngineRecord {
  data: Uint8Array;
  /** ApproximateArrivalTimestamp: when the source stream took the record (ms). */
  arrivalMs: number;
  partitionKey: string;
  sequenceNumber: string;
}

export interface EngineColumn {
  name: string;
  /** The value as a JSON output record holds it (TIMESTAMP as `yyyy-MM-dd HH:mm:ss.SSS`, NULL as null). */
  json(v: unknown): unknown;
  /** The value as text (CSV output records), as CAST(v AS VARCHAR) prints it. */
  text(v: unknown): string;
}

/** One row: element 0 is its ROWTIME (ms), elements 1.. its columns. */
export type EngineRow = readonly unknown[];

export interface EngineApplication {
  /** Parses the records by the input's schema into rows of `stream` with ROWTIME `rowtime`; records that do not parse go to error_stream. */
  push(stream: string, records: readonly EngineRecord[], rowtime: number): void;
  /** Promises that no row with ROWTIME below `t` will come: windows ending at or before it close. */
  advance(t: number): void;
  /** Rows entering the in-application stream (error_stream included), in ROWTIME order. */
  subscribe(stream: string, onRow: (row: EngineRow) => void): () => void;
  /** The stream's columns, or undefined when the code creates no such stream. */
  columns(stream: string): readonly EngineColumn[] | undefined;
  /** A record the input's preprocessor failed, for error_stream. */
  inputError(stream: string, record: EngineRecord, errorName: string, message: string, rowtime: number): void;
  /** Loads a reference table's rows from its object (parsed with the ReferenceSchema); replaces what it held. */
  loadReference(table: string, data: Uint8Array): void;
  /** Operator state, for checkpoints; restore() takes what snapshot() gave. Absent: windows start empty after a restart. */
  snapshot?(): unknown;
  restore?(state: unknown): void;
}

export interface SqlEngine {
  /** Compiles; throws an error whose `describe(code)` (or message) is the SQL error with line and column. */
  compile(code: string, inputs: readonly InputMeta[], references: readonly ReferenceMeta[]): EngineApplication;
}
