/**
 * A streaming Matroska reader: push bytes in any split, get events back.
 * Pure (no I/O, no clocks), in the shape of the event-stream decoder.
 *
 * It understands what a live producer sends (ffmpeg to a pipe, the Kinesis
 * Video producer SDK, GStreamer kvssink) and what GetMedia answers: one or
 * more EBML documents back to back, each an EBML header and a Segment
 * (often of unknown size) holding Info, Tracks, Tags and Clusters (also
 * often of unknown size: such a Cluster ends where an element that cannot
 * be its child begins, or where the input ends cleanly).
 *
 * A Cluster is delivered whole, once complete, with its bytes rewritten to
 * a known size (`raw`) and its frames as views into those bytes; a
 * `cluster-start` event comes first, as soon as its Timecode is read.
 * SeekHead, Cues, Chapters, Attachments, Void and unknown level-1 elements
 * are skipped without being buffered.
 *
 * @example
 * const reader = new MkvReader();
 * for (const chunk of chunks) for (const ev of reader.push(chunk)) if (ev.type === 'cluster') console.log(ev.timecode, ev.frames.length);
 * reader.end(); // throws MkvError('TRUNCATED') if the input stopped inside an element
 */
import { BlockError, parseBlock, type MkvFrame } from './block.ts';
import {
  childrenOf, MkvError, parseEbmlHeader, parseInfo, parseTags, parseTracks, readUint,
  type EbmlHeader, type MkvTag, type MkvTrack, type SegmentInfo,
} from './elements.ts';
import { canContain, MkvId } from './ids.ts';
import { ByteQueue } from './byte-queue.ts';
import { encodeId, encodeSize, needMore, readId, readSize } from './vint.ts';

export type MkvEvent =
  /** The EBML header; `raw` is the whole element as received. */
  | { type: 'ebml'; header: EbmlHeader; raw: Uint8Array }
  /** The Segment begins; `raw` is its ID and size as received. */
  | { type: 'segment'; sizeUnknown: boolean; raw: Uint8Array }
  | { type: 'info'; info: SegmentInfo; raw: Uint8Array }
  | { type: 'tracks'; tracks: MkvTrack[]; raw: Uint8Array }
  | { type: 'tags'; tags: MkvTag[]; raw: Uint8Array }
  /** A Cluster's Timecode was read; its blocks follow. */
  | { type: 'cluster-start'; timecode: number }
  /** A complete Cluster: `raw` has a known 8-byte size; frames are views into `raw`. */
  | { type: 'cluster'; timecode: number; frames: MkvFrame[]; raw: Uint8Array }
  | { type: 'segment-end' }
  /** A level-1 element skipped unread (SeekHead, Cues, Void, ...). */
  | { type: 'skipped'; id: number; size: number };

export interface MkvReaderOptions {
  /** A Cluster larger than this fails with CLUSTER_TOO_LARGE as soon as it passes the bound. */
  clusterBytesMax?: number;
  /** Info, Tracks, Tags, the EBML header and any single block larger than this fail with ELEMENT_TOO_LARGE. */
  elementBytesMax?: number;
  /**
   * A Cluster of known size up to this many bytes gets its whole buffer when
   * its header is read; larger ones (and those of unknown size) are kept as
   * parts and joined at the end, so that a size claimed in a header never
   * reserves more memory than this before the bytes arrive.
   */
  clusterPreallocBytesMax?: number;
}

/**
 * Default bounds: a Kinesis Video fragment is at most 50 MB; header elements
 * are small. Up to 2 MiB (a 2 s fragment at 8 Mbit/s) a Cluster is assembled
 * in one buffer: what a connection can make the reader reserve ahead of the
 * bytes it actually sends stays small.
 */
export const mkvReaderDefaults = Object.freeze({ clusterBytesMax: 64 * 1024 * 1024, elementBytesMax: 16 * 1024 * 1024, clusterPreallocBytesMax: 2 * 1024 * 1024 });

/** A Cluster's head as `raw` has it: the 4-byte ID and an 8-byte size. */
const clusterHeadBytes = 12;

interface Open {
  id: number;
  /** Absolute offset where the element ends; undefined for the unknown size. */
  end: number | undefined;
}

interface ClusterState {
  timecode: number | undefined;
  /**
   * A Cluster of known size is assembled here as its bytes arrive (head
   * first): one copy of each byte, however the input was split. Otherwise
   * `pieces` keeps the parts, joined when the Cluster ends.
   */
  buf: Uint8Array | undefined;
  pieces: Uint8Array[];
  bodyBytes: number;
  /** Frames with the offset of their data in the Cluster's body. */
  frames: Array<{ frame: MkvFrame; at: number }>;
}

interface Pending {
  id: number;
  size: number;
  header: Uint8Array;
}

export class MkvReader {
  private readonly queue = new ByteQueue();
  private readonly stack: Open[] = [];
  private readonly clusterBytesMax: number;
  private readonly elementBytesMax: number;
  private readonly clusterPreallocBytesMax: number;
  private offset = 0;
  private skipLeft = 0;
  private pending: Pending | undefined;
  private cluster: ClusterState | undefined;
  private failure: MkvError | undefined;
  private ended = false;

  constructor(options: MkvReaderOptions = {}) {
    this.clusterBytesMax = options.clusterBytesMax ?? mkvReaderDefaults.clusterBytesMax;
    this.elementBytesMax = options.elementBytesMax ?? mkvReaderDefaults.elementBytesMax;
    this.clusterPreallocBytesMax = options.clusterPreallocBytesMax ?? mkvReaderDefaults.clusterPreallocBytesMax;
  }

  /** Bytes consumed so far (the offset of the next unread byte in the input). */
  get position(): number {
    return this.offset;
  }

  /** Whether a Cluster has begun and not yet ended. */
  get inCluster(): boolean {
    return this.cluster !== undefined;
  }

  /** Feeds bytes; returns the events they complete. Throws MkvError, after which the reader stays failed. */
  push(chunk: Uint8Array): MkvEvent[] {
    if (this.failure) throw this.failure;
    if (this.ended) throw new Error('MkvReader: push after end');
    this.queue.push(chunk);
    return this.guard((events) => this.run(events));
  }

  /**
   * The input has ended cleanly: closes elements of unknown size (emitting
   * the last Cluster) and throws TRUNCATED if it stopped inside an element.
   */
  end(): MkvEvent[] {
    if (this.failure) throw this.failure;
    this.ended = true;
    return this.guard((events) => {
      this.closeFinished(events);
      if (this.queue.length > 0 || this.pending || this.skipLeft > 0 || this.stack.some((o) => o.end !== undefined)) {
        throw new MkvError('TRUNCATED', `input ended inside an element at offset ${this.offset + this.queue.length}`);
      }
      while (this.stack.length) this.close(events);
    });
  }

  /**
   * Runs a step; an error fails the reader for good. The error thrown carries
   * in `events` what the step completed before it (a Cluster that ended just
   * before the bad bytes is still a good Cluster).
   */
  private guard(step: (events: MkvEvent[]) => void): MkvEvent[] {
    const events: MkvEvent[] = [];
    try {
      step(events);
      return events;
    } catch (err) {
      if (err instanceof BlockError) this.failure = new MkvError('INVALID_BLOCK', err.message);
      else if (err instanceof MkvError) this.failure = err;
      else throw err;
      const thrown = new MkvError(this.failure.code, this.failure.message);
      thrown.events = events;
      throw thrown;
    }
  }

  private run(events: MkvEvent[]): void {
    for (;;) {
      this.closeFinished(events);
      if (this.skipLeft > 0) {
        const n = Math.min(this.skipLeft, this.queue.length);
        this.queue.skip(n);
        this.offset += n;
        this.skipLeft -= n;
        if (this.skipLeft > 0) return;
        continue;
      }
      if (this.pending) {
        if (this.queue.length < this.pending.size) return;
        const p = this.pending;
        this.pending = undefined;
        const body = this.takeBody(p.size);
        this.offset += p.size;
        this.element(p, body, events);
        continue;
      }
      if (!this.readHeader(events)) return;
    }
  }

  /** Closes known-size masters that end here. */
  private closeFinished(events: MkvEvent[]): void {
    while (this.stack.length && this.stack[this.stack.length - 1]!.end === this.offset) this.close(events);
  }

  /** Reads the next element header and decides what to do with the element; false when more bytes are needed. */
  private readHeader(events: MkvEvent[]): boolean {
    if (this.queue.length === 0) return false;
    const view = this.queue.peek(Math.min(this.queue.length, 12));
    const id = readId(view, 0);
    if (id.length === needMore) return false;
    if (id.length === 0) throw new MkvError('INVALID_ID', `invalid element ID at offset ${this.offset}`);
    const size = readSize(view, id.length);
    if (size.length === needMore) return false;
    if (size.length === 0) throw new MkvError('INVALID_SIZE', `invalid size of element 0x${id.id.toString(16)} at offset ${this.offset}`);

    // An element that cannot be a child of an open unknown-size master ends it.
    let top = this.stack[this.stack.length - 1];
    while (top && top.end === undefined && !canContain(top.id, id.id)) {
      this.close(events);
      top = this.stack[this.stack.length - 1];
    }
    const headerLength = id.length + size.length;
    if (top?.end !== undefined && (size.size < 0 || this.offset + headerLength + size.size > top.end)) {
      throw new MkvError('ELEMENT_OVERFLOW', `element 0x${id.id.toString(16)} at offset ${this.offset} overruns its parent`);
    }
    const header = this.queue.take(headerLength);
    this.offset += headerLength;
    this.dispatch(id.id, size.size, header, events);
    return true;
  }

  /** Descend into, buffer, or skip an element whose header was just consumed. */
  private dispatch(id: number, size: number, header: Uint8Array, events: MkvEvent[]): void {
    const parent = this.stack[this.stack.length - 1]?.id ?? 0;
    if (parent === 0 && id === MkvId.Segment) {
      this.stack.push({ id, end: size < 0 ? undefined : this.offset + size });
      events.push({ type: 'segment', sizeUnknown: size < 0, raw: header });
      return;
    }
    if (parent === MkvId.Segment && id === MkvId.Cluster) {
      if (size + 12 > this.clusterBytesMax) throw new MkvError('CLUSTER_TOO_LARGE', `cluster of ${size} bytes passes ${this.clusterBytesMax}`);
      this.stack.push({ id, end: size < 0 ? undefined : this.offset + size });
      let buf: Uint8Array | undefined;
      if (size >= 0 && size + clusterHeadBytes <= this.clusterPreallocBytesMax) {
        buf = new Uint8Array(clusterHeadBytes + size);
        buf.set(encodeId(MkvId.Cluster), 0);
        buf.set(encodeSize(size, 8), 4);
      }
      this.cluster = { timecode: undefined, buf, pieces: [], bodyBytes: 0, frames: [] };
      return;
    }
    if (size < 0) throw new MkvError('UNKNOWN_SIZE_NOT_ALLOWED', `element 0x${id.toString(16)} at offset ${this.offset - header.length} has an unknown size`);
    if (parent === MkvId.Cluster) {
      if (size > this.elementBytesMax) throw new MkvError('ELEMENT_TOO_LARGE', `block of ${size} bytes`);
      this.addToCluster(header, size);
      this.pending = { id, size, header };
      return;
    }
    const buffered = parent === 0 ? id === MkvId.EBML : id === MkvId.Info || id === MkvId.Tracks || id === MkvId.Tags;
    if (buffered) {
      if (size > this.elementBytesMax) throw new MkvError('ELEMENT_TOO_LARGE', `element 0x${id.toString(16)} of ${size} bytes`);
      this.pending = { id, size, header };
      return;
    }
    if (parent === 0 && id !== MkvId.Void) {
      throw new MkvError('UNEXPECTED_ELEMENT', `element 0x${id.toString(16)} at offset ${this.offset - header.length} where an EBML header or Segment must be`);
    }
    events.push({ type: 'skipped', id, size });
    this.skipLeft = size;
  }

  /** Counts an element of the current Cluster against the bound, keeping its header bytes. */
  private addToCluster(header: Uint8Array, size: number): void {
    const c = this.cluster!;
    if (c.buf) c.buf.set(header, clusterHeadBytes + c.bodyBytes);
    else c.pieces.push(header);
    c.bodyBytes += header.length;
    if (c.bodyBytes + size + 12 > this.clusterBytesMax) {
      throw new MkvError('CLUSTER_TOO_LARGE', `cluster passes ${this.clusterBytesMax} bytes`);
    }
  }

  /** The body of the pending element: straight into the Cluster's buffer when it has one. */
  private takeBody(size: number): Uint8Array {
    const c = this.cluster;
    if (!c?.buf || this.stack[this.stack.length - 1]?.id !== MkvId.Cluster) return this.queue.take(size);
    const at = clusterHeadBytes + c.bodyBytes;
    this.queue.takeInto(c.buf, at, size);
    return c.buf.subarray(at, at + size);
  }

  /** A buffered element is complete. */
  private element(p: Pending, body: Uint8Array, events: MkvEvent[]): void {
    if (this.cluster && this.stack[this.stack.length - 1]?.id === MkvId.Cluster) return this.clusterChild(p, body, events);
    const raw = concat([p.header, body]);
    if (p.id === MkvId.EBML) events.push({ type: 'ebml', header: parseEbmlHeader(body), raw });
    else if (p.id === MkvId.Info) events.push({ type: 'info', info: parseInfo(body), raw });
    else if (p.id === MkvId.Tracks) events.push({ type: 'tracks', tracks: parseTracks(body), raw });
    else if (p.id === MkvId.Tags) events.push({ type: 'tags', tags: parseTags(body), raw });
  }

  private clusterChild(p: Pending, body: Uint8Array, events: MkvEvent[]): void {
    const c = this.cluster!;
    const at = c.bodyBytes;
    if (!c.buf) c.pieces.push(body);
    c.bodyBytes += body.length;
    if (p.id === MkvId.Timecode) {
      if (c.timecode !== undefined) throw new MkvError('UNEXPECTED_ELEMENT', 'a second Timecode in one Cluster');
      c.timecode = readUint(body);
      events.push({ type: 'cluster-start', timecode: c.timecode });
      return;
    }
    if (p.id !== MkvId.SimpleBlock && p.id !== MkvId.BlockGroup) return;
    if (c.timecode === undefined) throw new MkvError('MISSING_TIMECODE', `block before the Cluster's Timecode at offset ${this.offset - body.length}`);
    const frames = p.id === MkvId.SimpleBlock ? parseBlock(body, true) : blockGroupFrames(body);
    for (const frame of frames) c.frames.push({ frame, at: at + (frame.data.byteOffset - body.byteOffset) });
  }

  /** Closes the innermost open master. */
  private close(events: MkvEvent[]): void {
    const open = this.stack.pop()!;
    if (open.id === MkvId.Segment) {
      events.push({ type: 'segment-end' });
      return;
    }
    const c = this.cluster!;
    this.cluster = undefined;
    if (c.timecode === undefined) throw new MkvError('MISSING_TIMECODE', `Cluster without a Timecode ending at offset ${this.offset}`);
    let raw: Uint8Array;
    if (c.buf) {
      // Known size: the Cluster closes only where its size says it ends, so the buffer is full.
      if (clusterHeadBytes + c.bodyBytes !== c.buf.length) throw new Error(`MkvReader: Cluster closed at ${c.bodyBytes} of ${c.buf.length - clusterHeadBytes} bytes`);
      raw = c.buf;
    } else raw = concat([encodeId(MkvId.Cluster), encodeSize(c.bodyBytes, 8), ...c.pieces]);
    const frames = c.frames.map(({ frame, at }) => ({ ...frame, data: raw.subarray(clusterHeadBytes + at, clusterHeadBytes + at + frame.data.length) }));
    events.push({ type: 'cluster', timecode: c.timecode, frames, raw });
  }
}

/** The frames of a BlockGroup body: its Block, keyframe unless it has a ReferenceBlock, with BlockDuration. */
export function blockGroupFrames(body: Uint8Array): MkvFrame[] {
  let block: Uint8Array | undefined;
  let keyframe = true;
  let duration: number | undefined;
  for (const c of childrenOf(body)) {
    if (c.id === MkvId.Block) block = c.body;
    else if (c.id === MkvId.ReferenceBlock) keyframe = false;
    else if (c.id === MkvId.BlockDuration) duration = readUint(c.body);
  }
  if (!block) throw new MkvError('INVALID_BLOCK', 'BlockGroup without a Block');
  return parseBlock(block, false, keyframe).map((f) => (duration === undefined ? f : { ...f, duration }));
}

/**
 * The Timecode and frames of one complete Cluster element of known size (as
 * `raw` of a 'cluster' event, or as a store keeps it), read in place: the
 * frames are views into `cluster`, nothing is copied. Frame timecodes are
 * relative to the Cluster's, as the reader gives them.
 */
export function readCluster(cluster: Uint8Array): { timecode: number; frames: MkvFrame[] } {
  const id = readId(cluster, 0);
  if (id.id !== MkvId.Cluster) throw new MkvError('UNEXPECTED_ELEMENT', 'not a Cluster');
  const size = readSize(cluster, id.length);
  const start = id.length + size.length;
  if (size.length <= 0 || size.size < 0 || start + size.size !== cluster.length) throw new MkvError('INVALID_SIZE', 'a Cluster must have a known size that matches its bytes');
  let timecode: number | undefined;
  const frames: MkvFrame[] = [];
  try {
    for (const c of childrenOf(cluster.subarray(start))) {
      if (c.id === MkvId.Timecode) timecode = readUint(c.body);
      else if (c.id === MkvId.SimpleBlock) frames.push(...parseBlock(c.body, true));
      else if (c.id === MkvId.BlockGroup) frames.push(...blockGroupFrames(c.body));
    }
  } catch (err) {
    if (err instanceof BlockError) throw new MkvError('INVALID_BLOCK', err.message);
    throw err;
  }
  if (timecode === undefined) throw new MkvError('MISSING_TIMECODE', 'Cluster without a Timecode');
  return { timecode, frames };
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
