/**
 * The durable replay position of one destination: the first unacknowledged
 * byte, plus the next sequence number of every source (so numbering survives
 * the deletion of the segments that held a source's last records). Written
 * atomically: write a temporary file, fsync, rename, fsync the directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from './segment.ts';

export const checkpointFileName = 'checkpoint.json';

export interface Checkpoint {
  /** Segment id of the first unacknowledged record. */
  segment: number;
  /** Byte offset of the first unacknowledged record in that segment. */
  offset: number;
  /** Records of that segment before `offset`. */
  index: number;
  nextSeq: Record<string, number>;
  /**
   * Newest-first catch-up (see CatchUpSplit): absent when the buffer is read
   * front to back. A checkpoint without it is read by older agents too (they
   * then resend the live part: duplicates, never a loss).
   */
  split?: CatchUpSplit;
}

/**
 * A catch-up in progress: records in segments from `segment` on (the "live"
 * part) are read by a second cursor, `live`, ahead of the older ones (the
 * "backlog" part, from the replay position up to `segment`).
 */
export interface CatchUpSplit {
  /** First segment of the live part: the segment started when the catch-up began. */
  segment: number;
  /** The live cursor: the first unacknowledged record of the live part. */
  live: { segment: number; offset: number; index: number };
}

function splitOf(v: unknown): CatchUpSplit | undefined | false {
  if (v === undefined) return undefined;
  const s = v as Partial<CatchUpSplit>;
  const l = s?.live;
  const ints = [s?.segment, l?.segment, l?.offset, l?.index];
  if (!ints.every((n) => Number.isSafeInteger(n) && n! >= 0) || l!.segment < s.segment!) return false;
  return { segment: s.segment!, live: { segment: l!.segment, offset: l!.offset, index: l!.index } };
}

export type CheckpointRead =
  | { kind: 'none' }
  | { kind: 'ok'; checkpoint: Checkpoint }
  | { kind: 'damaged'; reason: string };

export function readCheckpoint(dir: string): CheckpointRead {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, checkpointFileName), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    return { kind: 'damaged', reason: String(err) };
  }
  try {
    const doc = JSON.parse(text) as Partial<Checkpoint> & { v?: number };
    const ints = [doc.segment, doc.offset, doc.index];
    if (doc.v !== 1 || !ints.every((n) => Number.isSafeInteger(n) && n! >= 0) || typeof doc.nextSeq !== 'object' || doc.nextSeq === null) {
      return { kind: 'damaged', reason: 'checkpoint fields missing or invalid' };
    }
    const split = splitOf(doc.split);
    if (split === false) return { kind: 'damaged', reason: 'checkpoint split fields invalid' };
    return { kind: 'ok', checkpoint: { segment: doc.segment!, offset: doc.offset!, index: doc.index!, nextSeq: doc.nextSeq, ...(split ? { split } : {}) } };
  } catch (err) {
    return { kind: 'damaged', reason: `checkpoint is not JSON: ${String(err)}` };
  }
}

/**
 * Synchronous on purpose: checkpoints are written by ack and by drop-oldest,
 * and doing both in program order means an older position can never be
 * renamed over a newer one. The file is tiny; the cost is one fsync per ack.
 */
export function writeCheckpoint(dir: string, cp: Checkpoint, onNoSpace?: (err: Error) => boolean): void {
  writeFileAtomicSync(path.join(dir, checkpointFileName), JSON.stringify({ v: 1, ...cp }), { ...(onNoSpace ? { onNoSpace } : {}) });
}
