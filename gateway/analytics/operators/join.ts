/**
 * Joins (sqlref/sql-reference-join-clause.html, dev/stream-joins-concepts.html).
 *
 * `TableJoin`: each stream row against an in-application reference table,
 * through a hash index on the equality terms of ON when there are some;
 * LEFT keeps unmatched stream rows with NULLs for the table's columns.
 *
 * `StreamJoin`: two streams, each side holding the rows of its window (RANGE
 * INTERVAL ... PRECEDING, ROWS n PRECEDING, or only rows of the current
 * ROWTIME for a side without a window). An arriving row meets the other
 * side's rows in that side's window; the result's ROWTIME is the arriving
 * (later) row's. A row of an outer side that met nothing by the time it
 * leaves its window is emitted with NULLs, at the time it leaves.
 */
import { SqlRuntimeError } from '../sql/errors.ts';
import { BoundMerger, type ErrorSink, type Horizon, type Row, type Sink } from './stream.ts';

export type JoinPredicate = (combined: Row) => unknown;

export class TableJoin implements Sink {
  private readonly nulls: Row;

  constructor(
    private readonly opts: {
      streamOnLeft: boolean;
      outer: boolean;
      tableRows: Row[];
      tableWidth: number;
      /** Hash index of table rows by their key, with the stream row's key function; absent when ON has no equality term. */
      index?: Map<unknown, Row[]>;
      streamKey?: (r: Row) => unknown;
      on: JoinPredicate;
      out: Sink;
      errors: ErrorSink;
      pump: string;
    },
  ) {
    this.nulls = new Array<unknown>(opts.tableWidth).fill(null);
  }

  private combine(s: Row, t: Row): Row {
    const out = [s[0]];
    const [a, b] = this.opts.streamOnLeft ? [s, t] : [t, s];
    for (let k = 1; k < a.length; k++) out.push(a[k]);
    for (let k = 1; k < b.length; k++) out.push(b[k]);
    return out;
  }

  push(r: Row): void {
    const o = this.opts;
    try {
      const candidates = o.index ? (o.index.get(o.streamKey!(r)) ?? []) : o.tableRows;
      let matched = false;
      for (const t of candidates) {
        const row = this.combine(r, t);
        if (o.on(row) === true) {
          matched = true;
          o.out.push(row);
        }
      }
      if (!matched && o.outer) o.out.push(this.combine(r, this.nulls));
    } catch (err) {
      if (!(err instanceof SqlRuntimeError)) throw err;
      o.errors({ errorName: err.errorName, message: err.message, rowtime: r[0] as number, data: r, pump: o.pump });
    }
  }

  bound(t: number): void {
    this.opts.out.bound(t);
  }
}

/** A side's window: RANGE (ms preceding; 0 = only the current ROWTIME) or ROWS (count preceding). */
export type JoinWindow = { range: number } | { rows: number };

interface Held {
  row: Row;
  matched: boolean;
}

export interface StreamJoinOptions {
  windows: [JoinWindow, JoinWindow];
  outer: [boolean, boolean];
  widths: [number, number];
  on: JoinPredicate;
  out: Sink;
  errors: ErrorSink;
  pump: string;
  /** Caps the rows one side holds. */
  heldMax: number;
  horizon: Horizon;
}

export class StreamJoin {
  private readonly held: [Held[], Held[]] = [[], []];
  private readonly merger: BoundMerger;
  readonly inputs: [Sink, Sink];

  constructor(private readonly o: StreamJoinOptions) {
    this.merger = new BoundMerger(2, (t) => this.onBound(t));
    this.inputs = [0, 1].map((side) => ({ push: (r: Row) => this.arrive(side, r), bound: (t: number) => this.merger.bound(side, t) })) as [Sink, Sink];
  }

  private combine(side: number, mine: Row | null, theirs: Row | null, rowtime: number): Row {
    const [l, r] = side === 0 ? [mine, theirs] : [theirs, mine];
    const out: Row = [rowtime];
    const push = (x: Row | null, width: number) => {
      for (let k = 1; k < width; k++) out.push(x ? x[k] : null);
    };
    push(l, this.o.widths[0]);
    push(r, this.o.widths[1]);
    return out;
  }

  /** True if `h` (on side `other`) is inside that side's window as seen from time t. */
  private inWindow(other: number, h: Held, t: number, position: number, count: number): boolean {
    const w = this.o.windows[other]!;
    if ('range' in w) return (h.row[0] as number) >= t - w.range;
    return count - position <= w.rows + 1;
  }

  private arrive(side: number, r: Row): void {
    const other = 1 - side;
    const t = r[0] as number;
    const mine: Held = { row: r, matched: false };
    const theirs = this.held[other]!;
    try {
      for (let k = 0; k < theirs.length; k++) {
        const h = theirs[k]!;
        if (!this.inWindow(other, h, t, k, theirs.length)) continue;
        const row = this.combine(side, r, h.row, t);
        if (this.o.on(row) === true) {
          h.matched = true;
          mine.matched = true;
          this.o.out.push(row);
        }
      }
    } catch (err) {
      if (!(err instanceof SqlRuntimeError)) throw err;
      this.o.errors({ errorName: err.errorName, message: err.message, rowtime: t, data: r, pump: this.o.pump });
      return;
    }
    const mineHeld = this.held[side]!;
    mineHeld.push(mine);
    this.needExpiry();
    const w = this.o.windows[side]!;
    if ('rows' in w) while (mineHeld.length > w.rows + 1) this.expire(side, mineHeld.shift()!, t);
    if (mineHeld.length > this.o.heldMax) this.expire(side, mineHeld.shift()!, t);
  }

  private expire(side: number, h: Held, rowtime: number): void {
    if (!h.matched && this.o.outer[side]) this.o.out.push(this.combine(side, h.row, null, rowtime));
  }

  private onBound(t: number): void {
    // Rows leave their window once the bound passes it; unmatched outer rows are emitted in time order.
    const leaving: Array<{ side: number; h: Held; at: number }> = [];
    for (const side of [0, 1]) {
      const w = this.o.windows[side]!;
      if (!('range' in w)) continue;
      const held = this.held[side]!;
      let n = 0;
      while (n < held.length && (t === Infinity || (held[n]!.row[0] as number) + w.range < t)) n++;
      for (const h of held.splice(0, n)) leaving.push({ side, h, at: (h.row[0] as number) + w.range });
    }
    if (t === Infinity) for (const side of [0, 1]) for (const h of this.held[side]!.splice(0)) leaving.push({ side, h, at: h.row[0] as number });
    leaving.sort((a, b) => a.at - b.at);
    for (const x of leaving) this.expire(x.side, x.h, x.at);
    this.needExpiry();
    this.o.out.bound(t);
  }

  /** The next bound at which a held row leaves its RANGE window. */
  private needExpiry(): void {
    for (const side of [0, 1]) {
      const w = this.o.windows[side]!;
      const first = this.held[side]![0];
      if ('range' in w && first) this.o.horizon.need((first.row[0] as number) + w.range + 1);
    }
  }
}
