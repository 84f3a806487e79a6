/**
 * One segment file of a shard log: a 16-byte header (magic, base counter),
 * then record frames. A sparse in-memory index maps counters and arrival times
 * to file offsets; sealed segments persist it beside them (`.idx`) so start-up
 * does not rescan them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { decodeFrame, frameHeaderBytes } from './record-codec.ts';
import { fsyncDir, writeFileAtomic as writeFileAtomicShared } from '../../../sdk/fs/atomic-file.ts';

export { fsyncDir };

export const segmentMagic = Buffer.from('TRBSEG01', 'ascii');
export const segmentHeaderBytes = 16;
/** One index entry per this many bytes of frames. */
export const indexIntervalBytes = 64 * 1024;

export interface IndexEntry {
  counter: number;
  offset: number;
  arrivalMs: number;
}

export function segmentFileName(baseCounter: number): string {
  return String(baseCounter).padStart(20, '0') + '.seg';
}

export class Segment {
  /** Bytes of the file that hold complete frames (next write position). */
  size = segmentHeaderBytes;
  /** Counter after the last frame written to the file. */
  endCounter: number;
  firstArrivalMs = 0;
  lastArrivalMs = 0;
  index: IndexEntry[] = [];
  private lastIndexedOffset = -Infinity;
  fd: number | undefined;
  sealed = false;

  constructor(
    readonly dir: string,
    readonly baseCounter: number,
  ) {
    this.endCounter = baseCounter;
  }

  get file(): string {
    return path.join(this.dir, segmentFileName(this.baseCounter));
  }
  get indexFile(): string {
    return this.file.replace(/\.seg$/, '.idx');
  }

  /** Records one frame written at `offset` (call in order). */
  noteFrame(counter: number, arrivalMs: number, offset: number, bytes: number): void {
    assert.equal(counter, this.endCounter, 'segment frames must be consecutive');
    if (offset - this.lastIndexedOffset >= indexIntervalBytes) {
      this.index.push({ counter, offset, arrivalMs });
      this.lastIndexedOffset = offset;
    }
    if (this.endCounter === this.baseCounter) this.firstArrivalMs = arrivalMs;
    this.lastArrivalMs = arrivalMs;
    this.endCounter = counter + 1;
    this.size = offset + bytes;
  }

  /** The index entry to start a scan for `counter` from. */
  seekCounter(counter: number): { counter: number; offset: number } {
    let lo = 0;
    let hi = this.index.length - 1;
    let best = { counter: this.baseCounter, offset: segmentHeaderBytes };
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = this.index[mid]!;
      if (e.counter <= counter) {
        best = e;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }

  /** The index entry to start a scan for the first record at or after `ms`. */
  seekTime(ms: number): { counter: number; offset: number } {
    let best = { counter: this.baseCounter, offset: segmentHeaderBytes };
    for (const e of this.index) {
      if (e.arrivalMs < ms) best = e;
      else break;
    }
    return best;
  }

  /** Creates the file with its header (fsynced, and the directory too). */
  static async create(dir: string, baseCounter: number): Promise<Segment> {
    const seg = new Segment(dir, baseCounter);
    await seg.createFile();
    return seg;
  }

  /** Creates the file off the event loop: a roll must not stall requests in flight. */
  async createFile(): Promise<void> {
    assert.equal(this.fd, undefined);
    const fh = await fsp.open(this.file, 'wx+', 0o600);
    const header = headerFor(this.baseCounter);
    await fh.write(header, 0, header.length, 0);
    await fh.datasync();
    // Keep a plain descriptor: the writer uses fs.writev on it.
    this.fd = fs.openSync(this.file, 'r+');
    await fh.close();
    await fsyncDir(this.dir);
  }

  /**
   * Opens an existing segment. `repair` (the newest segment) scans every
   * frame and truncates a torn or corrupt tail; older segments load their
   * persisted index when it is intact, and are scanned otherwise.
   */
  static async open(dir: string, baseCounter: number, repair: boolean): Promise<{ segment: Segment; truncatedBytes: number; problem?: string }> {
    const seg = new Segment(dir, baseCounter);
    if (!repair && (await seg.loadIndex())) {
      seg.sealed = true;
      return { segment: seg, truncatedBytes: 0 };
    }
    const fd = fs.openSync(seg.file, 'r+');
    const fileBytes = fs.fstatSync(fd).size;
    const header = Buffer.alloc(segmentHeaderBytes);
    fs.readSync(fd, header, 0, segmentHeaderBytes, 0);
    if (fileBytes < segmentHeaderBytes || !header.subarray(0, 8).equals(segmentMagic)) {
      // A crash between create and the header's fsync: an empty segment.
      fs.ftruncateSync(fd, 0);
      const h = headerFor(baseCounter);
      fs.writeSync(fd, h, 0, h.length, 0);
      fs.fdatasyncSync(fd);
      seg.fd = fd;
      return { segment: seg, truncatedBytes: fileBytes, problem: 'segment header missing; rewritten' };
    }
    const problem = seg.scan(fd, fileBytes);
    let truncatedBytes = 0;
    if (seg.size < fileBytes) {
      truncatedBytes = fileBytes - seg.size;
      fs.ftruncateSync(fd, seg.size);
      fs.fdatasyncSync(fd);
    }
    if (repair) seg.fd = fd;
    else {
      fs.closeSync(fd);
      seg.sealed = true;
      await seg.writeIndex();
    }
    return { segment: seg, truncatedBytes, ...(problem ? { problem } : {}) };
  }

  /** Scans frames from the header on, stopping at the first invalid one. */
  private scan(fd: number, fileBytes: number): string | undefined {
    const chunkBytes = 4 * 1024 * 1024;
    let buf = Buffer.alloc(0);
    let bufStart = segmentHeaderBytes;
    let readPos = segmentHeaderBytes;
    for (;;) {
      let off = 0;
      for (;;) {
        const r = decodeFrame(buf, off, false);
        if (r.kind === 'record') {
          if (r.record.counter !== this.endCounter) return `counter ${r.record.counter} where ${this.endCounter} was expected`;
          this.noteFrame(r.record.counter, r.record.arrivalMs, bufStart + off, r.bytes);
          off += r.bytes;
          continue;
        }
        if (r.kind === 'corrupt') return r.reason;
        break;
      }
      if (readPos >= fileBytes) return bufStart + off < fileBytes ? 'torn frame at end of segment' : undefined;
      const rest = buf.subarray(off);
      const want = Math.max(chunkBytes, frameHeaderBytes);
      const chunk = Buffer.alloc(Math.min(want, fileBytes - readPos));
      fs.readSync(fd, chunk, 0, chunk.length, readPos);
      readPos += chunk.length;
      bufStart += off;
      buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    }
  }

  /** Persists the sparse index atomically (sealed segments only). */
  async writeIndex(): Promise<void> {
    const doc = JSON.stringify({
      v: 1,
      size: this.size,
      endCounter: this.endCounter,
      firstArrivalMs: this.firstArrivalMs,
      lastArrivalMs: this.lastArrivalMs,
      index: this.index.map((e) => [e.counter, e.offset, e.arrivalMs]),
    });
    await writeFileAtomic(this.indexFile, doc);
  }

  private async loadIndex(): Promise<boolean> {
    let text: string;
    try {
      text = await fsp.readFile(this.indexFile, 'utf8');
    } catch {
      return false; // No index yet: the caller scans the segment instead.
    }
    try {
      const doc = JSON.parse(text) as {
        v: number; size: number; endCounter: number; firstArrivalMs: number; lastArrivalMs: number; index: number[][];
      };
      const st = await fsp.stat(this.file);
      if (doc.v !== 1 || st.size !== doc.size) return false;
      this.size = doc.size;
      this.endCounter = doc.endCounter;
      this.firstArrivalMs = doc.firstArrivalMs;
      this.lastArrivalMs = doc.lastArrivalMs;
      this.index = doc.index.map(([counter, offset, arrivalMs]) => ({ counter: counter!, offset: offset!, arrivalMs: arrivalMs! }));
      return true;
    } catch {
      return false; // A damaged index is rebuilt from the segment itself.
    }
  }

  /** Syncs and closes the file (off the event loop), then persists the index. */
  async seal(): Promise<void> {
    if (this.fd !== undefined) {
      const fd = this.fd;
      await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
      fs.closeSync(fd);
      this.fd = undefined;
    }
    this.sealed = true;
    await this.writeIndex();
  }
}

function headerFor(baseCounter: number): Buffer {
  const h = Buffer.alloc(segmentHeaderBytes);
  segmentMagic.copy(h, 0);
  h.writeUInt32LE(baseCounter % 0x100000000, 8);
  h.writeUInt32LE(Math.floor(baseCounter / 0x100000000), 12);
  return h;
}

/** Atomic file replacement (shared with the agent and SDK); `mode` as the third argument, as the gateway's callers pass it. */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): Promise<void> {
  return writeFileAtomicShared(file, data, { mode });
}
