/**
 * The helpers that generated expression code calls as `h.<name>(...)`. They
 * receive non-null arguments unless their name says otherwise: the compiler
 * emits the null checks around them (SQL functions return NULL on a NULL
 * argument). Runtime failures throw SqlRuntimeError; the operator evaluating
 * the row sends it to error_stream.
 */
import { runtimeError } from '../sql/errors.ts';
import type { SqlType } from '../sql/types.ts';
import { castValue } from '../sql/values.ts';
import { formatWithPattern, parseWithPattern } from './date-format.ts';
import { addMonths, ceilTo, extract, extractInterval, floorTo, stepMonths, stepMs } from './datetime.ts';
import * as logParse from './log-parse.ts';
import * as strings from './strings.ts';

function divideByZero(): never {
  return runtimeError('Division_By_Zero', 'division by zero');
}

export const runtime = {
  /** Integer division truncates toward zero, as Java's does. */
  idiv(a: number, b: number): number {
    if (b === 0) divideByZero();
    return Math.trunc(a / b);
  },
  div(a: number, b: number): number {
    if (b === 0) divideByZero();
    return a / b;
  },
  mod(a: number, b: number): number {
    if (b === 0) divideByZero();
    return a % b;
  },
  /** Integer results must stay integers a double holds exactly. */
  checkInt(n: number): number {
    if (!Number.isSafeInteger(n)) return Number.isFinite(n) ? n : runtimeError('Numeric_Overflow', `numeric overflow (${n})`);
    return n;
  },
  power(a: number, b: number): number {
    const r = a ** b;
    if (Number.isNaN(r)) return runtimeError('Invalid_Argument', `POWER(${a}, ${b}) is not a real number`);
    return r;
  },
  ln(a: number): number {
    if (a <= 0) return runtimeError('Invalid_Argument', `cannot take the logarithm of ${a}`);
    return Math.log(a);
  },
  log10(a: number): number {
    if (a <= 0) return runtimeError('Invalid_Argument', `cannot take the logarithm of ${a}`);
    return Math.log10(a);
  },
  stepInt(a: number, b: number): number {
    if (b <= 0) return runtimeError('Invalid_Argument', 'STEP interval must be positive');
    return Math.floor(a / b) * b;
  },
  stepMs,
  stepMonths,
  floorTo,
  ceilTo,
  extract,
  extractInterval,
  addMonths,
  /** An interval of ms floored to a unit's multiple (FLOOR(interval TO SECOND)). */
  floorInterval(v: number, unitMs: number): number {
    return Math.floor(v / unitMs) * unitMs;
  },
  ceilInterval(v: number, unitMs: number): number {
    return Math.ceil(v / unitMs) * unitMs;
  },
  cast: castValue as (v: unknown, from: SqlType, to: SqlType) => unknown,
  str(v: unknown, t: SqlType): string {
    return castValue(v, t, { kind: 'VARCHAR', length: Number.MAX_SAFE_INTEGER }) as string;
  },
  bytesEq(a: Uint8Array, b: Uint8Array): boolean {
    return Buffer.compare(a, b) === 0;
  },
  bytesCmp(a: Uint8Array, b: Uint8Array): number {
    return Buffer.compare(a, b);
  },
  upper: (s: string) => s.toUpperCase(),
  lower: (s: string) => s.toLowerCase(),
  initcap: strings.initcap,
  position: strings.position,
  substring: strings.substring,
  trim: strings.trim,
  overlay: strings.overlay,
  regexReplace: strings.regexReplace,
  like: strings.like,
  similar: strings.similar,
  truncate(s: string, n: number): string {
    return s.length > n ? s.slice(0, n) : s;
  },
  formatTs(pattern: string, ms: number): string {
    return formatWithPattern(pattern, ms);
  },
  parseTs(pattern: string, text: string): number {
    const v = parseWithPattern(pattern, text);
    if (v === null) return runtimeError('Type_Conversion_Error', `cannot parse '${text}' with format '${pattern}'`);
    return v;
  },
  toDate: (ms: number) => Math.floor(ms / 86_400_000) * 86_400_000,
  toTime: (ms: number) => ((ms % 86_400_000) + 86_400_000) % 86_400_000,
  regexLogParse: logParse.regexLogParse,
  fastRegexLogParse: logParse.fastRegexLogParse,
  w3cLogParse: logParse.w3cLogParse,
  variableColumnLogParse: logParse.variableColumnLogParse,
  fixedColumnLogParse: logParse.fixedColumnLogParse,
  sysLogParse: logParse.sysLogParse,
  /** One Map key for several GROUP BY / PARTITION BY values, distinct for distinct value lists. */
  compositeKey(...vals: unknown[]): string {
    let out = '';
    for (const v of vals) {
      if (v === null || v === undefined) out += '\u0000|';
      else if (typeof v === 'string') out += `s${v.length}:${v}|`;
      else if (typeof v === 'number' || typeof v === 'boolean') out += `${typeof v === 'number' ? 'n' : 'b'}${String(v)}|`;
      else if (v instanceof Uint8Array) out += `x${Buffer.from(v).toString('hex')}|`;
      else out += `j${JSON.stringify(v)}|`;
    }
    return out;
  },
  roundScale(n: number, scale: number): number {
    const f = 10 ** scale;
    return Math.round(n * f) / f;
  },
  tooManyGroups(max: number): never {
    return runtimeError('Function_Error', `more than ${max} groups in one window`);
  },
  /** Field `k` of a ROW value, NULL when the row is NULL. */
  field(row: unknown[] | null, k: number): unknown {
    return row === null ? null : row[k] ?? null;
  },
};

export type Runtime = typeof runtime;
