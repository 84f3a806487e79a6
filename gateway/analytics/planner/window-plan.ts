/**
 * Plans a SELECT with analytic calls (`agg(x) OVER w`, LAG, NTH_VALUE): the
 * calls are grouped by window (same PARTITION BY and frame), each window
 * becomes one partitioned buffer, and the select list reads the results from
 * slots appended to the input row.
 */
import type { Expr, Select, WindowSpec } from '../sql/ast.ts';
import type { Scope } from '../sql/compile-expr.ts';
import { SqlError } from '../sql/errors.ts';
import { isInteger, T, type SqlType } from '../sql/types.ts';
import { MapOperator } from '../operators/basic.ts';
import { SlidingWindows, type AnalyticSpec, type Frame, type WindowPlan } from '../operators/sliding.ts';
import type { Row } from '../operators/stream.ts';
import { aggregateType, type CallExpr } from './aggregates.ts';
import { newCompiler, type PlanContext } from './context.ts';
import { aggregateMisuse, projection, whereGuard, type Item, type Target } from './plan-query.ts';
import { canonical, fieldScope, type Relation } from './scope.ts';

const analyticNames = new Set(['COUNT', 'SUM', 'AVG', 'MIN', 'MAX', 'FIRST_VALUE', 'LAST_VALUE', 'NTH_VALUE', 'LAG', 'EXP_AVG', 'STDDEV', 'STDDEV_POP', 'STDDEV_SAMP', 'VARIANCE', 'VAR_POP', 'VAR_SAMP', 'ANY', 'SOME', 'EVERY']);

export function collectAnalytics(exprs: Expr[]): CallExpr[] {
  const out: CallExpr[] = [];
  const visit = (e: unknown): void => {
    if (!e || typeof e !== 'object') return;
    if (Array.isArray(e)) return e.forEach(visit);
    const n = e as Expr;
    if (n.kind === 'call' && n.over) {
      out.push(n);
      return;
    }
    if (n.kind === 'cursor') return;
    for (const [k, v] of Object.entries(n)) if (k !== 'pos') visit(v);
  };
  exprs.forEach(visit);
  return out;
}

/** The window a call's OVER names or spells out, merged with the WINDOW clause's definition it extends. */
function resolveWindow(spec: WindowSpec, sel: Select): WindowSpec {
  if (!spec.base) return spec;
  const named = sel.windows.find((w) => w.name.name === spec.base!.name);
  if (!named) throw new SqlError(`window '${spec.base.name}' is not defined in the WINDOW clause`, spec.base.pos);
  const base = resolveWindow(named.spec, sel);
  return { partitionBy: spec.partitionBy.length ? spec.partitionBy : base.partitionBy, orderBy: spec.orderBy.length ? spec.orderBy : base.orderBy, ...(spec.frame ?? base.frame ? { frame: (spec.frame ?? base.frame)! } : {}), pos: spec.pos };
}

function frameOf(spec: WindowSpec, call: CallExpr, ctx: PlanContext): Frame {
  const f = spec.frame;
  if (!f) {
    if (call.name === 'LAG') return { kind: 'rows', n: lagN(call, ctx) };
    throw new SqlError(`${call.name} OVER a window needs RANGE INTERVAL ... PRECEDING or ROWS n PRECEDING`, spec.pos);
  }
  if (f.preceding === 'UNBOUNDED') throw new SqlError('UNBOUNDED PRECEDING windows are not allowed on streams; give a RANGE or ROWS size', f.pos);
  if (f.following) throw new SqlError('windows that end after the current row are not allowed on streams', f.pos);
  if (spec.orderBy.length && !JSON.stringify(spec.orderBy[0]!.expr).includes('"ROWTIME"')) throw new SqlError('a window on a stream is ordered by ROWTIME', spec.orderBy[0]!.expr.pos);
  if (f.preceding === 'CURRENT') return f.unit === 'ROWS' ? { kind: 'rows', n: 0 } : { kind: 'range', ms: 0 };
  const v = newCompiler(ctx).compile(f.preceding, { resolve: () => undefined, aggregateMisuse: '' });
  if (!v.constant) throw new SqlError('a window size must be a literal', f.pos);
  if (f.unit === 'RANGE') {
    if (v.type.kind !== 'INTERVAL_DS') throw new SqlError("RANGE needs an INTERVAL such as INTERVAL '1' MINUTE", f.pos);
    return { kind: 'range', ms: v.constant.value as number };
  }
  const n = v.constant.value as number;
  if (!Number.isInteger(n) || n < 0) throw new SqlError('ROWS needs a non-negative integer', f.pos);
  return { kind: 'rows', n };
}

const literalArg = (call: CallExpr, k: number, ctx: PlanContext, what: string): unknown => {
  const a = call.args[k];
  if (!a) return undefined;
  const v = newCompiler(ctx).compile(a, { resolve: () => undefined, aggregateMisuse: '' });
  if (!v.constant) throw new SqlError(`${what} of ${call.name} must be a literal`, a.pos);
  return v.constant.value;
};

function lagN(call: CallExpr, ctx: PlanContext): number {
  const n = literalArg(call, 1, ctx, 'the offset') ?? 1;
  if (!Number.isInteger(n) || (n as number) < 0) throw new SqlError('the offset of LAG must be a non-negative integer', call.pos);
  return n as number;
}

interface PlannedCall {
  call: CallExpr;
  key: string;
  type: SqlType;
  spec: Omit<AnalyticSpec, 'slot'>;
  value?: { code: string };
}

function planCall(call: CallExpr, input: Scope, ctx: PlanContext, valueCode: (e: Expr) => { code: string; type: SqlType }): Omit<PlannedCall, 'key'> {
  if (!analyticNames.has(call.name)) throw new SqlError(`${call.name} cannot be used with OVER`, call.pos);
  if (call.distinct) throw new SqlError(`${call.name}(DISTINCT ...) OVER a window is not supported`, call.pos);
  if (call.star) {
    if (call.name !== 'COUNT') throw new SqlError(`${call.name}(*) is not allowed`, call.pos);
    return { call, type: T.bigint, spec: { name: 'COUNT', integer: true } };
  }
  const arg = call.args[0];
  if (!arg) throw new SqlError(`${call.name} needs an argument`, call.pos);
  const value = valueCode(arg);
  switch (call.name) {
    case 'LAG': {
      const fallback = literalArg(call, 2, ctx, 'the default');
      return { call, type: value.type, value, spec: { name: 'LAG', integer: false, n: lagN(call, ctx), ...(fallback !== undefined ? { fallback } : {}), ...(call.ignoreNulls ? { ignoreNulls: true } : {}) } };
    }
    case 'NTH_VALUE': {
      const n = literalArg(call, 1, ctx, 'n');
      if (!Number.isInteger(n) || (n as number) < 1) throw new SqlError('NTH_VALUE needs a positive integer n', call.pos);
      return { call, type: value.type, value, spec: { name: 'NTH_VALUE', integer: false, n: n as number, ...(call.fromLast ? { fromLast: true } : {}) } };
    }
    case 'EXP_AVG': {
      const half = newCompiler(ctx).compile(call.args[1] ?? arg, input);
      if (!call.args[1] || half.type.kind !== 'INTERVAL_DS' || !half.constant) throw new SqlError("EXP_AVG needs (expression, INTERVAL '<n>' <unit>)", call.pos);
      return { call, type: T.double, value, spec: { name: 'EXP_AVG', integer: false, halfLifeMs: half.constant.value as number } };
    }
    default: {
      if (call.args.length !== 1) throw new SqlError(`${call.name} takes 1 argument, not ${call.args.length}`, call.pos);
      const type = aggregateType(call.name, value.type, call);
      const name = call.name === 'SOME' ? 'ANY' : call.name;
      return { call, type, value, spec: { name, integer: name === 'AVG' && isInteger(value.type) } };
    }
  }
}

export function planSlidingWindows(sel: Select, from: Relation, items: Item[], calls: CallExpr[], ctx: PlanContext, target?: Target): Relation {
  const input = fieldScope(from, aggregateMisuse);
  const canonC = newCompiler(ctx);
  const windows = new Map<string, { spec: WindowSpec; frame: Frame; calls: PlannedCall[] }>();
  const byKey = new Map<string, { w: string; k: number }>();
  for (const call of calls) {
    const key = canonical(call, input, canonC);
    if (byKey.has(key)) continue;
    const spec = resolveWindow(call.over!, sel);
    const frame = frameOf(spec, call, ctx);
    const wkey = JSON.stringify([spec.partitionBy.map((e) => canonical(e, input, canonC)), frame]);
    let win = windows.get(wkey);
    if (!win) windows.set(wkey, (win = { spec, frame, calls: [] }));
    const planned = planCall(call, input, ctx, (e) => canonC.compile(e, { ...input, aggregateMisuse: `aggregate %s cannot be nested inside ${call.name}` }));
    byKey.set(key, { w: wkey, k: win.calls.length });
    win.calls.push({ ...planned, key });
  }
  let slot = 0;
  const slots = new Map<string, { code: string; type: SqlType }>();
  const plans: WindowPlan[] = [...windows.values()].map((win) => {
    const c = newCompiler(ctx);
    const keyCodes = win.spec.partitionBy.map((e) => c.compile(e, input).code);
    const key = keyCodes.length === 0 ? '0' : keyCodes.length === 1 ? keyCodes[0]! : `h.compositeKey(${keyCodes.join(', ')})`;
    const values: string[] = [];
    const specs: AnalyticSpec[] = win.calls.map((pc) => {
      const valueSlot = pc.value ? values.push(c.compile(pc.call.args[0]!, input).code) - 1 : -1;
      return { ...pc.spec, slot: valueSlot };
    });
    const outSlots = win.calls.map((pc) => {
      slots.set(pc.key, { code: `a[${slot}]`, type: pc.type });
      return slot++;
    });
    const keyFn = c.build<WindowPlan['key']>('r', `return ${key};`);
    const vc = newCompiler(ctx);
    const valueCodes = win.calls.filter((pc) => pc.value).map((pc) => vc.compile(pc.call.args[0]!, input).code);
    const valuesFn = vc.build<WindowPlan['values']>('r, out', valueCodes.map((code, k) => `out[${k}] = ${code};`).join(' '));
    return { frame: win.frame, key: keyFn, values: valuesFn, slots: values.length, specs, outSlots };
  });
  const resultCount = slot;
  const c = newCompiler(ctx);
  const scope = fieldScope(from, aggregateMisuse, (e, cc) => {
    if (e.kind !== 'call' || !e.over) return undefined;
    const s = slots.get(canonical(e, input, cc));
    return s ? { ...s, nullable: true } : undefined;
  });
  const proj = projection(items, scope, c, 'r[0]', target);
  const next = c.build<(r: Row, a: unknown[]) => Row | null>('r, a', `return ${proj.code};`);
  const filter = sel.where ? whereFilter(sel.where, input, ctx) : undefined;
  return {
    fields: proj.fields,
    width: proj.fields.length + 1,
    kind: 'stream',
    open(sink) {
      const op = new SlidingWindows(plans, resultCount, next, sink, ctx.errors, ctx.pump, ctx.horizon);
      from.open(filter ? new MapOperator(filter, op, ctx.errors, ctx.pump) : op);
    },
  };
}

function whereFilter(where: Expr, input: Scope, ctx: PlanContext): (r: Row) => Row | null {
  const c = newCompiler(ctx);
  return c.build<(r: Row) => Row | null>('r', `${whereGuard(where, input, c)} return r;`);
}
