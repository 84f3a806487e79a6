/**
 * Runs application code over records in process and collects what enters
 * its streams, as the offline runner prints it (ROWTIME first, timestamps as
 * text). For the engine's unit tests.
 */
import { compileApplication, type EngineInput, type EngineReference } from '../../gateway/analytics/engine.ts';

export const epoch = Date.UTC(2024, 0, 1, 0, 0, 0);
/** `t(90)` is 2024-01-01 00:01:30.000 as ms; `ts(90)` its printed form. */
export const t = (seconds: number) => epoch + Math.round(seconds * 1000);
export const ts = (seconds: number) => new Date(t(seconds)).toISOString().replace('T', ' ').replace('Z', '');

export interface Columns {
  [name: string]: string | [string, string];
}

/** A JSON input whose columns map `$.<name>`; a value may be [SqlType, JSONPath]. */
export function jsonInput(columns: Columns, parallelism?: number, rowPath = '$'): EngineInput {
  return {
    NamePrefix: 'SOURCE_SQL_STREAM',
    ...(parallelism ? { InputParallelism: { Count: parallelism } } : {}),
    InputSchema: {
      RecordFormat: { RecordFormatType: 'JSON', MappingParameters: { JSONMappingParameters: { RecordRowPath: rowPath } } },
      RecordEncoding: 'UTF-8',
      RecordColumns: Object.entries(columns).map(([Name, spec]) => (Array.isArray(spec) ? { Name, SqlType: spec[0], Mapping: spec[1] } : { Name, SqlType: spec, Mapping: `$.${Name}` })),
    },
  };
}

export interface In {
  /** Seconds after `epoch` (the record's ApproximateArrivalTimestamp). */
  at: number;
  data: unknown;
  key?: string;
}

export interface RunResult {
  rows: Array<Record<string, unknown>>;
  errors: Array<Record<string, unknown>>;
  streams: Record<string, Array<Record<string, unknown>>>;
}

export function runApp(code: string, records: In[], options: { input?: EngineInput; columns?: Columns; output?: string; watch?: string[]; references?: EngineReference[]; end?: boolean; advanceTo?: number } = {}): RunResult {
  const input = options.input ?? jsonInput(options.columns ?? {});
  const app = compileApplication(code, { inputs: [input], ...(options.references ? { references: options.references } : {}) });
  const streams: RunResult['streams'] = {};
  for (const s of new Set([options.output ?? 'DESTINATION_SQL_STREAM', 'error_stream', ...(options.watch ?? [])])) {
    if (!app.hasStream(s)) continue;
    streams[s] = [];
    app.subscribe(s, (row) => streams[s]!.push(app.toJson(row, { rowtime: true })));
  }
  for (const r of records) {
    app.pushRecord(input.NamePrefix, { Data: Buffer.from(typeof r.data === 'string' ? r.data : JSON.stringify(r.data)), ApproximateArrivalTimestamp: t(r.at), ...(r.key ? { PartitionKey: r.key } : {}) });
  }
  if (options.advanceTo !== undefined) app.advance(t(options.advanceTo));
  if (options.end !== false) app.advance(Infinity);
  return { rows: streams[options.output ?? 'DESTINATION_SQL_STREAM'] ?? [], errors: streams.error_stream ?? [], streams };
}
