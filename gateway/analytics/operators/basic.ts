/**
 * Stateless operators: a fused WHERE + select list (`MapOperator`), and
 * UNION ALL, which merges two inputs and forwards the lower of their bounds.
 */
import { SqlRuntimeError } from '../sql/errors.ts';
import { BoundMerger, type ErrorSink, type Row, type Sink } from './stream.ts';

/** Applies a generated row function: a new row, or null to drop the row (WHERE false). */
export class MapOperator implements Sink {
  constructor(
    private readonly fn: (r: Row) => Row | null,
    private readonly out: Sink,
    private readonly errors: ErrorSink,
    private readonly pump: string,
  ) {}

  push(r: Row): void {
    let row: Row | null;
    try {
      row = this.fn(r);
    } catch (err) {
      if (!(err instanceof SqlRuntimeError)) throw err;
      this.errors({ errorName: err.errorName, message: err.message, rowtime: r[0] as number, data: r, pump: this.pump });
      return;
    }
    if (row !== null) this.out.push(row);
  }

  bound(t: number): void {
    this.out.bound(t);
  }
}

/** The two inputs of a UNION ALL (or any fan-in): rows pass through, bounds merge. */
export function unionInputs(out: Sink, count: number): Sink[] {
  const merger = new BoundMerger(count, (t) => out.bound(t));
  return Array.from({ length: count }, (_, k) => ({
    push: (r: Row) => out.push(r),
    bound: (t: number) => merger.bound(k, t),
  }));
}
