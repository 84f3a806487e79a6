/**
 * The uplink's send state, written down before every round of requests so
 * that a restarted agent resends exactly the requests a crash interrupted,
 * under the same idempotency keys, and the gateway answers them from memory
 * instead of storing their records twice.
 *
 * What is written (version 2, one file per destination):
 * - `from`: the first record of the region, the run of records the uplink has
 *   read from the buffer and not yet settled (by source and per-source
 *   sequence number, which the buffer keeps unique). Every record before it in
 *   the buffer is settled, even if the buffer's own checkpoint lags behind
 *   (acks are lazy: this file is the truth).
 * - `map`: the lanes the region's records were split into (lanes.ts), so the
 *   same records fall into the same lanes after a restart.
 * - per lane, which of its records in the region the gateway accepted (or the
 *   dead-letter file took), as runs, and the request planned and not yet
 *   answered: its batch number and which records it carries (the `count`
 *   unsettled records of the lane from its `first`-th record on, checked by
 *   the ids of the first and last).
 * Positions are counted per lane from `from`, not stored per record: the file
 * stays a few hundred bytes whatever the region holds.
 *
 * A batch number is used for one request body only: it changes whenever an
 * answer changes what is left to send, and stays when the request got no
 * answer. Version 1 files (agents before lanes: one window at the front of
 * the buffer, sent under the producer id without a lane number) are read and
 * finished under their own key first.
 *
 * Written with write + fdatasync + rename + directory fsync; a torn or
 * damaged file reads as "nothing in flight" (records are then sent under new
 * keys: at worst a duplicate, never a loss).
 */
import fs from 'node:fs';
import { writeFileAtomic } from '../../sdk/fs/atomic-file.ts';

export type DoneRuns = Array<[done: boolean, count: number]>;

/** How a request's records were planned into entries: a resend must plan the same body. */
export interface PlanParams {
  aggregate: boolean;
  batchRecordsMax: number;
  batchBytesMax: number;
}

export interface StoredRequest {
  batch: number;
  plan: PlanParams;
  /** Index, among the lane's records from `from`, of the request's first record. */
  first: number;
  /** The request carries the lane's first `count` unsettled records from `first` on. */
  count: number;
  firstId: string;
  lastId: string;
}

export interface StoredLane {
  runs: DoneRuns;
  request?: StoredRequest;
}

export interface IntentState {
  /** The last batch number used (every lane numbers from this one counter, so each lane's numbers increase). */
  lastBatch: number;
  /** Lane starts as decimal hash keys (lanes.ts). */
  map: string[];
  /** Newest-first: the buffer part the region belongs to. */
  part: 'backlog' | 'live';
  /** `<source>#<seq>` of the region's first record; absent when the region is empty. */
  from?: string;
  /** The region is a version 1 window: its one lane sends under the bare producer id. */
  legacy?: boolean;
  /** Read from a version 1 file: the window's ids (its first ones may be acked already). Never written. */
  v1Ids?: string[];
  lanes: StoredLane[];
}

export function recordId(r: { source: string; seq: number }): string {
  return `${r.source}#${r.seq}`;
}

export function readIntent(file: string): IntentState | undefined {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== 'object' || !Number.isSafeInteger(doc.lastBatch)) return undefined;
  const lastBatch = doc.lastBatch as number;
  if (doc.v === 1) return fromVersion1(lastBatch, doc.window);
  if (doc.v !== 2) return undefined;
  return validState(doc) ? (doc as unknown as IntentState) : { lastBatch, map: [], part: 'backlog', lanes: [] };
}

function validRuns(v: unknown): v is DoneRuns {
  return Array.isArray(v) && v.every((r) => Array.isArray(r) && r.length === 2 && typeof r[0] === 'boolean' && Number.isSafeInteger(r[1]) && r[1] > 0);
}

function validState(d: Record<string, unknown>): boolean {
  const lanes = d.lanes as StoredLane[] | undefined;
  return Array.isArray(d.map) && (d.part === 'backlog' || d.part === 'live') && (d.from === undefined || typeof d.from === 'string') &&
    (d.legacy === undefined || d.legacy === true) && Array.isArray(lanes) && lanes.every((l) => validRuns(l?.runs) && (l.request === undefined || validRequest(l.request)));
}

function validRequest(r: StoredRequest): boolean {
  const p = r.plan;
  return [r.batch, r.first, r.count].every((n) => Number.isSafeInteger(n) && n >= 0) && r.count > 0 && typeof r.firstId === 'string' && typeof r.lastId === 'string' &&
    typeof p === 'object' && p !== null && typeof p.aggregate === 'boolean' && Number.isSafeInteger(p.batchRecordsMax) && Number.isSafeInteger(p.batchBytesMax);
}

/**
 * A version 1 window (RLE of ids and done flags) as a one-lane legacy region.
 * Its first records may have been acked since it was written (version 1
 * acked without writing the window again); restoring lines it up by identity.
 */
function fromVersion1(lastBatch: number, w: unknown): IntentState {
  const none: IntentState = { lastBatch, map: [], part: 'backlog', lanes: [] };
  const v = w as { batch?: number; idRuns?: Array<[string, number, number]>; doneRuns?: DoneRuns; aggregate?: boolean; batchRecordsMax?: number; batchBytesMax?: number; live?: boolean } | undefined;
  if (!v || !Array.isArray(v.idRuns) || !validRuns(v.doneRuns) || !Number.isSafeInteger(v.batch) || typeof v.aggregate !== 'boolean') return none;
  if (!Number.isSafeInteger(v.batchRecordsMax) || !Number.isSafeInteger(v.batchBytesMax)) return none;
  const ids: string[] = [];
  for (const run of v.idRuns) {
    const [source, first, count] = run;
    if (typeof source !== 'string' || !Number.isSafeInteger(first) || !Number.isSafeInteger(count) || count < 1 || ids.length + count > 1_000_000) return none;
    for (let k = 0; k < count; k++) ids.push(`${source}#${first + k}`);
  }
  const done: boolean[] = v.doneRuns.flatMap(([d, n]) => Array<boolean>(n).fill(d));
  if (ids.length === 0 || done.length !== ids.length || done.every(Boolean)) return none;
  const first = done.indexOf(false);
  const undone = ids.filter((_, i) => !done[i]);
  return {
    lastBatch, map: ['0'], part: v.live ? 'live' : 'backlog', from: ids[0], legacy: true, v1Ids: ids,
    lanes: [{
      runs: v.doneRuns,
      request: {
        batch: v.batch!, plan: { aggregate: v.aggregate, batchRecordsMax: v.batchRecordsMax!, batchBytesMax: v.batchBytesMax! },
        first, count: undone.length, firstId: undone[0]!, lastId: undone.at(-1)!,
      },
    }],
  };
}

/**
 * Replaces the file, off the event loop (inputs keep appending while the
 * uplink waits for the disk). With `sync`, it survives power loss too (a
 * kill -9 needs no fsync: the page cache outlives the process); the batch
 * number on disk must never go backwards, hence the directory fsync.
 */
export function writeIntent(file: string, state: IntentState, sync: boolean, onNoSpace?: (err: Error) => boolean): Promise<void> {
  const { v1Ids: _v1Ids, ...stored } = state;
  return writeFileAtomic(file, JSON.stringify({ v: 2, ...stored }), { sync, ...(onNoSpace ? { onNoSpace } : {}) });
}
