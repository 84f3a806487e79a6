/**
 * Aggregate functions (sqlref/sql-reference-aggregate-functions.html) for
 * tumbling and stagger windows: how each is typed and the code that keeps its
 * state in a group object. The operator's per-row function is generated in
 * one piece (key, lookup, every accumulator's update), so a GROUP BY over a
 * stream costs about what a hand-written loop would.
 */
import type { Expr } from '../sql/ast.ts';
import { aggregateNames, type Code, type ExprCompiler, type Scope } from '../sql/compile-expr.ts';
import { SqlError } from '../sql/errors.ts';
import { isApprox, isBinary, isExact, isInteger, isNull, isNumeric, T, typeName, type SqlType } from '../sql/types.ts';
import { canonical } from './scope.ts';

export type CallExpr = Extract<Expr, { kind: 'call' }>;

export interface AggCall {
  call: CallExpr;
  key: string;
  name: string;
  /** The argument, compiled against the input row (undefined for COUNT(*)). */
  arg?: Code;
  type: SqlType;
}

/** Finds the aggregate calls (without OVER) in expressions, each distinct call once. */
export function collectAggregates(exprs: Expr[], input: Scope, c: ExprCompiler): AggCall[] {
  const out: AggCall[] = [];
  const seen = new Set<string>();
  const visit = (e: unknown): void => {
    if (!e || typeof e !== 'object') return;
    if (Array.isArray(e)) return e.forEach(visit);
    const node = e as Expr;
    if (node.kind === 'call' && aggregateNames.has(node.name) && !node.over) {
      const key = canonical(node, input, c);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(aggregateCall(node, key, input, c));
      }
      return;
    }
    if (node.kind === 'cursor') return;
    for (const [k, v] of Object.entries(node)) if (k !== 'pos') visit(v);
  };
  exprs.forEach(visit);
  return out;
}

function aggregateCall(call: CallExpr, key: string, input: Scope, c: ExprCompiler): AggCall {
  if (call.distinct) throw new SqlError(`${call.name}(DISTINCT ...) is not allowed in a streaming aggregation; use COUNT_DISTINCT_ITEMS_TUMBLING`, call.pos);
  if (call.star) {
    if (call.name !== 'COUNT') throw new SqlError(`${call.name}(*) is not allowed`, call.pos);
    return { call, key, name: 'COUNT*', type: T.bigint };
  }
  if (call.name === 'EXP_AVG') throw new SqlError('EXP_AVG needs an OVER clause (a sliding window)', call.pos);
  if (call.args.length !== 1) throw new SqlError(`${call.name} takes 1 argument, not ${call.args.length}`, call.pos);
  const inner: Scope = { ...input, aggregateMisuse: `aggregate %s cannot be nested inside ${call.name}` };
  const arg = c.compile(call.args[0]!, inner);
  return { call, key, name: call.name, arg, type: aggregateType(call.name, arg.type, call) };
}

export function aggregateType(name: string, t: SqlType, call: CallExpr): SqlType {
  const numericOnly = () => {
    if (!isNumeric(t) && !isNull(t)) throw new SqlError(`${name} needs a numeric argument, not ${typeName(t)}`, call.pos);
  };
  switch (name) {
    case 'COUNT':
      return T.bigint;
    case 'SUM':
      numericOnly();
      return isInteger(t) ? T.bigint : isApprox(t) || isNull(t) ? T.double : t;
    case 'AVG':
      numericOnly();
      return isNull(t) ? T.double : t;
    case 'MIN':
    case 'MAX':
    case 'FIRST_VALUE':
    case 'LAST_VALUE':
      if (t.kind === 'ROW') throw new SqlError(`${name} of a ROW is not allowed`, call.pos);
      return t;
    case 'ANY':
    case 'SOME':
    case 'EVERY':
      if (t.kind !== 'BOOLEAN' && !isNull(t)) throw new SqlError(`${name} needs a BOOLEAN argument, not ${typeName(t)}`, call.pos);
      return T.boolean;
    case 'BIT_AND':
    case 'BIT_OR':
      throw new SqlError(`${name} is not supported`, call.pos);
    default:
      numericOnly();
      return T.double;
  }
}

/** State fields, per-row update and final value of one aggregate over a group object `g`. */
export interface AccCode {
  init: string[];
  update: string;
  final: string;
}

/**
 * Code for aggregate number `k` of a group (fields a<k>_*), its argument held
 * in temp `t`. SUM and AVG of the same argument share one running sum and
 * count (`shared` remembers whose fields hold them).
 */
export function accumulatorCode(agg: AggCall, k: number, c: ExprCompiler, shared = new Map<string, number>()): AccCode {
  if ((agg.name === 'SUM' || agg.name === 'AVG') && agg.arg) {
    const owner = shared.get(agg.arg.code);
    if (owner !== undefined) return sumOrAvg(agg, owner, c, { init: [], update: '' });
    shared.set(agg.arg.code, k);
  }
  const f = (s: string) => `g.a${k}_${s}`;
  const t = c.temp();
  const arg = agg.arg ? `(${t} = ${agg.arg.code})` : '';
  const argType = agg.arg?.type;
  const less = argType && isBinary(argType) ? (a: string, b: string) => `h.bytesCmp(${a}, ${b}) < 0` : (a: string, b: string) => `${a} < ${b}`;
  switch (agg.name) {
    case 'COUNT*':
      return { init: [`a${k}_n: 0`], update: `${f('n')}++;`, final: f('n') };
    case 'COUNT':
      return { init: [`a${k}_n: 0`], update: `if (${arg} !== null) ${f('n')}++;`, final: f('n') };
    case 'SUM':
    case 'AVG':
      return sumOrAvg(agg, k, c, { init: [`a${k}_s: 0`, `a${k}_n: 0`], update: `if (${arg} !== null) { ${f('s')} += ${t}; ${f('n')}++; }` });
    case 'MIN':
      return { init: [`a${k}_m: null`], update: `if (${arg} !== null && (${f('m')} === null || ${less(t, f('m'))})) ${f('m')} = ${t};`, final: f('m') };
    case 'MAX':
      return { init: [`a${k}_m: null`], update: `if (${arg} !== null && (${f('m')} === null || ${less(f('m'), t)})) ${f('m')} = ${t};`, final: f('m') };
    case 'FIRST_VALUE':
      return { init: [`a${k}_v: null`, `a${k}_seen: false`], update: `if (!${f('seen')}) { ${f('v')} = ${arg}; ${f('seen')} = true; }`, final: f('v') };
    case 'LAST_VALUE':
      return { init: [`a${k}_v: null`], update: `${f('v')} = ${arg};`, final: f('v') };
    case 'ANY':
    case 'SOME':
      return { init: [`a${k}_b: null`], update: `if (${arg} !== null) ${f('b')} = ${f('b')} === true || ${t};`, final: f('b') };
    case 'EVERY':
      return { init: [`a${k}_b: null`], update: `if (${arg} !== null) ${f('b')} = ${f('b')} !== false && ${t};`, final: f('b') };
    default: {
      // Welford's running mean and sum of squared deviations.
      const d = c.temp();
      const update = `if (${arg} !== null) { ${f('n')}++; ${d} = ${t} - ${f('mean')}; ${f('mean')} += ${d} / ${f('n')}; ${f('m2')} += ${d} * (${t} - ${f('mean')}); }`;
      const pop = agg.name === 'VAR_POP' || agg.name === 'STDDEV_POP';
      const variance = `${f('m2')} / (${f('n')}${pop ? '' : ' - 1'})`;
      const value = agg.name.startsWith('STDDEV') ? `Math.sqrt(${variance})` : variance;
      return { init: [`a${k}_n: 0`, `a${k}_mean: 0`, `a${k}_m2: 0`], update, final: `(${f('n')} ${pop ? '=== 0' : '< 2'} ? null : ${value})` };
    }
  }
}

/** SUM or AVG's final value over the running sum and count in fields a<owner>_s and a<owner>_n. */
function sumOrAvg(agg: AggCall, owner: number, _c: ExprCompiler, state: { init: string[]; update: string }): AccCode {
  const sum = `g.a${owner}_s`;
  const n = `g.a${owner}_n`;
  const argType = agg.arg!.type;
  if (agg.name === 'SUM') return { ...state, final: `(${n} === 0 ? null : ${sum})` };
  const div = isInteger(argType) ? `Math.trunc(${sum} / ${n})` : argType.kind === 'DECIMAL' ? `h.roundScale(${sum} / ${n}, ${argType.scale})` : `${sum} / ${n}`;
  return { ...state, final: `(${n} === 0 ? null : ${div})` };
}
