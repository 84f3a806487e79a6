/**
 * Plans `FROM TABLE(fn(CURSOR(SELECT STREAM ...), arg, ...))`: the cursor's
 * query is planned as a relation, the function's literal arguments are
 * checked, and the function's operator adds its columns to each row.
 */
import type { Expr } from '../sql/ast.ts';
import { SqlError } from '../sql/errors.ts';
import { tableFunctions } from '../functions/table-functions.ts';
import { newCompiler, type PlanContext } from './context.ts';
import { planQuery } from './plan-query.ts';
import type { Field, Relation } from './scope.ts';

export function planTableFunction(call: Extract<Expr, { kind: 'call' }>, ctx: PlanContext): Relation {
  const fn = tableFunctions[call.name];
  if (!fn) throw new SqlError(`unknown table function ${call.name}`, call.pos);
  const cursor = call.args[0];
  if (cursor?.kind !== 'cursor') throw new SqlError(`the first argument of ${call.name} must be CURSOR(SELECT STREAM ...)`, call.args[0]?.pos ?? call.pos);
  const input = planQuery(cursor.query, ctx);
  const args = call.args.slice(1).map((a) => {
    const v = newCompiler(ctx).compile(a, { resolve: () => undefined, aggregateMisuse: '' });
    if (!v.constant) throw new SqlError(`arguments of ${call.name} after the cursor must be literals`, a.pos);
    return { value: v.constant.value, type: v.type, pos: a.pos };
  });
  const planned = fn.plan({ call, input, args });
  const fields: Field[] = planned.columns.map((col, k) => ({ name: col.name, type: col.type, index: k + 1 }));
  return {
    fields,
    width: fields.length + 1,
    kind: 'stream',
    open(sink) {
      input.open(planned.operator(sink, ctx.errors, ctx.pump, ctx.horizon));
    },
  };
}
