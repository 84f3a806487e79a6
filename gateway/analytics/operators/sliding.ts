/**
 * Sliding windows: analytic functions `agg(x) OVER w`
 * (dev/sliding-window-concepts.html, sqlref/sql-reference-window-clause.html).
 * Every input row produces one output row; each analytic value is computed
 * over the rows of the row's partition that lie in its window, which ends at
 * the current row: RANGE INTERVAL 'n' unit PRECEDING holds rows whose ROWTIME
 * is at most n before the current row's (both ends inclusive), ROWS n
 * PRECEDING the current row and the n before it.
 *
 * COUNT, SUM, AVG, VAR/STDDEV are kept incrementally (add on arrival, remove
 * on expiry), MIN and MAX with monotonic queues; FIRST_VALUE, LAST_VALUE,
 * NTH_VALUE, LAG read the window's rows; EXP_AVG weighs them by age.
 */
import { SqlRuntimeError } from '../sql/errors.ts';
import type { ErrorSink, Horizon, Row, Sink } from './stream.ts';

export type Frame = { kind: 'range'; ms: number } | { kind: 'rows'; n: number };

/** One analytic call's computation over a partition. */
export interface AnalyticSpec {
  name: string;
  /** Index of the call's value in an entry's value array; -1 for COUNT(*). */
  slot: number;
  /** Integer results (AVG of an integer type truncates). */
  integer: boolean;
  /** LAG's N and default, NTH_VALUE's n. */
  n?: number;
  fallback?: unknown;
  ignoreNulls?: boolean;
  fromLast?: boolean;
  /** EXP_AVG's half-life in ms. */
  halfLifeMs?: number;
}

interface State {
  add(v: unknown, seq: number): void;
  remove(v: unknown, seq: number): void;
}

class SumState implements State {
  sum = 0;
  n = 0;
  sq = 0;
  add(v: unknown): void {
    if (v === null) return;
    this.sum += v as number;
    this.sq += (v as number) * (v as number);
    this.n++;
  }
  remove(v: unknown): void {
    if (v === null) return;
    this.sum -= v as number;
    this.sq -= (v as number) * (v as number);
    this.n--;
  }
}

class ExtremeState implements State {
  private readonly seqs: number[] = [];
  private readonly vals: unknown[] = [];
  private head = 0;
  constructor(private readonly max: boolean) {}
  add(v: unknown, seq: number): void {
    if (v === null) return;
    while (this.vals.length > this.head && (this.max ? (this.vals[this.vals.length - 1] as number) <= (v as number) : (this.vals[this.vals.length - 1] as number) >= (v as number))) {
      this.vals.pop();
      this.seqs.pop();
    }
    this.vals.push(v);
    this.seqs.push(seq);
  }
  remove(_v: unknown, seq: number): void {
    if (this.head < this.seqs.length && this.seqs[this.head] === seq) this.head++;
    if (this.head > 64 && this.head * 2 > this.seqs.length) {
      this.seqs.splice(0, this.head);
      this.vals.splice(0, this.head);
      this.head = 0;
    }
  }
  get value(): unknown {
    return this.head < this.vals.length ? this.vals[this.head] : null;
  }
}

const noState: State = { add() {}, remove() {} };

function newState(spec: AnalyticSpec): State {
  switch (spec.name) {
    case 'COUNT':
    case 'SUM':
    case 'AVG':
    case 'VAR_POP':
    case 'VAR_SAMP':
    case 'VARIANCE':
    case 'STDDEV':
    case 'STDDEV_POP':
    case 'STDDEV_SAMP':
      return new SumState();
    case 'MIN':
      return new ExtremeState(false);
    case 'MAX':
      return new ExtremeState(true);
    default:
      return noState;
  }
}

/** The rows of one partition's window, oldest first, in ring buffers: their times, sequence numbers and per-slot values. */
class Partition {
  private cap = 8;
  private mask = 7;
  private start = 0;
  size = 0;
  private times = new Float64Array(8);
  private seqs = new Float64Array(8);
  private cols: unknown[][];
  private seq = 0;
  readonly states: State[];

  constructor(specs: AnalyticSpec[], slots: number) {
    this.states = specs.map(newState);
    this.cols = Array.from({ length: slots }, () => new Array<unknown>(8).fill(null));
  }

  /** Time of the i-th oldest row. */
  time(i: number): number {
    return this.times[(this.start + i) & this.mask]!;
  }

  newest(): number {
    return this.size > 0 ? this.time(this.size - 1) : -Infinity;
  }

  /** Value in `slot` of the i-th oldest row. */
  value(slot: number, i: number): unknown {
    return this.cols[slot]![(this.start + i) & this.mask];
  }

  evictFront(specs: AnalyticSpec[]): void {
    const at = this.start;
    const seq = this.seqs[at]!;
    for (let k = 0; k < specs.length; k++) {
      const slot = specs[k]!.slot;
      this.states[k]!.remove(slot < 0 ? 1 : this.cols[slot]![at], seq);
    }
    for (let c = 0; c < this.cols.length; c++) this.cols[c]![at] = null;
    this.start = (at + 1) & this.mask;
    this.size--;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const times = new Float64Array(cap);
    const seqs = new Float64Array(cap);
    const cols = this.cols.map(() => new Array<unknown>(cap).fill(null));
    for (let i = 0; i < this.size; i++) {
      const from = (this.start + i) & this.mask;
      times[i] = this.times[from]!;
      seqs[i] = this.seqs[from]!;
      for (let c = 0; c < cols.length; c++) cols[c]![i] = this.cols[c]![from];
    }
    this.times = times;
    this.seqs = seqs;
    this.cols = cols;
    this.cap = cap;
    this.mask = cap - 1;
    this.start = 0;
  }

  add(t: number, v: unknown[], specs: AnalyticSpec[]): void {
    if (this.size === this.cap) this.grow();
    const at = (this.start + this.size) & this.mask;
    const seq = this.seq++;
    this.times[at] = t;
    this.seqs[at] = seq;
    for (let c = 0; c < this.cols.length; c++) this.cols[c]![at] = v[c];
    this.size++;
    for (let k = 0; k < specs.length; k++) {
      const slot = specs[k]!.slot;
      this.states[k]!.add(slot < 0 ? 1 : v[slot], seq);
    }
  }
}

function result(spec: AnalyticSpec, state: State, p: Partition, now: number): unknown {
  const s = state as SumState;
  const last = p.size - 1;
  switch (spec.name) {
    case 'COUNT':
      return s.n;
    case 'SUM':
      return s.n === 0 ? null : s.sum;
    case 'AVG':
      return s.n === 0 ? null : spec.integer ? Math.trunc(s.sum / s.n) : s.sum / s.n;
    case 'MIN':
    case 'MAX':
      return (state as ExtremeState).value;
    case 'VAR_POP':
    case 'STDDEV_POP': {
      if (s.n === 0) return null;
      const v = Math.max(0, (s.sq - (s.sum * s.sum) / s.n) / s.n);
      return spec.name === 'VAR_POP' ? v : Math.sqrt(v);
    }
    case 'VAR_SAMP':
    case 'VARIANCE':
    case 'STDDEV':
    case 'STDDEV_SAMP': {
      if (s.n < 2) return null;
      const v = Math.max(0, (s.sq - (s.sum * s.sum) / s.n) / (s.n - 1));
      return spec.name.startsWith('VAR') ? v : Math.sqrt(v);
    }
    case 'FIRST_VALUE':
      return p.value(spec.slot, 0);
    case 'LAST_VALUE':
      return p.value(spec.slot, last);
    case 'NTH_VALUE': {
      const n = spec.n!;
      if (n < 1 || n > p.size) return null;
      return p.value(spec.slot, spec.fromLast ? last + 1 - n : n - 1);
    }
    case 'LAG': {
      let need = spec.n!;
      if (need === 0) return p.value(spec.slot, last);
      for (let k = last - 1; k >= 0; k--) {
        const v = p.value(spec.slot, k);
        if (spec.ignoreNulls && v === null) continue;
        if (--need === 0) return v;
      }
      return spec.fallback ?? null;
    }
    case 'EXP_AVG': {
      let num = 0;
      let den = 0;
      for (let k = 0; k <= last; k++) {
        const v = p.value(spec.slot, k);
        if (v === null) continue;
        const w = 0.5 ** ((now - p.time(k)) / spec.halfLifeMs!);
        num += w * (v as number);
        den += w;
      }
      return den === 0 ? null : num / den;
    }
    case 'ANY':
    case 'SOME':
    case 'EVERY': {
      let out: boolean | null = null;
      for (let k = 0; k <= last; k++) {
        const v = p.value(spec.slot, k) as boolean | null;
        if (v === null) continue;
        out = spec.name === 'EVERY' ? (out ?? true) && v : (out ?? false) || v;
      }
      return out;
    }
  }
  return null;
}

/** Caps the partitions of one window. */
export const windowPartitionsMax = 1_000_000;

export interface WindowPlan {
  frame: Frame;
  /** The row's partition key. */
  key(r: Row): unknown;
  /** Writes the analytic calls' argument values for a row into `out`. */
  values(r: Row, out: unknown[]): void;
  /** Number of value slots. */
  slots: number;
  specs: AnalyticSpec[];
  /** Where each call's result goes in the results array the select list reads. */
  outSlots: number[];
}

export class SlidingWindows implements Sink {
  private readonly parts: Array<Map<unknown, Partition>>;
  private readonly scratch: unknown[][];
  private readonly results: unknown[];
  private lastSweep = -Infinity;
  private readonly widest: number;

  constructor(
    private readonly windows: WindowPlan[],
    resultCount: number,
    /** The select list over the input row `r` and the analytic results `a`. */
    private readonly next: (r: Row, a: unknown[]) => Row | null,
    private readonly out: Sink,
    private readonly errors: ErrorSink,
    private readonly pump: string,
    private readonly horizon: Horizon,
  ) {
    this.parts = windows.map(() => new Map());
    this.scratch = windows.map((w) => new Array<unknown>(w.slots).fill(null));
    this.results = new Array<unknown>(resultCount).fill(null);
    this.widest = Math.max(0, ...windows.map((w) => (w.frame.kind === 'range' ? w.frame.ms : 0)));
  }

  push(r: Row): void {
    const t = r[0] as number;
    try {
      for (let w = 0; w < this.windows.length; w++) this.compute(w, r, t);
      const row = this.next(r, this.results);
      if (row !== null) this.out.push(row);
    } catch (err) {
      if (!(err instanceof SqlRuntimeError)) throw err;
      this.errors({ errorName: err.errorName, message: err.message, rowtime: t, data: r, pump: this.pump });
    }
  }

  private compute(w: number, r: Row, t: number): void {
    const win = this.windows[w]!;
    const key = win.key(r);
    const vals = this.scratch[w]!;
    win.values(r, vals);
    const parts = this.parts[w]!;
    let p = parts.get(key);
    if (p === undefined) {
      if (parts.size >= windowPartitionsMax) throw new SqlRuntimeError('Function_Error', `more than ${windowPartitionsMax} partitions in one window`);
      p = new Partition(win.specs, win.slots);
      parts.set(key, p);
    }
    const f = win.frame;
    if (f.kind === 'range') {
      const edge = t - f.ms;
      while (p.size > 0 && p.time(0) < edge) p.evictFront(win.specs);
    } else while (p.size > f.n) p.evictFront(win.specs);
    p.add(t, vals, win.specs);
    const specs = win.specs;
    for (let k = 0; k < specs.length; k++) this.results[win.outSlots[k]!] = result(specs[k]!, p.states[k]!, p, t);
  }

  bound(t: number): void {
    // Partitions whose rows have all left their RANGE window are dropped, so idle keys do not hold memory.
    if (this.widest > 0 && t !== Infinity && t - this.lastSweep > this.widest) {
      this.lastSweep = t;
      this.windows.forEach((win, w) => {
        if (win.frame.kind !== 'range') return;
        const edge = t - win.frame.ms;
        for (const [key, p] of this.parts[w]!) if (p.newest() < edge) this.parts[w]!.delete(key);
      });
    }
    if (this.widest > 0 && t !== Infinity) this.horizon.need(this.lastSweep + this.widest + 1);
    this.out.bound(t);
  }
}
