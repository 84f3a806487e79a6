/**
 * Plans a query (SELECT STREAM ... or a UNION ALL of them) into operators.
 * A SELECT is one of:
 *
 * - plain: WHERE and the select list fused into one generated function,
 *   after a sliding-window operator when the list has `agg(x) OVER w`;
 * - tumbling: GROUP BY with a monotonic expression (group-plan.ts);
 * - stagger: WINDOWED BY STAGGER (group-plan.ts);
 * - distinct: SELECT STREAM DISTINCT, first occurrence per value of a
 *   monotonic select item.
 *
 * When the query feeds a pump, `target` gives the stream's column types and
 * the select list is coerced to them in the same generated function.
 */
import type { Expr, Ident, Query, Select } from '../sql/ast.ts';
import type { Code, ExprCompiler, Scope } from '../sql/compile-expr.ts';
import { SqlError } from '../sql/errors.ts';
import { typeName, type SqlType } from '../sql/types.ts';
import { MapOperator, unionInputs } from '../operators/basic.ts';
import type { Row, Sink } from '../operators/stream.ts';
import { newCompiler, type PlanContext } from './context.ts';
import { planGroupedSelect } from './group-plan.ts';
import { planFrom } from './plan-from.ts';
import { collectAnalytics, planSlidingWindows } from './window-plan.ts';
import { columnName, fieldScope, starFields, type Field, type Relation } from './scope.ts';
import { planDistinct } from './distinct-plan.ts';
import { planOrderBy } from './order-plan.ts';

export interface Target {
  types: SqlType[];
  names: string[];
}

export const aggregateMisuse = "aggregate %s on a stream needs GROUP BY with a monotonic expression (such as STEP(ROWTIME BY INTERVAL '1' MINUTE)) or an OVER window";

export function planQuery(q: Query, ctx: PlanContext, target?: Target): Relation {
  if (q.kind === 'select') return planSelect(q, ctx, target);
  const left = planQuery(q.left, ctx, target);
  const types = target ?? { types: left.fields.map((f) => f.type), names: left.fields.map((f) => f.name) };
  const right = planQuery(q.right, ctx, types);
  if (right.fields.length !== left.fields.length) throw new SqlError(`UNION ALL sides have ${left.fields.length} and ${right.fields.length} columns`, q.pos);
  return {
    fields: left.fields,
    width: left.width,
    kind: 'stream',
    open(sink) {
      const [a, b] = unionInputs(sink, 2) as [Sink, Sink];
      left.open(a);
      right.open(b);
    },
  };
}

/** A select item after `*` expansion. */
export interface Item {
  expr: Expr;
  alias?: Ident;
  name: string;
}

export function expandItems(sel: Select, from: Relation): Item[] {
  const items: Item[] = [];
  sel.items.forEach((it) => {
    if (it.expr.kind === 'star') {
      for (const f of starFields(from, it.expr.qualifier)) {
        const parts: Ident[] = f.qualifier ? [{ name: f.qualifier, quoted: true, pos: it.pos }, { name: f.name, quoted: true, pos: it.pos }] : [{ name: f.name, quoted: true, pos: it.pos }];
        items.push({ expr: { kind: 'ref', parts, pos: it.pos }, name: f.name });
      }
      return;
    }
    items.push({ expr: it.expr, ...(it.alias ? { alias: it.alias } : {}), name: columnName(it.expr, it.alias, items.length) });
  });
  return items;
}

function planSelect(sel: Select, ctx: PlanContext, target?: Target): Relation {
  if (!sel.from) throw new SqlError('a streaming query needs FROM', sel.pos);
  const saved = ctx.windows;
  ctx.windows = new Map(sel.windows.map((w) => [w.name.name, w.spec]));
  let from: Relation;
  try {
    from = planFrom(sel.from, ctx);
  } finally {
    ctx.windows = saved;
  }
  if (from.kind === 'table') throw new SqlError('a query on an in-application table alone is not a stream; join the table with a stream', sel.from.pos);
  const items = expandItems(sel, from);
  const rel = planSelectBody(sel, from, items, ctx, target);
  return sel.orderBy ? planOrderBy(sel, rel, from, items, ctx) : rel;
}

function planSelectBody(sel: Select, from: Relation, items: Item[], ctx: PlanContext, target?: Target): Relation {
  if (target && items.length !== target.types.length) throw new SqlError(`the query has ${items.length} columns but the stream it inserts into has ${target.types.length}`, sel.pos);
  const analytics = collectAnalytics(items.map((i) => i.expr));
  const firstAggregate = findAggregate([...items.map((i) => i.expr), ...(sel.having ? [sel.having] : [])]);
  if (firstAggregate && !sel.groupBy && !sel.stagger) throw new SqlError(aggregateMisuse.replace('%s', firstAggregate.name), firstAggregate.pos);
  const grouped = !!sel.groupBy || !!sel.stagger;
  if (grouped) {
    if (analytics.length) throw new SqlError('OVER windows cannot be combined with GROUP BY or WINDOWED BY', analytics[0]!.pos);
    return planGroupedSelect(sel, from, items, ctx, target);
  }
  if (sel.having) throw new SqlError('HAVING needs GROUP BY', sel.having.pos);
  if (sel.distinct) return planDistinct(sel, from, items, ctx, target);
  return planPlainSelect(sel, from, items, ctx, target);
}

const aggregateNamesForCheck = new Set(['COUNT', 'SUM', 'AVG', 'MIN', 'MAX', 'FIRST_VALUE', 'LAST_VALUE', 'STDDEV', 'STDDEV_POP', 'STDDEV_SAMP', 'VARIANCE', 'VAR_POP', 'VAR_SAMP', 'ANY', 'SOME', 'EVERY']);

function findAggregate(exprs: Expr[]): Extract<Expr, { kind: 'call' }> | undefined {
  let found: Extract<Expr, { kind: 'call' }> | undefined;
  const visit = (e: unknown): void => {
    if (found || !e || typeof e !== 'object') return;
    if (Array.isArray(e)) return e.forEach(visit);
    const n = e as Expr;
    if (n.kind === 'call' && aggregateNamesForCheck.has(n.name) && !n.over) {
      found = n;
      return;
    }
    if (n.kind === 'cursor') return;
    for (const [k, v] of Object.entries(n)) if (k !== 'pos') visit(v);
  };
  exprs.forEach(visit);
  return found;
}

/**
 * The select list as code: one array literal `[rowtime, v1, ...]`, each value
 * coerced to the target column's type when there is a target.
 */
export function projection(items: Item[], scope: Scope, c: ExprCompiler, rowtime: string, target?: Target): { code: string; fields: Field[] } {
  const codes: string[] = [rowtime];
  const fields: Field[] = [];
  items.forEach((it, k) => {
    let v: Code = c.compile(it.expr, scope);
    if (v.type.kind === 'ROW' && target) throw new SqlError(`a ROW value cannot be inserted into column ${target.names[k]}; select its fields (x.COLUMN1, ...)`, it.expr.pos);
    if (target) v = c.assign(v, target.types[k]!, it.expr, target.names[k]!);
    codes.push(v.code);
    fields.push({ name: target ? target.names[k]! : it.name, type: target ? target.types[k]! : v.type, index: k + 1, nullable: v.nullable });
  });
  return { code: `[${codes.join(', ')}]`, fields };
}

/** A WHERE clause as a statement that returns null from the row function when the row is filtered out. */
export function whereGuard(where: Expr | undefined, scope: Scope, c: ExprCompiler): string {
  if (!where) return '';
  const w = c.compile(where, scope);
  c.expectBoolean(w, where);
  return `if ((${w.code}) !== true) return null;`;
}

function planPlainSelect(sel: Select, from: Relation, items: Item[], ctx: PlanContext, target?: Target): Relation {
  const analytics = collectAnalytics(items.map((i) => i.expr));
  if (analytics.length) return planSlidingWindows(sel, from, items, analytics, ctx, target);
  const c = newCompiler(ctx);
  const scope = fieldScope(from, aggregateMisuse);
  const guard = whereGuard(sel.where, scope, c);
  const proj = projection(items, scope, c, 'r[0]', target);
  const fn = c.build<(r: Row) => Row | null>('r', `${guard} return ${proj.code};`);
  return {
    fields: proj.fields,
    width: proj.fields.length + 1,
    kind: 'stream',
    open(sink) {
      from.open(new MapOperator(fn, sink, ctx.errors, ctx.pump));
    },
  };
}

export function describeTypes(fields: Field[]): string {
  return fields.map((f) => `${f.name} ${typeName(f.type)}`).join(', ');
}
