/**
 * Opening a destination directory: load sealed segments from their sidecars,
 * scan the rest, truncate a torn tail of the newest segment, restore the
 * replay position and per-source sequence numbers. Corruption never stops
 * start-up: it is counted, reported and skipped.
 */
import fs from 'node:fs';
import { isNoSpace } from '../../sdk/fs/atomic-file.ts';
import { readCheckpoint, writeCheckpoint, type CatchUpSplit, type Checkpoint } from './checkpoint.ts';
import { frameBytesLimit } from './frame-codec.ts';
import type { ResolvedOptions } from './options.ts';
import {
  createSegmentFile, listSegmentIds, readSegmentMeta, removeSegment, scanSegment, segmentHeaderBytes, writeSegmentMeta,
  type SegmentInfo, type SegmentScan,
} from './segment.ts';

export interface Recovered {
  /** Live segments, oldest first; the last is the active one (sealed when the disk had no room for a new one). */
  segments: SegmentInfo[];
  /** Undefined when a full disk left no room for a fresh active segment: the buffer opens read-only. */
  activeFd: number | undefined;
  ack: { segment: number; offset: number; index: number };
  /** A newest-first catch-up still in progress (checkpoint.ts). */
  split: CatchUpSplit | undefined;
  nextSeq: Map<string, number>;
  corruptSegments: number;
  corruptBytes: number;
  tornBytes: number;
}

export async function recover(dir: string, o: ResolvedOptions): Promise<Recovered> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const n of fs.readdirSync(dir)) if (n.includes('.tmp-')) fs.rmSync(`${dir}/${n}`, { force: true });
  const cpRead = readCheckpoint(dir);
  if (cpRead.kind === 'damaged') o.onProblem({ kind: 'checkpoint', file: `${dir}/checkpoint.json`, detail: `${cpRead.reason}; replaying from the oldest segment` });
  const cp = cpRead.kind === 'ok' ? cpRead.checkpoint : undefined;
  const r: Recovered = {
    segments: [], activeFd: undefined, ack: { segment: 0, offset: segmentHeaderBytes, index: 0 }, split: undefined,
    nextSeq: new Map(Object.entries(cp?.nextSeq ?? {})), corruptSegments: 0, corruptBytes: 0, tornBytes: 0,
  };
  const ids = listSegmentIds(dir);
  for (const [i, id] of ids.entries()) {
    const newest = i === ids.length - 1;
    const scan = await loadSegment(dir, id, newest, o, r);
    if (!scan) continue;
    for (const [s, n] of scan.nextSeq) r.nextSeq.set(s, Math.max(r.nextSeq.get(s) ?? 0, n));
    // A rescanned sealed segment gets its sidecar back, cumulative like the ones the buffer writes.
    if (!newest && !scan.problem && !scan.info.metaSaved) saveMeta(scan.info, r.nextSeq, o);
    r.segments.push(scan.info);
  }
  openActive(dir, r, ids.at(-1) ?? -1, cp, o);
  restoreAck(r, cp, o);
  restoreSplit(r, cp);
  try {
    writeCheckpoint(dir, { ...r.ack, nextSeq: Object.fromEntries(r.nextSeq), ...(r.split ? { split: r.split } : {}) }, o.space && ((e) => o.space!.noSpace(e)));
  } catch (err) {
    // The checkpoint on disk still holds (it is older, never wrong); the next ack writes a new one.
    if (!isNoSpace(err)) throw err;
    o.onProblem({ kind: 'disk-full', file: `${dir}/checkpoint.json`, detail: `cannot rewrite the checkpoint: ${(err as Error).message}` });
  }
  // Segments before the replay position were acked before a crash interrupted their deletion.
  while (r.segments.length > 1 && r.segments[0]!.id < r.ack.segment) removeSegment(r.segments.shift()!);
  return r;
}

/** One segment at open: its sidecar when valid, else a scan; repairs the newest. */
async function loadSegment(dir: string, id: number, newest: boolean, o: ResolvedOptions, r: Recovered): Promise<SegmentScan | undefined> {
  const meta = newest ? undefined : readSegmentMeta(dir, id);
  if (meta) return meta;
  const scan = await scanSegment(dir, id, { chunkBytes: o.readBufferBytes, frameBytesLimit, decode: true, key: o.encryptionKey });
  const { info, problem } = scan;
  if (!problem) return scan;
  if (newest && problem.kind === 'header' && info.fileBytes < segmentHeaderBytes) {
    // A crash between creating the file and syncing its header: it never held a record.
    removeSegment(info);
    o.onProblem({ kind: 'header', file: info.file, detail: 'empty segment without header removed', bytes: info.fileBytes });
    return undefined;
  }
  if (newest && problem.kind !== 'header') {
    // A torn (or half-written) tail of the newest segment: cut it off, keep the rest.
    const cut = info.fileBytes - info.end;
    fs.truncateSync(info.file, info.end);
    info.fileBytes = info.end;
    r.tornBytes += cut;
    o.onProblem({ kind: 'torn-tail', file: info.file, detail: `${problem.reason} at offset ${problem.offset}; truncated`, bytes: cut });
    return scan;
  }
  // An older segment: skip it from the corruption point on, without modifying it.
  info.corruptAt = problem.offset;
  info.end = Math.max(info.end, segmentHeaderBytes);
  r.corruptSegments++;
  r.corruptBytes += info.fileBytes - info.end;
  o.onProblem({ kind: problem.kind === 'header' ? 'header' : 'corrupt', file: info.file,
    detail: `${problem.reason} at offset ${problem.offset}; skipping the rest of the segment`, bytes: info.fileBytes - info.end });
  return scan;
}

/**
 * Appends go to a fresh segment after every restart unless the newest one is
 * empty: records written after a crash must never land at offsets that the
 * checkpoint already counts as acknowledged.
 */
function openActive(dir: string, r: Recovered, lastId: number, cp: Checkpoint | undefined, o: ResolvedOptions): void {
  const last = r.segments.at(-1);
  const reusable = last && last.records === 0 && last.fileBytes === segmentHeaderBytes && last.corruptAt === undefined &&
    !(cp && cp.segment === last.id && cp.offset > segmentHeaderBytes);
  if (last && reusable) {
    last.sealed = false;
    r.activeFd = fs.openSync(last.file, 'r+');
    return;
  }
  if (last) {
    last.sealed = true;
    // What was written since the crash reaches the disk now: a restarted agent may vouch for it.
    const fd = fs.openSync(last.file, 'r');
    try {
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (last.corruptAt === undefined) saveMeta(last, r.nextSeq, o);
  }
  const id = Math.max(lastId, cp?.segment ?? -1, cp?.split?.live.segment ?? -1) + 1;
  let created;
  try {
    created = createSegmentFile(dir, id);
  } catch (err) {
    if (!isNoSpace(err)) throw err;
    // A full disk: with records to drain, open read-only (appends make the active segment once there is room);
    // an empty destination needs its first segment, for which the reserve is given up.
    if (last) {
      o.onProblem({ kind: 'disk-full', file: dir, detail: `no room for a new segment (${(err as Error).message}); read-only until space returns` });
      return;
    }
    if (!o.space?.noSpace(err)) throw err;
    created = createSegmentFile(dir, id);
  }
  r.segments.push(created.info);
  r.activeFd = created.fd;
}

/** A sidecar is an optimization: on a full disk the segment goes without (and is rescanned at the next open). */
function saveMeta(info: SegmentInfo, nextSeq: Map<string, number>, o: ResolvedOptions): void {
  const err = writeSegmentMeta(info, nextSeq);
  if (err && !isNoSpace(err)) throw err;
}

/** The replay position: the checkpoint's, clamped to what survived on disk. */
function restoreAck(r: Recovered, cp: Checkpoint | undefined, o: ResolvedOptions): void {
  const first = r.segments[0]!;
  r.ack = { segment: first.id, offset: segmentHeaderBytes, index: 0 };
  if (!cp) return;
  const seg = r.segments.find((s) => s.id === cp.segment);
  if (!seg) {
    // Its segment is gone: everything before the first live segment was acked or dropped.
    if (cp.segment > r.segments.at(-1)!.id) o.onProblem({ kind: 'lost-acked-tail', file: first.file, detail: `checkpoint segment ${cp.segment} is missing` });
    return;
  }
  if (cp.offset > seg.end) {
    // Acked records that never reached the disk (fsync never/interval): nothing to replay there.
    o.onProblem({ kind: 'lost-acked-tail', file: seg.file, detail: `checkpoint offset ${cp.offset} is past the recovered end ${seg.end}` });
    r.ack = { segment: seg.id, offset: seg.end, index: seg.records };
    return;
  }
  r.ack = { segment: cp.segment, offset: cp.offset, index: Math.min(cp.index, seg.records) };
}

/**
 * The live cursor of a catch-up, clamped to what survived like the replay
 * position; when the backlog part turns out to be empty, the catch-up is over
 * and the replay position continues from the live cursor.
 */
function restoreSplit(r: Recovered, cp: Checkpoint | undefined): void {
  const sp = cp?.split;
  if (!sp) return;
  const seg = r.segments.find((s) => s.id === sp.live.segment);
  let live: Recovered['ack'];
  if (seg) {
    live = sp.live.offset > seg.end ? { segment: seg.id, offset: seg.end, index: seg.records } : { ...sp.live, index: Math.min(sp.live.index, seg.records) };
  } else {
    // Its segment was wholly acked and deleted: the live part goes on with the next one (the active one at least).
    const next = r.segments.find((s) => s.id > sp.live.segment)!;
    live = { segment: next.id, offset: segmentHeaderBytes, index: 0 };
  }
  if (r.ack.segment >= sp.segment) r.ack = live;
  else r.split = { segment: sp.segment, live };
}
