/**
 * The SQL data types of the dialect and how values of each are held in
 * JavaScript. Values carry no tag: the planner knows every column's type.
 *
 * | SQL type                                   | JS value                                  |
 * | ------------------------------------------ | ----------------------------------------- |
 * | BOOLEAN                                    | boolean                                   |
 * | TINYINT SMALLINT INTEGER BIGINT DECIMAL    | number (BIGINT exact to 2^53)             |
 * | REAL DOUBLE                                | number                                    |
 * | CHAR(n) VARCHAR(n)                         | string                                    |
 * | BINARY(n) VARBINARY(n)                     | Uint8Array                                |
 * | TIMESTAMP                                  | number: ms since 1970-01-01 00:00:00 UTC  |
 * | DATE                                       | number: ms at midnight UTC of the day     |
 * | TIME                                       | number: ms since midnight                 |
 * | INTERVAL DAY..SECOND                       | number: ms                                |
 * | INTERVAL YEAR..MONTH                       | number: months                            |
 * | ROW(...) (log parsers' results)            | array of field values                     |
 *
 * NULL is `null` for every type.
 * (sqlref/sql-reference-data-types.html, dev/sch-mapping.html)
 */
import type { TimeUnit, TypeSpec } from './ast.ts';
import { SqlError } from './errors.ts';

export type SqlType =
  | { kind: 'BOOLEAN' }
  | { kind: 'TINYINT' | 'SMALLINT' | 'INTEGER' | 'BIGINT' }
  | { kind: 'DECIMAL'; precision: number; scale: number }
  | { kind: 'REAL' | 'DOUBLE' }
  | { kind: 'CHAR' | 'VARCHAR'; length: number }
  | { kind: 'BINARY' | 'VARBINARY'; length: number }
  | { kind: 'DATE' | 'TIME' | 'TIMESTAMP' }
  | { kind: 'INTERVAL_DS' | 'INTERVAL_YM'; startUnit: TimeUnit; endUnit?: TimeUnit }
  | { kind: 'ROW'; fields: Array<{ name: string; type: SqlType }> }
  | { kind: 'NULL' }
  | { kind: 'CURSOR' };

export type TypeKind = SqlType['kind'];

/** VARCHAR without a length in a CAST or a function result: SQLstream's default maximum. */
export const varcharLengthMax = 65_535;
/** DECIMAL without a precision. */
export const decimalPrecisionDefault = 19;

export const T = {
  boolean: { kind: 'BOOLEAN' } as SqlType,
  tinyint: { kind: 'TINYINT' } as SqlType,
  smallint: { kind: 'SMALLINT' } as SqlType,
  integer: { kind: 'INTEGER' } as SqlType,
  bigint: { kind: 'BIGINT' } as SqlType,
  real: { kind: 'REAL' } as SqlType,
  double: { kind: 'DOUBLE' } as SqlType,
  timestamp: { kind: 'TIMESTAMP' } as SqlType,
  date: { kind: 'DATE' } as SqlType,
  time: { kind: 'TIME' } as SqlType,
  null: { kind: 'NULL' } as SqlType,
  varchar: (length = varcharLengthMax): SqlType => ({ kind: 'VARCHAR', length }),
  char: (length: number): SqlType => ({ kind: 'CHAR', length }),
  decimal: (precision: number, scale: number): SqlType => ({ kind: 'DECIMAL', precision, scale }),
  intervalDs: (startUnit: TimeUnit, endUnit?: TimeUnit): SqlType => ({ kind: 'INTERVAL_DS', startUnit, ...(endUnit ? { endUnit } : {}) }),
  intervalYm: (startUnit: TimeUnit, endUnit?: TimeUnit): SqlType => ({ kind: 'INTERVAL_YM', startUnit, ...(endUnit ? { endUnit } : {}) }),
};

const integerKinds = new Set<TypeKind>(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT']);
export const isInteger = (t: SqlType) => integerKinds.has(t.kind);
export const isExact = (t: SqlType) => integerKinds.has(t.kind) || t.kind === 'DECIMAL';
export const isApprox = (t: SqlType) => t.kind === 'REAL' || t.kind === 'DOUBLE';
export const isNumeric = (t: SqlType) => isExact(t) || isApprox(t);
export const isString = (t: SqlType) => t.kind === 'CHAR' || t.kind === 'VARCHAR';
export const isBinary = (t: SqlType) => t.kind === 'BINARY' || t.kind === 'VARBINARY';
export const isDatetime = (t: SqlType) => t.kind === 'DATE' || t.kind === 'TIME' || t.kind === 'TIMESTAMP';
export const isInterval = (t: SqlType) => t.kind === 'INTERVAL_DS' || t.kind === 'INTERVAL_YM';
export const isNull = (t: SqlType) => t.kind === 'NULL';

/** Integer ranges (sqlref/sql-reference-numeric-types.html). BIGINT is bounded by what a double holds exactly. */
export const integerRange: Record<string, [number, number]> = {
  TINYINT: [-128, 127],
  SMALLINT: [-32_768, 32_767],
  INTEGER: [-2_147_483_648, 2_147_483_647],
  BIGINT: [-9_223_372_036_854_775_808, 9_223_372_036_854_775_807],
};

export function typeName(t: SqlType): string {
  switch (t.kind) {
    case 'DECIMAL':
      return `DECIMAL(${t.precision},${t.scale})`;
    case 'CHAR':
    case 'VARCHAR':
    case 'BINARY':
    case 'VARBINARY':
      return `${t.kind}(${t.length})`;
    case 'INTERVAL_DS':
    case 'INTERVAL_YM':
      return `INTERVAL ${t.startUnit}${t.endUnit && t.endUnit !== t.startUnit ? ` TO ${t.endUnit}` : ''}`;
    case 'ROW':
      return `ROW(${t.fields.map((f) => `${f.name} ${typeName(f.type)}`).join(', ')})`;
    default:
      return t.kind;
  }
}

const typeAliases: Record<string, TypeKind> = {
  BOOLEAN: 'BOOLEAN',
  TINYINT: 'TINYINT',
  SMALLINT: 'SMALLINT',
  INT: 'INTEGER',
  INTEGER: 'INTEGER',
  BIGINT: 'BIGINT',
  DECIMAL: 'DECIMAL',
  DEC: 'DECIMAL',
  NUMERIC: 'DECIMAL',
  REAL: 'REAL',
  FLOAT: 'DOUBLE',
  DOUBLE: 'DOUBLE',
  CHAR: 'CHAR',
  CHARACTER: 'CHAR',
  VARCHAR: 'VARCHAR',
  BINARY: 'BINARY',
  VARBINARY: 'VARBINARY',
  DATE: 'DATE',
  TIME: 'TIME',
  TIMESTAMP: 'TIMESTAMP',
};

/** The SqlType of a written type; throws SqlError for an unknown one. */
export function typeFromSpec(spec: TypeSpec): SqlType {
  if (spec.name === 'INTERVAL') {
    const start = spec.startUnit!;
    const ym = start === 'YEAR' || start === 'MONTH';
    return ym ? T.intervalYm(start, spec.endUnit) : T.intervalDs(start, spec.endUnit);
  }
  const kind = typeAliases[spec.name];
  if (!kind) throw new SqlError(`unknown data type ${spec.name}`, spec.pos);
  switch (kind) {
    case 'DECIMAL': {
      const precision = spec.precision ?? decimalPrecisionDefault;
      const scale = spec.scale ?? 0;
      if (precision < 1 || scale > precision) throw new SqlError(`invalid DECIMAL(${precision},${scale})`, spec.pos);
      return T.decimal(precision, scale);
    }
    case 'CHAR':
    case 'BINARY':
      return { kind, length: spec.precision ?? 1 };
    case 'VARCHAR':
    case 'VARBINARY':
      if (spec.precision === 0) throw new SqlError(`${kind} length must be at least 1`, spec.pos);
      return { kind, length: spec.precision ?? varcharLengthMax };
    default:
      return { kind } as SqlType;
  }
}

/** Rank of numeric types for arithmetic result types: the wider wins. */
const numericRank: Record<string, number> = { TINYINT: 1, SMALLINT: 2, INTEGER: 3, BIGINT: 4, DECIMAL: 5, REAL: 6, DOUBLE: 7 };

/** The result type of arithmetic on two numeric types. */
export function numericResult(a: SqlType, b: SqlType): SqlType {
  if (isNull(a)) return b;
  if (isNull(b)) return a;
  if (a.kind === 'DECIMAL' && b.kind === 'DECIMAL') return T.decimal(Math.max(a.precision, b.precision), Math.max(a.scale, b.scale));
  return numericRank[a.kind]! >= numericRank[b.kind]! ? a : b;
}

/**
 * The common type of CASE branches, COALESCE arguments and UNION ALL columns:
 * the wider numeric, the longer string, or the first non-null type.
 */
export function commonType(types: SqlType[]): SqlType | undefined {
  let out: SqlType = T.null;
  for (const t of types) {
    if (isNull(t)) continue;
    if (isNull(out)) {
      out = t;
      continue;
    }
    if (isNumeric(out) && isNumeric(t)) out = numericResult(out, t);
    else if (isString(out) && isString(t)) out = T.varchar(Math.max((out as { length: number }).length, (t as { length: number }).length));
    else if (out.kind === t.kind) continue;
    else return undefined;
  }
  return out;
}

/** True if a value of type `from` may be stored in a column of type `to` (INSERT, pump column lists). */
export function assignable(from: SqlType, to: SqlType): boolean {
  if (isNull(from)) return true;
  if (isNumeric(to)) return isNumeric(from);
  if (isString(to)) return isString(from);
  if (isBinary(to)) return isBinary(from);
  if (to.kind === 'TIMESTAMP') return from.kind === 'TIMESTAMP' || from.kind === 'DATE';
  if (isInterval(to)) return from.kind === to.kind;
  return from.kind === to.kind;
}
