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
import type { ErrorSink, Row, Sink } from './stream.ts';

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

/** The rows of one partition's window, oldest first. */
class Partition {
  times: number[] = [];
  seqs: number[] = [];
  vals: unknown[][] = [];
  head = 0;
  seq = 0;
  readonly states: State[];

  constructor(specs: AnalyticSpec[]) {
    this.states = specs.map(newState);
  }

  get size(): number {
    return this.times.length - this.head;
  }

  newest(): number {
    return this.times.length > this.head ? this.times[this.times.length - 1]! : -Infinity;
  }

  evictFront(specs: AnalyticSpec[]): void {
    const v = this.vals[this.head]!;
    const seq = this.seqs[this.head]!;
    for (let k = 0; k < specs.length; k++) this.states[k]!.remove(specs[k]!.slot < 0 ? 1 : v[specs[k]!.slot], seq);
    this.vals[this.head] = undefined as unknown as unknown[];
    this.head++;
    if (this.head > 256 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.seqs = this.seqs.slice(this.head);
      this.vals = this.vals.slice(this.head);
      this.head = 0;
    }
  }

  add(t: number, v: unknown[], specs: AnalyticSpec[]): void {
    const seq = this.seq++;
    this.times.push(t);
    this.seqs.push(seq);
    this.vals.push(v);
    for (let k = 0; k < specs.length; k++) this.states[k]!.add(specs[k]!.slot < 0 ? 1 : v[specs[k]!.slot], seq);
  }
}

function result(spec: AnalyticSpec, state: State, p: Partition, now: number): unknown {
  const s = state as SumState;
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
      return p.vals[p.head]![spec.slot];
    case 'LAST_VALUE':
      return p.vals[p.vals.length - 1]![spec.slot];
    case 'NTH_VALUE': {
      const n = spec.n!;
      if (n < 1 || n > p.size) return null;
      return p.vals[spec.fromLast ? p.vals.length - n : p.head + n - 1]![spec.slot];
    }
    case 'LAG': {
      let need = spec.n!;
      for (let k = p.vals.length - 2; k >= p.head; k--) {
        const v = p.vals[k]![spec.slot];
        if (spec.ignoreNulls && v === null) continue;
        if (--need === 0) return v;
      }
      return spec.fallback ?? null;
    }
    case 'EXP_AVG': {
      let num = 0;
      let den = 0;
      for (let k = p.head; k < p.vals.length; k++) {
        const v = p.vals[k]![spec.slot];
        if (v === null) continue;
        const w = 0.5 ** ((now - p.times[k]!) / spec.halfLifeMs!);
        num += w * (v as number);
        den += w;
      }
      return den === 0 ? null : num / den;
    }
    case 'ANY':
    case 'SOME':
    case 'EVERY': {
      let out: boolean | null = null;
      for (let k = p.head; k < p.vals.length; k++) {
        const v = p.vals[k]![spec.slot] as boolean | null;
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
  /** Partition key and the analytic calls' argument values for a row: [key, v0, v1, ...]. */
  extract(r: Row): [unknown, ...unknown[]];
  specs: AnalyticSpec[];
  /** Where each call's result goes in the extended row. */
  outSlots: number[];
}

export class SlidingWindows implements Sink {
  private readonly parts: Array<Map<unknown, Partition>>;
  private lastSweep = -Infinity;
  private readonly widest: number;

  constructor(
    private readonly windows: WindowPlan[],
    private readonly width: number,
    private readonly extra: number,
    private readonly next: (ext: Row) => Row | null,
    private readonly out: Sink,
    private readonly errors: ErrorSink,
    private readonly pump: string,
  ) {
    this.parts = windows.map(() => new Map());
    this.widest = Math.max(0, ...windows.map((w) => (w.frame.kind === 'range' ? w.frame.ms : 0)));
  }

  push(r: Row): void {
    const t = r[0] as number;
    const ext = r.slice(0, this.width);
    ext.length = this.width + this.extra;
    try {
      for (let w = 0; w < this.windows.length; w++) this.compute(w, r, t, ext);
      const row = this.next(ext);
      if (row !== null) this.out.push(row);
    } catch (err) {
      if (!(err instanceof SqlRuntimeError)) throw err;
      this.errors({ errorName: err.errorName, message: err.message, rowtime: t, data: r, pump: this.pump });
    }
  }

  private compute(w: number, r: Row, t: number, ext: Row): void {
    const win = this.windows[w]!;
    const [key, ...vals] = win.extract(r);
    const parts = this.parts[w]!;
    let p = parts.get(key);
    if (p === undefined) {
      if (parts.size >= windowPartitionsMax) throw new SqlRuntimeError('Function_Error', `more than ${windowPartitionsMax} partitions in one window`);
      p = new Partition(win.specs);
      parts.set(key, p);
    }
    const f = win.frame;
    if (f.kind === 'range') while (p.size > 0 && p.times[p.head]! < t - f.ms) p.evictFront(win.specs);
    else while (p.size > f.n) p.evictFront(win.specs);
    p.add(t, vals, win.specs);
    for (let k = 0; k < win.specs.length; k++) ext[win.outSlots[k]!] = result(win.specs[k]!, p.states[k]!, p, t);
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
    this.out.bound(t);
  }
}
