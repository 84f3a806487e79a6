/**
 * In-application streams and the two calls every operator answers.
 *
 * A row is an array whose element 0 is its ROWTIME (ms since the epoch) and
 * whose elements 1.. are the stream's columns in order. Rows reach a sink in
 * ROWTIME order. `bound(t)` promises that no row with ROWTIME below `t` will
 * follow: windows ending at or before `t` close then. The engine always
 * raises the bound to a row's ROWTIME before it pushes the row, and every
 * operator emits rows whose ROWTIME lies between the bound it had and the
 * bound it was just given, so streams fed by several pumps stay in order.
 * An operator with two inputs (UNION ALL, a join) forwards the lower of its
 * inputs' bounds.
 */
import type { SqlType } from '../sql/types.ts';

export type Row = unknown[];

export interface Sink {
  push(row: Row): void;
  bound(t: number): void;
}

export interface Column {
  name: string;
  type: SqlType;
  /** Left out of `SELECT *` (APPROXIMATE_ARRIVAL_TIME of a source stream). */
  hidden?: boolean;
}

/** What an operator reports when a row fails: error_stream gets a row from it. */
export interface ErrorReport {
  errorName: string;
  message: string;
  /** ROWTIME of the row that failed. */
  rowtime: number | null;
  /** The failed row's data: record bytes for input errors, the row's values otherwise. */
  data: Uint8Array | Row | null;
  pump: string | null;
}

export type ErrorSink = (e: ErrorReport) => void;

export class InAppStream implements Sink {
  private readonly sinks: Sink[] = [];
  private lastBound = -Infinity;
  /** Bounds of the pumps that insert into this stream; the stream is as far as the slowest. */
  private readonly producerBounds: number[] = [];
  lastRowtime = -Infinity;
  rowsIn = 0;

  constructor(
    readonly name: string,
    readonly columns: Column[],
    readonly kind: 'source' | 'stream' | 'error',
  ) {}

  subscribe(sink: Sink): () => void {
    this.sinks.push(sink);
    return () => {
      const k = this.sinks.indexOf(sink);
      if (k >= 0) this.sinks.splice(k, 1);
    };
  }

  get subscriberCount(): number {
    return this.sinks.length;
  }

  get producerCount(): number {
    return this.producerBounds.length;
  }

  /** The sink a pump inserts through: its rows go straight in, its bound counts toward the stream's. */
  producer(): Sink {
    const k = this.producerBounds.push(-Infinity) - 1;
    return {
      push: (row) => this.push(row),
      bound: (t) => {
        if (t <= this.producerBounds[k]!) return;
        const bounds = this.producerBounds;
        bounds[k] = t;
        let low = bounds[0]!;
        for (let j = 1; j < bounds.length; j++) if (bounds[j]! < low) low = bounds[j]!;
        this.advance(low);
      },
    };
  }

  push(row: Row): void {
    const t = row[0] as number;
    // Rows are in order by construction; a row behind the stream (a ROWTIME
    // set by the query) is moved up to the stream's time.
    if (t < this.lastRowtime) row[0] = this.lastRowtime;
    else this.lastRowtime = t;
    this.rowsIn++;
    const sinks = this.sinks;
    for (let k = 0; k < sinks.length; k++) sinks[k]!.push(row);
  }

  /** The engine's bound, for streams no pump writes (source streams, and streams left without a pump). */
  bound(t: number): void {
    if (this.producerBounds.length === 0) this.advance(t);
  }

  private advance(t: number): void {
    if (t <= this.lastBound) return;
    this.lastBound = t;
    const sinks = this.sinks;
    for (let k = 0; k < sinks.length; k++) sinks[k]!.bound(t);
  }
}

/**
 * The next time at which any operator acts on a rowtime bound (a window
 * closing, an outer join row expiring). The engine raises the bound through
 * the graph only when time reaches it, so rows in between cost no bound
 * calls. Operators report each deadline they take on with `need(t)`, during
 * push or bound; an operator that must see every bound needs the current
 * time.
 */
export class Horizon {
  at = -Infinity;
  need(t: number): void {
    if (t < this.at) this.at = t;
  }
}

/** Forwards the lower bound of several inputs (UNION ALL of two queries, joins). */
export class BoundMerger {
  private readonly bounds: number[];
  private sent = -Infinity;

  constructor(
    inputs: number,
    private readonly out: (t: number) => void,
  ) {
    this.bounds = new Array<number>(inputs).fill(-Infinity);
  }

  bound(input: number, t: number): void {
    if (t <= this.bounds[input]!) return;
    this.bounds[input] = t;
    const low = Math.min(...this.bounds);
    if (low > this.sent) {
      this.sent = low;
      this.out(low);
    }
  }
}
