/**
 * Plans a join of two FROM items: a stream with a reference table (hash
 * index on ON's equality terms), or two streams with windows.
 */
import type { Expr, FromItem, WindowSpec } from '../sql/ast.ts';
import type { ExprCompiler, Scope } from '../sql/compile-expr.ts';
import { SqlError } from '../sql/errors.ts';
import { StreamJoin, TableJoin, type JoinWindow } from '../operators/join.ts';
import type { Row } from '../operators/stream.ts';
import { newCompiler, type PlanContext } from './context.ts';
import { aggregateMisuse } from './plan-query.ts';
import { fieldScope, type Field, type Relation } from './scope.ts';

/** Most rows one side of a stream-to-stream join holds. */
export const joinHeldRowsMax = 1_000_000;

function combinedFields(left: Relation, right: Relation): Field[] {
  const shift = left.width - 1;
  return [...left.fields, ...right.fields.map((f) => ({ ...f, index: f.index + shift }))];
}

function conjuncts(e: Expr | undefined): Expr[] {
  if (!e) return [];
  if (e.kind === 'binary' && e.op === 'AND') return [...conjuncts(e.left), ...conjuncts(e.right)];
  return [e];
}

/** Compiles `e` against one side alone; undefined when it needs the other side. */
function onSide(e: Expr, scope: Scope, c: ExprCompiler) {
  try {
    return c.compile(e, scope);
  } catch (err) {
    if (err instanceof SqlError) return undefined;
    throw err;
  }
}

export function planJoin(item: Extract<FromItem, { kind: 'join' }>, left: Relation, right: Relation, ctx: PlanContext): Relation {
  const fields = combinedFields(left, right);
  const width = left.width + right.width - 1;
  const c = newCompiler(ctx);
  const scope = fieldScope({ fields }, aggregateMisuse);
  const on = item.on ? c.compile(item.on, scope) : undefined;
  if (on) c.expectBoolean(on, item.on!);
  const predicate = c.build<(r: Row) => unknown>('r', `return ${on ? on.code : 'true'};`);
  if (left.kind === 'table' && right.kind === 'table') throw new SqlError('a join of two tables is not a stream; join a stream', item.pos);
  if (left.kind === 'table' || right.kind === 'table') return planTableJoin(item, left, right, fields, width, predicate, ctx);
  const windows = [joinWindow(left.window, ctx), joinWindow(right.window, ctx)] as [JoinWindow, JoinWindow];
  if (!left.window && !right.window) throw new SqlError('a join of two streams needs a window on at least one side, e.g. JOIN s OVER (RANGE INTERVAL \'1\' MINUTE PRECEDING) AS t', item.pos);
  const outer: [boolean, boolean] = [item.type === 'LEFT' || item.type === 'FULL', item.type === 'RIGHT' || item.type === 'FULL'];
  return {
    fields: outer[0] || outer[1] ? fields.map((f) => ({ ...f, nullable: true })) : fields,
    width,
    kind: 'stream',
    open(sink) {
      const join = new StreamJoin({ windows, outer, widths: [left.width, right.width], on: predicate, out: sink, errors: ctx.errors, pump: ctx.pump, heldMax: joinHeldRowsMax, horizon: ctx.horizon });
      left.open(join.inputs[0]);
      right.open(join.inputs[1]);
    },
  };
}

function joinWindow(spec: WindowSpec | undefined, ctx: PlanContext): JoinWindow {
  if (!spec) return { range: 0 };
  let s = spec;
  if (spec.base) {
    const named = ctx.windows?.get(spec.base.name);
    if (!named) throw new SqlError(`window '${spec.base.name}' is not defined in the WINDOW clause`, spec.base.pos);
    s = { ...named, ...(spec.frame ? { frame: spec.frame } : {}) };
  }
  if (s.partitionBy.length) throw new SqlError('a join window cannot have PARTITION BY', s.pos);
  const f = s.frame;
  if (!f || f.preceding === 'UNBOUNDED') throw new SqlError('a join window needs RANGE INTERVAL ... PRECEDING or ROWS n PRECEDING', s.pos);
  if (f.following) throw new SqlError('windows that end after the current row are not allowed on streams', f.pos);
  if (f.preceding === 'CURRENT') return f.unit === 'ROWS' ? { rows: 0 } : { range: 0 };
  const v = newCompiler(ctx).compile(f.preceding, { resolve: () => undefined, aggregateMisuse: '' });
  if (!v.constant) throw new SqlError('a window size must be a literal', f.pos);
  if (f.unit === 'RANGE') {
    if (v.type.kind !== 'INTERVAL_DS') throw new SqlError("RANGE needs an INTERVAL such as INTERVAL '1' MINUTE", f.pos);
    return { range: v.constant.value as number };
  }
  if (!Number.isInteger(v.constant.value) || (v.constant.value as number) < 0) throw new SqlError('ROWS needs a non-negative integer', f.pos);
  return { rows: v.constant.value as number };
}

function planTableJoin(item: Extract<FromItem, { kind: 'join' }>, left: Relation, right: Relation, fields: Field[], width: number, predicate: (r: Row) => unknown, ctx: PlanContext): Relation {
  const streamOnLeft = left.kind === 'stream';
  const [stream, table] = streamOnLeft ? [left, right] : [right, left];
  const preserved = item.type === 'LEFT' ? left : item.type === 'RIGHT' ? right : undefined;
  if (item.type === 'FULL' || (preserved && preserved !== stream)) throw new SqlError('an outer join with a reference table must keep the stream side (stream LEFT JOIN table)', item.pos);
  const isStreamField = (f: Field) => (streamOnLeft ? f.index < left.width : f.index >= left.width);
  const c = newCompiler(ctx);
  const sScope = fieldScope({ fields: stream.fields }, aggregateMisuse);
  const tScope = fieldScope({ fields: table.fields }, aggregateMisuse);
  const streamKeys: string[] = [];
  const tableKeys: string[] = [];
  for (const term of conjuncts(item.on)) {
    if (term.kind !== 'binary' || term.op !== '=') continue;
    for (const [a, b] of [[term.left, term.right], [term.right, term.left]] as const) {
      const s = onSide(a, sScope, c);
      const t = onSide(b, tScope, c);
      if (s && t && s.type.kind === t.type.kind) {
        streamKeys.push(s.code);
        tableKeys.push(t.code);
        break;
      }
    }
  }
  let index: Map<unknown, Row[]> | undefined;
  let streamKey: ((r: Row) => unknown) | undefined;
  if (streamKeys.length) {
    const key = (codes: string[]) => (codes.length === 1 ? codes[0]! : `h.compositeKey(${codes.join(', ')})`);
    streamKey = c.build<(r: Row) => unknown>('r', `return ${key(streamKeys)};`);
    const tableKey = c.build<(r: Row) => unknown>('r', `return ${key(tableKeys)};`);
    index = new Map();
    for (const row of table.rows ?? []) {
      const k = tableKey(row);
      if (k === null) continue;
      const list = index.get(k);
      if (list) list.push(row);
      else index.set(k, [row]);
    }
  }
  const outer = !!preserved;
  return {
    fields: outer ? fields.map((f) => (isStreamField(f) ? f : { ...f, nullable: true })) : fields,
    width,
    kind: 'stream',
    open(sink) {
      const op = new TableJoin({ streamOnLeft, outer, tableRows: table.rows ?? [], tableWidth: table.width, ...(index ? { index, streamKey: streamKey! } : {}), on: predicate, out: sink, errors: ctx.errors, pump: ctx.pump });
      stream.open(op);
    },
  };
}
