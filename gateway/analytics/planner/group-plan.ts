/**
 * Plans GROUP BY (tumbling windows) and WINDOWED BY STAGGER queries.
 *
 * The GROUP BY list must hold a monotonic expression, the window: a function
 * of ROWTIME (`STEP(s.ROWTIME BY INTERVAL '60' SECOND)`, `FLOOR(s.ROWTIME TO
 * MINUTE)`) or, failing that, of another time column (`STEP(EVENT_TIME BY
 * ...)`), which must then arrive in order. The other expressions are the
 * keys. After aggregation, the select list and HAVING see a group row
 * `[ROWTIME, window, key..., aggregate...]`: a sub-expression equal to a
 * GROUP BY expression reads the key, an aggregate reads its result, ROWTIME
 * is the window's end, and any other column is an error.
 */
import type { Expr, Select } from '../sql/ast.ts';
import type { Code, ExprCompiler, Scope } from '../sql/compile-expr.ts';
import { SqlError } from '../sql/errors.ts';
import { isDatetime, T } from '../sql/types.ts';
import { addUnit } from '../functions/datetime.ts';
import { StaggerWindow, TumblingWindow, windowGroupsMax, type Group, type GroupFns, type TumblingDriver } from '../operators/group-window.ts';
import type { Row } from '../operators/stream.ts';
import { MapOperator } from '../operators/basic.ts';
import { accumulatorCode, collectAggregates, type AggCall } from './aggregates.ts';
import { newCompiler, type PlanContext } from './context.ts';
import { aggregateMisuse, projection, whereGuard, type Item, type Target } from './plan-query.ts';
import { canonical, fieldScope, type Relation } from './scope.ts';
import type { TimeUnit } from '../sql/ast.ts';

const mentionsRowtime = (key: string) => key.includes('"ref":"r[0]"');

interface Keys {
  driver?: { expr: Expr; key: string };
  keys: Array<{ expr: Expr; key: string }>;
}

function splitGroupBy(exprs: Expr[], scope: Scope, c: ExprCompiler, pos: Select['pos']): Keys {
  const all = exprs.map((expr) => ({ expr, key: canonical(expr, scope, c) }));
  let driver = all.find((k) => mentionsRowtime(k.key));
  if (!driver) driver = all.find((k) => isDatetime(c.compile(k.expr, scope).type));
  if (!driver) throw new SqlError("GROUP BY on a stream needs a monotonic expression, such as STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '60' SECOND) or FLOOR(ROWTIME TO MINUTE)", exprs[0]?.pos ?? pos);
  return { driver, keys: all.filter((k) => k !== driver) };
}

/** The scope of HAVING and the select list: group keys, aggregates and ROWTIME read the group row. */
function groupScope(keys: Keys, aggs: AggCall[], input: Scope, keyTypes: Code[], driverType: Code | undefined): Scope {
  const slots = new Map<string, Code>();
  if (keys.driver && driverType) slots.set(keys.driver.key, { ...driverType, code: 'r[1]' });
  keys.keys.forEach((k, i) => slots.set(k.key, { ...keyTypes[i]!, code: `r[${2 + i}]` }));
  aggs.forEach((a, j) => slots.set(a.key, { code: `r[${2 + keys.keys.length + j}]`, type: a.type, nullable: a.name !== 'COUNT' && a.name !== 'COUNT*' }));
  return {
    replace(e, c) {
      if (e.kind === 'ref' && e.parts.length === 1 && e.parts[0]!.name === 'ROWTIME') return { code: 'r[0]', type: T.timestamp, nullable: false };
      if (e.kind === 'number' || e.kind === 'string' || e.kind === 'boolean' || e.kind === 'null' || e.kind === 'interval' || e.kind === 'typedLiteral') return undefined;
      return slots.get(canonical(e, input, c));
    },
    resolve(e) {
      throw new SqlError(`column '${e.parts.map((p) => p.name).join('.')}' must appear in GROUP BY (or WINDOWED BY ... PARTITION BY) or be inside an aggregate`, e.pos);
    },
    aggregateMisuse: 'aggregate %s cannot be nested',
  };
}

/** Generated per-row update: evaluate keys, find or create the group, fold the row into every aggregate. */
function buildUpdate(keys: Keys, aggs: AggCall[], input: Scope, ctx: PlanContext, groups: Map<unknown, Group>): { update: (r: Row) => Group; keyTypes: Code[]; finals: string[] } {
  const c = newCompiler(ctx);
  const keyCodes = keys.keys.map((k) => c.compile(k.expr, input));
  const kt = keyCodes.map(() => c.temp());
  const assign = keyCodes.map((k, i) => `${kt[i]} = ${k.code};`).join(' ');
  const mapKey = kt.length === 0 ? '0' : kt.length === 1 ? kt[0]! : `h.compositeKey(${kt.join(', ')})`;
  const shared = new Map<string, number>();
  const accs = aggs.map((a, k) => accumulatorCode(a, k, c, shared));
  const init = ['key: mk', ...kt.map((t, i) => `k${i}: ${t}`), ...accs.flatMap((a) => a.init)].join(', ');
  const body = `${assign} const mk = ${mapKey}; let g = groups.get(mk);
    if (g === undefined) { if (groups.size >= ${windowGroupsMax}) h.tooManyGroups(${windowGroupsMax}); g = { ${init} }; groups.set(mk, g); }
    ${accs.map((a) => a.update).join('\n')} return g;`;
  return { update: c.build<(r: Row) => Group>('r', body, { groups }), keyTypes: keyCodes, finals: accs.map((a) => a.final) };
}

export function planGroupedSelect(sel: Select, from: Relation, items: Item[], ctx: PlanContext, target?: Target): Relation {
  const input = fieldScope(from, aggregateMisuse);
  const c0 = newCompiler(ctx);
  const stagger = sel.stagger;
  if (!stagger && !sel.groupBy) throw new SqlError(aggregateMisuse.replace('%s', 'functions'), items[0]?.expr.pos ?? sel.pos);
  const keys: Keys = stagger ? { keys: stagger.partitionBy.map((expr) => ({ expr, key: canonical(expr, input, c0) })) } : splitGroupBy(sel.groupBy!, input, c0, sel.pos);
  const aggs = collectAggregates([...items.map((i) => i.expr), ...(sel.having ? [sel.having] : [])], input, c0);
  const groups = new Map<unknown, Group>();
  const built = buildUpdate(keys, aggs, input, ctx, groups);
  const driverCode = keys.driver ? newCompiler(ctx).compile(keys.driver.expr, input) : undefined;
  const scope = groupScope(keys, aggs, input, built.keyTypes, driverCode);
  const c = newCompiler(ctx);
  const having = sel.having ? c.compile(sel.having, scope) : undefined;
  if (having) c.expectBoolean(having, sel.having!);
  const proj = projection(items, scope, c, 'rt', target);
  const groupRow = `[rt, w, ${[...keys.keys.map((_, i) => `g.k${i}`), ...built.finals].join(', ')}]`;
  const emitBody = `const r = ${groupRow}; ${having ? `if ((${having.code}) !== true) return null;` : ''} return ${proj.code};`;
  const fns: GroupFns = { groups, update: built.update, emit: c.build<GroupFns['emit']>('g, rt, w', emitBody) };
  const filter = sel.where ? whereFilter(sel.where, input, ctx) : undefined;
  let range: number | undefined;
  if (stagger) {
    const r = newCompiler(ctx).compile(stagger.range, input);
    if (r.type.kind !== 'INTERVAL_DS' || !r.constant) throw new SqlError("WINDOWED BY STAGGER needs RANGE INTERVAL '<n>' <unit>", stagger.range.pos);
    range = r.constant.value as number;
  }
  const driver = stagger ? undefined : driverFor(keys.driver!.expr, input, ctx);
  return {
    fields: proj.fields,
    width: proj.fields.length + 1,
    kind: 'stream',
    open(sink) {
      const window = stagger ? new StaggerWindow(fns, range!, sink, ctx.errors, ctx.pump, ctx.horizon) : new TumblingWindow(fns, driver!, sink, ctx.errors, ctx.pump, ctx.horizon);
      from.open(filter ? new MapOperator(filter, window, ctx.errors, ctx.pump) : window);
    },
  };
}

/** WHERE as its own operator in front of a window, so that filtered rows neither open groups nor move the window. */
function whereFilter(where: Expr, input: Scope, ctx: PlanContext): (r: Row) => Row | null {
  const c = newCompiler(ctx);
  return c.build<(r: Row) => Row | null>('r', `${whereGuard(where, input, c)} return r;`);
}

/** How a tumbling window on `expr` closes: at a known end (STEP/FLOOR/CEIL of ROWTIME), when the value at time t changes, or only when rows move on. */
export function driverFor(expr: Expr, input: Scope, ctx: PlanContext): TumblingDriver {
  const c = newCompiler(ctx);
  const code = c.compile(expr, input);
  const value = c.build<(r: Row) => unknown>('r', `return ${code.code};`);
  const isRowtime = (e: Expr | undefined) => !!e && e.kind === 'ref' && e.parts[e.parts.length - 1]!.name === 'ROWTIME' && mentionsRowtime(canonical(e, input, c));
  if (isRowtime(expr)) return { value, closeAt: (v) => (v as number) + 1, endRowtime: (v) => v as number };
  if (expr.kind === 'call' && isRowtime(expr.args[0])) {
    const arg = expr.args[1];
    if (expr.name === 'STEP' && arg) {
      const by = newCompiler(ctx).compile(arg, input);
      if (by.constant && by.type.kind === 'INTERVAL_DS') {
        const ms = by.constant.value as number;
        return { value, closeAt: (v) => (v as number) + ms, endRowtime: (v) => (v as number) + ms };
      }
      if (by.constant && by.type.kind === 'INTERVAL_YM') {
        const months = by.constant.value as number;
        return { value, closeAt: (v) => addUnit(v as number, 'MONTH', months), endRowtime: (v) => addUnit(v as number, 'MONTH', months) };
      }
    }
    if ((expr.name === 'FLOOR' || expr.name === 'CEIL' || expr.name === 'CEILING') && arg?.kind === 'unit') {
      const unit = arg.unit as TimeUnit;
      if (expr.name === 'FLOOR') return { value, closeAt: (v) => addUnit(v as number, unit, 1), endRowtime: (v) => addUnit(v as number, unit, 1) };
      return { value, closeAt: (v) => (v as number) + 1, endRowtime: (v) => v as number };
    }
  }
  const key = canonical(expr, input, c);
  const onlyRowtime = !/"ref":"(?!r\[0\])/.test(key);
  if (mentionsRowtime(key) && onlyRowtime) return { value, atTime: (t) => value([t]) };
  return { value };
}
