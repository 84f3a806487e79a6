/**
 * Segment files of one destination: a 16-byte header (magic, segment id)
 * followed by frames. A sealed segment gets a small `.meta` sidecar
 * (record count, capture times, per-source sequence numbers) so that opening
 * a large backlog does not rescan it; segments without a valid sidecar are
 * scanned.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeFrame, frameCapturedAtMs } from './frame-codec.ts';
import { readFrames } from './frame-reader.ts';
import { bufferError } from './errors.ts';
import { fsyncDirSync, writeFileAtomicSync } from '../../sdk/fs/atomic-file.ts';

export { writeFileAtomicSync };

export const segmentMagic = Buffer.from('TRBAGB01', 'ascii');
export const segmentHeaderBytes = 16;

/** What the buffer knows about one segment file. */
export interface SegmentInfo {
  id: number;
  file: string;
  /** Bytes on disk (what the cap counts). */
  fileBytes: number;
  /** End of the readable frames: `fileBytes`, or where corruption starts. */
  end: number;
  /** Readable records (those before `end`). */
  records: number;
  firstCapturedAtMs: number;
  lastCapturedAtMs: number;
  sealed: boolean;
  /** Set once corruption has been found and counted, so it is reported once. */
  corruptAt?: number;
  /** A sidecar matching this sealed segment is on disk (it carries every source's next sequence number). */
  metaSaved?: boolean;
}

export interface SegmentScan {
  info: SegmentInfo;
  /** Highest sequence number + 1 per source seen in the segment (decode mode only). */
  nextSeq: Map<string, number>;
  problem?: { kind: 'corrupt' | 'torn' | 'header'; offset: number; reason: string };
}

export function segmentFileName(id: number): string {
  return String(id).padStart(20, '0') + '.seg';
}

export function listSegmentIds(dir: string): number[] {
  return fs.readdirSync(dir).filter((n) => /^\d{20}\.seg$/.test(n)).map((n) => Number(n.slice(0, 20))).sort((a, b) => a - b);
}

export function segmentHeader(id: number): Buffer {
  const h = Buffer.alloc(segmentHeaderBytes);
  segmentMagic.copy(h, 0);
  h.writeUInt32LE(id % 0x100000000, 8);
  h.writeUInt32LE(Math.floor(id / 0x100000000), 12);
  return h;
}

/**
 * Creates a segment durably (file and directory entry) and returns its
 * descriptor. On failure (a full disk) nothing is left behind.
 */
export function createSegmentFile(dir: string, id: number): { fd: number; info: SegmentInfo } {
  const file = path.join(dir, segmentFileName(id));
  const fd = fs.openSync(file, 'wx+', 0o600);
  try {
    fs.writeSync(fd, segmentHeader(id), 0, segmentHeaderBytes, 0);
    fs.fdatasyncSync(fd);
    fsyncDirSync(dir);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw err;
  }
  const info: SegmentInfo = {
    id, file, fileBytes: segmentHeaderBytes, end: segmentHeaderBytes, records: 0,
    firstCapturedAtMs: 0, lastCapturedAtMs: 0, sealed: false,
  };
  return { fd, info };
}

export interface ScanOptions {
  chunkBytes: number;
  frameBytesLimit: number;
  /** Decode bodies (for sequence numbers); needs the key for encrypted frames. */
  decode: boolean;
  key?: Uint8Array;
}

/** Scans a whole segment, reading in chunks; never modifies it. */
export async function scanSegment(dir: string, id: number, o: ScanOptions): Promise<SegmentScan> {
  const file = path.join(dir, segmentFileName(id));
  const fd = fs.openSync(file, 'r');
  try {
    const fileBytes = fs.fstatSync(fd).size;
    const info: SegmentInfo = {
      id, file, fileBytes, end: segmentHeaderBytes, records: 0, firstCapturedAtMs: 0, lastCapturedAtMs: 0, sealed: true,
    };
    const nextSeq = new Map<string, number>();
    const header = Buffer.alloc(segmentHeaderBytes);
    const n = fs.readSync(fd, header, 0, segmentHeaderBytes, 0);
    if (n < segmentHeaderBytes || !header.subarray(0, 8).equals(segmentMagic)) {
      info.end = 0;
      return { info, nextSeq, problem: { kind: 'header', offset: 0, reason: 'segment header missing or damaged' } };
    }
    const frames = readFrames(fd, { from: segmentHeaderBytes, limit: fileBytes, chunkBytes: o.chunkBytes, frameBytesLimit: o.frameBytesLimit });
    for await (const ev of frames) {
      if (ev.kind !== 'frame') return { info, nextSeq, problem: { kind: ev.kind, offset: ev.offset, reason: ev.kind === 'torn' ? 'torn frame at end of segment' : ev.reason } };
      if (o.decode) {
        const d = decodeFrame(ev.frame, o.key);
        if (d.kind === 'key-required') throw bufferError('BUFFER_KEY_REQUIRED', `${file} holds encrypted records; pass the buffer key`);
        if (d.kind === 'key-mismatch') throw bufferError('BUFFER_KEY_MISMATCH', `${file}: a record with a valid CRC does not decrypt; the key is wrong`);
        if (d.kind === 'corrupt') return { info, nextSeq, problem: { kind: 'corrupt', offset: ev.offset, reason: d.reason } };
        const r = d.record;
        nextSeq.set(r.source, Math.max(nextSeq.get(r.source) ?? 0, r.seq + 1));
      }
      const at = frameCapturedAtMs(ev.frame);
      if (info.records === 0) info.firstCapturedAtMs = at;
      info.lastCapturedAtMs = at;
      info.records++;
      info.end = ev.offset + ev.frame.length;
    }
    return { info, nextSeq };
  } finally {
    fs.closeSync(fd);
  }
}

interface MetaDoc {
  v: 1;
  fileBytes: number;
  records: number;
  firstCapturedAtMs: number;
  lastCapturedAtMs: number;
  /** Next sequence number per source for every source seen so far (cumulative). */
  nextSeq: Record<string, number>;
}

export function metaFile(file: string): string {
  return file.replace(/\.seg$/, '.meta');
}

/**
 * Persists a sealed segment's summary atomically. Best effort: a segment
 * without a sidecar is rescanned at open, so a failure (a full disk) is
 * returned, not thrown.
 */
export function writeSegmentMeta(info: SegmentInfo, nextSeq: Map<string, number>): Error | undefined {
  const doc: MetaDoc = {
    v: 1, fileBytes: info.fileBytes, records: info.records,
    firstCapturedAtMs: info.firstCapturedAtMs, lastCapturedAtMs: info.lastCapturedAtMs,
    nextSeq: Object.fromEntries(nextSeq),
  };
  try {
    writeFileAtomicSync(metaFile(info.file), JSON.stringify(doc));
    info.metaSaved = true;
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

/** The sidecar of a sealed segment, when it exists and matches the file. */
export function readSegmentMeta(dir: string, id: number): SegmentScan | undefined {
  const file = path.join(dir, segmentFileName(id));
  let doc: MetaDoc;
  try {
    doc = JSON.parse(fs.readFileSync(metaFile(file), 'utf8')) as MetaDoc;
  } catch {
    return undefined; // Missing or damaged sidecar: the caller rescans the segment.
  }
  const fileBytes = fs.statSync(file).size;
  if (doc.v !== 1 || doc.fileBytes !== fileBytes) return undefined;
  const info: SegmentInfo = {
    id, file, fileBytes, end: fileBytes, records: doc.records,
    firstCapturedAtMs: doc.firstCapturedAtMs, lastCapturedAtMs: doc.lastCapturedAtMs, sealed: true, metaSaved: true,
  };
  return { info, nextSeq: new Map(Object.entries(doc.nextSeq)) };
}

/** Deletes a segment and its sidecar. */
export function removeSegment(info: SegmentInfo): void {
  fs.rmSync(metaFile(info.file), { force: true });
  fs.rmSync(info.file, { force: true });
}


