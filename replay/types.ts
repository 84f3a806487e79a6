/**
 * What flows through a replay: sources yield items in a fixed order (the
 * same order on every run, which is what lets a checkpoint name records by
 * their ordinal, their position in that order), targets take records.
 */

/** A record on its way to the target. Data stays base64: most sources read it so and every target writes it so. */
export interface ReplayRecord {
  /** Position in the source's order, from 0 (bad items count too). */
  ordinal: number;
  data64: string;
  dataBytes: number;
  partitionKey: string;
  explicitHashKey?: string;
  /** The record's original time (arrival for stream records, capture for device records), epoch ms: pacing and file output. */
  timeMs?: number;
  /** The device's capture time, when the source knew it (agent buffers and their exports). */
  capturedAtMs?: number;
  sequenceNumber?: string;
  /** Agent records: the input that made it and its per-source number. */
  source?: string;
  seq?: number;
}

export type SourceRecord = Omit<ReplayRecord, 'ordinal'>;

export type SourceItem =
  | { kind: 'record'; record: SourceRecord }
  /** Undecodable input: counted, written to the rejects file with `raw` (truncated), never sent. */
  | { kind: 'bad'; reason: string; raw: string }
  /** Skipped by the source on request (ordinals below a resume point): counted as an ordinal only. */
  | { kind: 'skipped' };

export interface ReplaySource {
  /** For messages and the summary. */
  readonly description: string;
  /** State that makes the order repeatable on resume (resolved time bounds, the object list); saved in the checkpoint. */
  readonly state: unknown;
  /** Input bytes in all, when known (progress and ETA). */
  readonly totalBytes: number | undefined;
  /** Input bytes consumed so far. */
  readonly bytesRead: number;
  /**
   * The items in order. The first `skip` items may be yielded as `skipped`
   * without decoding them: the run resumes past them.
   */
  items(skip: number): AsyncIterable<SourceItem>;
  close?(): Promise<void> | void;
}

/** What a target said about one record of a batch. */
export type Outcome = { kind: 'ok' } | { kind: 'retry'; reason: string } | { kind: 'rejected'; reason: string };

export interface ReplayTarget {
  readonly description: string;
  /** Independent senders; a partition key always uses the same one. */
  readonly lanes: number;
  readonly batchRecordsMax: number;
  /** Data plus partition key bytes per request, as the target's API counts them. */
  readonly batchBytesMax: number;
  /** Why a record can never go to this target (too large), or undefined. */
  problem(r: ReplayRecord): string | undefined;
  /** Whether a resumed run stores each record once (idempotent keys or truncation); false: at least once. */
  readonly exactlyOnce: boolean;
  /** Target state for the checkpoint (a file's length); taken just before a window is sent. */
  state(): unknown;
  /**
   * Sends one batch; `batch` numbers a lane's requests (the same number again
   * means the same request, resent). Resolves with one outcome per record,
   * or throws: a `RetryableError` is retried with the same number, anything
   * else stops the run.
   */
  send(lane: number, batch: number, records: ReplayRecord[]): Promise<Outcome[]>;
  close(): Promise<void> | void;
}

export class RetryableError extends Error {
  override name = 'RetryableError';
  constructor(message: string, readonly throttled: boolean, options?: { cause?: unknown }) {
    super(message, options);
  }
}
