/**
 * The agent's durable buffer for one destination: segmented append-only
 * files, per-record CRC-32C, group-committed fsync, a disk cap with a
 * drop-oldest or reject-newest policy, and a peek/ack cursor for the uplink.
 *
 * Appends write synchronously into the page cache (so the in-memory picture
 * always matches the files, and a reader sees new records at once) and wait
 * only for the fsync the policy asks for. The replay position is a
 * checkpoint file: after a restart reading resumes at the last ack, so
 * delivery is at-least-once.
 *
 * For a newest-first catch-up (`startCatchUp`), the buffer is read in two
 * parts: the live part (segments from the split on, records appended after the
 * catch-up began) with its own cursor, and the backlog part (from the replay
 * position up to the split). Each part is read and acked in order; the
 * checkpoint holds both cursors and the split; once the backlog part is
 * acked the two cursors become one again. See docs/agent-buffer.md.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import nacl from 'tweetnacl';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import { isNoSpace } from '../../sdk/fs/atomic-file.ts';
import { undoAppend, undoPoint } from './append-undo.ts';
import { writeCheckpoint, type CatchUpSplit } from './checkpoint.ts';
import { appendDeadLetters } from './dead-letter.ts';
import { bufferError } from './errors.ts';
import { encodeFrame, frameBytesFor, frameCapturedAtMs, type FrameRecord } from './frame-codec.ts';
import { GroupCommit } from './group-commit.ts';
import { acquireLock } from './lock.ts';
import { appendRecordsMax, capBytesMin, capSegmentsMin, destinationNamePattern, encryptionNonceBytes, peekRecordsMax } from './limits.ts';
import { resolveOptions, type BufferOptions, type ResolvedOptions } from './options.ts';
import { comparePositions, oldestCapturedAtMs, readRange, readUnacked, type BufferPosition, type BufferedRecord, type ReadState } from './reader.ts';
import { recover } from './recovery.ts';
import { createSegmentFile, removeSegment, segmentHeaderBytes, writeSegmentMeta, type SegmentInfo } from './segment.ts';
import { validateRecord, type AppendRecord } from './validate.ts';

export interface BufferStats {
  depthRecords: number;
  depthBytes: number;
  diskBytes: number;
  /** The cap in force: the configured one, or lower after the disk ran out of space first. */
  capBytes: number;
  segments: number;
  oldestUnackedCapturedAtMs: number | undefined;
  /** drop-oldest: records, bytes and segments discarded to stay under the cap. */
  droppedRecords: number;
  droppedBytes: number;
  droppedSegments: number;
  /** reject-newest: appends and records refused with BUFFER_FULL. */
  rejectedAppends: number;
  rejectedRecords: number;
  deadLetteredRecords: number;
  corruptSegments: number;
  corruptBytes: number;
  /** Bytes of torn tail cut off at open. */
  tornBytes: number;
}

/** The parts of a buffer during a newest-first catch-up: records appended since it began, and the older ones. */
export type BufferPart = 'live' | 'backlog';

export class DiskBuffer implements ReadState {
  segments: SegmentInfo[];
  acked: BufferPosition;
  /** A newest-first catch-up in progress; the backlog part ends where the live part begins. */
  private split: CatchUpSplit | undefined;
  /** Undefined while read-only: the disk had no room for a fresh active segment (appends make one once it does). */
  private activeFd: number | undefined;
  /** The cap in force: `capBytes`, lowered when the disk ran out of space before the cap was reached. */
  private capBytes: number;
  /** Wholly acked segments kept because the checkpoint that would let them go could not be written (a full disk). */
  private unlinked: SegmentInfo[] = [];
  /** The last checkpoint write failed for lack of space: the next ack (or close) tries again. */
  private checkpointUnsaved = false;
  private readonly nextSeq: Map<string, number>;
  private readonly commit: GroupCommit;
  private syncTimer: NodeJS.Timeout | undefined;
  private dirty = false;
  private failed: Error | undefined;
  private closed = false;
  private oldestCapturedAtMs: number | undefined;
  private readonly counters = {
    droppedRecords: 0, droppedBytes: 0, droppedSegments: 0, rejectedAppends: 0, rejectedRecords: 0,
    deadLetteredRecords: 0, corruptSegments: 0, corruptBytes: 0, tornBytes: 0,
  };

  private constructor(
    readonly dir: string,
    readonly options: ResolvedOptions,
    rec: Awaited<ReturnType<typeof recover>>,
    private readonly unlock: () => void,
  ) {
    this.segments = rec.segments;
    this.acked = rec.ack;
    this.split = rec.split;
    this.activeFd = rec.activeFd;
    this.nextSeq = rec.nextSeq;
    this.counters.corruptSegments = rec.corruptSegments;
    this.counters.corruptBytes = rec.corruptBytes;
    this.counters.tornBytes = rec.tornBytes;
    this.commit = new GroupCommit(() => this.activeFd);
    this.capBytes = options.capBytes;
  }

  /** Opens (creating, recovering) the buffer directory of one destination. */
  static async open(dir: string, options: BufferOptions = {}): Promise<DiskBuffer> {
    const resolved = resolveOptions(options);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const unlock = acquireLock(dir, resolved.space && ((e) => resolved.space!.noSpace(e)));
    let recovered;
    try {
      recovered = await recover(dir, resolved);
    } catch (err) {
      unlock();
      throw err;
    }
    const buffer = new DiskBuffer(dir, resolved, recovered, unlock);
    buffer.trimAcked();
    buffer.refreshOldest();
    if (resolved.fsync.kind === 'interval') {
      buffer.syncTimer = setInterval(() => buffer.syncIdle(), resolved.fsync.intervalMs);
      buffer.syncTimer.unref();
    }
    return buffer;
  }

  /** Opens `<root>/<destination>`, the layout the tooling functions expect. */
  static async openDestination(root: string, destination: string, options: BufferOptions = {}): Promise<DiskBuffer> {
    if (!destinationNamePattern.test(destination)) {
      throw bufferError('BUFFER_OPTIONS_INVALID', `destination must match ${String(destinationNamePattern)} (got ${destination})`);
    }
    return DiskBuffer.open(path.join(root, destination), options);
  }

  get active(): SegmentInfo {
    return this.segments.at(-1)!;
  }

  /**
   * Appends records (all or none) and resolves with their per-source sequence
   * numbers once they are durable under the fsync policy.
   */
  async append(records: AppendRecord[]): Promise<{ seqs: number[] }> {
    this.assertOpen();
    if (records.length === 0 || records.length > appendRecordsMax) {
      throw bufferError('BUFFER_RECORD_INVALID', `append takes 1 to ${appendRecordsMax} records (got ${records.length})`);
    }
    const now = this.options.now();
    const encrypted = this.options.encryptionKey !== undefined;
    const framed = records.map((r) => validateRecord(r, now));
    const sizes = framed.map((r) => frameBytesFor(r, encrypted));
    for (const n of sizes) {
      if (segmentHeaderBytes + n > this.options.capBytes) {
        throw bufferError('BUFFER_RECORD_TOO_LARGE', `a record of ${n} frame bytes can never fit in capBytes ${this.options.capBytes}`);
      }
    }
    const rejectNewest = this.options.capPolicy === 'reject-newest';
    // Read-only until the disk has room again (drop-oldest makes room by dropping instead).
    if (rejectNewest && this.options.space?.low) this.refuse(sizes.length, 'the disk is full; read-only until space returns');
    let seqs: number[] = [];
    for (let attempt = 0; ; attempt++) {
      const undo = undoPoint(this.active, this.nextSeq, framed.map((r) => r.source));
      try {
        if (attempt > 0) this.makeRoom();
        this.ensureActive();
        if (rejectNewest) this.admitOrReject(sizes);
        seqs = framed.map((r) => {
          r.seq = this.nextSeq.get(r.source) ?? 0;
          this.nextSeq.set(r.source, r.seq + 1);
          return r.seq;
        });
        this.writeFrames(framed);
        break;
      } catch (err) {
        if (err instanceof TributaryError && err.code === 'BUFFER_FULL') throw err;
        if (!isNoSpace(err)) {
          // A failed write, roll or drop leaves files and memory out of step: reopening recovers.
          this.failed ??= err as Error;
          throw err instanceof TributaryError ? err : bufferError('BUFFER_CLOSED', `append to ${this.dir} failed; reopen the buffer`, err);
        }
        this.undoFailedAppend(undo, err as Error);
        // With a lowered cap, drop-oldest makes room before writing: one more try.
        if (rejectNewest || attempt > 0) this.refuse(sizes.length, `the disk is full (${(err as Error).message})`);
      }
    }
    if (this.oldestCapturedAtMs === undefined) this.refreshOldest();
    if (this.options.fsync.kind !== 'always') {
      this.dirty = true;
      return { seqs };
    }
    try {
      await this.commit.sync();
    } catch (err) {
      // After a failed fdatasync the kernel may have dropped the dirty pages: trust nothing more.
      this.failed ??= err as Error;
      throw bufferError('BUFFER_CLOSED', `fdatasync of ${this.active.file} failed; reopen the buffer`, err);
    }
    return { seqs };
  }

  /** drop-oldest under a lowered cap: drops sealed segments, oldest first, until the buffer is under it. */
  private makeRoom(): void {
    while (this.diskBytes() > this.capBytes && this.segments.length > 1 && this.segments[0]!.sealed) this.dropOldest();
  }

  /** Read-only after a start on a full disk: makes the active segment (throws ENOSPC while there is no room). */
  private ensureActive(): void {
    if (this.activeFd !== undefined) return;
    const created = createSegmentFile(this.dir, this.active.id + 1);
    this.segments.push(created.info);
    this.activeFd = created.fd;
  }

  /**
   * The disk ran out before the cap was reached: undo what the append wrote,
   * tell the disk guard, and lower the cap in force below what the segments
   * take now (leaving the guard its headroom), so that drop-oldest engages
   * before the disk is full again and reject-newest refuses instead of failing.
   */
  private undoFailedAppend(undo: ReturnType<typeof undoPoint>, err: Error): void {
    try {
      undoAppend(undo, this.segments, this.activeFd, this.nextSeq);
    } catch (undoErr) {
      this.failed ??= undoErr as Error;
      throw bufferError('BUFFER_CLOSED', `append to ${this.dir} failed and could not be undone; reopen the buffer`, undoErr);
    }
    this.refreshOldest();
    // A drop during the append wrote a checkpoint counting its sequence numbers: those are free again.
    this.saveCheckpoint();
    this.options.space?.full(err);
    const floor = Math.max(capBytesMin, capSegmentsMin * this.options.segmentBytes);
    const headroom = (this.options.space?.headroomBytes ?? 0) + this.options.segmentBytes;
    const cap = Math.max(floor, Math.min(this.capBytes, this.diskBytes() - headroom));
    if (cap < this.capBytes) {
      this.options.onProblem({ kind: 'disk-full', file: this.dir, detail: `no space left on the disk (${err.message}); cap lowered from ${this.capBytes} to ${cap} bytes` });
      this.capBytes = cap;
    }
  }

  /** Refuses an append whole: BUFFER_FULL, counted and reported. */
  private refuse(records: number, why: string): never {
    this.counters.rejectedAppends++;
    this.counters.rejectedRecords += records;
    this.options.onProblem({ kind: 'rejected', file: this.active.file, detail: why, records });
    throw bufferError('BUFFER_FULL', `buffer ${this.dir} is full: ${why}`);
  }

  /** reject-newest: refuses the whole append if its frames (and any new segment headers) would pass the cap. */
  private admitOrReject(sizes: number[]): void {
    let size = this.active.fileBytes;
    let need = 0;
    for (const n of sizes) {
      if (size + n > this.options.segmentBytes && size > segmentHeaderBytes) {
        size = segmentHeaderBytes;
        need += segmentHeaderBytes;
      }
      size += n;
      need += n;
    }
    if (this.diskBytes() + need <= this.capBytes) return;
    this.refuse(sizes.length, `${this.diskBytes()} of ${this.capBytes} bytes used (reject-newest)`);
  }

  /** Encodes and writes frames, rolling segments and (drop-oldest) making room first. */
  private writeFrames(records: FrameRecord[]): void {
    const key = this.options.encryptionKey;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = () => {
      this.writeSync(pending);
      pending = [];
      pendingBytes = 0;
    };
    for (const r of records) {
      const frame = encodeFrame(r, key, key ? nacl.randomBytes(encryptionNonceBytes) : undefined);
      if (this.active.fileBytes + pendingBytes + frame.length > this.options.segmentBytes && this.active.fileBytes + pendingBytes > segmentHeaderBytes) {
        flush();
        this.roll();
      }
      for (let guard = 0; this.diskBytes() + pendingBytes + frame.length > this.capBytes; guard++) {
        assert.ok(guard <= this.segments.length + 2, 'drop-oldest must make room');
        flush();
        this.dropOldest();
      }
      pending.push(frame);
      pendingBytes += frame.length;
    }
    flush();
  }

  /** Writes whole frames at the end of the active segment; a failed write stops all appends. */
  private writeSync(frames: Buffer[]): void {
    if (frames.length === 0) return;
    const seg = this.active;
    let at = seg.fileBytes;
    try {
      for (const frame of frames) {
        let done = 0;
        while (done < frame.length) done += fs.writeSync(this.activeFd!, frame, done, frame.length - done, at + done);
        at += frame.length;
      }
    } catch (err) {
      // A full disk: the append is undone (append-undo.ts) and the buffer goes on.
      if (isNoSpace(err)) throw err;
      // A partial frame may be on disk: reopening truncates it. Until then, refuse writes.
      this.failed = err as Error;
      throw bufferError('BUFFER_CLOSED', `write to ${seg.file} failed; reopen the buffer`, err);
    }
    for (const frame of frames) {
      if (seg.records === 0) seg.firstCapturedAtMs = frameCapturedAtMs(frame);
      seg.lastCapturedAtMs = frameCapturedAtMs(frame);
      seg.records++;
    }
    seg.fileBytes = seg.end = at;
  }

  /**
   * Seals the active segment (synced, with its sidecar) and starts the next
   * one. The next one is made first: on a full disk that fails (ENOSPC) and
   * nothing has changed.
   */
  private roll(): void {
    const old = this.active;
    const fd = this.activeFd!;
    const created = createSegmentFile(this.dir, old.id + 1);
    if (this.options.fsync.kind !== 'never') fs.fdatasyncSync(fd);
    this.commit.retire(fd);
    this.activeFd = undefined;
    old.sealed = true;
    if (old.corruptAt === undefined) this.saveMeta(old);
    this.segments.push(created.info);
    this.activeFd = created.fd;
    if (this.acked.segment === old.id && this.acked.offset >= old.end) this.trimAcked();
    else if (this.split && this.split.live.segment === old.id && this.split.live.offset >= old.end) this.trimLive();
  }

  /** drop-oldest: deletes the oldest segment, acked or not, and counts what it held. */
  private dropOldest(): void {
    if (this.segments.length === 1) {
      this.roll();
      // The roll may have deleted a wholly-acked segment: then room was made already.
      if (this.segments.length === 1) return;
    }
    const first = this.segments.shift()!;
    assert.ok(first.sealed, 'only sealed segments are dropped');
    const lost = first.records - (this.acked.segment === first.id ? this.acked.index : 0);
    const lostBytes = first.end - (this.acked.segment === first.id ? this.acked.offset : segmentHeaderBytes);
    if (this.acked.segment <= first.id) this.acked = { segment: this.segments[0]!.id, offset: segmentHeaderBytes, index: 0 };
    this.mergeIfDone();
    // The checkpoint goes first: it carries the sequence numbers the dropped segment held.
    const released = this.release([first]);
    this.counters.droppedRecords += lost;
    this.counters.droppedBytes += lostBytes;
    this.counters.droppedSegments++;
    this.options.onProblem({ kind: 'dropped', file: first.file, detail: 'cap reached (drop-oldest)', records: lost, bytes: lostBytes });
    this.refreshOldest();
    // Kept on disk for want of a checkpoint: no room was made, and the append that asked cannot go on.
    if (!released) throw Object.assign(new Error(`no space for the checkpoint that must precede deleting ${first.file}`), { code: 'ENOSPC' });
  }

  /**
   * Deletes segments that are acked (or dropped) in full, once a checkpoint
   * that no longer needs them is on disk, or when the first remaining segment
   * has a sidecar (which carries every source's next sequence number, so a
   * restart with the older checkpoint replays from there and never reuses a
   * number). Otherwise (a full disk) they wait in `unlinked`; returns whether
   * they are gone.
   */
  private release(doomed: SegmentInfo[]): boolean {
    const saved = this.saveCheckpoint();
    const first = this.segments[0];
    if (!saved && !(first?.sealed && first.metaSaved)) {
      this.unlinked.push(...doomed);
      return false;
    }
    for (const seg of [...this.unlinked.splice(0), ...doomed]) removeSegment(seg);
    return true;
  }

  /**
   * The oldest unacknowledged records, in order, from disk in bounded chunks.
   * Peek does not move the replay position; ack does. At least one record is
   * returned when any is buffered, even if it alone exceeds `maxBytes`.
   */
  async peek(maxRecords: number, maxBytes: number, options?: { part?: BufferPart; after?: BufferPosition }): Promise<BufferedRecord[]> {
    this.assertOpen();
    assert.ok(Number.isSafeInteger(maxRecords) && maxRecords > 0 && maxBytes > 0, 'peek limits must be positive');
    const n = Math.min(maxRecords, peekRecordsMax);
    const split = this.split;
    const part = split ? options?.part : undefined;
    // `after`: read ahead of what was peeked before; from the part's cursor once that has moved past it (drop-oldest).
    const from = (cursor: BufferPosition) => (options?.after && comparePositions(options.after, cursor) > 0 ? options.after : cursor);
    // Without a catch-up both parts are the whole buffer.
    if (!split || part === undefined) return options?.after ? readRange(this, from(this.acked), Number.MAX_SAFE_INTEGER, n, maxBytes) : readUnacked(this, n, maxBytes);
    if (part === 'live') return readRange(this, from(split.live), Number.MAX_SAFE_INTEGER, n, maxBytes);
    return readRange(this, from(this.acked), split.segment, n, maxBytes);
  }

  /** The first unacknowledged position of a part (of the whole buffer without a catch-up). */
  cursor(part?: BufferPart): BufferPosition {
    const split = this.split;
    return { ...(split && part === 'live' ? split.live : this.acked) };
  }

  /**
   * Starts a newest-first catch-up: seals the active segment, so that records
   * appended from now on form the live part, read (`peek(..., { part: 'live' })`)
   * and acked apart from the older backlog part. Returns false, and changes
   * nothing, when a catch-up is already running or nothing is buffered.
   */
  startCatchUp(): boolean {
    this.assertOpen();
    if (this.split || this.stats().depthRecords === 0 || this.activeFd === undefined) return false;
    if (this.active.records > 0) {
      try {
        this.roll();
      } catch (err) {
        if (isNoSpace(err)) return false; // No room for the split's segment: no catch-up for now.
        throw err;
      }
    }
    const segment = this.active.id;
    if (this.acked.segment >= segment) return false;
    this.split = { segment, live: { segment, offset: segmentHeaderBytes, index: 0 } };
    this.saveCheckpoint();
    return true;
  }

  /** The catch-up in progress, if any: records waiting in each part. */
  catchUp(): { liveRecords: number; backlogRecords: number } | undefined {
    const split = this.split;
    if (!split) return undefined;
    let live = 0;
    let backlog = -this.acked.index;
    for (const s of this.segments) {
      if (s.id < split.segment) backlog += s.records;
      else if (s.id >= split.live.segment) live += s.records - (s.id === split.live.segment ? split.live.index : 0);
    }
    return { liveRecords: live, backlogRecords: backlog };
  }

  /** Called by the reader when a segment turns out to be corrupt from `offset` on. */
  noteCorruption(seg: SegmentInfo, offset: number, recordsBefore: number, reason: string): void {
    if (seg.corruptAt !== undefined && seg.corruptAt <= offset) return;
    const bytes = seg.fileBytes - offset;
    seg.corruptAt = offset;
    seg.end = offset;
    seg.records = recordsBefore;
    this.counters.corruptSegments++;
    this.counters.corruptBytes += bytes;
    this.options.onProblem({ kind: 'corrupt', file: seg.file, detail: `${reason} at offset ${offset}; skipping the rest of the segment`, bytes });
    // New records must not land behind the damage, where the reader no longer looks (a full disk: the next append rolls).
    if (seg === this.active && this.activeFd !== undefined && !this.closed) {
      try {
        this.roll();
      } catch (err) {
        if (!isNoSpace(err)) throw err;
        this.commit.retire(this.activeFd);
        this.activeFd = undefined;
        seg.sealed = true;
      }
    }
    this.refreshOldest();
  }

  /** The sequence number the next record of `source` gets (numbers never repeat, and may skip after a crash). */
  nextSequence(source: string): number {
    return this.nextSeq.get(source) ?? 0;
  }

  /** Where replay starts: the position after the last acknowledged record. */
  get replayPosition(): BufferPosition {
    return { ...this.acked };
  }

  /**
   * Marks every record up to and including `position` as delivered, durably;
   * deletes segments that are wholly acknowledged. Older positions are no-ops.
   */
  async ack(position: BufferPosition): Promise<void> {
    this.assertOpen();
    const p = position;
    if (![p?.segment, p?.offset, p?.index].every((n) => Number.isSafeInteger(n) && n >= 0)) {
      throw bufferError('BUFFER_POSITION_INVALID', 'ack takes a position returned by peek');
    }
    // During a catch-up, the position says which part it belongs to.
    const split = this.split;
    const cursor = split && p.segment >= split.segment ? split.live : this.acked;
    if (p.segment < cursor.segment || (p.segment === cursor.segment && p.offset <= cursor.offset)) return;
    const seg = this.segments.find((s) => s.id === p.segment);
    if (!seg || p.offset > seg.fileBytes || p.offset < segmentHeaderBytes) {
      throw bufferError('BUFFER_POSITION_INVALID', `position ${p.segment}:${p.offset} is not in this buffer`);
    }
    if (split && cursor === split.live) {
      split.live = { segment: p.segment, offset: p.offset, index: p.index };
      this.trimLive();
      return;
    }
    this.acked = { segment: p.segment, offset: p.offset, index: p.index };
    this.trimAcked();
  }

  /** Ends the catch-up once the backlog part is wholly acked: reading goes on from the live cursor. */
  private mergeIfDone(): void {
    const split = this.split;
    if (!split || this.acked.segment < split.segment) return;
    this.acked = { ...split.live };
    this.split = undefined;
  }

  /**
   * Deletes the live part's sealed segments that the live cursor has passed
   * (the backlog cursor never reads them), after persisting the cursor.
   */
  private trimLive(): void {
    const split = this.split!;
    const doomed: SegmentInfo[] = [];
    for (let i = 0; i < this.segments.length - 1; i++) {
      const s = this.segments[i]!;
      if (s.id < split.segment) continue;
      const past = s.id < split.live.segment || (s.sealed && s.id === split.live.segment && split.live.offset >= s.end);
      if (!past) break;
      doomed.push(s);
      if (s.id === split.live.segment) split.live = { segment: this.segments[i + 1]!.id, offset: segmentHeaderBytes, index: 0 };
    }
    this.segments = this.segments.filter((s) => !doomed.includes(s));
    this.release(doomed);
  }

  /** Normalizes the replay position past wholly-read segments, persists it, then deletes them. */
  private trimAcked(): void {
    const doomed: SegmentInfo[] = [];
    for (;;) {
      const first = this.segments[0]!;
      const past = first.id < this.acked.segment || (first.sealed && this.acked.segment === first.id && this.acked.offset >= first.end);
      if (!past || this.segments.length === 1) break;
      doomed.push(this.segments.shift()!);
      if (this.acked.segment <= first.id) this.acked = { segment: this.segments[0]!.id, offset: segmentHeaderBytes, index: 0 };
      this.mergeIfDone();
    }
    this.mergeIfDone();
    this.release(doomed);
    this.refreshOldest();
    if (this.split) this.trimLive();
  }

  /**
   * Writes the checkpoint; on a full disk (after the disk guard gave up its
   * reserve) it reports once, keeps the position in memory and returns false:
   * the next ack, or close, tries again.
   */
  private saveCheckpoint(): boolean {
    const space = this.options.space;
    try {
      writeCheckpoint(this.dir, { ...this.acked, nextSeq: Object.fromEntries(this.nextSeq), ...(this.split ? { split: this.split } : {}) }, space && ((e) => space.noSpace(e)));
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      if (!this.checkpointUnsaved) this.options.onProblem({ kind: 'disk-full', file: path.join(this.dir, 'checkpoint.json'), detail: `checkpoint not written (${(err as Error).message}); kept in memory until there is room` });
      this.checkpointUnsaved = true;
      return false;
    }
    this.checkpointUnsaved = false;
    return true;
  }

  /** A sidecar is an optimization: without one (a full disk) the segment is rescanned at the next open. */
  private saveMeta(seg: SegmentInfo): void {
    const err = writeSegmentMeta(seg, this.nextSeq);
    if (!err) return;
    if (!isNoSpace(err)) throw err;
    this.options.onProblem({ kind: 'disk-full', file: seg.file, detail: `sidecar not written (${err.message}); the segment is rescanned at the next open` });
  }

  /** Writes records to the dead-letter file (durably) and counts them; does not ack them. */
  async deadLetter(records: BufferedRecord[], reason: string): Promise<void> {
    this.assertOpen();
    appendDeadLetters(this.dir, records, reason, this.options.encryptionKey);
    this.counters.deadLetteredRecords += records.length;
  }

  stats(): BufferStats {
    let records = 0;
    let bytes = 0;
    for (const s of this.segments) {
      records += s.records;
      bytes += s.end - segmentHeaderBytes;
    }
    records -= this.acked.index;
    bytes -= this.acked.offset - segmentHeaderBytes;
    const split = this.split;
    if (split) {
      // The live part's acked records (its wholly acked segments are deleted already).
      for (const s of this.segments) {
        if (s.id < split.segment || s.id > split.live.segment) continue;
        const whole = s.id < split.live.segment;
        records -= whole ? s.records : split.live.index;
        bytes -= whole ? s.end - segmentHeaderBytes : split.live.offset - segmentHeaderBytes;
      }
    }
    return {
      depthRecords: records, depthBytes: bytes, diskBytes: this.diskBytes(), capBytes: this.capBytes, segments: this.segments.length,
      oldestUnackedCapturedAtMs: records > 0 ? this.oldestCapturedAtMs : undefined, ...this.counters,
    };
  }

  diskBytes(): number {
    return this.segments.reduce((n, s) => n + s.fileBytes, 0) + this.unlinked.reduce((n, s) => n + s.fileBytes, 0);
  }

  private refreshOldest(): void {
    this.oldestCapturedAtMs = oldestCapturedAtMs(this.segments, this.acked);
  }

  private syncIdle(): void {
    if (!this.dirty || this.commit.busy || this.closed) return;
    this.dirty = false;
    this.commit.sync().catch((err: Error) => {
      this.failed = err;
    });
  }

  private assertOpen(): void {
    if (this.closed) throw bufferError('BUFFER_CLOSED', `buffer ${this.dir} is closed`);
    if (this.failed) throw bufferError('BUFFER_CLOSED', `buffer ${this.dir} failed: ${this.failed.message}`, this.failed);
  }

  /** Syncs (unless the policy is `never`) and releases the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.options.fsync.kind !== 'never' && !this.failed) await this.commit.sync();
    if ((this.checkpointUnsaved || this.unlinked.length > 0) && !this.failed) this.release([]);
    this.closed = true;
    if (this.activeFd !== undefined) this.commit.retire(this.activeFd);
    this.activeFd = undefined;
    this.unlock();
  }
}
