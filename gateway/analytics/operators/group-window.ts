/**
 * Windowed aggregation operators: tumbling windows (a streaming GROUP BY on a
 * monotonic expression, dev/tumbling-window-concepts.html) and stagger
 * windows (WINDOWED BY STAGGER, dev/stagger-window-concepts.html).
 *
 * Tumbling: every group of the current window is emitted, in the order the
 * groups first appeared, when the window closes, that is when a row or a
 * rowtime bound reaches the window's end (STEP/FLOOR of ROWTIME), or, for a
 * window on another monotonic column, when a row's window value moves on.
 * The output ROWTIME is the window's end.
 *
 * Stagger: each partition key opens its own window at the ROWTIME of its
 * first row; the window closes RANGE later and is emitted with that ROWTIME.
 */
import { SqlRuntimeError } from '../sql/errors.ts';
import type { ErrorSink, Horizon, Row, Sink } from './stream.ts';

export interface Group {
  close?: number;
  [field: string]: unknown;
}

/** Generated code for one GROUP BY: the per-row update and the per-group output. */
export interface GroupFns {
  groups: Map<unknown, Group>;
  /** Finds or creates the row's group and folds the row into its accumulators; returns the group. */
  update(r: Row): Group;
  /** The output row for a closed group (after HAVING and the select list), or null when HAVING rejects it. */
  emit(g: Group, rowtime: number, window: unknown): Row | null;
}

export interface TumblingDriver {
  /** The window value of a row (STEP(ROWTIME BY ...), FLOOR(EVENT_TIME TO MINUTE), ...). */
  value(r: Row): unknown;
  /** For windows on ROWTIME: the bound at which the window with this value closes, and the ROWTIME its rows get. */
  closeAt?(v: unknown): number;
  endRowtime?(v: unknown): number;
  /** For other functions of ROWTIME alone: the window value at time t. */
  atTime?(t: number): unknown;
}

/** Caps the groups one window holds, so that a runaway key cannot exhaust memory. */
export const windowGroupsMax = 1_000_000;

export class TumblingWindow implements Sink {
  private current: unknown = undefined;
  private open = false;
  private lastRowtime = -Infinity;
  /** The bound that closes the current window (a ROWTIME window with a known end). */
  private closeAt = -Infinity;

  constructor(
    private readonly fns: GroupFns,
    private readonly driver: TumblingDriver,
    private readonly out: Sink,
    private readonly errors: ErrorSink,
    private readonly pump: string,
    private readonly horizon: Horizon,
  ) {}

  private opened(w: unknown, t: number): void {
    this.current = w;
    this.open = true;
    const d = this.driver;
    if (d.closeAt) {
      this.closeAt = d.closeAt(w);
      this.horizon.need(this.closeAt);
    } else if (d.atTime) this.horizon.need(t);
  }

  push(r: Row): void {
    // A row before the end of the open ROWTIME window belongs to it: no need to compute its window.
    if ((r[0] as number) < this.closeAt) {
      this.lastRowtime = r[0] as number;
      try {
        this.fns.update(r);
      } catch (err) {
        this.fail(err, r);
      }
      return;
    }
    let w: unknown;
    try {
      w = this.driver.value(r);
    } catch (err) {
      return this.fail(err, r);
    }
    if (!this.open) this.opened(w, r[0] as number);
    else if (w !== this.current) {
      if (w !== null && this.current !== null && (w as number) < (this.current as number)) {
        this.errors({ errorName: 'Row_Out_Of_Order', message: `row belongs to a window that has already closed`, rowtime: r[0] as number, data: r, pump: this.pump });
        return;
      }
      this.flush(this.driver.endRowtime ? this.driver.endRowtime(this.current) : (r[0] as number));
      this.opened(w, r[0] as number);
    }
    this.lastRowtime = r[0] as number;
    try {
      this.fns.update(r);
    } catch (err) {
      this.fail(err, r);
    }
  }

  bound(t: number): void {
    if (this.open) {
      const d = this.driver;
      if (d.closeAt) {
        if (t >= this.closeAt) this.closeCurrent(d.endRowtime!(this.current));
        else this.horizon.need(this.closeAt);
      } else if (d.atTime) {
        if (t !== Infinity && d.atTime(t) !== this.current) this.closeCurrent(t);
        else if (t === Infinity) this.closeCurrent(this.lastRowtime);
        else this.horizon.need(t);
      } else if (t === Infinity) this.closeCurrent(this.lastRowtime);
    }
    this.out.bound(t);
  }

  private closeCurrent(rowtime: number): void {
    this.flush(rowtime);
    this.open = false;
    this.current = undefined;
    this.closeAt = -Infinity;
  }

  private flush(rowtime: number): void {
    const { groups, emit } = this.fns;
    for (const g of groups.values()) {
      let row: Row | null;
      try {
        row = emit(g, rowtime, this.current);
      } catch (err) {
        this.fail(err, [rowtime]);
        continue;
      }
      if (row) this.out.push(row);
    }
    groups.clear();
  }

  private fail(err: unknown, r: Row): void {
    if (!(err instanceof SqlRuntimeError)) throw err;
    this.errors({ errorName: err.errorName, message: err.message, rowtime: r[0] as number, data: r, pump: this.pump });
  }
}

export class StaggerWindow implements Sink {
  /** Open windows in the order they close (they open in ROWTIME order and all last `rangeMs`). */
  private readonly queue: Group[] = [];
  private head = 0;

  constructor(
    private readonly fns: GroupFns,
    private readonly rangeMs: number,
    private readonly out: Sink,
    private readonly errors: ErrorSink,
    private readonly pump: string,
    private readonly horizon: Horizon,
  ) {}

  push(r: Row): void {
    let g: Group;
    try {
      g = this.fns.update(r);
    } catch (err) {
      if (!(err instanceof SqlRuntimeError)) throw err;
      this.errors({ errorName: err.errorName, message: err.message, rowtime: r[0] as number, data: r, pump: this.pump });
      return;
    }
    if (g.close === undefined) {
      g.close = (r[0] as number) + this.rangeMs;
      this.queue.push(g);
      this.horizon.need(g.close);
    }
  }

  bound(t: number): void {
    const q = this.queue;
    while (this.head < q.length && q[this.head]!.close! <= t) this.emitGroup(q[this.head++]!);
    if (t === Infinity) while (this.head < q.length) this.emitGroup(q[this.head++]!);
    if (this.head > 1024 && this.head * 2 > q.length) {
      q.splice(0, this.head);
      this.head = 0;
    }
    if (this.head < q.length) this.horizon.need(q[this.head]!.close!);
    this.out.bound(t);
  }

  private emitGroup(g: Group): void {
    this.fns.groups.delete(g.key);
    let row: Row | null;
    try {
      row = this.fns.emit(g, g.close!, undefined);
    } catch (err) {
      if (!(err instanceof SqlRuntimeError)) throw err;
      this.errors({ errorName: err.errorName, message: err.message, rowtime: g.close!, data: null, pump: this.pump });
      return;
    }
    if (row) this.out.push(row);
  }
}
