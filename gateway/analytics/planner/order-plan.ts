/**
 * ORDER BY of a streaming SELECT: keys are read from the query's output row
 * (by select-list names, or a FROM qualifier's ROWTIME); the first key must
 * be monotonic in ROWTIME. See operators/sort.ts.
 */
import type { Select } from '../sql/ast.ts';
import type { Scope } from '../sql/compile-expr.ts';
import { SqlError } from '../sql/errors.ts';
import { isBinary } from '../sql/types.ts';
import { SortOperator } from '../operators/sort.ts';
import type { Row } from '../operators/stream.ts';
import { newCompiler, type PlanContext } from './context.ts';
import { driverFor } from './group-plan.ts';
import type { Item } from './plan-query.ts';
import { canonical, resolveRef, type Field, type Relation } from './scope.ts';

export function planOrderBy(sel: Select, rel: Relation, from: Relation, items: Item[], ctx: PlanContext): Relation {
  const order = sel.orderBy!;
  const qualifiers = [...new Set(from.fields.map((f) => f.qualifier).filter((q): q is string => !!q))];
  const named: Field[] = rel.fields.map((f, k) => ({ ...f, name: items[k]!.name, qualifier: undefined }));
  const fields: Field[] = [...named, ...qualifiers.flatMap((q) => named.map((f) => ({ ...f, qualifier: q })))];
  const scope: Scope = {
    resolve(e) {
      const last = e.parts[e.parts.length - 1]!;
      if (last.name === 'ROWTIME' && e.parts.length <= 2) return { code: 'r[0]', type: { kind: 'TIMESTAMP' }, nullable: false };
      return resolveRef({ fields }, e.parts);
    },
    aggregateMisuse: 'aggregate %s is not allowed in ORDER BY of a stream',
  };
  const c = newCompiler(ctx);
  const first = order[0]!;
  if (first.desc || !canonical(first.expr, scope, c).includes('"ref":"r[0]"')) throw new SqlError('ORDER BY on a stream must start with an ascending expression of ROWTIME, such as FLOOR(s.ROWTIME TO SECOND)', first.expr.pos);
  const driver = driverFor(first.expr, scope, ctx);
  const rest = order.slice(1).map((o) => {
    const k = c.compile(o.expr, scope);
    if (k.type.kind === 'ROW' || isBinary(k.type)) throw new SqlError('cannot ORDER BY this type', o.expr.pos);
    return { code: k.code, desc: o.desc };
  });
  // NULLs sort first ascending and last descending, as SQLstream orders them.
  const cmp = rest.map((k, i) => `a${i} = ((r) => ${k.code})(a); b${i} = ((r) => ${k.code})(b); if (a${i} !== b${i}) { if (a${i} === null) return ${k.desc ? 1 : -1}; if (b${i} === null) return ${k.desc ? -1 : 1}; return (a${i} < b${i} ? -1 : 1) * ${k.desc ? -1 : 1}; }`).join('\n');
  const decl = rest.length ? `let ${rest.map((_, i) => `a${i}, b${i}`).join(', ')};` : '';
  const compare = c.build<(a: Row, b: Row) => number>('a, b', `${decl} ${cmp} return 0;`);
  return {
    ...rel,
    open(sink) {
      rel.open(new SortOperator(driver, compare, sink, ctx.horizon));
    },
  };
}
