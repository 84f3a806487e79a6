/**
 * Plans FROM items: in-application streams, views, reference tables,
 * sub-queries, `TABLE(fn(CURSOR(...), ...))`, and joins of them.
 */
import type { FromItem, Ident } from '../sql/ast.ts';
import { SqlError } from '../sql/errors.ts';
import type { PlanContext } from './context.ts';
import { planJoin } from './join-plan.ts';
import { planQuery } from './plan-query.ts';
import type { Field, Relation } from './scope.ts';
import { planTableFunction } from './table-function-plan.ts';

/** Re-labels a relation's fields with an alias and optional column names. */
export function requalify(rel: Relation, qualifier: string, columnAliases: Ident[] | undefined, pos: FromItem['pos']): Relation {
  const visible = rel.fields.filter((f) => !f.hidden);
  if (columnAliases && columnAliases.length !== visible.length) throw new SqlError(`${columnAliases.length} column names given for ${visible.length} columns`, pos);
  let k = 0;
  const fields: Field[] = rel.fields.map((f) => ({ ...f, qualifier, name: f.hidden || !columnAliases ? f.name : columnAliases[k++]!.name }));
  return { ...rel, fields };
}

export function planFrom(item: FromItem, ctx: PlanContext): Relation {
  switch (item.kind) {
    case 'stream':
      return planNamed(item, ctx);
    case 'subquery': {
      const rel = planQuery(item.query, ctx);
      const out = requalify(rel, item.alias?.name ?? '', item.columnAliases, item.pos);
      return item.over ? { ...out, window: item.over } : out;
    }
    case 'tableFunction': {
      const rel = planTableFunction(item.call, ctx);
      return requalify(rel, item.alias?.name ?? item.call.name, item.columnAliases, item.pos);
    }
    case 'join':
      return planJoin(item, planFrom(item.left, ctx), planFrom(item.right, ctx), ctx);
  }
}

function planNamed(item: Extract<FromItem, { kind: 'stream' }>, ctx: PlanContext): Relation {
  const name = item.name.name;
  // `FROM TradeStream OVER t ... WINDOW t AS (...)` (dev/stream-joins-concepts.html): the window's name also names the stream.
  const qualifier = item.alias?.name ?? (item.over?.base && !item.over.frame && item.over.partitionBy.length === 0 ? item.over.base.name : name);
  const stream = ctx.streams.get(name);
  if (stream) {
    if (stream.kind === 'error') throw new SqlError('error_stream cannot be read by application code; send it to an output instead', item.name.pos);
    const fields: Field[] = stream.columns.map((col, k) => ({ qualifier, name: col.name, type: col.type, index: k + 1, ...(col.hidden ? { hidden: true } : {}) }));
    const rel: Relation = {
      fields,
      width: fields.length + 1,
      kind: 'stream',
      open(sink) {
        ctx.reads.add(name);
        stream.subscribe(sink);
      },
      ...(item.over ? { window: item.over } : {}),
    };
    return item.columnAliases ? requalify(rel, qualifier, item.columnAliases, item.pos) : rel;
  }
  const table = ctx.tables.get(name);
  if (table) {
    if (item.over) throw new SqlError('a window (OVER) applies to streams, not to a reference table', item.over.pos);
    const fields: Field[] = table.columns.map((col, k) => ({ qualifier, name: col.name, type: col.type, index: k + 1 }));
    const rel: Relation = {
      fields,
      width: fields.length + 1,
      kind: 'table',
      rows: table.rows,
      open() {
        throw new SqlError(`reference table '${name}' must be joined with a stream`, item.pos);
      },
    };
    return item.columnAliases ? requalify(rel, qualifier, item.columnAliases, item.pos) : rel;
  }
  const view = ctx.views.get(name);
  if (view) {
    if (ctx.expanding.has(name)) throw new SqlError(`view '${name}' refers to itself`, item.name.pos);
    ctx.expanding.add(name);
    try {
      const rel = requalify(planQuery(view.query, ctx), qualifier, item.columnAliases ?? view.columns, item.pos);
      return item.over ? { ...rel, window: item.over } : rel;
    } finally {
      ctx.expanding.delete(name);
    }
  }
  const lower = [...ctx.streams.keys(), ...ctx.tables.keys()].find((n) => n.toUpperCase() === name.toUpperCase());
  const hint = lower && lower !== name ? ` (did you mean "${lower}"? quoted names are case-sensitive)` : '';
  throw new SqlError(`stream or table '${name}' not found${hint}`, item.name.pos);
}
