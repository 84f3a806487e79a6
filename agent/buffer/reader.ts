/**
 * The uplink's cursor: reads the oldest unacknowledged records from the
 * segment files in bounded chunks, following the segment list as it grows
 * and skipping (after reporting) the rest of any segment found corrupt.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { bufferError } from './errors.ts';
import { decodeFrame, frameBytesLimit, frameCapturedAtMs, frameHeaderBytes, type FrameRecord } from './frame-codec.ts';
import { readFrames } from './frame-reader.ts';
import type { ResolvedOptions } from './options.ts';
import { segmentHeaderBytes, type SegmentInfo } from './segment.ts';

/** Opaque to callers: where the record after this one starts. Pass it back to `ack`. */
export interface BufferPosition {
  readonly segment: number;
  readonly offset: number;
  readonly index: number;
}

/** Negative when `a` is before `b` in the buffer, 0 when equal, positive after. */
export function comparePositions(a: BufferPosition, b: BufferPosition): number {
  return a.segment - b.segment || a.offset - b.offset;
}

export interface BufferedRecord extends FrameRecord {
  position: BufferPosition;
}

/** What the reader needs from the buffer. */
export interface ReadState {
  readonly segments: SegmentInfo[];
  readonly acked: BufferPosition;
  readonly options: ResolvedOptions;
  noteCorruption(seg: SegmentInfo, offset: number, recordsBefore: number, reason: string): void;
}

export async function readUnacked(state: ReadState, maxRecords: number, maxBytes: number): Promise<BufferedRecord[]> {
  return readRange(state, state.acked, Number.MAX_SAFE_INTEGER, maxRecords, maxBytes);
}

/**
 * Reads records from `from` on, in order, stopping before the first segment
 * whose id is `stopAtSegment` or more (a newest-first catch-up reads its
 * backlog part up to the split, its live part from the live cursor on).
 */
export async function readRange(
  state: ReadState, from: BufferPosition, stopAtSegment: number, maxRecords: number, maxBytes: number,
): Promise<BufferedRecord[]> {
  const out: BufferedRecord[] = [];
  const budget = { bytes: 0, maxBytes, maxRecords };
  let seg = from.segment < stopAtSegment ? state.segments.find((s) => s.id === from.segment) : undefined;
  let offset = from.offset;
  let index = from.index;
  while (seg && out.length < maxRecords) {
    if (offset < seg.end) {
      const r = await readSegment(state, seg, offset, index, out, budget);
      if (r.full) break;
      assert.ok(r.offset > offset || r.offset >= seg.end, 'a segment read makes progress');
      offset = r.offset;
      index = r.index;
      // The active segment grew while we read: what it held when the read began is this peek's share. Chasing a
      // tail that a steady stream of appends keeps moving held an uplink's peek for seconds (issue #15: an MQTT
      // input at full speed, each read waiting behind the appends' fdatasyncs); the next peek takes the rest.
      if (!seg.sealed) break;
      // Sealed by a roll while we read: its last frames, then the next segment.
      continue;
    }
    // The active segment may still grow; anything newer than it does not exist yet.
    if (!seg.sealed) break;
    const at = state.segments.indexOf(seg);
    if (at < 0) break; // Dropped while we read: what we have is still worth delivering.
    seg = state.segments[at + 1];
    if (seg && seg.id >= stopAtSegment) break;
    offset = segmentHeaderBytes;
    index = 0;
  }
  return out;
}

interface SegmentRead {
  /** The budget is spent (or the segment vanished): stop this peek. */
  full: boolean;
  /** Where reading stopped, and the records of the segment before it. */
  offset: number;
  index: number;
}

/** Reads one segment from `offset` up to its end as known when the read starts. */
async function readSegment(
  state: ReadState, seg: SegmentInfo, offset: number, index: number, out: BufferedRecord[],
  budget: { bytes: number; maxBytes: number; maxRecords: number },
): Promise<SegmentRead> {
  let fd: number;
  try {
    fd = fs.openSync(seg.file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { full: true, offset, index }; // Dropped under us; the next peek moves on.
    throw err;
  }
  try {
    const frames = readFrames(fd, { from: offset, limit: seg.end, chunkBytes: state.options.readBufferBytes, frameBytesLimit });
    for await (const ev of frames) {
      if (ev.kind !== 'frame') {
        state.noteCorruption(seg, ev.offset, index, ev.kind === 'torn' ? 'segment ends inside a frame' : ev.reason);
        return { full: false, offset: Math.max(ev.offset, seg.end), index };
      }
      const d = decodeFrame(ev.frame, state.options.encryptionKey);
      if (d.kind === 'key-required') throw bufferError('BUFFER_KEY_REQUIRED', `${seg.file} holds encrypted records; pass the buffer key`);
      if (d.kind === 'key-mismatch') throw bufferError('BUFFER_KEY_MISMATCH', `${seg.file}: a record with a valid CRC does not decrypt; the key is wrong`);
      if (d.kind === 'corrupt') {
        state.noteCorruption(seg, ev.offset, index, d.reason);
        return { full: false, offset: Math.max(ev.offset, seg.end), index };
      }
      const bytes = d.record.data.length + Buffer.byteLength(d.record.partitionKey);
      // The first record always goes out, so one large record cannot stall the uplink.
      if (out.length > 0 && budget.bytes + bytes > budget.maxBytes) return { full: true, offset, index };
      index++;
      offset = ev.offset + ev.frame.length;
      out.push({ ...d.record, position: { segment: seg.id, offset, index } });
      budget.bytes += bytes;
      if (out.length >= budget.maxRecords || budget.bytes >= budget.maxBytes) return { full: true, offset, index };
    }
    return { full: false, offset, index };
  } finally {
    fs.closeSync(fd);
  }
}

/** The capture time of the first unacked record: a 17-byte read, not a scan. */
export function oldestCapturedAtMs(segments: SegmentInfo[], acked: BufferPosition): number | undefined {
  for (const s of segments) {
    const from = s.id === acked.segment ? acked.offset : segmentHeaderBytes;
    if (s.id < acked.segment || from >= s.end) continue;
    if (from === segmentHeaderBytes) return s.firstCapturedAtMs;
    const h = Buffer.alloc(frameHeaderBytes);
    const fd = fs.openSync(s.file, 'r');
    try {
      return fs.readSync(fd, h, 0, h.length, from) === h.length ? frameCapturedAtMs(h) : undefined;
    } finally {
      fs.closeSync(fd);
    }
  }
  return undefined;
}
