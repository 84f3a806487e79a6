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
    return { kind: 'ok', checkpoint: { segment: doc.segment!, offset: doc.offset!, index: doc.index!, nextSeq: doc.nextSeq } };
  } catch (err) {
    return { kind: 'damaged', reason: `checkpoint is not JSON: ${String(err)}` };
  }
}

/**
 * Synchronous on purpose: checkpoints are written by ack and by drop-oldest,
 * and doing both in program order means an older position can never be
 * renamed over a newer one. The file is tiny; the cost is one fsync per ack.
 */
export function writeCheckpoint(dir: string, cp: Checkpoint): void {
  writeFileAtomicSync(path.join(dir, checkpointFileName), JSON.stringify({ v: 1, ...cp }));
}
