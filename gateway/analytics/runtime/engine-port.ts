/**
 * What the runtime needs of the SQL engine (gateway/analytics/engine.ts),
 * in one place: compile an application's code against its inputs and
 * reference data, push an input's records, advance the rowtime bound so
 * windows close without rows, and receive the output records of an
 * in-application stream. engine-adapter.ts binds it to the engine.
 */
import type { InputMeta, ReferenceMeta } from '../api/model.ts';

export interface EngineRecord {
  data: Uint8Array;
  /** ApproximateArrivalTimestamp: when the source took the record (ms). */
  arrivalMs: number;
  partitionKey: string;
  sequenceNumber: string;
}

export interface ReferenceData {
  meta: ReferenceMeta;
  /** The object's bytes (parsed by the engine with the ReferenceSchema). */
  data: Uint8Array;
}

export interface EngineApplication {
  /** Maps the records of the input with this NamePrefix to rows with ROWTIME `rowtime`; a record that does not fit becomes an error_stream row. */
  push(namePrefix: string, records: readonly EngineRecord[], rowtime: number): void;
  /** A record of the input with this NamePrefix that cannot be processed (a preprocessor answered ProcessingFailed): one error_stream row at `rowtime`. */
  reject(namePrefix: string, record: EngineRecord, error: { errorName: string; message: string }, rowtime: number): void;
  /** No row with ROWTIME below `t` will come: windows ending at or before it emit. */
  advance(t: number): void;
  hasStream(name: string): boolean;
  /** Each row entering the stream, as the record a destination with this RecordFormatType gets. */
  subscribe(stream: string, format: 'JSON' | 'CSV', onRecord: (record: Buffer) => void): () => void;
}

export interface SqlEngine {
  /** Compiles; throws an error whose `describe(code)` (or message) is the SQL error with its line and column. */
  compile(code: string, inputs: readonly InputMeta[], references: readonly ReferenceData[]): EngineApplication;
}

/** Reference data with no rows, for compiling before the object is read (checks at create, update and start). */
export function emptyReferenceData(meta: ReferenceMeta): ReferenceData {
  // The engine reads a JSON object as one row and an empty array as none; empty text has no CSV rows.
  return { meta, data: Buffer.from(meta.ReferenceSchema.RecordFormat.RecordFormatType === 'JSON' ? '[]' : '') };
}
