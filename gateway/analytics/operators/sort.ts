/**
 * ORDER BY on a stream (sqlref/sql-reference-order-by-clause.html): the first
 * key must be a monotonic expression of ROWTIME, such as
 * FLOOR(s.ROWTIME TO SECOND); rows are held while it keeps its value and
 * then come out sorted by the other keys, all with the ROWTIME at which the
 * period closed, so the stream stays in ROWTIME order. (The anomaly
 * detection examples sort each second's rows by ANOMALY_SCORE DESC this way.)
 */
import type { TumblingDriver } from './group-window.ts';
import type { Horizon, Row, Sink } from './stream.ts';

/** Most rows one period holds before they are emitted unsorted-at-the-tail. */
export const sortRowsMax = 1_000_000;

export class SortOperator implements Sink {
  private buffer: Row[] = [];
  private current: unknown = undefined;
  private lastRowtime = -Infinity;

  constructor(
    private readonly driver: TumblingDriver,
    private readonly compare: (a: Row, b: Row) => number,
    private readonly out: Sink,
    private readonly horizon: Horizon,
  ) {}

  private needBound(t: number): void {
    if (this.buffer.length === 0) return;
    if (this.driver.closeAt) this.horizon.need(this.driver.closeAt(this.current));
    else if (this.driver.atTime) this.horizon.need(t);
  }

  push(r: Row): void {
    const v = this.driver.value(r);
    if (this.buffer.length > 0 && v !== this.current) this.flush(this.driver.endRowtime ? this.driver.endRowtime(this.current) : (r[0] as number));
    this.current = v;
    this.lastRowtime = r[0] as number;
    this.buffer.push(r);
    if (this.buffer.length >= sortRowsMax) this.flush(this.lastRowtime);
    this.needBound(r[0] as number);
  }

  bound(t: number): void {
    if (this.buffer.length > 0) {
      const d = this.driver;
      if (t === Infinity) this.flush(d.endRowtime ? d.endRowtime(this.current) : this.lastRowtime);
      else if (d.closeAt ? t >= d.closeAt(this.current) : d.atTime ? d.atTime(t) !== this.current : false) this.flush(d.endRowtime ? d.endRowtime(this.current) : t);
    }
    this.needBound(t);
    this.out.bound(t);
  }

  private flush(rowtime: number): void {
    const rows = this.buffer;
    this.buffer = [];
    rows.sort(this.compare);
    for (const r of rows) {
      r[0] = Math.max(rowtime, r[0] as number);
      this.out.push(r);
    }
  }
}
