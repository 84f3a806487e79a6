/**
 * SELECT STREAM DISTINCT: a row is emitted the first time its values appear
 * while the select list's monotonic item (one that reads ROWTIME, such as
 * FLOOR(ROWTIME TO MINUTE)) keeps its value; when that value moves on, the
 * set of seen rows starts empty again. Without a monotonic item the set
 * would grow forever, so the query is refused.
 */
import type { Select } from '../sql/ast.ts';
import { SqlError } from '../sql/errors.ts';
import { runtime } from '../functions/runtime.ts';
import { MapOperator } from '../operators/basic.ts';
import type { Row, Sink } from '../operators/stream.ts';
import { newCompiler, type PlanContext } from './context.ts';
import { aggregateMisuse, projection, whereGuard, type Item, type Target } from './plan-query.ts';
import { canonical, fieldScope, type Relation } from './scope.ts';

/** Most distinct rows held for one value of the monotonic item. */
export const distinctRowsMax = 1_000_000;

export function planDistinct(sel: Select, from: Relation, items: Item[], ctx: PlanContext, target?: Target): Relation {
  const input = fieldScope(from, aggregateMisuse);
  const c = newCompiler(ctx);
  const mono = items.findIndex((it) => canonical(it.expr, input, c).includes('"ref":"r[0]"'));
  if (mono < 0) throw new SqlError('SELECT STREAM DISTINCT needs a monotonic item in the select list, such as FLOOR(ROWTIME TO MINUTE)', sel.pos);
  const guard = whereGuard(sel.where, input, c);
  const proj = projection(items, input, c, 'r[0]', target);
  const fn = c.build<(r: Row) => Row | null>('r', `${guard} return ${proj.code};`);
  return {
    fields: proj.fields,
    width: proj.fields.length + 1,
    kind: 'stream',
    open(sink) {
      from.open(new MapOperator(fn, distinctSink(sink, mono + 1), ctx.errors, ctx.pump));
    },
  };
}

function distinctSink(out: Sink, monoIndex: number): Sink {
  const seen = new Set<string>();
  let current: unknown = undefined;
  return {
    push(row) {
      if (row[monoIndex] !== current) {
        seen.clear();
        current = row[monoIndex];
      }
      const key = runtime.compositeKey(...row.slice(1));
      if (seen.has(key) || seen.size >= distinctRowsMax) return;
      seen.add(key);
      out.push(row);
    },
    bound: (t) => out.bound(t),
  };
}
