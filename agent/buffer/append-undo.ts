/**
 * Undoing an append the disk had no room for. An append writes its frames
 * synchronously, rolling to new segments as they fill; when a write (or a
 * segment's creation) fails for lack of space halfway, the frames already
 * written must go too, or a refused append would leave a prefix of itself
 * in the buffer (and the uplink would send records whose input was told no).
 *
 * The undo point is taken before the append: the active segment's size and
 * counts, and each source's next sequence number. Undoing truncates the
 * active segment back to that size and any segment made since back to its
 * header (an empty segment is harmless; it is trimmed like any other), drops
 * sidecars that no longer match, and restores the sequence numbers. Segments
 * that drop-oldest deleted meanwhile stay deleted: the policy allowed it.
 */
import fs from 'node:fs';
import { metaFile, segmentHeaderBytes, type SegmentInfo } from './segment.ts';

interface SegmentCounts {
  fileBytes: number;
  end: number;
  records: number;
  firstCapturedAtMs: number;
  lastCapturedAtMs: number;
}

export interface UndoPoint {
  activeId: number;
  active: SegmentCounts;
  /** Per source of the append: its next sequence number before (undefined: the source was new). */
  nextSeq: Array<[string, number | undefined]>;
}

function countsOf(s: SegmentInfo): SegmentCounts {
  return { fileBytes: s.fileBytes, end: s.end, records: s.records, firstCapturedAtMs: s.firstCapturedAtMs, lastCapturedAtMs: s.lastCapturedAtMs };
}

export function undoPoint(active: SegmentInfo, nextSeq: ReadonlyMap<string, number>, sources: Iterable<string>): UndoPoint {
  const seen = new Set(sources);
  return { activeId: active.id, active: countsOf(active), nextSeq: [...seen].map((s) => [s, nextSeq.get(s)]) };
}

/**
 * Truncates `segments` (from the undo point's active one on) back to where
 * they were; `activeFd` is the descriptor of the last segment when it is
 * still open for appends. Returns whether anything changed on disk.
 */
export function undoAppend(u: UndoPoint, segments: SegmentInfo[], activeFd: number | undefined, nextSeq: Map<string, number>): boolean {
  let changed = false;
  const empty: SegmentCounts = { fileBytes: segmentHeaderBytes, end: segmentHeaderBytes, records: 0, firstCapturedAtMs: 0, lastCapturedAtMs: 0 };
  for (const s of segments) {
    if (s.id < u.activeId) continue;
    const was = s.id === u.activeId ? u.active : empty;
    // Always: a write that failed halfway left bytes the in-memory size does not count.
    const open = s === segments.at(-1) && activeFd !== undefined;
    if (open) fs.ftruncateSync(activeFd!, was.fileBytes);
    else fs.truncateSync(s.file, was.fileBytes);
    if (s.fileBytes !== was.fileBytes) changed = true;
    if (s.sealed && s.metaSaved) {
      // Its sidecar described the segment with this append's records.
      fs.rmSync(metaFile(s.file), { force: true });
      s.metaSaved = false;
    }
    Object.assign(s, was);
  }
  for (const [source, n] of u.nextSeq) {
    if (n === undefined) nextSeq.delete(source);
    else nextSeq.set(source, n);
  }
  return changed;
}
