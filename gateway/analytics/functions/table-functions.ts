/**
 * Table functions over a cursor: `TABLE(fn(CURSOR(SELECT STREAM ...), ...))`.
 * Each entry checks its literal arguments against the cursor's columns at
 * compile time and returns the output columns and an operator factory.
 */
import type { Expr } from '../sql/ast.ts';
import type { SourcePos } from '../sql/errors.ts';
import type { SqlType } from '../sql/types.ts';
import type { Column, ErrorSink, Sink } from '../operators/stream.ts';
import type { Relation } from '../planner/scope.ts';

export interface TableFunctionArgs {
  call: Extract<Expr, { kind: 'call' }>;
  /** The cursor's relation: its fields are the input columns. */
  input: Relation;
  /** Literal arguments after the cursor. */
  args: Array<{ value: unknown; type: SqlType; pos: SourcePos }>;
}

export interface PlannedTableFunction {
  columns: Column[];
  operator(out: Sink, errors: ErrorSink, pump: string): Sink;
}

export interface TableFunction {
  plan(a: TableFunctionArgs): PlannedTableFunction;
}

export const tableFunctions: Record<string, TableFunction> = {};
