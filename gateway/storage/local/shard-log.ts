/**
 * The embedded shard log: one directory per shard holding append-only
 * segments. Appends get their counters synchronously and join a group commit:
 * one writev and (under `always`) one fdatasync cover every append that
 * arrived while the previous commit was in flight. Readers see only durable
 * records, so nothing read can vanish in a crash.
 *
 * Only the flusher touches the active segment's descriptor: writes, rolls and
 * the `interval:` policy's syncs run one after another in its loop, so a sync
 * never races a roll that closes the file. Readers hold a reference on the
 * descriptor of the segment they read; retention unlinks a segment at once
 * but closes its descriptor only when the last read of it is done.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { promisify } from 'node:util';
import type { AppendEntry, AppendResult, FramesRead, FsyncPolicy, ReadOptions, ReadResult, RecordFramesView, ShardLog, StoredRecord } from '../types.ts';
import { checkFrame, decodeFrame, encodeFrameInto, frameArrivalMs, frameCounter, frameHeaderBytes, framePkBytes, recordOfFrame, stampFrame } from './record-codec.ts';
import { Segment, segmentHeaderBytes } from './segment.ts';

// Plain callback wrappers: util.promisify of fs.read/fs.writev resolves to an object, not a count.
const writev = (fd: number, buffers: Buffer[], position: number) =>
  new Promise<number>((resolve, reject) => fs.writev(fd, buffers, position, (err, n) => (err ? reject(err) : resolve(n))));
const fdatasync = promisify(fs.fdatasync);
const read = (fd: number, buffer: Buffer, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => fs.read(fd, buffer, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));

export interface LocalShardLogOptions {
  fsync: FsyncPolicy;
  /** Roll to a new segment past this size. */
  segmentBytesMax: number;
  /** Roll to a new segment when the active one is older than this (so retention can delete it). */
  segmentAgeMsMax: number;
  /** Called as each fdatasync of segment data starts (observability; tests count them). */
  onSync?: () => void;
  /** Reports recovery problems (torn tails, corrupt frames). */
  onProblem?: (event: { file: string; problem: string; truncatedBytes: number }) => void;
  now?: () => number;
}

export const localShardLogDefaults = {
  segmentBytesMax: 64 * 1024 * 1024,
  segmentAgeMsMax: 60 * 60 * 1000,
};

/** Where a scan of the segments puts the frames it checked. */
interface FrameSink {
  count: number;
  add(buf: Buffer, at: number, total: number): void;
}

interface PendingWrite {
  segment: Segment;
  /** Encoded frames: a block per `append`, runs of adjacent frames for `appendFrames`. */
  frames: Buffer[];
  /** The counter and file offset of the first frame; the rest follow contiguously. */
  firstCounter: number;
  firstOffset: number;
  /** Per frame: its length. */
  sizes: number[];
  arrivalMs: number;
  endCounter: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class LocalShardLog implements ShardLog {
  nextCounter = 0;
  durableCounter = 0;
  lastArrivalMs = 0;
  private segments: Segment[] = [];
  /** Where the next frame of the active segment goes (file size plus queued frames). */
  private writeOffset = 0;
  private queue: PendingWrite[] = [];
  private flushing: Promise<void> | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  /** Bytes written to the active segment since its last fdatasync. */
  private dirty = false;
  /** The `interval:` timer asked for a sync; the flusher does it after the write in flight. */
  private syncRequested = false;
  /** When the last fdatasync started (epoch ms, the log's clock). */
  private lastSyncMs = 0;
  private failed: Error | undefined;
  private readers = new Map<Segment, { fd: number; refs: number; retired: boolean }>();
  private closed = false;
  private readonly now: () => number;

  private constructor(
    readonly dir: string,
    private readonly options: LocalShardLogOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  static async open(dir: string, options: LocalShardLogOptions): Promise<LocalShardLog> {
    const log = new LocalShardLog(dir, options);
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const names = (await fsp.readdir(dir)).filter((n) => /^\d{20}\.seg$/.test(n)).sort();
    for (const [i, name] of names.entries()) {
      const isLast = i === names.length - 1;
      const { segment, truncatedBytes, problem } = await Segment.open(dir, Number(name.slice(0, 20)), isLast);
      if (problem || truncatedBytes) options.onProblem?.({ file: segment.file, problem: problem ?? 'truncated', truncatedBytes });
      const prev = log.segments.at(-1);
      if (prev && prev.endCounter !== segment.baseCounter) {
        // A middle segment lost its tail: the counters in between are gone, the rest is intact.
        options.onProblem?.({ file: segment.file, problem: `gap: counters ${prev.endCounter}..${segment.baseCounter - 1} missing`, truncatedBytes: 0 });
      }
      log.segments.push(segment);
    }
    if (log.segments.length === 0) log.segments.push(await Segment.create(dir, 0));
    const active = log.segments.at(-1)!;
    if (active.fd === undefined) throw new Error(`active segment ${active.file} not open`);
    log.nextCounter = log.durableCounter = active.endCounter;
    log.writeOffset = active.size;
    log.target = active;
    log.targetFirstArrivalMs = active.firstArrivalMs;
    log.lastQueuedArrivalMs = active.lastArrivalMs;
    log.lastArrivalMs = active.lastArrivalMs || log.segments.reduce((m, s) => Math.max(m, s.lastArrivalMs), 0);
    log.lastSyncMs = log.now();
    if (options.fsync.kind === 'interval') {
      log.syncTimer = setInterval(() => log.requestSync(), options.fsync.intervalMs);
      log.syncTimer.unref();
    }
    return log;
  }

  firstCounter(): number {
    return this.segments[0]!.baseCounter;
  }

  append(entries: AppendEntry[]): AppendResult {
    assert.ok(entries.length > 0);
    const start = this.startAppend();
    if ('failed' in start) return start.failed;
    const { arrivalMs, pending } = start;
    const firstCounter = this.nextCounter;
    const pkBytes = entries.map((e) => Buffer.byteLength(e.partitionKey, 'utf8'));
    let blockBytes = 0;
    for (let i = 0; i < entries.length; i++) blockBytes += frameHeaderBytes + pkBytes[i]! + entries[i]!.data.length;
    const block = Buffer.allocUnsafe(blockBytes);
    let at = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const n = encodeFrameInto(block, at, this.nextCounter, arrivalMs, e.flags, e.partitionKey, pkBytes[i]!, e.data);
      pending.sizes.push(n);
      this.writeOffset += n;
      at += n;
      this.nextCounter++;
    }
    pending.frames.push(block);
    return this.finishAppend(pending, firstCounter, arrivalMs);
  }

  appendFrames(view: RecordFramesView, order: Int32Array, flags: number): AppendResult {
    assert.ok(order.length > 0);
    const start = this.startAppend();
    if ('failed' in start) return start.failed;
    const { arrivalMs, pending } = start;
    const firstCounter = this.nextCounter;
    const { frames, frameOff, tailCrc } = view;
    // Frames that lie one after another in the buffer go out as one piece.
    let runStart = -1;
    let runEnd = -1;
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      const at = frameOff[i]!;
      const end = frameOff[i + 1]!;
      stampFrame(frames, at, end - at, this.nextCounter, arrivalMs, flags, tailCrc[i]!);
      pending.sizes.push(end - at);
      this.writeOffset += end - at;
      this.nextCounter++;
      if (at === runEnd) runEnd = end;
      else {
        if (runStart >= 0) pending.frames.push(frames.subarray(runStart, runEnd));
        runStart = at;
        runEnd = end;
      }
    }
    pending.frames.push(frames.subarray(runStart, runEnd));
    return this.finishAppend(pending, firstCounter, arrivalMs);
  }

  /** The arrival time of an append and the queued write its frames join (or the log's failure). */
  private startAppend(): { arrivalMs: number; pending: PendingWrite } | { failed: AppendResult } {
    assert.ok(!this.closed, 'append after close');
    if (this.failed) return { failed: { firstCounter: this.nextCounter, arrivalMs: this.lastArrivalMs, durable: Promise.reject(this.failed) } };
    // Arrival times never go backwards within a shard, even if the clock does.
    const arrivalMs = Math.max(this.now(), this.lastQueuedArrivalMs);
    this.lastQueuedArrivalMs = arrivalMs;
    return { arrivalMs, pending: this.pendingFor(arrivalMs) };
  }

  /** Chains the append's `durable` onto its queued write and wakes the flusher. */
  private finishAppend(pending: PendingWrite, firstCounter: number, arrivalMs: number): AppendResult {
    pending.endCounter = this.nextCounter;
    const durable = new Promise<void>((resolve, reject) => {
      const prevResolve = pending.resolve;
      const prevReject = pending.reject;
      pending.resolve = () => { prevResolve(); resolve(); };
      pending.reject = (err) => { prevReject(err); reject(err); };
    });
    this.kick();
    return { firstCounter, arrivalMs, durable };
  }

  private lastQueuedArrivalMs = 0;
  /** The segment new frames go to: the active one, or one the flusher has yet to create. */
  private target!: Segment;
  private targetFirstArrivalMs = 0;
  private segmentsPendingCreate: Segment[] = [];

  /** The queued write to add frames to, rolling the segment when it is full or old. */
  private pendingFor(arrivalMs: number): PendingWrite {
    const hasFrames = this.nextCounter > this.target.baseCounter;
    const tooOld = hasFrames && arrivalMs - this.targetFirstArrivalMs >= this.options.segmentAgeMsMax;
    if (hasFrames && (this.writeOffset >= this.options.segmentBytesMax || tooOld)) {
      // Roll: the new segment starts at the next counter; the flusher creates its file in order.
      this.target = new Segment(this.dir, this.nextCounter);
      this.writeOffset = segmentHeaderBytes;
      this.segmentsPendingCreate.push(this.target);
    }
    if (this.nextCounter === this.target.baseCounter) this.targetFirstArrivalMs = arrivalMs;
    const last = this.queue.at(-1);
    if (last && last.segment === this.target && last.arrivalMs === arrivalMs) return last;
    const p: PendingWrite = {
      segment: this.target, frames: [], firstCounter: this.nextCounter, firstOffset: this.writeOffset, sizes: [], arrivalMs, endCounter: this.nextCounter,
      resolve: () => {}, reject: () => {},
    };
    this.queue.push(p);
    return p;
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      if (this.queue.length && !this.failed) this.kick();
    });
  }

  private async flushLoop(): Promise<void> {
    for (;;) {
      const batch = this.queue;
      if (!batch.length && !this.syncDue()) return;
      this.queue = [];
      try {
        if (batch.length) await this.writeBatch(batch);
        // Under steady load the flusher never idles, so the interval's sync happens here, between writes.
        if (this.syncDue()) await this.syncActive();
      } catch (err) {
        // A write error leaves the log in an unknown state: refuse further
        // appends (the gateway answers InternalFailure) rather than risk order.
        this.failed = err as Error;
        for (const p of [...batch, ...this.queue]) p.reject(this.failed);
        this.queue = [];
        return;
      }
    }
  }

  private async writeBatch(batch: PendingWrite[]): Promise<void> {
    let i = 0;
    while (i < batch.length) {
      const segment = batch[i]!.segment;
      const group: PendingWrite[] = [];
      while (i < batch.length && batch[i]!.segment === segment) group.push(batch[i++]!);
      let active = this.segments.at(-1)!;
      if (segment !== active) {
        assert.equal(segment, this.segmentsPendingCreate[0], 'segments roll in order');
        this.noteSync();
        await active.seal();
        this.dirty = false;
        await segment.createFile();
        this.segmentsPendingCreate.shift();
        this.segments.push(segment);
        active = segment;
      }
      const frames = group.flatMap((p) => p.frames);
      const position = group[0]!.firstOffset;
      assert.equal(position, active.size, 'writes are contiguous');
      let written = 0;
      const total = frames.reduce((n, f) => n + f.length, 0);
      while (written < total) {
        const rest = written === 0 ? frames : sliceBuffers(frames, written);
        written += await writev(active.fd!, rest, position + written);
      }
      this.dirty = true;
      if (this.options.fsync.kind === 'always') await this.syncActive();
      for (const p of group) {
        let offset = p.firstOffset;
        for (let k = 0; k < p.sizes.length; k++) {
          active.noteFrame(p.firstCounter + k, p.arrivalMs, offset, p.sizes[k]!);
          offset += p.sizes[k]!;
        }
        this.durableCounter = p.endCounter;
        this.lastArrivalMs = p.arrivalMs;
        p.frames = [];
        p.resolve();
      }
    }
  }

  /**
   * The `interval:` timer: data written since the last sync gets synced by
   * the flusher once the write in flight (if any) completes, so the unsynced
   * window is at most the interval plus one write, under any load.
   */
  private requestSync(): void {
    if (!this.dirty || this.closed || this.failed) return;
    this.syncRequested = true;
    this.kick();
  }

  private syncDue(): boolean {
    if (!this.dirty || this.options.fsync.kind !== 'interval') return false;
    return this.syncRequested || this.now() - this.lastSyncMs >= this.options.fsync.intervalMs;
  }

  private noteSync(): void {
    this.options.onSync?.();
    this.lastSyncMs = this.now();
    this.syncRequested = false;
  }

  /** fdatasync of the active segment; the flusher's alone. */
  private async syncActive(): Promise<void> {
    const active = this.segments.at(-1)!;
    assert.ok(active.fd !== undefined, 'the active segment is open');
    this.noteSync();
    this.dirty = false;
    await fdatasync(active.fd);
  }

  async read(fromCounter: number, options: ReadOptions): Promise<ReadResult> {
    const records: StoredRecord[] = [];
    const sink: FrameSink = {
      count: 0,
      add(buf, at, total) {
        records.push(recordOfFrame(buf, at, total));
        this.count++;
      },
    };
    const nextCounter = await this.scan(fromCounter, options, sink);
    return { records, nextCounter };
  }

  async readFrames(fromCounter: number, options: ReadOptions): Promise<FramesRead> {
    const chunks: Buffer[] = [];
    // A GetRecords limit is at most 10,000 records: two small arrays sized for it.
    const chunkOf = new Int32Array(Math.min(options.limit, 100_000));
    const at = new Int32Array(chunkOf.length);
    const sink: FrameSink = {
      count: 0,
      add(buf, offset) {
        if (chunks.at(-1) !== buf) chunks.push(buf);
        chunkOf[this.count] = chunks.length - 1;
        at[this.count] = offset;
        this.count++;
      },
    };
    const nextCounter = await this.scan(fromCounter, { ...options, limit: Math.min(options.limit, chunkOf.length) }, sink);
    return { count: sink.count, chunks, chunkOf, at, nextCounter };
  }

  /** Feeds `sink` the checked frames from `fromCounter` within `options`; returns where the next read continues. */
  private async scan(fromCounter: number, options: ReadOptions, sink: FrameSink): Promise<number> {
    let counter = Math.max(fromCounter, this.firstCounter());
    let bytes = 0;
    const end = this.durableCounter;
    while (counter < end && sink.count < options.limit) {
      const segment = this.segmentOf(counter);
      if (!segment) break;
      if (segment.endCounter <= counter) {
        counter = segment.endCounter; // a gap after a repaired middle segment
        const next = this.segments[this.segments.indexOf(segment) + 1];
        if (!next) break;
        counter = Math.max(counter, next.baseCounter);
        continue;
      }
      if (segment.lastArrivalMs < options.arrivalMsMin && segment.endCounter <= end) {
        counter = segment.endCounter; // wholly past retention
        continue;
      }
      const done = await this.readSegment(segment, counter, end, options, sink, bytes);
      counter = done.counter;
      bytes = done.bytes;
      if (done.full) break;
    }
    return counter;
  }

  private async readSegment(
    segment: Segment, from: number, end: number, options: ReadOptions, sink: FrameSink, bytesSoFar: number,
  ): Promise<{ counter: number; bytes: number; full: boolean }> {
    const fd = this.acquireReader(segment);
    try {
      return await this.scanSegment(fd, segment, from, end, options, sink, bytesSoFar);
    } finally {
      this.releaseReader(segment);
    }
  }

  private async scanSegment(
    fd: number, segment: Segment, from: number, end: number, options: ReadOptions, sink: FrameSink, bytesSoFar: number,
  ): Promise<{ counter: number; bytes: number; full: boolean }> {
    const start = segment.seekCounter(from);
    let position = start.offset;
    let counter = start.counter;
    let bytes = bytesSoFar;
    const segmentEnd = Math.min(segment.endCounter, end);
    const fileEnd = segment.size;
    // The bytes of a frame the previous chunk ended in the middle of: they start the next chunk.
    let carry: Buffer | undefined;
    while (counter < segmentEnd && position < fileEnd) {
      const want = Math.min(fileEnd - position, Math.max(256 * 1024, Math.min(options.bytesMax - bytes + 64 * 1024, 4 * 1024 * 1024)));
      const kept = carry?.length ?? 0;
      const chunk = Buffer.allocUnsafe(kept + want);
      if (carry) carry.copy(chunk, 0);
      const n = await read(fd, chunk, kept, want, position);
      if (n === 0) break;
      position += n;
      const buf = chunk.subarray(0, kept + n);
      let off = 0;
      for (;;) {
        if (counter >= segmentEnd) return { counter, bytes, full: false };
        const total = checkFrame(buf, off);
        if (total === 0) break;
        if (total < 0) {
          const r = decodeFrame(buf, off, false);
          throw new Error(`${segment.file}: ${r.kind === 'corrupt' ? r.reason : 'corrupt frame'} at offset ${position - buf.length + off}`);
        }
        const at = off;
        off += total;
        const frameCounterAt = frameCounter(buf, at);
        if (frameCounterAt !== counter) assert.fail(`frames are consecutive: expected counter ${counter}, found ${frameCounterAt}`);
        counter++;
        if (frameCounterAt < from || frameArrivalMs(buf, at) < options.arrivalMsMin) continue;
        const dataBytes = total - frameHeaderBytes - framePkBytes(buf, at);
        if (sink.count > 0 && bytes + dataBytes > options.bytesMax) return { counter: counter - 1, bytes, full: true };
        sink.add(buf, at, total);
        bytes += dataBytes;
        if (sink.count >= options.limit) return { counter, bytes, full: true };
      }
      carry = off < buf.length ? buf.subarray(off) : undefined;
    }
    return { counter: Math.max(counter, from), bytes, full: false };
  }

  private segmentOf(counter: number): Segment | undefined {
    let lo = 0;
    let hi = this.segments.length - 1;
    let best: Segment | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.segments[mid]!;
      if (s.baseCounter <= counter) {
        best = s;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }

  /** The read descriptor of a segment, referenced until `releaseReader`. */
  private acquireReader(segment: Segment): number {
    let r = this.readers.get(segment);
    if (!r) {
      r = { fd: fs.openSync(segment.file, 'r'), refs: 0, retired: false };
      this.readers.set(segment, r);
    }
    r.refs++;
    return r.fd;
  }

  private releaseReader(segment: Segment): void {
    const r = this.readers.get(segment)!;
    r.refs--;
    if (r.retired && r.refs === 0) this.closeReader(segment);
  }

  /** Closes a segment's read descriptor now, or when its last read is done. */
  private retireReader(segment: Segment): void {
    const r = this.readers.get(segment);
    if (!r) return;
    r.retired = true;
    if (r.refs === 0) this.closeReader(segment);
  }

  private closeReader(segment: Segment): void {
    fs.closeSync(this.readers.get(segment)!.fd);
    this.readers.delete(segment);
  }

  async counterAtTime(ms: number): Promise<number> {
    // A snapshot: retention may drop segments while this awaits reads.
    for (const segment of [...this.segments]) {
      if (segment.endCounter === segment.baseCounter || segment.lastArrivalMs < ms) continue;
      const start = segment.seekTime(ms);
      let counter = start.counter;
      // Scan forward from the index entry for the first record at or after ms.
      for (;;) {
        const r = await this.read(counter, { limit: 1000, bytesMax: 8 * 1024 * 1024, arrivalMsMin: 0 });
        if (r.records.length === 0) return this.durableCounter;
        const hit = r.records.find((rec) => rec.arrivalMs >= ms);
        if (hit) return hit.counter;
        counter = r.nextCounter;
      }
    }
    return this.nextCounter;
  }

  async trimBefore(ms: number): Promise<number> {
    let removed = 0;
    while (this.segments.length > 1) {
      const s = this.segments[0]!;
      if (!s.sealed || s.lastArrivalMs >= ms) break;
      this.segments.shift();
      // Unlinking is safe under a reader; closing its descriptor is not, so that waits for the reads.
      this.retireReader(s);
      await fsp.rm(s.file, { force: true });
      await fsp.rm(s.indexFile, { force: true });
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.syncTimer) clearInterval(this.syncTimer);
    while (this.flushing) await this.flushing;
    const active = this.segments.at(-1);
    if (active?.fd !== undefined) {
      if (!this.failed) fs.fdatasyncSync(active.fd);
      fs.closeSync(active.fd);
      active.fd = undefined;
    }
    for (const segment of [...this.readers.keys()]) this.retireReader(segment);
  }

  async destroy(): Promise<void> {
    await this.close();
    await fsp.rm(this.dir, { recursive: true, force: true });
  }
}

function sliceBuffers(buffers: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}
