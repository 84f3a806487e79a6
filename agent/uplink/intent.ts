/**
 * The uplink's send window, written down before every request so that a
 * restarted agent resends exactly the request a crash interrupted, under the
 * same idempotency key, and the gateway answers it from memory instead of
 * storing its records twice.
 *
 * The window is the run of records at the front of the buffer that one
 * request was planned for: the records (by source and per-source sequence
 * number, which the buffer keeps unique), which of them the gateway already
 * accepted, and the batch number of the next request for it. Identities
 * rather than buffer positions, so that a crash between an ack and the next
 * write of this file still lines the window up with the buffer. A batch number
 * is used for one request body only: it changes whenever an answer changes
 * what is left to send, and stays when the request got no answer.
 *
 * Written with write + fdatasync + rename + directory fsync; a torn or
 * damaged file reads as "no window" (the records are then sent under a new
 * key: at worst a duplicate, never a loss).
 */
import fs from 'node:fs';
import { writeFileAtomic } from '../../sdk/fs/atomic-file.ts';

export interface SendWindow {
  /** Batch number of the next request (the key is `<producer>/<batch>`). */
  batch: number;
  /** The window's records, `<source>#<seq>`, in buffer order. */
  ids: string[];
  /** Per record of the window: accepted by the gateway (or dead-lettered). */
  done: boolean[];
  /** Planning parameters of the window's requests (a resend must plan the same body). */
  aggregate: boolean;
  batchRecordsMax: number;
  batchBytesMax: number;
  /**
   * Newest-first catch-up: the window's records are in the buffer's live part
   * (appended since the catch-up began) and line up with its front; absent
   * for the backlog part, or when no catch-up runs.
   */
  live?: boolean;
}

export interface IntentFileContents {
  v: 1;
  /** The last batch number used (the next window starts after it). */
  lastBatch: number;
  window: SendWindow | undefined;
}

/**
 * On disk the window's ids and done flags are run-length encoded: an
 * aggregated window holds up to 10,000 records, mostly consecutive sequence
 * numbers of one source, and is written before every request.
 */
interface StoredWindow extends Omit<SendWindow, 'ids' | 'done'> {
  /** [source, first seq, count]: ids `source#first` .. `source#(first + count - 1)`. */
  idRuns: Array<[string, number, number]>;
  /** [done, count]. */
  doneRuns: Array<[boolean, number]>;
}

function encodeWindow(w: SendWindow): StoredWindow {
  const { ids, done, ...rest } = w;
  const idRuns: Array<[string, number, number]> = [];
  for (const id of ids) {
    const at = id.lastIndexOf('#');
    const source = id.slice(0, at);
    const seq = Number(id.slice(at + 1));
    const last = idRuns.at(-1);
    if (last && last[0] === source && last[1] + last[2] === seq) last[2]++;
    else idRuns.push([source, seq, 1]);
  }
  const doneRuns: Array<[boolean, number]> = [];
  for (const d of done) {
    const last = doneRuns.at(-1);
    if (last && last[0] === d) last[1]++;
    else doneRuns.push([d, 1]);
  }
  return { ...rest, idRuns, doneRuns };
}

function decodeWindow(w: StoredWindow): SendWindow | undefined {
  if (!Array.isArray(w.idRuns) || !Array.isArray(w.doneRuns)) return undefined;
  const { idRuns, doneRuns, ...rest } = w;
  const ids: string[] = [];
  for (const [source, first, count] of idRuns) {
    if (typeof source !== 'string' || !Number.isSafeInteger(first) || !Number.isSafeInteger(count) || count < 1 || ids.length + count > 1_000_000) return undefined;
    for (let k = 0; k < count; k++) ids.push(`${source}#${first + k}`);
  }
  const done: boolean[] = [];
  for (const [d, count] of doneRuns) {
    if (typeof d !== 'boolean' || !Number.isSafeInteger(count) || count < 1 || done.length + count > ids.length) return undefined;
    for (let k = 0; k < count; k++) done.push(d);
  }
  return { ...rest, ids, done };
}

function serialize(contents: IntentFileContents): string {
  return JSON.stringify({ ...contents, window: contents.window && encodeWindow(contents.window) });
}

export function readIntent(file: string): IntentFileContents | undefined {
  let doc: IntentFileContents;
  try {
    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Omit<IntentFileContents, 'window'> & { window?: StoredWindow };
    doc = { ...raw, window: raw.window && decodeWindow(raw.window) };
  } catch {
    return undefined;
  }
  if (doc?.v !== 1 || !Number.isSafeInteger(doc.lastBatch)) return undefined;
  const w = doc.window;
  if (w !== undefined) {
    const ok = Number.isSafeInteger(w.batch) && Array.isArray(w.ids) && w.ids.length > 0 && Array.isArray(w.done) && w.done.length === w.ids.length &&
      Number.isSafeInteger(w.batchRecordsMax) && Number.isSafeInteger(w.batchBytesMax) && typeof w.aggregate === 'boolean' &&
      (w.live === undefined || typeof w.live === 'boolean');
    if (!ok) return { v: 1, lastBatch: doc.lastBatch, window: undefined };
  }
  return doc;
}

export function recordId(r: { source: string; seq: number }): string {
  return `${r.source}#${r.seq}`;
}

/**
 * Replaces the file, off the event loop (inputs keep appending while the
 * uplink waits for the disk). With `sync`, it survives power loss too (a
 * kill -9 needs no fsync: the page cache outlives the process); the batch
 * number on disk must never go backwards, hence the directory fsync.
 */
export function writeIntent(file: string, contents: IntentFileContents, sync: boolean, onNoSpace?: (err: Error) => boolean): Promise<void> {
  return writeFileAtomic(file, serialize(contents), { sync, ...(onNoSpace ? { onNoSpace } : {}) });
}
