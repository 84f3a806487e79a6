/**
 * Schema discovery (DiscoverInputSchema): a schema inferred from sample
 * records, as dev/sch-dis.html and dev/sch-dis-ref.html describe it.
 *
 * - JSON when every sample is a JSON object: one column per leaf field
 *   (nested objects flattened, `Mapping` the JSONPath `$.a.b`), in order of
 *   first appearance; arrays are left out (map them by hand with `[0:]`).
 * - Otherwise delimited text: rows split at "\r\n" or "\n", columns at the
 *   first of `,` tab `|` `;` that gives every row the same number (at least
 *   two) of fields. A first row whose fields are all words while some column
 *   below is numeric is a header and names the columns (the S3 example: it
 *   stays in ParsedInputRecords with null for the non-text columns).
 * - Types: INTEGER (BIGINT past 32 bits), DOUBLE, BOOLEAN, TIMESTAMP
 *   (`yyyy-MM-dd HH:mm:ss[.SSS]` or ISO-8601), else VARCHAR(n) with n the
 *   next power of two of the longest value, at least 4 (the S3 example's
 *   VARCHAR(4) for "AK", VARCHAR(16) for "ShortTons", VARCHAR(64) for 35
 *   characters).
 * - Names keep the source's except reserved SQL words, characters other than
 *   letters, digits and `_`, a leading digit or more than 100 characters:
 *   those get `COL_` and lose the offending characters (USER -> COL_USER,
 *   USER@DOMAIN -> COL_USERDOMAIN); nothing left gives COL_<position>.
 *
 * Pure: strings in, schema out; the action fetches the samples.
 */
import type { RecordColumnWire, SourceSchemaWire } from './model.ts';
import { sqlReservedWords } from './sql-reserved.ts';

/** dev/sch-dis.html: discovery renames names longer than 100 characters. */
export const discoveredNameLengthMax = 100;
/** Records a discovery samples at most (from a stream, a delivery stream, or rows of an object). */
export const discoverySampleRecordsMax = 100;

export interface Discovered {
  schema: SourceSchemaWire;
  parsed: Array<Array<string | null>>;
}

/** The columns (and mapping parameters) of the samples, or undefined when no schema fits them. */
export function inferSchema(records: readonly string[]): Discovered | undefined {
  const samples = records.filter((r) => r.trim().length > 0);
  if (samples.length === 0) return undefined;
  return inferJson(samples) ?? inferDelimited(samples);
}

// --- JSON ---

function inferJson(samples: readonly string[]): Discovered | undefined {
  const objects: Array<Record<string, unknown>> = [];
  for (const s of samples) {
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch {
      return undefined;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    objects.push(v as Record<string, unknown>);
  }
  const paths: Array<{ path: string[]; values: unknown[] }> = [];
  const index = new Map<string, number>();
  objects.forEach((o, row) => leaves(o, [], (path, value) => {
    const key = JSON.stringify(path);
    let i = index.get(key);
    if (i === undefined) {
      i = paths.length;
      index.set(key, i);
      paths.push({ path, values: new Array(objects.length).fill(undefined) });
    }
    paths[i]!.values[row] = value;
  }));
  if (paths.length === 0) return undefined;
  const names = uniqueNames(paths.map((p) => p.path));
  const columns: RecordColumnWire[] = paths.map((p, i) => ({
    Name: names[i]!,
    Mapping: '$' + p.path.map((k) => (/^[A-Za-z_][\w]*$/.test(k) ? `.${k}` : `['${k.replace(/'/g, "\\'")}']`)).join(''),
    SqlType: typeOf(p.values.filter((v) => v !== undefined && v !== null).map((v) => (typeof v === 'string' ? v : v)), true),
  }));
  const parsed = objects.map((_, row) => paths.map((p) => display(p.values[row])));
  return { schema: { RecordFormat: { RecordFormatType: 'JSON', MappingParameters: { JSONMappingParameters: { RecordRowPath: '$' } } }, RecordEncoding: 'UTF-8', RecordColumns: columns }, parsed };
}

function leaves(o: Record<string, unknown>, prefix: string[], visit: (path: string[], value: unknown) => void): void {
  for (const [k, v] of Object.entries(o)) {
    if (Array.isArray(v)) continue;
    if (typeof v === 'object' && v !== null) leaves(v as Record<string, unknown>, [...prefix, k], visit);
    else visit([...prefix, k], v);
  }
}

function display(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Leaf names; a leaf name used twice takes its parents' names too (`a_b`). */
function uniqueNames(paths: string[][]): string[] {
  const leaf = paths.map((p) => p[p.length - 1]!);
  const counts = new Map<string, number>();
  for (const l of leaf) counts.set(l, (counts.get(l) ?? 0) + 1);
  return paths.map((p, i) => columnName(counts.get(leaf[i]!)! > 1 ? p.join('_') : leaf[i]!, i));
}

// --- delimited text ---

const columnDelimiters = [',', '\t', '|', ';'] as const;

function inferDelimited(samples: readonly string[]): Discovered | undefined {
  const rowDelimiter = samples.some((s) => s.includes('\r\n')) ? '\r\n' : '\n';
  const rows = samples.flatMap((s) => s.split(rowDelimiter)).filter((r) => r.length > 0);
  for (const d of columnDelimiters) {
    const fields = rows.map((r) => r.split(d));
    const n = fields[0]!.length;
    if (n < 2 || !fields.every((f) => f.length === n)) continue;
    return delimited(fields, rowDelimiter, d);
  }
  return undefined;
}

function delimited(fields: string[][], rowDelimiter: string, columnDelimiter: string): Discovered {
  const n = fields[0]!.length;
  const body = fields.length > 1 && isHeader(fields) ? fields.slice(1) : fields;
  const header = body !== fields ? fields[0]! : undefined;
  const types = Array.from({ length: n }, (_, c) => typeOf(body.map((r) => r[c]!).filter((v) => v.length > 0), false));
  const columns = types.map((SqlType, c) => ({ Name: header ? columnName(header[c]!, c) : `COL_${c}`, SqlType }));
  const parsed: Array<Array<string | null>> = fields.map((r) => r.map((v) => v));
  if (header) parsed[0] = header.map((v, c) => (types[c]!.startsWith('VARCHAR') ? v : null));
  const schema: SourceSchemaWire = {
    RecordFormat: { RecordFormatType: 'CSV', MappingParameters: { CSVMappingParameters: { RecordRowDelimiter: rowDelimiter, RecordColumnDelimiter: columnDelimiter } } },
    RecordEncoding: 'UTF-8',
    RecordColumns: columns,
  };
  return { schema, parsed };
}

function isHeader(fields: string[][]): boolean {
  const first = fields[0]!;
  if (!first.every((v) => /^[^\d\s][^\s]*$/.test(v) && scalarKind(v) === 'text')) return false;
  return first.some((_, c) => fields.slice(1).every((r) => scalarKind(r[c]!) !== 'text'));
}

// --- types and names ---

type Kind = 'integer' | 'bigint' | 'double' | 'boolean' | 'timestamp' | 'text';

const timestampPattern = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/;

function scalarKind(v: unknown): Kind {
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? (Math.abs(v) <= 2_147_483_647 ? 'integer' : 'bigint') : 'double';
  const s = String(v);
  if (/^[+-]?\d+$/.test(s)) return Math.abs(Number(s)) <= 2_147_483_647 ? 'integer' : 'bigint';
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$/.test(s)) return 'double';
  if (/^(true|false)$/i.test(s)) return 'boolean';
  if (timestampPattern.test(s) && !Number.isNaN(Date.parse(s.replace(' ', 'T')))) return 'timestamp';
  return 'text';
}

/** The SQL type that holds every value; JSON strings stay text unless they look like timestamps. */
function typeOf(values: readonly unknown[], json: boolean): string {
  const kinds = new Set(values.map((v) => (json && typeof v === 'string' ? (scalarKind(v) === 'timestamp' ? 'timestamp' : 'text') : scalarKind(v))));
  const only = (...k: Kind[]) => kinds.size > 0 && [...kinds].every((x) => k.includes(x as Kind));
  if (only('integer')) return 'INTEGER';
  if (only('integer', 'bigint')) return 'BIGINT';
  if (only('integer', 'bigint', 'double')) return 'DOUBLE';
  if (only('boolean')) return 'BOOLEAN';
  if (only('timestamp')) return 'TIMESTAMP';
  const longest = Math.max(1, ...values.map((v) => [...(typeof v === 'string' ? v : JSON.stringify(v))].length));
  return `VARCHAR(${Math.max(4, 2 ** Math.ceil(Math.log2(longest)))})`;
}

/** A column name from a source field name, renamed as dev/sch-dis.html says. */
export function columnName(source: string, position: number): string {
  const kept = source.replace(/[^A-Za-z0-9_]/g, '');
  const clean = kept === source && !/^\d/.test(source) && source.length <= discoveredNameLengthMax && !sqlReservedWords.has(source.toUpperCase());
  if (clean && source.length > 0) return source;
  if (kept.length === 0) return `COL_${position}`;
  return `COL_${kept}`.slice(0, discoveredNameLengthMax + 4);
}

/** Where discovery gets its samples (implemented over the gateway's streams and buckets in runtime/sources.ts). */
export interface DiscoverySources {
  /** Up to `max` records of a data stream from the starting position; undefined when there is no such stream. */
  fromStream(name: string, position: 'NOW' | 'TRIM_HORIZON' | 'LAST_STOPPED_POINT', max: number): Promise<Buffer[] | undefined>;
  /** Up to `max` recent records of a delivery stream; undefined when there is no such delivery stream. */
  fromDeliveryStream(name: string, max: number): Promise<Buffer[] | undefined>;
  /** An object of a bucket; undefined when there is none at that key. */
  fromObject(bucketArn: string, key: string): Promise<Buffer | undefined>;
  /** The records after a Lambda-contract preprocessor (the Ok ones). */
  preprocess(lambdaArn: string, sourceArn: string, records: Buffer[]): Promise<Buffer[]>;
}
