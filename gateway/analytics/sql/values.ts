/**
 * Conversions between values of the SQL types: CAST, the implicit coercion
 * of an INSERT into a stream's column, the mapping of JSON input values to
 * column types (dev/sch-mapping.html, "Mapping JSON Data Types to SQL Data
 * Types"), and the printed forms (JSON output, CAST to VARCHAR).
 */
import { formatDate, formatInterval, formatTime, formatTimestamp, parseDate, parseTime, parseTimestamp, unitMs } from '../functions/datetime.ts';
import { runtimeError } from './errors.ts';
import { integerRange, isApprox, isBinary, isInteger, isInterval, isNumeric, isString, typeName, type SqlType } from './types.ts';

/** Java's Double.toString: `3.0`, `0.001`, `1.0E7`, `1.5E-4`. */
export function javaDoubleString(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(n);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(n);
    return s.includes('.') ? s : s + '.0';
  }
  const [mant, exp] = n.toExponential().split('e') as [string, string];
  return `${mant.includes('.') ? mant : mant + '.0'}E${exp!.startsWith('+') ? exp!.slice(1) : exp}`;
}

/**
 * The shortest decimal that reads back as the same 32-bit float, as Java's
 * Float.toString chooses its digits: REAL 33.11 prints as 33.11, not as the
 * float's exact value 33.11000061035156 (the value itself stays a float; a
 * REAL widened to DOUBLE keeps its exact value, as in Java).
 */
export function float32Shortest(n: number): number {
  if (!Number.isFinite(n) || n === 0 || Math.fround(n) !== n) return n;
  for (let p = 1; p < 10; p++) {
    const c = Number(n.toPrecision(p));
    if (Math.fround(c) === n) return c;
  }
  return n;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').toUpperCase();
}

/** The text of a value, as CAST(x AS VARCHAR) gives it. */
export function valueToString(v: unknown, t: SqlType): string {
  switch (t.kind) {
    case 'TIMESTAMP':
      return formatTimestamp(v as number);
    case 'DATE':
      return formatDate(v as number);
    case 'TIME':
      return formatTime(v as number);
    case 'REAL':
      return javaDoubleString(float32Shortest(v as number));
    case 'DOUBLE':
      return javaDoubleString(v as number);
    case 'DECIMAL':
      return (v as number).toFixed(t.scale);
    case 'BINARY':
    case 'VARBINARY':
      return hex(v as Uint8Array);
    case 'INTERVAL_DS':
    case 'INTERVAL_YM':
      return formatInterval(v as number, t.kind === 'INTERVAL_YM');
    case 'ROW':
      return JSON.stringify(rowToObject(v as unknown[], t));
    default:
      return String(v);
  }
}

function rowToObject(v: unknown[], t: Extract<SqlType, { kind: 'ROW' }>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  t.fields.forEach((f, k) => (o[f.name] = toJsonValue(v[k] ?? null, f.type)));
  return o;
}

/** The value as it appears in a JSON output record: numbers and booleans as such, datetimes as text. */
export function toJsonValue(v: unknown, t: SqlType): unknown {
  if (v === null || v === undefined) return null;
  switch (t.kind) {
    case 'BOOLEAN':
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT':
    case 'DOUBLE':
      return Number.isFinite(v as number) || typeof v === 'boolean' ? v : String(v);
    case 'REAL':
      return Number.isFinite(v as number) ? float32Shortest(v as number) : String(v);
    case 'DECIMAL':
      return Number((v as number).toFixed(t.scale));
    case 'CHAR':
    case 'VARCHAR':
      return v;
    case 'ROW':
      return rowToObject(v as unknown[], t);
    default:
      return valueToString(v, t);
  }
}

const checkInteger = (n: number, t: SqlType, source: string): number => {
  const [lo, hi] = integerRange[t.kind]!;
  if (!Number.isFinite(n) || n < lo || n > hi) return runtimeError('Numeric_Overflow', `value ${source} out of range for ${t.kind}`);
  return n;
};

const checkDecimal = (n: number, t: Extract<SqlType, { kind: 'DECIMAL' }>, source: string): number => {
  const scaled = Math.round(n * 10 ** t.scale) / 10 ** t.scale;
  if (!Number.isFinite(n) || Math.abs(scaled) >= 10 ** (t.precision - t.scale)) return runtimeError('Numeric_Overflow', `value ${source} out of range for ${typeName(t)}`);
  return scaled;
};

/** A number stored in numeric type `t`: integers truncate toward zero, DECIMAL rounds to its scale, REAL to float32. */
export function numberTo(n: number, t: SqlType): number {
  if (isInteger(t)) return checkInteger(Math.trunc(n), t, String(n));
  if (t.kind === 'DECIMAL') return checkDecimal(n, t, String(n));
  if (t.kind === 'REAL') return Math.fround(n);
  return n;
}

const numericText = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

function stringToNumber(s: string, t: SqlType): number {
  if (!numericText.test(s)) return runtimeError('Type_Conversion_Error', `cannot convert '${s}' to ${typeName(t)}`);
  const n = Number(s);
  if (isInteger(t) && !Number.isInteger(n)) return runtimeError('Type_Conversion_Error', `cannot convert '${s}' to ${typeName(t)}`);
  return numberTo(n, t);
}

function stringToDatetime(s: string, t: SqlType): number {
  const v = t.kind === 'DATE' ? parseDate(s) ?? (parseTimestamp(s) !== null ? Math.floor(parseTimestamp(s)! / 86_400_000) * 86_400_000 : null) : t.kind === 'TIME' ? parseTime(s) : parseTimestamp(s);
  if (v === null) return runtimeError('Type_Conversion_Error', `cannot convert '${s}' to ${t.kind}`);
  return v;
}

function stringToBinary(s: string, t: SqlType): Uint8Array {
  const m = /^\s*X'([0-9A-Fa-f]*)'\s*$/.exec(s) ?? /^\s*([0-9A-Fa-f]*)\s*$/.exec(s);
  if (!m || m[1]!.length % 2 !== 0) return runtimeError('Type_Conversion_Error', `cannot convert '${s}' to ${typeName(t)}`);
  return Uint8Array.from(Buffer.from(m[1]!, 'hex'));
}

const truncate = (s: string, t: SqlType) => (s.length > (t as { length: number }).length ? s.slice(0, (t as { length: number }).length) : s);

/**
 * CAST(v AS to) for a value of type `from`. Strings are truncated to the
 * target length; impossible conversions raise a runtime error (the row goes
 * to error_stream).
 */
export function castValue(v: unknown, from: SqlType, to: SqlType): unknown {
  if (v === null || v === undefined) return null;
  if (isString(to)) return truncate(isString(from) ? (v as string) : valueToString(v, from), to);
  if (isNumeric(to)) {
    if (isNumeric(from)) return numberTo(v as number, to);
    if (isString(from)) return stringToNumber(v as string, to);
    if (from.kind === 'BOOLEAN') return v ? 1 : 0;
    if (isInterval(from)) return numberTo((v as number) / intervalUnit(from), to);
  }
  if (to.kind === 'BOOLEAN') {
    if (from.kind === 'BOOLEAN') return v;
    if (isString(from)) {
      const s = (v as string).trim().toUpperCase();
      if (s === 'TRUE') return true;
      if (s === 'FALSE') return false;
      if (s === 'UNKNOWN') return null;
      return runtimeError('Type_Conversion_Error', `cannot convert '${v as string}' to BOOLEAN`);
    }
    if (isNumeric(from)) return v !== 0;
  }
  if (to.kind === 'TIMESTAMP' || to.kind === 'DATE' || to.kind === 'TIME') {
    if (isString(from)) return stringToDatetime(v as string, to);
    if (from.kind === to.kind) return v;
    if (from.kind === 'TIMESTAMP' && to.kind === 'DATE') return Math.floor((v as number) / 86_400_000) * 86_400_000;
    if (from.kind === 'TIMESTAMP' && to.kind === 'TIME') return (((v as number) % 86_400_000) + 86_400_000) % 86_400_000;
    if (from.kind === 'DATE' && to.kind === 'TIMESTAMP') return v;
  }
  if (isBinary(to)) {
    if (isBinary(from)) return (v as Uint8Array).length > (to as { length: number }).length ? (v as Uint8Array).subarray(0, (to as { length: number }).length) : v;
    if (isString(from)) return stringToBinary(v as string, to);
  }
  if (isInterval(to) && from.kind === to.kind) return v;
  if (isInterval(to) && isNumeric(from)) return (v as number) * intervalUnit(to);
  return runtimeError('Type_Conversion_Error', `cannot convert ${typeName(from)} to ${typeName(to)}`);
}

/** The size of one unit of an interval type's least significant field, in the representation's unit (ms or months). */
function intervalUnit(t: SqlType): number {
  if (t.kind === 'INTERVAL_YM') return (t.endUnit ?? t.startUnit) === 'YEAR' ? 12 : 1;
  if (t.kind === 'INTERVAL_DS') return unitMs[t.endUnit ?? t.startUnit] ?? 1;
  return 1;
}

/** True if CAST(from AS to) is allowed at all (checked at compile time). */
export function castAllowed(from: SqlType, to: SqlType): boolean {
  if (from.kind === 'NULL' || isString(to) || isString(from)) return from.kind !== 'ROW' || isString(to);
  if (isNumeric(to)) return isNumeric(from) || from.kind === 'BOOLEAN' || isInterval(from);
  if (to.kind === 'BOOLEAN') return from.kind === 'BOOLEAN' || isNumeric(from);
  if (to.kind === 'TIMESTAMP' || to.kind === 'DATE' || to.kind === 'TIME') return from.kind === 'TIMESTAMP' || from.kind === 'DATE' || from.kind === to.kind;
  if (isBinary(to)) return isBinary(from);
  if (isInterval(to)) return from.kind === to.kind || isNumeric(from);
  return from.kind === to.kind;
}

/**
 * A JSON input value stored in a column of type `t`, by the rules of
 * dev/sch-mapping.html. `raw` is the source text for arrays and objects.
 */
export function jsonToSql(v: unknown, t: SqlType): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') {
    if (isNumeric(t)) return v ? 1 : 0;
    if (t.kind === 'BOOLEAN') return v;
    if (isString(t)) return truncate(String(v), t);
    if (isBinary(t)) return Uint8Array.of(v ? 1 : 0);
    return runtimeError('Type_Conversion_Error', `cannot convert JSON boolean ${String(v)} to ${typeName(t)}`);
  }
  if (typeof v === 'number') {
    if (isNumeric(t)) {
      if (isInteger(t) && !Number.isInteger(v)) return runtimeError('Type_Conversion_Error', `cannot convert ${v} to ${typeName(t)}`);
      return isApprox(t) ? numberTo(v, t) : numberTo(v, t);
    }
    if (t.kind === 'BOOLEAN') return v !== 0;
    if (isString(t)) return truncate(String(v), t);
    return runtimeError('Type_Conversion_Error', `cannot convert JSON number ${v} to ${typeName(t)}`);
  }
  if (typeof v === 'string') {
    if (isNumeric(t)) return stringToNumber(v, t);
    if (t.kind === 'BOOLEAN') return v.toLowerCase() === 'true';
    if (isString(t)) return truncate(v, t);
    if (t.kind === 'TIMESTAMP' || t.kind === 'DATE' || t.kind === 'TIME') return stringToDatetime(v, t);
    if (isBinary(t)) return stringToBinary(v, t);
    return runtimeError('Type_Conversion_Error', `cannot convert '${v}' to ${typeName(t)}`);
  }
  if (isString(t)) return truncate(JSON.stringify(v), t);
  return runtimeError('Type_Conversion_Error', `cannot convert a JSON ${Array.isArray(v) ? 'array' : 'object'} to ${typeName(t)}`);
}

/** A CSV field stored in a column of type `t`: text rules, with an empty field as NULL for non-character types. */
export function textToSql(s: string, t: SqlType): unknown {
  if (isString(t)) return truncate(s, t);
  if (s.trim() === '') return null;
  return jsonToSql(s, t);
}
