/**
 * The replay checkpoint: where a run stands, rewritten (write, rename; with
 * `sync`, fsync too) before every request that sends new records, so that the
 * same command after Ctrl-C or kill -9 sends each record once.
 *
 * Records are named by ordinal (their position in the source's repeatable
 * order). Each lane (one sender, one request in flight) owns the records
 * whose partition key hashes to it, and its state is:
 *
 * - `taken`: every record of the lane below this ordinal is settled, except
 *   those in `window`;
 * - `window`: the request being sent, as `retry` (records carried over from
 *   the previous request, in order) followed by the lane's records in
 *   `[from, to)`, under idempotency batch number `batch`. After a crash the
 *   same records are collected again and sent under the same number, so the
 *   gateway answers from memory instead of storing them twice.
 *
 * A record is settled when the target accepted it or it went to the rejects
 * file. The file also holds the rejects file's length (truncated back to it
 * on resume: a reject written after the checkpoint is written again), the
 * target's state (a file target's length), and the counters of the summary.
 */
import fs from 'node:fs';
import { writeFileAtomic } from '../sdk/fs/atomic-file.ts';
import { TributaryError } from '../sdk/protocol/errors.ts';

export interface LaneWindow {
  batch: number;
  retry: number[];
  from: number;
  to: number;
}

export interface LaneState {
  /** The last idempotency batch number used by this lane. */
  lastBatch: number;
  taken: number;
  window: LaneWindow | null;
}

export interface Counters {
  /** Records the target accepted. */
  sent: number;
  /** Data bytes of those. */
  sentBytes: number;
  /** Records written to the rejects file. */
  rejected: number;
  /** Records sent again after a throttle or a failed request. */
  retried: number;
  throttled: number;
  requests: number;
}

export interface CheckpointDoc {
  v: 1;
  /** Identifies the command: source, target and the options that shape requests. A different command refuses the file. */
  fingerprint: string;
  /** Random per run (with the lane, the idempotency producer id). */
  runId: string;
  startedAt: string;
  finished: boolean;
  sourceState: unknown;
  targetState: unknown;
  lanes: LaneState[];
  /** Every ordinal below this was read, and its reject (if any) written. */
  scanned: number;
  rejectsBytes: number;
  counters: Counters;
  /** Wall time spent in earlier runs (for the summary's rate). */
  elapsedMs: number;
}

export const emptyCounters = (): Counters => ({ sent: 0, sentBytes: 0, rejected: 0, retried: 0, throttled: 0, requests: 0 });

export function readCheckpoint(file: string): CheckpointDoc | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let doc: CheckpointDoc;
  try {
    doc = JSON.parse(text) as CheckpointDoc;
  } catch (err) {
    throw new TributaryError('REPLAY_CHECKPOINT_DAMAGED', `checkpoint ${file} is not valid JSON; move it away to start over`, { cause: err });
  }
  if (doc?.v !== 1 || !Array.isArray(doc.lanes) || !Number.isSafeInteger(doc.scanned)) {
    throw new TributaryError('REPLAY_CHECKPOINT_DAMAGED', `checkpoint ${file} is not a replay checkpoint of this version; move it away to start over`);
  }
  return doc;
}

/** The lowest ordinal a lane has not settled (where a resumed read must start for it). */
export function laneLowWater(l: LaneState): number {
  if (!l.window) return l.taken;
  return Math.min(l.window.from, ...l.window.retry);
}

/**
 * Group commit of the checkpoint: callers mark it dirty and await `save()`;
 * one write covers every caller that arrived while the previous one ran.
 */
export class CheckpointWriter {
  private writing: Promise<void> | undefined;
  private again = false;
  writes = 0;

  constructor(private readonly file: string, private readonly snapshot: () => CheckpointDoc, private readonly sync: boolean) {}

  save(): Promise<void> {
    if (!this.writing) {
      this.writing = this.loop();
      return this.writing;
    }
    this.again = true;
    return this.writing;
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        // The snapshot is taken when the write starts: it holds every change made before.
        await writeFileAtomic(this.file, JSON.stringify(this.snapshot()), { sync: this.sync });
        this.writes++;
      } while (this.again);
    } finally {
      this.writing = undefined;
    }
  }
}
