/**
 * Compiles expressions to JavaScript source, type-checking them on the way.
 * An operator assembles the pieces into one function per row path with
 * `new Function` (see `ExprCompiler.build`), so a row is evaluated by code
 * V8 optimises as a whole rather than by walking the tree.
 *
 * Generated code reads the row as `r` (an array: r[0] is ROWTIME), helpers
 * as `h` (functions/runtime.ts), compile-time constants as `c[i]`, and
 * scratch variables t0, t1, ... that `build` declares. SQL's NULL is `null`
 * and propagates through operators and functions; AND/OR/NOT follow SQL's
 * three-valued logic.
 */
import type { BinaryOp, Expr } from './ast.ts';
import { SqlError } from './errors.ts';
import { intervalValue, parseDate, parseTime, parseTimestamp, unitMs } from '../functions/datetime.ts';
import { runtime } from '../functions/runtime.ts';
import { scalarFunctions } from '../functions/scalar.ts';
import { assignable, commonType, isApprox, isBinary, isDatetime, isExact, isInteger, isInterval, isNull, isNumeric, isString, numericResult, T, typeFromSpec, typeName, type SqlType } from './types.ts';
import { castAllowed } from './values.ts';

/** A compiled expression: its JS source, SQL type, whether it can be NULL, and its value if constant. */
export interface Code {
  code: string;
  type: SqlType;
  nullable: boolean;
  constant?: { value: unknown };
}

/** Where names and special sub-expressions come from, for one place in a query. */
export interface Scope {
  /** Resolves a column reference; undefined when the name is not visible here. */
  resolve(e: Extract<Expr, { kind: 'ref' }>, c: ExprCompiler): Code | undefined;
  /** Pre-computed values for whole sub-expressions: group keys, aggregates, analytic calls. */
  replace?(e: Expr, c: ExprCompiler): Code | undefined;
  /** Why an aggregate call cannot be computed here (without GROUP BY or OVER). */
  aggregateMisuse: string;
}

/** A user-defined function (CREATE FUNCTION ... RETURN expr), expanded inline where it is called. */
export interface Udf {
  name: string;
  params: Array<{ name: string; type: SqlType }>;
  returns: SqlType;
  body: Expr;
}

export interface CompileEnv {
  udfs: Map<string, Udf>;
  /** The application's clock for CURRENT_TIMESTAMP and friends (ms since the epoch). */
  now?: () => number;
}

/** Names that are aggregate functions when called without OVER in a GROUP BY query. */
export const aggregateNames = new Set(['COUNT', 'SUM', 'AVG', 'MIN', 'MAX', 'FIRST_VALUE', 'LAST_VALUE', 'STDDEV', 'STDDEV_POP', 'STDDEV_SAMP', 'VARIANCE', 'VAR_POP', 'VAR_SAMP', 'EXP_AVG', 'ANY', 'SOME', 'EVERY', 'BIT_AND', 'BIT_OR']);
/** Names that exist only as analytic (OVER) functions. */
export const analyticOnlyNames = new Set(['LAG', 'NTH_VALUE', 'ROW_NUMBER', 'RANK']);

const lit = (value: unknown, type: SqlType, code: string): Code => ({ code, type, nullable: value === null, constant: { value } });

export class ExprCompiler {
  readonly consts: unknown[] = [];
  private temps = 0;
  private udfDepth = 0;

  constructor(readonly env: CompileEnv) {}

  temp(): string {
    return `t${this.temps++}`;
  }

  /** A reference to a compile-time constant (a type, a Set, a row type...). */
  constRef(v: unknown): string {
    this.consts.push(v);
    return `c[${this.consts.length - 1}]`;
  }

  /**
   * Builds `(args) => { let t0...; body }` with h and c bound. `body` is
   * statements; use `return ...;` inside.
   */
  build<F extends (...a: never[]) => unknown>(params: string, body: string, extra: Record<string, unknown> = {}): F {
    const temps = this.temps > 0 ? `let ${Array.from({ length: this.temps }, (_, k) => `t${k}`).join(', ')};` : '';
    const names = Object.keys(extra);
    const factory = new Function('h', 'c', ...names, `"use strict"; return (${params}) => { ${temps} ${body} };`);
    return factory(runtime, this.consts, ...names.map((n) => extra[n])) as F;
  }

  compile(e: Expr, scope: Scope): Code {
    const replaced = scope.replace?.(e, this);
    if (replaced) return replaced;
    switch (e.kind) {
      case 'number':
        return this.number(e.text, e);
      case 'string':
        return lit(e.value, T.char(Math.max(1, e.value.length)), JSON.stringify(e.value));
      case 'binaryString':
        return lit(Buffer.from(e.hex, 'hex'), { kind: 'VARBINARY', length: e.hex.length / 2 }, this.constRef(Uint8Array.from(Buffer.from(e.hex, 'hex'))));
      case 'boolean':
        return lit(e.value, T.boolean, String(e.value));
      case 'null':
        return lit(null, T.null, 'null');
      case 'typedLiteral':
        return this.typedLiteral(e);
      case 'interval': {
        const v = intervalValue(e.text, e.startUnit, e.endUnit);
        if (v === null) throw new SqlError(`invalid interval literal '${e.text}' ${e.startUnit}${e.endUnit ? ' TO ' + e.endUnit : ''}`, e.pos);
        const ym = e.startUnit === 'YEAR' || e.startUnit === 'MONTH';
        const value = e.negative ? -v : v;
        return lit(value, ym ? T.intervalYm(e.startUnit, e.endUnit) : T.intervalDs(e.startUnit, e.endUnit), String(value));
      }
      case 'intervalOf':
        return this.intervalOf(e, scope);
      case 'ref': {
        const r = scope.resolve(e, this);
        if (!r) throw new SqlError(`column '${e.parts.map((p) => p.name).join('.')}' not found`, e.pos);
        return r;
      }
      case 'star':
        throw new SqlError('* is allowed only in a select list or COUNT(*)', e.pos);
      case 'unary':
        return this.unary(e, scope);
      case 'binary':
        return this.binary(e.op, this.compile(e.left, scope), this.compile(e.right, scope), e);
      case 'is': {
        const a = this.compile(e.arg, scope);
        const test = e.test === 'NULL' || e.test === 'UNKNOWN' ? 'null' : e.test === 'TRUE' ? 'true' : 'false';
        if (e.test !== 'NULL' && a.type.kind !== 'BOOLEAN' && !isNull(a.type)) throw new SqlError(`IS ${e.test} needs a BOOLEAN operand, not ${typeName(a.type)}`, e.pos);
        return { code: `((${a.code}) ${e.not ? '!==' : '==='} ${test})`, type: T.boolean, nullable: false };
      }
      case 'between':
        return this.between(e, scope);
      case 'in':
        return this.inList(e, scope);
      case 'like':
        return this.like(e, scope);
      case 'case':
        return this.caseExpr(e, scope);
      case 'cast':
        return this.cast(this.compile(e.arg, scope), typeFromSpec(e.type), e);
      case 'call':
        return this.call(e, scope);
      case 'cursor':
        throw new SqlError('CURSOR is allowed only as an argument of a table function in FROM TABLE(...)', e.pos);
      case 'unit':
      case 'trimSpec':
        throw new SqlError('unexpected keyword', e.pos);
    }
  }

  private number(text: string, e: Expr): Code {
    const n = Number(text);
    if (!Number.isFinite(n)) throw new SqlError(`number ${text} out of range`, e.pos);
    if (/[eE]/.test(text)) return lit(n, T.double, String(n));
    if (text.includes('.')) {
      const scale = text.split('.')[1]!.length;
      const digits = text.replace(/[-.]/g, '').replace(/^0+/, '').length;
      return lit(n, T.decimal(Math.max(digits, scale, 1), scale), String(n));
    }
    const type = n >= -2_147_483_648 && n <= 2_147_483_647 ? T.integer : n >= -9_223_372_036_854_775_808 && n <= 9_223_372_036_854_775_807 ? T.bigint : T.decimal(text.length, 0);
    return lit(n, type, String(n));
  }

  private typedLiteral(e: Extract<Expr, { kind: 'typedLiteral' }>): Code {
    const v = e.type === 'DATE' ? parseDate(e.text) : e.type === 'TIME' ? parseTime(e.text) : parseTimestamp(e.text);
    if (v === null) throw new SqlError(`invalid ${e.type} literal '${e.text}'`, e.pos);
    return lit(v, { kind: e.type }, String(v));
  }

  /** `(a - b) SECOND`: the difference of two datetimes (or an interval) as an interval with this qualifier. */
  private intervalOf(e: Extract<Expr, { kind: 'intervalOf' }>, scope: Scope): Code {
    const a = this.compile(e.arg, scope);
    const ym = e.startUnit === 'YEAR' || e.startUnit === 'MONTH';
    if (a.type.kind !== 'INTERVAL_DS' && !(ym && a.type.kind === 'INTERVAL_YM')) throw new SqlError(`(expression) ${e.startUnit} needs a datetime difference or an interval, not ${typeName(a.type)}`, e.pos);
    return { ...a, type: ym ? T.intervalYm(e.startUnit, e.endUnit) : T.intervalDs(e.startUnit, e.endUnit) };
  }

  private unary(e: Extract<Expr, { kind: 'unary' }>, scope: Scope): Code {
    const a = this.compile(e.arg, scope);
    if (e.op === 'NOT') {
      this.expectBoolean(a, e);
      if (!a.nullable) return { code: `(!(${a.code}))`, type: T.boolean, nullable: false };
      const t = this.temp();
      return { code: `((${t} = ${a.code}) === null ? null : !${t})`, type: T.boolean, nullable: true };
    }
    if (!isNumeric(a.type) && !isInterval(a.type) && !isNull(a.type)) throw new SqlError(`cannot apply unary ${e.op} to ${typeName(a.type)}`, e.pos);
    if (e.op === '+') return a;
    if (!a.nullable) return { ...a, code: `(-(${a.code}))`, constant: undefined };
    const t = this.temp();
    return { code: `((${t} = ${a.code}) === null ? null : -${t})`, type: a.type, nullable: true };
  }

  expectBoolean(a: Code, e: Expr): void {
    if (a.type.kind !== 'BOOLEAN' && !isNull(a.type)) throw new SqlError(`expected a BOOLEAN expression, not ${typeName(a.type)}`, e.pos);
  }

  /** `f(x, y)` with SQL's null propagation: NULL if any nullable operand is NULL. */
  nullSafe(args: Code[], f: (codes: string[]) => string, type: SqlType, nullableResult = false): Code {
    if (args.some((a) => isNull(a.type))) return lit(null, type, 'null');
    const checks: string[] = [];
    const codes = args.map((a) => {
      if (!a.nullable) return a.code;
      const t = this.temp();
      checks.push(`(${t} = ${a.code}) === null`);
      return t;
    });
    const body = f(codes);
    if (checks.length === 0) return { code: `(${body})`, type, nullable: nullableResult };
    return { code: `(${checks.join(' || ')} ? null : ${body})`, type, nullable: true };
  }

  binary(op: BinaryOp, a: Code, b: Code, e: Expr): Code {
    if (op === 'AND' || op === 'OR') return this.logical(op, a, b, e);
    if (op === '||') {
      const len = (t: SqlType) => (isString(t) ? (t as { length: number }).length : 64);
      const sa = isString(a.type) || isNull(a.type) ? a : this.cast(a, T.varchar(), e);
      const sb = isString(b.type) || isNull(b.type) ? b : this.cast(b, T.varchar(), e);
      return this.nullSafe([sa, sb], ([x, y]) => `${x} + ${y}`, T.varchar(Math.min(len(a.type) + len(b.type), 65_535)));
    }
    if (op === '=' || op === '<>' || op === '<' || op === '<=' || op === '>' || op === '>=') return this.comparison(op, a, b, e);
    return this.arithmetic(op, a, b, e);
  }

  private logical(op: 'AND' | 'OR', a: Code, b: Code, e: Expr): Code {
    this.expectBoolean(a, e);
    this.expectBoolean(b, e);
    if (!a.nullable && !b.nullable) return { code: `(${a.code} ${op === 'AND' ? '&&' : '||'} ${b.code})`, type: T.boolean, nullable: false };
    const [t0, t1] = [this.temp(), this.temp()];
    const stop = op === 'AND' ? 'false' : 'true';
    const rest = op === 'AND' ? 'true' : 'false';
    return { code: `((${t0} = ${a.code}) === ${stop} ? ${stop} : ((${t1} = ${b.code}) === ${stop} ? ${stop} : (${t0} === null || ${t1} === null ? null : ${rest})))`, type: T.boolean, nullable: true };
  }

  /** Brings two operands to a comparable type: strings compared with numbers or datetimes are converted. */
  private comparable(a: Code, b: Code, e: Expr): [Code, Code] {
    const ta = a.type;
    const tb = b.type;
    if (isNull(ta) || isNull(tb)) return [a, b];
    if ((isNumeric(ta) && isNumeric(tb)) || (isString(ta) && isString(tb)) || (isBinary(ta) && isBinary(tb))) return [a, b];
    if (isString(ta) && (isNumeric(tb) || isDatetime(tb) || tb.kind === 'BOOLEAN')) return [this.cast(a, tb, e), b];
    if (isString(tb) && (isNumeric(ta) || isDatetime(ta) || ta.kind === 'BOOLEAN')) return [a, this.cast(b, ta, e)];
    if ((ta.kind === 'TIMESTAMP' && tb.kind === 'DATE') || (ta.kind === 'DATE' && tb.kind === 'TIMESTAMP')) return [a, b];
    if (ta.kind === tb.kind && ta.kind !== 'ROW') return [a, b];
    throw new SqlError(`cannot compare ${typeName(ta)} with ${typeName(tb)}`, e.pos);
  }

  private comparison(op: string, a0: Code, b0: Code, e: Expr): Code {
    const [a, b] = this.comparable(a0, b0, e);
    if (isBinary(a.type)) {
      const cmp = op === '=' ? (x: string, y: string) => `h.bytesEq(${x}, ${y})` : op === '<>' ? (x: string, y: string) => `!h.bytesEq(${x}, ${y})` : (x: string, y: string) => `h.bytesCmp(${x}, ${y}) ${op} 0`;
      return this.nullSafe([a, b], ([x, y]) => cmp(x!, y!), T.boolean);
    }
    const jsOp = op === '=' ? '===' : op === '<>' ? '!==' : op;
    return this.nullSafe([a, b], ([x, y]) => `${x} ${jsOp} ${y}`, T.boolean);
  }

  private arithmetic(op: BinaryOp, a: Code, b: Code, e: Expr): Code {
    const ta = a.type;
    const tb = b.type;
    if (isNull(ta) || isNull(tb)) return lit(null, isNull(ta) ? tb : ta, 'null');
    if (isNumeric(ta) && isNumeric(tb)) {
      const type = op === '/' && isExact(ta) && isExact(tb) && !(isInteger(ta) && isInteger(tb)) ? T.double : numericResult(ta, tb);
      if (op === '/') return this.nullSafe([a, b], ([x, y]) => (isInteger(ta) && isInteger(tb) ? `h.idiv(${x}, ${y})` : `h.div(${x}, ${y})`), type);
      if (op === '%') return this.nullSafe([a, b], ([x, y]) => `h.mod(${x}, ${y})`, type);
      return this.nullSafe([a, b], ([x, y]) => `${x} ${op} ${y}`, type);
    }
    const dt = (t: SqlType) => t.kind === 'TIMESTAMP' || t.kind === 'DATE' || t.kind === 'TIME';
    if (dt(ta) && isInterval(tb) && (op === '+' || op === '-')) return this.shift(a, b, op, ta);
    if (isInterval(ta) && dt(tb) && op === '+') return this.shift(b, a, '+', tb);
    if (dt(ta) && dt(tb) && op === '-') return this.nullSafe([a, b], ([x, y]) => `${x} - ${y}`, T.intervalDs('DAY', 'SECOND'));
    if (isInterval(ta) && ta.kind === tb.kind && (op === '+' || op === '-')) return this.nullSafe([a, b], ([x, y]) => `${x} ${op} ${y}`, ta);
    if (isInterval(ta) && isNumeric(tb) && (op === '*' || op === '/')) return this.nullSafe([a, b], ([x, y]) => (op === '*' ? `${x} * ${y}` : `h.div(${x}, ${y})`), ta);
    if (isNumeric(ta) && isInterval(tb) && op === '*') return this.nullSafe([a, b], ([x, y]) => `${x} * ${y}`, tb);
    throw new SqlError(`cannot apply ${op} to ${typeName(ta)} and ${typeName(tb)}`, e.pos);
  }

  /** datetime ± interval: months for year-month intervals (calendar-aware), ms otherwise. */
  private shift(d: Code, i: Code, op: '+' | '-', type: SqlType): Code {
    const sign = op === '-' ? '-' : '';
    if (i.type.kind === 'INTERVAL_YM') return this.nullSafe([d, i], ([x, y]) => `h.addMonths(${x}, ${sign}${y})`, type);
    if (type.kind === 'TIME') return this.nullSafe([d, i], ([x, y]) => `h.toTime(${x} ${op} ${y})`, type);
    return this.nullSafe([d, i], ([x, y]) => `${x} ${op} ${y}`, type);
  }

  private between(e: Extract<Expr, { kind: 'between' }>, scope: Scope): Code {
    const a = this.compile(e.arg, scope);
    const t = this.temp();
    const held: Code = { code: t, type: a.type, nullable: a.nullable };
    let low = this.compile(e.low, scope);
    let high = this.compile(e.high, scope);
    if (e.symmetric) {
      const [l, h] = [this.temp(), this.temp()];
      const lo = this.binary('<=', { ...low, code: l }, { ...high, code: h }, e);
      const pre = `(${l} = ${low.code}, ${h} = ${high.code}, ${lo.code} === false)`;
      low = { ...low, code: `(${pre} ? ${h} : ${l})`, constant: undefined };
      high = { ...high, code: `(${pre} ? ${l} : ${h})`, constant: undefined };
    }
    const both = this.binary('AND', this.binary('>=', held, low, e), this.binary('<=', held, high, e), e);
    const code = `(${t} = ${a.code}, ${both.code})`;
    if (!e.not) return { code, type: T.boolean, nullable: both.nullable };
    const n = this.temp();
    return { code: `((${n} = ${code}) === null ? null : !${n})`, type: T.boolean, nullable: both.nullable };
  }

  private inList(e: Extract<Expr, { kind: 'in' }>, scope: Scope): Code {
    const a = this.compile(e.arg, scope);
    const items = e.list.map((x) => this.compile(x, scope));
    const t = this.temp();
    const held: Code = { code: t, type: a.type, nullable: false };
    let acc: Code | undefined;
    for (const item of items) {
      const eq = this.binary('=', held, item, e);
      acc = acc ? this.binary('OR', acc, eq, e) : eq;
    }
    const n = this.temp();
    const test = e.not ? `((${n} = ${acc!.code}) === null ? null : !${n})` : acc!.code;
    return { code: `((${t} = ${a.code}) === null ? null : ${test})`, type: T.boolean, nullable: true };
  }

  private like(e: Extract<Expr, { kind: 'like' }>, scope: Scope): Code {
    const args = [this.compile(e.arg, scope), this.compile(e.pattern, scope), ...(e.escape ? [this.compile(e.escape, scope)] : [])];
    for (const a of args) if (!isString(a.type) && !isNull(a.type)) throw new SqlError(`${e.similar ? 'SIMILAR TO' : 'LIKE'} needs character operands, not ${typeName(a.type)}`, e.pos);
    const fn = e.similar ? 'h.similar' : 'h.like';
    return this.nullSafe(args, (c) => `${e.not ? '!' : ''}${fn}(${c.join(', ')})`, T.boolean);
  }

  private caseExpr(e: Extract<Expr, { kind: 'case' }>, scope: Scope): Code {
    const thens = e.whens.map((w) => this.compile(w.then, scope));
    const otherwise = e.else ? this.compile(e.else, scope) : lit(null, T.null, 'null');
    const type = commonType([...thens.map((t) => t.type), otherwise.type]);
    if (!type) throw new SqlError(`CASE branches have incompatible types: ${[...thens, otherwise].map((t) => typeName(t.type)).join(', ')}`, e.pos);
    const conv = (c: Code) => (isNull(c.type) || c.type.kind === type.kind || (isNumeric(c.type) && isNumeric(type)) || isString(type) ? c : this.cast(c, type, e));
    let code = conv(otherwise).code;
    let operand: Code | undefined;
    const t = e.operand ? this.temp() : '';
    if (e.operand) operand = { ...this.compile(e.operand, scope), code: t };
    for (let k = e.whens.length - 1; k >= 0; k--) {
      const w = e.whens[k]!;
      const cond = operand ? this.binary('=', operand, this.compile(w.when, scope), w.when) : this.compile(w.when, scope);
      if (!operand) this.expectBoolean(cond, w.when);
      code = `((${cond.code}) === true ? ${conv(thens[k]!).code} : ${code})`;
    }
    if (e.operand) code = `(${t} = ${this.compile(e.operand, scope).code}, ${code})`;
    return { code, type, nullable: true };
  }

  cast(a: Code, to: SqlType, e: Expr): Code {
    if (!castAllowed(a.type, to)) throw new SqlError(`cannot CAST ${typeName(a.type)} to ${typeName(to)}`, e.pos);
    if (isNull(a.type)) return lit(null, to, 'null');
    if (a.type.kind === to.kind && !isString(to) && to.kind !== 'DECIMAL') return { ...a, type: to };
    if (isApprox(to) && isNumeric(a.type) && to.kind === 'DOUBLE') return { ...a, type: to };
    if (isString(to) && isString(a.type) && (a.type as { length: number }).length <= (to as { length: number }).length) return { ...a, type: to };
    const from = this.constRef(a.type);
    const target = this.constRef(to);
    return this.nullSafe([a], ([x]) => `h.cast(${x}, ${from}, ${target})`, to);
  }

  /** Coerces a value for assignment into a column of type `to` (INSERT, pump column lists). */
  assign(a: Code, to: SqlType, e: Expr, column: string): Code {
    if (!assignable(a.type, to)) throw new SqlError(`cannot assign ${typeName(a.type)} to column ${column} of type ${typeName(to)}`, e.pos);
    return this.cast(a, to, e);
  }

  private call(e: Extract<Expr, { kind: 'call' }>, scope: Scope): Code {
    if (e.over) throw new SqlError(`analytic function ${e.name} OVER (...) is not allowed here`, e.pos);
    if (aggregateNames.has(e.name) && !scalarFunctions[e.name]) throw new SqlError(scope.aggregateMisuse.replace('%s', e.name), e.pos);
    if (aggregateNames.has(e.name) && (e.star || e.distinct)) throw new SqlError(scope.aggregateMisuse.replace('%s', e.name), e.pos);
    if (analyticOnlyNames.has(e.name)) throw new SqlError(`${e.name} needs an OVER clause`, e.pos);
    const udf = this.env.udfs.get(e.name);
    if (udf) return this.callUdf(udf, e, scope);
    const fn = scalarFunctions[e.name];
    if (!fn) throw new SqlError(`unknown function ${e.name}`, e.pos);
    if (e.distinct || e.star) throw new SqlError(`${e.name} takes no ${e.star ? '*' : 'DISTINCT'}`, e.pos);
    const [min, max] = fn.arity;
    if (e.args.length < min || e.args.length > max) throw new SqlError(`${e.name} takes ${min === max ? min : `${min} to ${max}`} arguments, not ${e.args.length}`, e.pos);
    const args = e.args.map((a) => (a.kind === 'unit' ? lit(a.unit, T.varchar(), JSON.stringify(a.unit)) : a.kind === 'trimSpec' ? lit(a.where, T.varchar(), JSON.stringify(a.where)) : this.compile(a, scope)));
    return fn.compile(args, e, this);
  }

  private callUdf(udf: Udf, e: Extract<Expr, { kind: 'call' }>, scope: Scope): Code {
    if (e.args.length !== udf.params.length) throw new SqlError(`${udf.name} takes ${udf.params.length} arguments, not ${e.args.length}`, e.pos);
    if (++this.udfDepth > 16) throw new SqlError(`function ${udf.name} calls itself`, e.pos);
    try {
      const temps = udf.params.map(() => this.temp());
      const assigns = e.args.map((a, k) => `${temps[k]} = ${this.assign(this.compile(a, scope), udf.params[k]!.type, a, udf.params[k]!.name).code}`);
      const inner: Scope = {
        resolve: (ref) => {
          const k = ref.parts.length === 1 ? udf.params.findIndex((p) => p.name === ref.parts[0]!.name) : -1;
          return k >= 0 ? { code: temps[k]!, type: udf.params[k]!.type, nullable: true } : undefined;
        },
        aggregateMisuse: 'aggregate %s is not allowed in a function body',
      };
      const body = this.assign(this.compile(udf.body, inner), udf.returns, udf.body, `${udf.name} result`);
      return { code: `(${[...assigns, body.code].join(', ')})`, type: udf.returns, nullable: true };
    } finally {
      this.udfDepth--;
    }
  }
}

/** The number of ms in one `unit` of a single-field day-time interval type. */
export function intervalUnitMs(t: SqlType): number {
  if (t.kind !== 'INTERVAL_DS') return 1;
  return unitMs[t.endUnit ?? t.startUnit] ?? 1;
}
