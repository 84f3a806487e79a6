/**
 * Turns a streaming source's records into rows of its in-application stream
 * by the input's schema (the API's SourceSchema): JSON records through
 * JSONPath mappings (dev/about-json-path.html), CSV records split on the row
 * and column delimiters (dev/sch-mapping.html). Pure: bytes in, rows out.
 *
 * JSONPath subset, as KDA documents it: `$`, `.name` and `['name']` steps,
 * `[n]` indexes, and `[0:]` (also `[*]`): as the last step it yields the
 * whole array (its JSON text for a VARCHAR column); followed by more steps
 * it flattens the array into one row per element, other columns repeating.
 * Paths are case-sensitive; a missing element is NULL. Only one array may be
 * flattened per schema.
 */
import { TributaryError } from '../../../sdk/protocol/errors.ts';
import type { Column } from '../operators/stream.ts';
import { SqlRuntimeError } from '../sql/errors.ts';
import { parseTypeString } from '../sql/parser.ts';
import { typeFromSpec, type SqlType } from '../sql/types.ts';
import { jsonToSql, textToSql } from '../sql/values.ts';

export interface RecordColumn {
  Name: string;
  SqlType: string;
  Mapping?: string;
}

export interface RecordFormat {
  RecordFormatType: 'JSON' | 'CSV' | string;
  MappingParameters?: {
    JSONMappingParameters?: { RecordRowPath: string };
    CSVMappingParameters?: { RecordRowDelimiter: string; RecordColumnDelimiter: string };
  };
}

export interface SourceSchema {
  RecordFormat: RecordFormat;
  RecordEncoding?: string;
  RecordColumns: RecordColumn[];
}

/** A schema the engine cannot use (bad SqlType, bad JSONPath): the API reports it as a validation error. */
export class SchemaError extends TributaryError {
  constructor(message: string) {
    super('ANALYTICS_SCHEMA', message);
    this.name = 'SchemaError';
  }
}

type Step = { kind: 'name'; name: string } | { kind: 'index'; index: number } | { kind: 'all' };

export function parseJsonPath(path: string, what: string): Step[] {
  const p = path.trim();
  if (!p.startsWith('$')) throw new SchemaError(`${what}: JSONPath '${path}' must start with $`);
  const steps: Step[] = [];
  let i = 1;
  while (i < p.length) {
    if (p[i] === '.') {
      const m = /^[^.[\]]+/.exec(p.slice(i + 1));
      if (!m) throw new SchemaError(`${what}: JSONPath '${path}' has an empty name at character ${i + 2}`);
      steps.push({ kind: 'name', name: m[0] });
      i += 1 + m[0].length;
      continue;
    }
    if (p[i] === '[') {
      const close = p.indexOf(']', i);
      if (close < 0) throw new SchemaError(`${what}: JSONPath '${path}' has an unclosed '['`);
      const inner = p.slice(i + 1, close).trim();
      const quoted = /^(['"])(.*)\1$/.exec(inner);
      if (quoted) steps.push({ kind: 'name', name: quoted[2]! });
      else if (inner === '0:' || inner === '*') steps.push({ kind: 'all' });
      else if (/^\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else throw new SchemaError(`${what}: JSONPath '${path}': only [n], [0:] and ['name'] are supported, not [${inner}]`);
      i = close + 1;
      continue;
    }
    throw new SchemaError(`${what}: JSONPath '${path}' has an unexpected '${p[i]}' at character ${i + 1}`);
  }
  return steps;
}

function walk(node: unknown, steps: Step[]): unknown {
  let cur = node;
  for (const s of steps) {
    if (cur === null || cur === undefined) return undefined;
    if (s.kind === 'name') cur = typeof cur === 'object' && !Array.isArray(cur) ? (cur as Record<string, unknown>)[s.name] : undefined;
    else if (s.kind === 'index') cur = Array.isArray(cur) ? cur[s.index] : undefined;
    else cur = Array.isArray(cur) ? cur : undefined;
  }
  return cur;
}

export interface MappedRecord {
  rows: unknown[][];
}

export interface RecordMapper {
  columns: Column[];
  /** Rows (column values only, no ROWTIME) for one record; throws SqlRuntimeError for a record that does not fit. */
  map(data: Uint8Array): unknown[][];
}

function columnTypes(schema: SourceSchema, what: string): Array<{ name: string; type: SqlType }> {
  if (!schema.RecordColumns?.length) throw new SchemaError(`${what}: RecordColumns must have at least one column`);
  return schema.RecordColumns.map((c, k) => {
    try {
      return { name: c.Name, type: typeFromSpec(parseTypeString(c.SqlType)) };
    } catch (err) {
      throw new SchemaError(`${what}: column ${k + 1} (${c.Name}): invalid SqlType '${c.SqlType}': ${(err as Error).message}`);
    }
  });
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function text(data: Uint8Array): string {
  try {
    return decoder.decode(data);
  } catch {
    throw new SqlRuntimeError('Parse_Error', 'record is not valid UTF-8');
  }
}

export function compileMapper(schema: SourceSchema, what: string): RecordMapper {
  const cols = columnTypes(schema, what);
  const columns: Column[] = cols.map((c) => ({ name: c.name, type: c.type }));
  const format = schema.RecordFormat?.RecordFormatType;
  if (schema.RecordEncoding && schema.RecordEncoding.toUpperCase() !== 'UTF-8') throw new SchemaError(`${what}: RecordEncoding must be UTF-8`);
  if (format === 'CSV') return { columns, map: csvMapper(schema, cols, what) };
  if (format === 'JSON') return { columns, map: jsonMapper(schema, cols, what) };
  throw new SchemaError(`${what}: RecordFormatType must be JSON or CSV (got ${String(format)})`);
}

function csvMapper(schema: SourceSchema, cols: Array<{ name: string; type: SqlType }>, what: string) {
  const p = schema.RecordFormat.MappingParameters?.CSVMappingParameters;
  const rowDelim = p?.RecordRowDelimiter ?? '\n';
  const colDelim = p?.RecordColumnDelimiter ?? ',';
  if (!rowDelim || !colDelim) throw new SchemaError(`${what}: CSV delimiters must not be empty`);
  return (data: Uint8Array): unknown[][] => {
    const lines = text(data).split(rowDelim);
    if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
    return lines.map((line) => {
      const fields = (rowDelim === '\n' && line.endsWith('\r') ? line.slice(0, -1) : line).split(colDelim);
      return cols.map((c, k) => (fields[k] === undefined ? null : convert(() => textToSql(fields[k]!, c.type), c.name)));
    });
  };
}

function convert(f: () => unknown, column: string): unknown {
  try {
    return f();
  } catch (err) {
    if (err instanceof SqlRuntimeError) throw new SqlRuntimeError(err.errorName, `column ${column}: ${err.message}`);
    throw err;
  }
}

function jsonMapper(schema: SourceSchema, cols: Array<{ name: string; type: SqlType }>, what: string) {
  const rowPath = parseJsonPath(schema.RecordFormat.MappingParameters?.JSONMappingParameters?.RecordRowPath ?? '$', `${what} RecordRowPath`);
  const rowFlatten = rowPath.length > 0 && rowPath[rowPath.length - 1]!.kind === 'all';
  const paths = schema.RecordColumns.map((c, k) => {
    if (!c.Mapping) throw new SchemaError(`${what}: column ${k + 1} (${c.Name}) of a JSON input needs a Mapping`);
    return parseJsonPath(c.Mapping, `${what}: column ${c.Name}`);
  });
  // The array to flatten: a [0:] step followed by more steps.
  let prefix: Step[] | undefined;
  const prefixes = paths.map((steps) => {
    const k = steps.findIndex((s, i) => s.kind === 'all' && i < steps.length - 1);
    return k;
  });
  paths.forEach((steps, c) => {
    const k = prefixes[c]!;
    if (k < 0) return;
    const p = steps.slice(0, k + 1);
    if (prefix && JSON.stringify(prefix) !== JSON.stringify(p)) throw new SchemaError(`${what}: only one array can be flattened per schema (column ${cols[c]!.name})`);
    prefix = p;
  });
  const value = (root: unknown, c: number, element: unknown): unknown => {
    const steps = paths[c]!;
    const k = prefixes[c]!;
    const v = k >= 0 ? walk(element, steps.slice(k + 1)) : walk(root, steps);
    return convert(() => jsonToSql(v === undefined ? null : v, cols[c]!.type), cols[c]!.name);
  };
  const rowsOf = (root: unknown): unknown[][] => {
    if (!prefix) return [cols.map((_, c) => value(root, c, undefined))];
    const arr = walk(root, prefix);
    const elements = Array.isArray(arr) && arr.length > 0 ? arr : [undefined];
    return elements.map((el) => cols.map((_, c) => value(root, c, el)));
  };
  return (data: Uint8Array): unknown[][] => {
    const docs = parseJsonDocuments(text(data));
    const out: unknown[][] = [];
    for (const doc of docs) {
      const node = walk(doc, rowPath);
      const roots = rowFlatten ? (Array.isArray(node) ? node : []) : [node];
      for (const root of roots) out.push(...rowsOf(root));
    }
    return out;
  };
}

/** One JSON document, or several separated by newlines (JSON Lines). */
export function parseJsonDocuments(s: string): unknown[] {
  try {
    return [JSON.parse(s)];
  } catch (err) {
    const lines = s.split('\n').filter((l) => l.trim() !== '');
    if (lines.length <= 1) throw new SqlRuntimeError('Parse_Error', `record is not valid JSON: ${(err as Error).message}`);
    return lines.map((l, k) => {
      try {
        return JSON.parse(l);
      } catch (e) {
        throw new SqlRuntimeError('Parse_Error', `line ${k + 1} of the record is not valid JSON: ${(e as Error).message}`);
      }
    });
  }
}
