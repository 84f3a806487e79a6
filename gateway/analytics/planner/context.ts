/**
 * What the planner of one pump's query can see: the application's streams,
 * reference tables, views and functions, where errors go, and the pump's
 * name for error_stream's PUMP_NAME.
 */
import type { Ident, Query, WindowSpec } from '../sql/ast.ts';
import { ExprCompiler, type CompileEnv } from '../sql/compile-expr.ts';
import type { Column, ErrorSink, Horizon, InAppStream, Row } from '../operators/stream.ts';

export interface ReferenceTableData {
  name: string;
  columns: Column[];
  rows: Row[];
}

export interface PlanContext {
  env: CompileEnv;
  streams: Map<string, InAppStream>;
  tables: Map<string, ReferenceTableData>;
  views: Map<string, { query: Query; columns?: Ident[] }>;
  errors: ErrorSink;
  /** Where operators report when they next need the rowtime bound. */
  horizon: Horizon;
  pump: string;
  /** Streams this pump reads, for the cycle check. */
  reads: Set<string>;
  /** Named windows of the SELECT being planned (WINDOW w AS (...)), for `FROM s OVER w`. */
  windows?: Map<string, WindowSpec>;
  /** Views being expanded, to refuse a view that reads itself. */
  expanding: Set<string>;
}

/** A compiler for one generated function (each has its own constants and scratch variables). */
export const newCompiler = (ctx: PlanContext) => new ExprCompiler(ctx.env);
