/**
 * The offline runner behind `tributary analytics run`: the same engine over
 * captured records, for testing SQL before deploying it and for replaying
 * history (see docs/analytics.md, "Offline runner").
 *
 * - The input is the API's `Input` object (NamePrefix, InputSchema,
 *   InputParallelism); a reference is the API's `ReferenceDataSource` with
 *   its object's content from a local file.
 * - Records are JSON lines in the shape GetRecords returns: `Data` base64,
 *   `PartitionKey`, `ApproximateArrivalTimestamp` (ISO-8601 text or epoch
 *   seconds), optional `SequenceNumber`.
 * - ROWTIME and APPROXIMATE_ARRIVAL_TIME are the record's
 *   ApproximateArrivalTimestamp, unless `rowtimePath` names a field of the
 *   JSON payload to take ROWTIME from (event time: text timestamps, or epoch
 *   numbers, read as milliseconds from 10^11 up and as seconds below).
 * - Output: each row entering `output` (default DESTINATION_SQL_STREAM), as
 *   one JSON object per line, ROWTIME first, TIMESTAMP as
 *   `YYYY-MM-DD HH:MM:SS.sss` UTC, NULL as null. After the last record the
 *   rowtime bound goes to infinity, so every open window emits.
 */
import { TributaryError } from '../../sdk/protocol/errors.ts';
import { compileApplication, type EngineInput, type EngineReference } from './engine.ts';
import { parseJsonPath, parseJsonDocuments } from './input/record-mapper.ts';
import { parseTimestamp } from './functions/datetime.ts';
import { SqlRuntimeError } from './sql/errors.ts';

export const defaultOutputStream = 'DESTINATION_SQL_STREAM';

/** Epoch numbers from this value up are milliseconds, below it seconds (10^11 s is the year 5138; 10^11 ms is 1973). */
export const epochMillisecondsFrom = 1e11;

export interface RunOptions {
  code: string;
  input: EngineInput;
  references: EngineReference[];
  /** Lines of the records file, with their numbers for error messages. */
  records: AsyncIterable<string> | Iterable<string>;
  recordsName: string;
  rowtimePath?: string;
  output?: string;
  write(line: string): void;
}

export class RecordsFileError extends TributaryError {
  constructor(message: string) {
    super('ANALYTICS_RECORDS', message);
    this.name = 'RecordsFileError';
  }
}

/** An `Input` from a file: the Input object itself, or a CreateApplication request's first Input. */
export function inputFromJson(doc: unknown, file: string): EngineInput {
  const d = doc as Record<string, unknown>;
  const input = (Array.isArray(d?.Inputs) ? d.Inputs[0] : d) as EngineInput | undefined;
  if (!input || typeof input !== 'object' || !input.InputSchema) throw new TributaryError('ANALYTICS_INPUT', `${file}: expected the API's Input object (NamePrefix, InputSchema)`);
  return { ...input, NamePrefix: input.NamePrefix ?? 'SOURCE_SQL_STREAM' };
}

/** A ReferenceDataSource from a file, with the content of its data file. */
export function referenceFromJson(doc: unknown, file: string, data: Uint8Array): EngineReference {
  const d = doc as Record<string, unknown>;
  const ref = (d?.ReferenceDataSource ?? d) as Partial<EngineReference>;
  if (!ref.TableName || !ref.ReferenceSchema) throw new TributaryError('ANALYTICS_REFERENCE', `${file}: expected the API's ReferenceDataSource object (TableName, ReferenceSchema)`);
  return { TableName: ref.TableName, ReferenceSchema: ref.ReferenceSchema, data };
}

function arrivalMs(v: unknown, where: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.round(v * 1000);
  if (typeof v === 'string') {
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) return Math.round(n * 1000);
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  throw new RecordsFileError(`${where}: ApproximateArrivalTimestamp must be ISO-8601 text or epoch seconds (got ${JSON.stringify(v)})`);
}

/** The event time of a payload for --rowtime. */
function eventTime(data: Uint8Array, steps: ReturnType<typeof parseJsonPath>, path: string): number {
  const doc = parseJsonDocuments(new TextDecoder().decode(data))[0];
  let v: unknown = doc;
  for (const s of steps) v = v !== null && typeof v === 'object' ? (s.kind === 'name' ? (v as Record<string, unknown>)[s.name] : s.kind === 'index' ? (v as unknown[])[s.index] : v) : undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return v >= epochMillisecondsFrom ? v : v * 1000;
  if (typeof v === 'string') {
    const t = parseTimestamp(v);
    if (t !== null) return t;
  }
  throw new SqlRuntimeError('Parse_Error', `--rowtime ${path}: ${v === undefined ? 'no such field' : `not a timestamp: ${JSON.stringify(v)}`}`);
}

export async function runAnalytics(o: RunOptions): Promise<{ records: number; rows: number; errors: number }> {
  const app = compileApplication(o.code, { inputs: [o.input], references: o.references });
  const output = o.output ?? defaultOutputStream;
  if (!app.hasStream(output)) throw new TributaryError('ANALYTICS_OUTPUT', `--output: the application has no in-application stream '${output}' (it has ${app.streams.map((s) => s.name).join(', ')})`);
  let rows = 0;
  app.subscribe(output, (row) => {
    rows++;
    o.write(JSON.stringify(app.toJson(row, { rowtime: true })));
  });
  const steps = o.rowtimePath ? parseJsonPath(o.rowtimePath, '--rowtime') : undefined;
  let lineNo = 0;
  for await (const line of o.records) {
    lineNo++;
    if (line.trim() === '') continue;
    const where = `${o.recordsName}:${lineNo}`;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      throw new RecordsFileError(`${where}: not JSON: ${(err as Error).message}`);
    }
    if (typeof rec.Data !== 'string') throw new RecordsFileError(`${where}: Data must be a base64 string`);
    const data = Buffer.from(rec.Data, 'base64');
    const arrival = arrivalMs(rec.ApproximateArrivalTimestamp, where);
    const record = { Data: data, ApproximateArrivalTimestamp: arrival, ...(typeof rec.PartitionKey === 'string' ? { PartitionKey: rec.PartitionKey } : {}), ...(typeof rec.SequenceNumber === 'string' ? { SequenceNumber: rec.SequenceNumber } : {}) };
    let rowtime: number | undefined;
    if (steps) {
      try {
        rowtime = eventTime(data, steps, o.rowtimePath!);
      } catch (err) {
        if (!(err instanceof SqlRuntimeError)) throw err;
        app.reportRecordError(o.input.NamePrefix, record, err);
        continue;
      }
    }
    app.pushRecord(o.input.NamePrefix, record, rowtime === undefined ? {} : { rowtime });
  }
  app.advance(Infinity);
  const s = app.statistics;
  return { records: s.recordsIn, rows, errors: s.errors };
}
