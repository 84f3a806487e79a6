/**
 * Turns parsed application code into the running graph: the source streams
 * of the inputs (`<NamePrefix>_001`...), the reference tables, error_stream,
 * the streams and functions the code creates, and one operator chain per
 * pump feeding its target stream. Checks names, column counts and types,
 * and refuses pumps that feed back into a stream they read.
 */
import type { Statement } from '../sql/ast.ts';
import type { Udf } from '../sql/compile-expr.ts';
import { SqlError } from '../sql/errors.ts';
import { T, typeFromSpec } from '../sql/types.ts';
import { InAppStream, type Column, type ErrorSink, type Horizon } from '../operators/stream.ts';
import type { PlanContext, ReferenceTableData } from './context.ts';
import { planQuery } from './plan-query.ts';

/** error_stream's columns (dev/error-handling.html, "Error Stream Schema"). */
export const errorStreamColumns: Column[] = [
  { name: 'ERROR_TIME', type: T.timestamp },
  { name: 'ERROR_LEVEL', type: T.varchar(10) },
  { name: 'ERROR_NAME', type: T.varchar(32) },
  { name: 'MESSAGE', type: T.varchar(4096) },
  { name: 'DATA_ROWTIME', type: T.timestamp },
  { name: 'DATA_ROW', type: T.varchar(49152) },
  { name: 'PUMP_NAME', type: T.varchar(128) },
];

export const errorStreamName = 'error_stream';

export interface ApplicationGraph {
  streams: Map<string, InAppStream>;
  tables: Map<string, ReferenceTableData>;
  pumps: Array<{ name: string; target: string; reads: string[] }>;
  errorStream: InAppStream;
}

export interface GraphOptions {
  sources: Array<{ name: string; columns: Column[] }>;
  tables: ReferenceTableData[];
  errors: ErrorSink;
  horizon: Horizon;
  now: () => number;
}

export function buildGraph(statements: Statement[], opts: GraphOptions): ApplicationGraph {
  const streams = new Map<string, InAppStream>();
  const errorStream = new InAppStream(errorStreamName, errorStreamColumns, 'error');
  streams.set(errorStreamName, errorStream);
  for (const s of opts.sources) streams.set(s.name, new InAppStream(s.name, s.columns, 'source'));
  const tables = new Map(opts.tables.map((t) => [t.name, t]));
  const udfs = new Map<string, Udf>();
  const views: PlanContext['views'] = new Map();
  const pumps: ApplicationGraph['pumps'] = [];
  const used = new Set<string>();
  for (const st of statements) {
    switch (st.kind) {
      case 'createStream': {
        const name = st.name.name;
        const existing = streams.get(name);
        if (existing && (existing.kind !== 'stream' || !st.orReplace || used.has(name))) throw new SqlError(`stream '${name}' already exists`, st.name.pos);
        if (tables.has(name) || views.has(name)) throw new SqlError(`'${name}' already names a ${tables.has(name) ? 'table' : 'view'}`, st.name.pos);
        const seen = new Set<string>();
        const columns = st.columns.map((c) => {
          if (seen.has(c.name.name)) throw new SqlError(`duplicate column '${c.name.name}'`, c.name.pos);
          if (c.name.name === 'ROWTIME') throw new SqlError('ROWTIME is a system column; it cannot be declared', c.name.pos);
          seen.add(c.name.name);
          return { name: c.name.name, type: typeFromSpec(c.type) };
        });
        streams.set(name, new InAppStream(name, columns, 'stream'));
        break;
      }
      case 'createView':
        if (streams.has(st.name.name) || tables.has(st.name.name) || (views.has(st.name.name) && !st.orReplace)) throw new SqlError(`'${st.name.name}' already exists`, st.name.pos);
        views.set(st.name.name, { query: st.query, ...(st.columns ? { columns: st.columns } : {}) });
        break;
      case 'createFunction': {
        if (udfs.has(st.name.name) && !st.orReplace) throw new SqlError(`function '${st.name.name}' already exists`, st.name.pos);
        udfs.set(st.name.name, { name: st.name.name, params: st.params.map((p) => ({ name: p.name.name, type: typeFromSpec(p.type) })), returns: typeFromSpec(st.returns), body: st.body });
        break;
      }
      case 'createPump': {
        if (pumps.some((p) => p.name === st.name.name) && !st.orReplace) throw new SqlError(`pump '${st.name.name}' already exists`, st.name.pos);
        const target = streams.get(st.target.name);
        if (!target) throw new SqlError(`stream '${st.target.name}' not found; create it with CREATE STREAM before the pump`, st.target.pos);
        if (target.kind !== 'stream') throw new SqlError(`a pump cannot insert into ${target.kind === 'error' ? 'error_stream' : `the source stream '${target.name}'`}`, st.target.pos);
        const ctx: PlanContext = { env: { udfs, now: opts.now }, streams, tables, views, errors: opts.errors, horizon: opts.horizon, pump: st.name.name, reads: new Set(), expanding: new Set() };
        const columns = st.columns ?? target.columns.map((c) => ({ name: c.name, quoted: true, pos: st.target.pos }));
        const targetCols = columns.map((id) => {
          const k = target.columns.findIndex((c) => c.name === id.name);
          if (k < 0) throw new SqlError(`column '${id.name}' not found in stream '${target.name}'`, id.pos);
          return k;
        });
        const rel = planQuery(st.query, ctx, { types: targetCols.map((k) => target.columns[k]!.type), names: targetCols.map((k) => target.columns[k]!.name) });
        const sink = target.producer();
        const full = targetCols.length !== target.columns.length || targetCols.some((k, i) => k !== i);
        rel.open(full ? reorder(sink, targetCols, target.columns.length) : sink);
        used.add(target.name);
        for (const r of ctx.reads) used.add(r);
        pumps.push({ name: st.name.name, target: target.name, reads: [...ctx.reads] });
        checkCycle(pumps, st);
        break;
      }
    }
  }
  return { streams, tables, pumps, errorStream };
}

/** Places a pump's columns into the target's positions; columns the pump does not name are NULL. */
function reorder(sink: ReturnType<InAppStream['producer']>, targetCols: number[], width: number) {
  return {
    push(row: unknown[]) {
      const out = new Array<unknown>(width + 1).fill(null);
      out[0] = row[0];
      targetCols.forEach((k, i) => (out[k + 1] = row[i + 1]));
      sink.push(out);
    },
    bound: (t: number) => sink.bound(t),
  };
}

function checkCycle(pumps: ApplicationGraph['pumps'], st: Extract<Statement, { kind: 'createPump' }>): void {
  const next = new Map<string, string[]>();
  for (const p of pumps) for (const r of p.reads) next.set(r, [...(next.get(r) ?? []), p.target]);
  const start = pumps[pumps.length - 1]!.target;
  const seen = new Set<string>();
  const stack: Array<[string, string[]]> = [[start, [start]]];
  while (stack.length) {
    const [node, path] = stack.pop()!;
    for (const n of next.get(node) ?? []) {
      if (n === start) throw new SqlError(`pump '${st.name.name}' makes a cycle: ${[...path, n].join(' -> ')}`, st.pos);
      if (!seen.has(n)) {
        seen.add(n);
        stack.push([n, [...path, n]]);
      }
    }
  }
}
