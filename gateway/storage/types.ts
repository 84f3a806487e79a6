/**
 * The storage interfaces the services are written against. `local` (the
 * embedded default) implements them on the filesystem; other back ends
 * (JetStream) implement the same contract and pass the same tests.
 */

/** A record as the shard log keeps it. `flags` is opaque to the log (the service uses it for encryption). */
export interface StoredRecord {
  counter: number;
  arrivalMs: number;
  flags: number;
  partitionKey: string;
  data: Buffer;
}

export interface AppendEntry {
  partitionKey: string;
  data: Buffer;
  flags: number;
}

export interface AppendResult {
  /** Counter of the first entry; the rest follow consecutively. */
  firstCounter: number;
  /** Arrival time stamped on every entry of the batch. */
  arrivalMs: number;
  /** Resolves when the entries are durable under the fsync policy (and readable). */
  durable: Promise<void>;
}

export interface ReadOptions {
  /** At most this many records. */
  limit: number;
  /** Stop before exceeding this many data bytes (at least one record is returned). */
  bytesMax: number;
  /** Skip records that arrived before this time (retention horizon). */
  arrivalMsMin: number;
}

export interface ReadResult {
  records: StoredRecord[];
  /** Where the next read continues. */
  nextCounter: number;
}

/** One shard's ordered, durable record log. */
export interface ShardLog {
  /** The counter the next appended record gets. */
  readonly nextCounter: number;
  /** Records with a counter below this are durable and readable. */
  readonly durableCounter: number;
  /** Arrival time of the newest durable record (0 when empty). */
  readonly lastArrivalMs: number;
  /** Appends in order; counters and arrival time are assigned synchronously. */
  append(entries: AppendEntry[]): AppendResult;
  read(fromCounter: number, options: ReadOptions): Promise<ReadResult>;
  /** The first counter whose record arrived at or after `ms` (`nextCounter` when none). */
  counterAtTime(ms: number): Promise<number>;
  /** The oldest counter still stored. */
  firstCounter(): number;
  /** Drops whole segments whose newest record arrived before `ms`. */
  trimBefore(ms: number): Promise<number>;
  /** Waits for pending writes, then closes files. */
  close(): Promise<void>;
  /** Closes and deletes all of the shard's data. */
  destroy(): Promise<void>;
}

export type FsyncPolicy = { kind: 'always' } | { kind: 'interval'; intervalMs: number } | { kind: 'never' };

export function parseFsyncPolicy(text: string): FsyncPolicy | undefined {
  if (text === 'always' || text === 'never') return { kind: text };
  const m = /^interval:(\d{1,7})$/.exec(text);
  if (m && Number(m[1]) > 0) return { kind: 'interval', intervalMs: Number(m[1]) };
  return undefined;
}

/** The metadata store: small documents, written atomically. */
export interface MetadataStore<T> {
  load(): Promise<T | undefined>;
  save(doc: T): Promise<void>;
}
