/**
 * The local fragment log of one video stream: append-only segment files in
 * `<dataDir>/video/<stream key>/`, one record per fragment, an in-memory
 * index rebuilt at start-up, group commit under the fsync policy, and
 * whole-segment deletion for retention.
 *
 * Record (little-endian): magic u32 'KVF1' | record length u32 | CRC-32C u32
 * of the rest | fragment value f64 | producer ms f64 | server ms f64 |
 * duration ms u32 | stream header length u32 | plain media length u32 |
 * sealed(stream header ‖ cluster) with AES-256-GCM under the stream's key.
 * The record is built and written in pieces (fs.writev): header, nonce |
 * tag, and the ciphertext of the stream header and of the Cluster, with the
 * CRC combined from the pieces'; the bytes on disk are the same as a joined
 * record's.
 *
 * Recovery: every record's CRC is checked when a segment is scanned; the
 * first bad or short record of the newest segment and everything after it is
 * a torn tail and is cut off (it was never acknowledged PERSISTED, because
 * PERSISTED waits for the fsync that would have covered it). Sealed segments
 * carry an index file (`.idx`) so that start-up need not rescan them.
 *
 * A write that fails (a full disk) is cut back off the segment at once and
 * its fragments are refused (PutMedia answers ARCHIVAL_ERROR); the next
 * append tries again, so the stream recovers when space returns. A failed
 * fsync leaves the file's state unknown: the log then refuses appends until
 * a restart repairs it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { fsyncDir, writeFileAtomic } from '../../../sdk/fs/atomic-file.ts';
import { type RecordCipher, sealOverheadBytes } from '../../streams/encryption.ts';
import { FragmentIndex, formatFragmentNumber, nextFragmentValue } from '../fragment-index.ts';
import type { FragmentAppend, FragmentLog, FragmentMedia, FragmentMeta, FragmentTimestampKind, FsyncPolicy } from '../types.ts';
import { crc32cCombine, crc32cRange } from './crc.ts';

const magic = 0x3146564b; // 'KVF1'
export const fragmentRecordHeaderBytes = 48;

export interface LocalFragmentLogOptions {
  dir: string;
  keyId: string;
  cipher: RecordCipher;
  fsync: FsyncPolicy;
  /** Roll to a new segment past this size... */
  segmentBytesMax: number;
  /** ...or age, so that retention can delete whole segments. */
  segmentAgeMsMax: number;
  log?: { warn(msg: string, fields?: Record<string, unknown>): void };
}

export const localFragmentLogDefaults = Object.freeze({ segmentBytesMax: 64 * 1024 * 1024, segmentAgeMsMax: 60 * 60 * 1000 });

interface Location {
  segment: SegmentFile;
  offset: number;
  length: number;
  headerLength: number;
}

interface SegmentFile {
  file: string;
  fd: number;
  size: number;
  createdMs: number;
  lastServerMs: number;
  sealed: boolean;
}

interface PendingAppend {
  value: number;
  meta: FragmentMeta;
  /** The record as written: its 48-byte header, then nonce | tag and the ciphertext, never joined (writev writes them). */
  pieces: Buffer[];
  /** Bytes of all the pieces. */
  length: number;
  headerLength: number;
  resolve(): void;
  reject(err: Error): void;
}

const writev = promisify(fs.writev);
const fsync = promisify(fs.fsync);
const read = promisify(fs.read);

export class LocalFragmentLog implements FragmentLog {
  private readonly index = new FragmentIndex<Location>();
  private segments: SegmentFile[] = [];
  private pending: PendingAppend[] = [];
  private writing = false;
  private unsynced: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private failure: Error | undefined;
  /** The value given to the newest append (it may not be written yet). */
  private lastAssigned = 0;

  private constructor(private readonly o: LocalFragmentLogOptions) {}

  static async open(o: LocalFragmentLogOptions): Promise<LocalFragmentLog> {
    const log = new LocalFragmentLog(o);
    await fsp.mkdir(o.dir, { recursive: true, mode: 0o700 });
    await log.recover();
    if (o.fsync.kind === 'interval') {
      log.timer = setInterval(() => void log.syncNow(), o.fsync.intervalMs);
      log.timer.unref();
    }
    return log;
  }

  append(f: FragmentAppend): { meta: FragmentMeta; durable: Promise<void> } {
    if (this.closed) throw new Error('fragment log is closed');
    const value = nextFragmentValue(Math.max(this.lastAssigned, this.index.lastValue), f.serverMs);
    this.lastAssigned = value;
    const plainLength = f.header.length + f.cluster.length;
    const meta: FragmentMeta = {
      FragmentNumber: formatFragmentNumber(value),
      ProducerTimestamp: f.producerMs,
      ServerTimestamp: f.serverMs,
      FragmentLengthInMilliseconds: f.durationMs,
      FragmentSizeInBytes: plainLength,
    };
    // The header and Cluster are sealed as they are (no join), and the record stays in pieces until writev:
    // the cipher's output is the only copy of a fragment's bytes between the socket and the disk.
    const pieces = this.o.cipher.sealParts(this.o.keyId, [f.header, f.cluster]);
    const length = fragmentRecordHeaderBytes + sealOverheadBytes + plainLength;
    const head = Buffer.allocUnsafe(fragmentRecordHeaderBytes);
    head.writeUInt32LE(magic, 0);
    head.writeUInt32LE(length, 4);
    head.writeDoubleLE(value, 12);
    head.writeDoubleLE(f.producerMs, 20);
    head.writeDoubleLE(f.serverMs, 28);
    head.writeUInt32LE(Math.max(0, Math.round(f.durationMs)), 36);
    head.writeUInt32LE(f.header.length, 40);
    head.writeUInt32LE(plainLength, 44);
    let crc = crc32cRange(head, 12, fragmentRecordHeaderBytes);
    for (const p of pieces) crc = crc32cCombine(crc, crc32cRange(p, 0, p.length), p.length);
    head.writeUInt32LE(crc, 8);
    pieces.unshift(head);
    assert.equal(pieces.reduce((n, p) => n + p.length, 0), length, 'a fragment record is its header, nonce, tag and ciphertext');
    const durable = new Promise<void>((resolve, reject) => {
      this.pending.push({ value, meta, pieces, length, headerLength: f.header.length, resolve, reject });
    });
    void this.drain();
    return { meta, durable };
  }

  list(): readonly FragmentMeta[] {
    return this.index.list();
  }
  find(n: string): FragmentMeta | undefined {
    return this.index.find(n);
  }
  next(n: string | undefined): FragmentMeta | undefined {
    return this.index.next(n);
  }
  range(kind: FragmentTimestampKind, startMs: number, endMs: number): FragmentMeta[] {
    return this.index.range(kind, startMs, endMs);
  }
  subscribe(listener: (meta: FragmentMeta) => void): () => void {
    return this.index.subscribe(listener);
  }
  waitForNext(n: string | undefined, signal?: AbortSignal): Promise<FragmentMeta | undefined> {
    return this.index.waitForNext(n, signal);
  }

  async read(n: string): Promise<FragmentMedia | undefined> {
    const e = this.index.entry(n);
    if (!e) return undefined;
    const { segment, offset, length, headerLength } = e.location;
    const record = Buffer.allocUnsafe(length);
    const { bytesRead } = await read(segment.fd, record, 0, length, offset);
    // Check what was checked before the write: a record that fails here is disk corruption.
    if (bytesRead !== length || record.readUInt32LE(0) !== magic || record.readUInt32LE(8) !== crc32cRange(record, 12, length)) {
      throw new Error(`fragment ${n} in ${segment.file} at ${offset} fails its checksum`);
    }
    const plain = this.o.cipher.open(this.o.keyId, record.subarray(fragmentRecordHeaderBytes));
    return { meta: e.meta, header: plain.subarray(0, headerLength), cluster: plain.subarray(headerLength) };
  }

  async trimBefore(ms: number): Promise<number> {
    const dropped = this.index.dropWhile((e) => e.meta.ServerTimestamp < ms);
    const keep: SegmentFile[] = [];
    for (const s of this.segments) {
      if (s.sealed && s.lastServerMs < ms) {
        fs.closeSync(s.fd);
        await fsp.rm(s.file, { force: true });
        await fsp.rm(indexFileOf(s.file), { force: true });
      } else keep.push(s);
    }
    this.segments = keep;
    return dropped.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.writing || this.pending.length) await new Promise((r) => setTimeout(r, 5));
    await this.syncNow();
    if (this.timer) clearInterval(this.timer);
    this.index.close();
    for (const s of this.segments) fs.closeSync(s.fd);
    this.segments = [];
  }

  async destroy(): Promise<void> {
    await this.close();
    await fsp.rm(this.o.dir, { recursive: true, force: true });
  }

  /** Writes pending records in batches (group commit); fsyncs per policy; makes them visible once durable. */
  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0);
        if (this.failure) {
          for (const p of batch) p.reject(this.failure);
          continue;
        }
        try {
          await this.writeBatch(batch);
        } catch (err) {
          for (const p of batch) p.reject(err as Error);
          if (err instanceof WriteUndone) {
            // A write that failed (a full disk) and was cut back off the segment: the next append may try again.
            this.o.log?.warn('fragment write failed; nothing of it was kept', { dir: this.o.dir, err: String(err.cause) });
            continue;
          }
          // A failed fsync, or a write that could not be undone, leaves the file in an unknown state:
          // refuse further appends until a restart repairs it (recovery cuts a torn tail).
          this.failure = err as Error;
          this.o.log?.warn('fragment write failed; the stream refuses writes until the gateway restarts', { dir: this.o.dir, err: String(err) });
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private async writeBatch(batch: PendingAppend[]): Promise<void> {
    const segment = await this.segmentFor(batch[0]!);
    let bytes = 0;
    for (const p of batch) bytes += p.length;
    try {
      await writeAll(segment.fd, batch.flatMap((p) => p.pieces), bytes);
    } catch (err) {
      // ENOSPC and the like: cut what part of the batch reached the file, so the segment ends at its last whole record.
      try {
        fs.ftruncateSync(segment.fd, segment.size);
      } catch {
        throw err;
      }
      throw new WriteUndone(err as Error);
    }
    let offset = segment.size;
    const visible = () => {
      for (const p of batch) {
        const location = { segment, offset, length: p.length, headerLength: p.headerLength };
        offset += p.length;
        segment.lastServerMs = Math.max(segment.lastServerMs, p.meta.ServerTimestamp);
        this.index.add({ value: p.value, meta: p.meta, location });
        p.resolve();
      }
    };
    segment.size += bytes;
    if (this.o.fsync.kind === 'always') {
      await fsync(segment.fd);
      visible();
    } else if (this.o.fsync.kind === 'never') visible();
    else this.unsynced.push(visible);
  }

  /** The fsync of the interval policy: everything written so far becomes durable and visible. */
  private async syncNow(): Promise<void> {
    const done = this.unsynced.splice(0);
    if (!done.length) return;
    const active = this.segments[this.segments.length - 1];
    if (active) await fsync(active.fd);
    for (const d of done) d();
  }

  /** The active segment, rolling to a new one when the current one is full or old. */
  private async segmentFor(first: PendingAppend): Promise<SegmentFile> {
    const active = this.segments[this.segments.length - 1];
    const now = first.meta.ServerTimestamp;
    if (active && active.size < this.o.segmentBytesMax && now - active.createdMs < this.o.segmentAgeMsMax) return active;
    if (active) await this.seal(active);
    const file = path.join(this.o.dir, String(first.value).padStart(20, '0') + '.kvf');
    const fd = fs.openSync(file, 'a+', 0o600);
    await fsyncDir(this.o.dir);
    const segment: SegmentFile = { file, fd, size: 0, createdMs: now, lastServerMs: 0, sealed: false };
    this.segments.push(segment);
    return segment;
  }

  /** Seals a segment: syncs it and writes its index so that start-up need not scan it. */
  private async seal(s: SegmentFile): Promise<void> {
    await this.syncNow();
    await fsync(s.fd);
    const entries = this.index.all().filter((e) => e.location.segment === s).map((e) => [
      e.value, e.meta.ProducerTimestamp, e.meta.ServerTimestamp, e.meta.FragmentLengthInMilliseconds, e.meta.FragmentSizeInBytes,
      e.location.offset, e.location.length, e.location.headerLength,
    ]);
    await writeFileAtomic(indexFileOf(s.file), JSON.stringify({ size: s.size, createdMs: s.createdMs, entries }));
    s.sealed = true;
  }

  private async recover(): Promise<void> {
    const files = (await fsp.readdir(this.o.dir)).filter((f) => f.endsWith('.kvf')).sort();
    for (let i = 0; i < files.length; i++) {
      const file = path.join(this.o.dir, files[i]!);
      const last = i === files.length - 1;
      const fd = fs.openSync(file, 'a+', 0o600);
      const segment: SegmentFile = { file, fd, size: 0, createdMs: 0, lastServerMs: 0, sealed: !last };
      this.segments.push(segment);
      if (!last && this.loadIndex(segment)) continue;
      this.scan(segment, last);
    }
  }

  private loadIndex(s: SegmentFile): boolean {
    let doc: { size: number; createdMs: number; entries: number[][] };
    try {
      doc = JSON.parse(fs.readFileSync(indexFileOf(s.file), 'utf8'));
    } catch {
      return false; // No index (or a damaged one): scan the segment instead.
    }
    if (doc.size !== fs.fstatSync(s.fd).size) return false;
    s.size = doc.size;
    s.createdMs = doc.createdMs;
    for (const [value, producerMs, serverMs, durationMs, size, offset, length, headerLength] of doc.entries as number[][]) {
      this.addRecovered(s, { value: value!, producerMs: producerMs!, serverMs: serverMs!, durationMs: durationMs!, size: size!, offset: offset!, length: length!, headerLength: headerLength! });
    }
    return true;
  }

  /** Reads every record of a segment, checking each; cuts a torn tail off the newest segment. */
  private scan(s: SegmentFile, newest: boolean): void {
    const bytes = fs.readFileSync(s.file);
    let at = 0;
    while (at + fragmentRecordHeaderBytes <= bytes.length) {
      const length = bytes.readUInt32LE(at + 4);
      if (bytes.readUInt32LE(at) !== magic || length < fragmentRecordHeaderBytes || at + length > bytes.length) break;
      if (bytes.readUInt32LE(at + 8) !== crc32cRange(bytes, at + 12, at + length)) break;
      this.addRecovered(s, {
        value: bytes.readDoubleLE(at + 12), producerMs: bytes.readDoubleLE(at + 20), serverMs: bytes.readDoubleLE(at + 28),
        durationMs: bytes.readUInt32LE(at + 36), headerLength: bytes.readUInt32LE(at + 40), size: bytes.readUInt32LE(at + 44), offset: at, length,
      });
      at += length;
    }
    s.size = at;
    if (at < bytes.length) {
      this.o.log?.warn(newest ? 'cut a torn tail off a fragment segment' : 'a sealed fragment segment is damaged; reading stops at the damage', { file: s.file, validBytes: at, fileBytes: bytes.length });
      if (newest) {
        fs.ftruncateSync(s.fd, at);
        fs.fsyncSync(s.fd);
      }
    }
  }

  private addRecovered(s: SegmentFile, r: { value: number; producerMs: number; serverMs: number; durationMs: number; size: number; offset: number; length: number; headerLength: number }): void {
    if (r.value <= this.index.lastValue && this.index.size > 0) return; // Never index a value twice.
    if (!s.createdMs) s.createdMs = r.serverMs;
    s.lastServerMs = Math.max(s.lastServerMs, r.serverMs);
    const meta: FragmentMeta = {
      FragmentNumber: formatFragmentNumber(r.value), ProducerTimestamp: r.producerMs, ServerTimestamp: r.serverMs,
      FragmentLengthInMilliseconds: r.durationMs, FragmentSizeInBytes: r.size,
    };
    this.index.add({ value: r.value, meta, location: { segment: s, offset: r.offset, length: r.length, headerLength: r.headerLength } });
  }
}

/** A write that failed and was cut off the segment again: nothing of the batch is on disk. */
class WriteUndone extends Error {
  constructor(cause: Error) {
    super(`fragment write failed and was undone: ${cause.message}`, { cause });
  }
}

/** Writes the pieces one after another at the end of the file, without joining them; a short write goes on where it stopped. */
async function writeAll(fd: number, pieces: Buffer[], bytes: number): Promise<void> {
  let written = 0;
  let rest = pieces;
  for (;;) {
    const n = (await writev(fd, rest)).bytesWritten;
    written += n;
    if (written >= bytes) break;
    assert.ok(n > 0, 'writev made no progress');
    // Drop the pieces written whole and the written part of the next one.
    let skip = n;
    let i = 0;
    while (skip >= rest[i]!.length) skip -= rest[i++]!.length;
    rest = [rest[i]!.subarray(skip), ...rest.slice(i + 1)];
  }
  assert.equal(written, bytes, 'writev wrote more than it was given');
}

function indexFileOf(segmentFile: string): string {
  return segmentFile.replace(/\.kvf$/, '.idx');
}
