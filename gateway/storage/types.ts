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

/**
 * Records already laid out as the local shard log's frames
 * (local/record-codec.ts), with flags, counter, arrival time and CRC still to
 * stamp: record i's frame is `frames[frameOff[i], frameOff[i + 1])` and
 * `tailCrc[i]` is the CRC-32C of its bytes after the frame header (partition
 * key and data). The offload workers build them, so that the main thread
 * neither copies nor sums a record's bytes.
 */
export interface RecordFramesView {
  frames: Buffer;
  frameOff: Int32Array;
  tailCrc: Uint32Array;
}

export interface AppendResult {
  /** Counter of the first entry; the rest follow consecutively. */
  firstCounter: number;
  /** Arrival time stamped on every entry of the batch. */
  arrivalMs: number;
  /**
   * Resolves when the entries are durable under the fsync policy (and
   * readable). When it rejects, the error's `durableCount` (see
   * `durableCountOf`) says how many of the first entries are durable anyway,
   * each at the counter `append` gave it; the others may or may not have
   * been stored, so a caller that retries them may store them twice
   * (Kinesis's at-least-once delivery allows it).
   */
  durable: Promise<void>;
}

/** How many of a failed append's first entries are durable: the `durableCount` its error carries, else none. */
export function durableCountOf(err: unknown, entries: number): number {
  const n = (err as { durableCount?: unknown } | null)?.durableCount;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? Math.min(n, entries) : 0;
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

/**
 * Records as they lie in the local shard log's files (record-codec.ts frames,
 * CRC checked): record i's frame starts at `at[i]` of `chunks[chunkOf[i]]`.
 * GetRecords writes its answer straight from these, with no object per record.
 */
export interface FramesRead {
  count: number;
  chunks: Buffer[];
  chunkOf: Int32Array;
  at: Int32Array;
  nextCounter: number;
}

/** One shard's ordered, durable record log. */
export interface ShardLog {
  /**
   * Other gateway processes append to this log too (nats): `nextCounter` and
   * `durableCounter` are this process's view, moved on by reads, so a reader
   * that waits for new records must read rather than compare counters.
   */
  readonly shared?: boolean;
  /** The counter the next appended record gets. */
  readonly nextCounter: number;
  /** Records with a counter below this are durable and readable. */
  readonly durableCounter: number;
  /** Arrival time of the newest durable record (0 when empty). */
  readonly lastArrivalMs: number;
  /** Appends in order; counters and arrival time are assigned synchronously. */
  append(entries: AppendEntry[]): AppendResult;
  /**
   * The same as `append` for the records `order` lists (indices into
   * `frames`), in that order, each with `flags`: no object per record, and
   * the frames are stamped in place and written as they are, so the caller
   * must leave those bytes alone until `durable` settles. Optional: the
   * write path falls back to `append` without it (a backend that stores
   * another format).
   */
  appendFrames?(frames: RecordFramesView, order: Int32Array, flags: number): AppendResult;
  read(fromCounter: number, options: ReadOptions): Promise<ReadResult>;
  /** The same records as `read`, as checked frames (a backend that stores the local frame layout). Optional. */
  readFrames?(fromCounter: number, options: ReadOptions): Promise<FramesRead>;
  /** The first counter whose record arrived at or after `ms` (`nextCounter` when none). */
  counterAtTime(ms: number): Promise<number>;
  /** The oldest counter still stored. */
  firstCounter(): number;
  /**
   * The stream's retention changed: a backend that expires records by itself
   * (JetStream's `max_age`) must keep them at least this long from now on.
   * Backends whose records go only through `trimBefore` do not implement it.
   */
  setRetentionMs?(ms: number): Promise<void>;
  /**
   * Refuses every later append, also from other gateway processes sharing
   * the log (a shard closed by a split or merge), and resolves with the
   * counter after the last record stored. Backends written by one process
   * only do not implement it (the caller stops appending).
   */
  seal?(): Promise<number>;
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
  /**
   * A shared store (JetStream KV) hands `listener` every document another
   * gateway process stores, in order with this store's saves; a save taken
   * before such a change was applied fails with METADATA_CONFLICT. Optional:
   * a store only this process writes has nothing to watch.
   */
  watch?(listener: (doc: T | undefined) => Promise<void>, onError: (err: unknown) => void): Promise<void>;
  /** After a failed save: hands the watch listener the stored document again. */
  resync?(): Promise<void>;
  /** Ends the watch. */
  stop?(): void;
}

/*
 * Video fragments (the blob store role for Kinesis Video Streams).
 *
 * Contract for the video services (ingest, GetMedia, ListFragments, HLS/DASH,
 * GetClip, GetImages):
 * - A fragment is one MKV Cluster as a producer sent it in PutMedia. The store
 *   keeps, per fragment, its metadata (`FragmentMeta`, the wire shape of
 *   ListFragments' Fragment with timestamps in epoch milliseconds) and its media
 *   as MKV bytes: the producer session's stream header (EBML header, Segment
 *   start of unknown size, Info, Tracks — exactly as received) and the Cluster.
 *   `header` followed by `cluster` is a complete MKV document that ffmpeg and
 *   our MkvReader read as is.
 * - The stored Cluster has a known size and its Timecode is absolute producer
 *   time in the header's TimecodeScale units (the ingest rewrites RELATIVE
 *   timecodes), so a packager gets absolute producer time from the bytes alone;
 *   `ProducerTimestamp` is the same instant in milliseconds.
 * - A fragment becomes visible (find, range, read, subscribe) only once it is
 *   durable under the fsync policy, so nothing a reader saw can vanish in a crash.
 * - Fragment numbers are decimal strings of one length per store, increasing in
 *   ingestion order, so string order is number order.
 * - Backends: `local` (segment files per stream, gateway/storage/local/fragment-log.ts)
 *   and, for streams with DataRetentionInHours 0, a bounded in-memory log of the
 *   most recent fragments (served live only, as AWS does). A NATS backend will
 *   keep one Object Store object per fragment and the index in KV.
 */

/** A fragment's metadata: ListFragments' Fragment, timestamps in epoch milliseconds. */
export interface FragmentMeta {
  FragmentNumber: string;
  ProducerTimestamp: number;
  ServerTimestamp: number;
  FragmentLengthInMilliseconds: number;
  /** Bytes of the stored media (stream header and Cluster). */
  FragmentSizeInBytes: number;
}

/** A fragment's media as MKV: `header` then `cluster` is a playable document. */
export interface FragmentMedia {
  meta: FragmentMeta;
  /** EBML header, Segment start, Info and Tracks of the producer session. */
  header: Uint8Array;
  /** The Cluster (known size), Timecode absolute in the header's TimecodeScale units. */
  cluster: Uint8Array;
}

/** What the ingest hands the store for one complete fragment. */
export interface FragmentAppend {
  header: Uint8Array;
  cluster: Uint8Array;
  producerMs: number;
  serverMs: number;
  durationMs: number;
}

export type FragmentTimestampKind = 'PRODUCER_TIMESTAMP' | 'SERVER_TIMESTAMP';

/** One video stream's fragments, in ingestion order. */
export interface FragmentLog {
  /**
   * Stores a fragment: its number is assigned at once; `durable` resolves when
   * it is on disk under the fsync policy, and only then do readers see it.
   */
  append(fragment: FragmentAppend): { meta: FragmentMeta; durable: Promise<void> };
  /** Visible fragments, oldest first (a snapshot; do not modify). */
  list(): readonly FragmentMeta[];
  /** The visible fragment with this number. */
  find(fragmentNumber: string): FragmentMeta | undefined;
  /** The first visible fragment after `fragmentNumber` (after none: the oldest). */
  next(fragmentNumber: string | undefined): FragmentMeta | undefined;
  /** Visible fragments whose timestamp of `kind` lies in [startMs, endMs], oldest first. */
  range(kind: FragmentTimestampKind, startMs: number, endMs: number): FragmentMeta[];
  /** The media of a visible fragment (undefined once retention removed it). */
  read(fragmentNumber: string): Promise<FragmentMedia | undefined>;
  /** Calls `listener` with each fragment that becomes visible from now on; returns the unsubscribe function. */
  subscribe(listener: (meta: FragmentMeta) => void): () => void;
  /** Resolves with the first visible fragment after `fragmentNumber` (after none: the next to arrive), or undefined when `signal` aborts or the log closes. */
  waitForNext(fragmentNumber: string | undefined, signal?: AbortSignal): Promise<FragmentMeta | undefined>;
  /** Drops fragments that arrived (server time) before `ms`; returns how many went. */
  trimBefore(ms: number): Promise<number>;
  close(): Promise<void>;
  /** Closes and deletes every fragment of the stream. */
  destroy(): Promise<void>;
}

/** Opens the fragment logs of video streams; `key` is stable for a stream's lifetime (name and creation time). */
export interface FragmentStore {
  /** `keyId` names the at-rest encryption key; `persist: false` keeps only recent fragments in memory (retention 0). */
  open(key: string, options: { keyId: string; persist: boolean }): Promise<FragmentLog>;
  close(): Promise<void>;
}
