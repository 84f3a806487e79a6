/**
 * The in-memory index of one video stream's visible fragments, shared by the
 * fragment log backends: lookups by number and timestamp, and the
 * subscription and wait primitives live playback and GetMedia tailing use.
 *
 * Fragment numbers: AWS's are 47-digit decimal strings that increase with
 * ingestion order. Ours are a fixed 13-digit prefix and a 34-digit value,
 * value = max(previous + 1, server time in ms x 1000): unique and increasing
 * across restarts even if the last fragments before a crash were lost, and
 * equal-length so that string order is number order.
 */
import type { FragmentMeta, FragmentTimestampKind } from './types.ts';

const numberPrefix = '9134385233318';
const numberValueDigits = 34;
/** Every fragment number has this many digits. */
export const fragmentNumberLength = numberPrefix.length + numberValueDigits;

export function formatFragmentNumber(value: number): string {
  return numberPrefix + String(value).padStart(numberValueDigits, '0');
}

/** The value of one of our fragment numbers, or undefined for any other string. */
export function parseFragmentNumber(text: string): number | undefined {
  if (text.length !== fragmentNumberLength || !text.startsWith(numberPrefix) || !/^\d+$/.test(text)) return undefined;
  const value = Number(text.slice(numberPrefix.length));
  return Number.isSafeInteger(value) ? value : undefined;
}

/** The value the next fragment gets after `last` when the server clock reads `serverMs`. */
export function nextFragmentValue(last: number, serverMs: number): number {
  return Math.max(last + 1, Math.floor(serverMs) * 1000);
}

export interface IndexEntry<L> {
  value: number;
  meta: FragmentMeta;
  /** Where the backend keeps the media. */
  location: L;
}

export class FragmentIndex<L> {
  private entries: IndexEntry<L>[] = [];
  private metas: FragmentMeta[] = [];
  private readonly listeners = new Set<(meta: FragmentMeta) => void>();
  private closed = false;

  get size(): number {
    return this.entries.length;
  }

  /** The newest value ever indexed, or 0. */
  lastValue = 0;

  list(): readonly FragmentMeta[] {
    return this.metas;
  }

  all(): readonly IndexEntry<L>[] {
    return this.entries;
  }

  /** Adds a fragment that just became visible and tells the subscribers. */
  add(entry: IndexEntry<L>): void {
    if (entry.value <= this.lastValue && this.entries.length > 0) throw new Error(`fragment values must increase (${entry.value} after ${this.lastValue})`);
    this.entries.push(entry);
    this.metas.push(entry.meta);
    this.lastValue = Math.max(this.lastValue, entry.value);
    for (const l of [...this.listeners]) l(entry.meta);
  }

  /** Notes a value seen on disk that is not visible (a lost tail), so numbers never repeat. */
  noteValue(value: number): void {
    this.lastValue = Math.max(this.lastValue, value);
  }

  entry(fragmentNumber: string): IndexEntry<L> | undefined {
    const value = parseFragmentNumber(fragmentNumber);
    if (value === undefined) return undefined;
    const i = this.lowerBound(value);
    const e = this.entries[i];
    return e && e.value === value ? e : undefined;
  }

  find(fragmentNumber: string): FragmentMeta | undefined {
    return this.entry(fragmentNumber)?.meta;
  }

  next(fragmentNumber: string | undefined): FragmentMeta | undefined {
    if (fragmentNumber === undefined) return this.entries[0]?.meta;
    const value = parseFragmentNumber(fragmentNumber);
    if (value === undefined) return undefined;
    const i = this.lowerBound(value + 1);
    return this.entries[i]?.meta;
  }

  range(kind: FragmentTimestampKind, startMs: number, endMs: number): FragmentMeta[] {
    const field = kind === 'SERVER_TIMESTAMP' ? 'ServerTimestamp' : 'ProducerTimestamp';
    return this.metas.filter((m) => m[field] >= startMs && m[field] <= endMs);
  }

  subscribe(listener: (meta: FragmentMeta) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  waitForNext(fragmentNumber: string | undefined, signal?: AbortSignal): Promise<FragmentMeta | undefined> {
    if (fragmentNumber !== undefined) {
      const ready = this.next(fragmentNumber);
      if (ready) return Promise.resolve(ready);
    }
    if (this.closed || signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const done = (meta: FragmentMeta | undefined) => {
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        this.closeWaiters.delete(onAbort);
        resolve(meta);
      };
      const onAbort = () => done(undefined);
      const unsubscribe = this.subscribe((meta) => done(meta));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.closeWaiters.add(onAbort);
    });
  }

  private readonly closeWaiters = new Set<() => void>();

  /** Ends every wait (the log is closing). */
  close(): void {
    this.closed = true;
    for (const w of [...this.closeWaiters]) w();
    this.listeners.clear();
  }

  /** Removes the oldest entries while `drop` says so; returns them. */
  dropWhile(drop: (e: IndexEntry<L>) => boolean): IndexEntry<L>[] {
    let n = 0;
    while (n < this.entries.length && drop(this.entries[n]!)) n++;
    if (n === 0) return [];
    this.metas = this.metas.slice(n);
    return this.entries.splice(0, n);
  }

  private lowerBound(value: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid]!.value < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
