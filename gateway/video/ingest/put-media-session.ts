/**
 * One PutMedia request's media, as a pure state machine: bytes in (any
 * split), fragments and acknowledgements out. No I/O and no clock of its own
 * (the caller passes `now`), so every rule here is tested without a socket.
 *
 * Rules (PutMedia API Reference; where AWS publishes none, ours are in
 * docs/video.md):
 * - The stream header is what the producer sent before its Clusters: EBML
 *   header, Segment start (stored with the unknown size), Info and Tracks. A
 *   new EBML header in the same request starts a new header.
 * - Each Cluster is one fragment. BUFFERING goes out when its Timecode is
 *   read; once complete and valid it is handed over for storage (the caller
 *   sends RECEIVED and PERSISTED with the fragment number).
 * - Timecodes: ABSOLUTE Cluster timecodes are producer time; RELATIVE ones are
 *   added to x-amzn-producer-start-timestamp. The stored Cluster gets the
 *   absolute value, so readers never need the session's start time.
 *   FragmentTimecode in acks is the Cluster's Timecode as the producer sent it.
 * - Errors end the session with one ERROR ack (AWS's ErrorIds): INVALID_MKV_DATA
 *   for bytes that are not MKV, MAX_FRAGMENT_SIZE_REACHED past 50 MB,
 *   MAX_FRAGMENT_DURATION_REACHED past 10 s, FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS,
 *   MORE_THAN_ALLOWED_TRACKS_FOUND (4012), TRACK_NUMBER_MISMATCH, FRAMES_MISSING_FOR_TRACK,
 *   INVALID_PRODUCER_TIMESTAMP,
 *   STREAM_READ_ERROR when the body ends inside an element. The fragment in
 *   progress is dropped; fragments handed over before stay valid.
 */
import { concat, MkvError, MkvId, MkvReader, type MkvEvent, type MkvFrame, type MkvTrack } from '../../../sdk/protocol/mkv/index.ts';
import { childrenOf } from '../../../sdk/protocol/mkv/elements.ts';
import { encodeId, encodeSize, unknownSize8 } from '../../../sdk/protocol/mkv/vint.ts';
import { uintElement } from '../../../sdk/protocol/mkv/writer.ts';
import * as limits from '../../../sdk/protocol/video/limits.ts';
import { errorAck, type Ack } from '../../../sdk/protocol/video/acks.ts';

export { errorAck, type Ack };

/** A complete, valid fragment for the store. */
export interface IngestFragment {
  header: Uint8Array;
  /** The Cluster with its Timecode made absolute. */
  cluster: Uint8Array;
  producerMs: number;
  durationMs: number;
  /** The Cluster's Timecode as sent, for the acks. */
  ackTimecode: number;
  /** How many frames (blocks) the Cluster holds. */
  frames: number;
}

export type SessionOutput = { kind: 'ack'; ack: Ack } | { kind: 'fragment'; fragment: IngestFragment };

export interface PutMediaSessionOptions {
  timecodeType: 'ABSOLUTE' | 'RELATIVE';
  /** x-amzn-producer-start-timestamp in ms. */
  producerStartMs: number;
  now(): number;
  /** Producer timestamps later than now plus this are INVALID_PRODUCER_TIMESTAMP (ours: AWS publishes no bound). */
  futureToleranceMs?: number;
}

/** Producer time may run ahead of the server clock by this much (ours; clocks on devices drift). */
export const producerFutureToleranceMsDefault = 24 * 3_600_000;

export class PutMediaSession {
  private readonly reader = new MkvReader({ clusterBytesMax: limits.fragmentBytesMax });
  private headerParts: { ebml?: Uint8Array; info?: Uint8Array; tracks?: Uint8Array } = {};
  private header: Uint8Array | undefined;
  private tracks: MkvTrack[] = [];
  private timecodeScale = 1_000_000;
  private lastProducerMs = -Infinity;
  private currentTimecode: number | undefined;
  private failed = false;

  constructor(private readonly o: PutMediaSessionOptions) {}

  /** Whether an ERROR ended the session. */
  get ended(): boolean {
    return this.failed;
  }

  push(chunk: Uint8Array): SessionOutput[] {
    return this.run(() => this.reader.push(chunk));
  }

  /** The body ended cleanly. */
  end(): SessionOutput[] {
    return this.run(() => this.reader.end());
  }

  /** Outputs of the events `read` gives, up to and including the ERROR that ends the session. */
  private run(read: () => MkvEvent[]): SessionOutput[] {
    if (this.failed) return [];
    const out: SessionOutput[] = [];
    try {
      this.events(read(), out);
    } catch (err) {
      // Clusters that ended before the bad bytes are good fragments.
      if (err instanceof MkvError && err.events.length) {
        try {
          this.events(err.events as MkvEvent[], out);
        } catch (inner) {
          out.push(...this.fail(inner));
          return out;
        }
      }
      out.push(...this.fail(err));
    }
    return out;
  }

  private fail(err: unknown): SessionOutput[] {
    this.failed = true;
    if (err instanceof SessionError) return [{ kind: 'ack', ack: errorAck(err.code, this.currentTimecode) }];
    if (!(err instanceof MkvError)) throw err;
    const code: limits.PutMediaErrorCode = err.code === 'CLUSTER_TOO_LARGE' ? 'MAX_FRAGMENT_SIZE_REACHED' : err.code === 'TRUNCATED' ? 'STREAM_READ_ERROR' : 'INVALID_MKV_DATA';
    return [{ kind: 'ack', ack: errorAck(code, this.currentTimecode) }];
  }

  private events(events: MkvEvent[], out: SessionOutput[]): void {
    for (const ev of events) {
      if (ev.type === 'ebml') {
        this.headerParts = { ebml: ev.raw };
        this.header = undefined;
      } else if (ev.type === 'info') {
        this.headerParts.info = ev.raw;
        this.timecodeScale = ev.info.timecodeScale;
      } else if (ev.type === 'tracks') {
        if (ev.tracks.length > limits.tracksPerFragmentMax) throw new SessionError('MORE_THAN_ALLOWED_TRACKS_FOUND');
        this.headerParts.tracks = ev.raw;
        this.tracks = ev.tracks;
      } else if (ev.type === 'cluster-start') {
        this.currentTimecode = ev.timecode;
        out.push({ kind: 'ack', ack: { EventType: 'BUFFERING', FragmentTimecode: ev.timecode } });
      } else if (ev.type === 'cluster') {
        out.push({ kind: 'fragment', fragment: this.fragment(ev) });
        this.currentTimecode = undefined;
      }
    }
  }

  private streamHeader(): Uint8Array {
    if (this.header) return this.header;
    const { ebml, info, tracks } = this.headerParts;
    if (!ebml || !info || !tracks) throw new SessionError('INVALID_MKV_DATA');
    this.header = concat([ebml, encodeId(MkvId.Segment), unknownSize8, info, tracks]);
    return this.header;
  }

  private fragment(ev: Extract<MkvEvent, { type: 'cluster' }>): IngestFragment {
    const header = this.streamHeader();
    const msPerUnit = this.timecodeScale / 1_000_000;
    const startUnits = this.o.timecodeType === 'ABSOLUTE' ? ev.timecode : Math.round(this.o.producerStartMs / msPerUnit) + ev.timecode;
    const producerMs = Math.round(startUnits * msPerUnit);
    if (!Number.isSafeInteger(startUnits) || producerMs < 0 || producerMs > this.o.now() + (this.o.futureToleranceMs ?? producerFutureToleranceMsDefault)) {
      throw new SessionError('INVALID_PRODUCER_TIMESTAMP');
    }
    if (producerMs < this.lastProducerMs) throw new SessionError('FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS');
    const known = new Set(this.tracks.map((t) => t.number));
    if (ev.frames.some((f) => !known.has(f.track))) throw new SessionError('TRACK_NUMBER_MISMATCH');
    // "Every fragment must contain at least one frame for each track defined in the fragment header."
    const present = new Set(ev.frames.map((f) => f.track));
    if (this.tracks.some((t) => !present.has(t.number))) throw new SessionError('FRAMES_MISSING_FOR_TRACK');
    const durationMs = Math.round(fragmentDurationUnits(ev.frames, this.tracks, this.timecodeScale) * msPerUnit);
    if (durationMs > limits.fragmentDurationMsMax) throw new SessionError('MAX_FRAGMENT_DURATION_REACHED');
    this.lastProducerMs = producerMs;
    const cluster = startUnits === ev.timecode ? ev.raw : withTimecode(ev.raw, startUnits);
    return { header, cluster, producerMs, durationMs, ackTimecode: ev.timecode, frames: ev.frames.length };
  }
}

class SessionError extends Error {
  constructor(readonly code: limits.PutMediaErrorCode) {
    super(code);
  }
}

/**
 * A fragment's length in timecode units: from its earliest frame to the end
 * of its latest (BlockDuration, else the track's DefaultDuration, else the
 * average spacing of that track's frames).
 */
export function fragmentDurationUnits(frames: MkvFrame[], tracks: MkvTrack[], timecodeScale: number): number {
  if (frames.length === 0) return 0;
  let start = Infinity;
  let end = -Infinity;
  for (const track of new Set(frames.map((f) => f.track))) {
    const own = frames.filter((f) => f.track === track);
    const times = own.map((f) => f.timecode);
    const first = Math.min(...times);
    const last = Math.max(...times);
    const defaultNs = tracks.find((t) => t.number === track)?.defaultDuration;
    const spacing = own.length > 1 ? (last - first) / (own.length - 1) : 0;
    const lastFrame = own.find((f) => f.timecode === last)!;
    const tail = lastFrame.duration ?? (defaultNs !== undefined ? defaultNs / timecodeScale : spacing);
    start = Math.min(start, first);
    end = Math.max(end, last + tail);
  }
  return Math.max(0, end - start);
}

/** A Cluster (known size, as the reader gives it) with its Timecode replaced. */
export function withTimecode(cluster: Uint8Array, timecode: number): Uint8Array {
  const head = 4 + 8; // Cluster ID and the reader's 8-byte size
  const parts: Uint8Array[] = [];
  let at = head;
  const body = cluster.subarray(head);
  for (const c of childrenOf(body)) {
    const end = c.body.byteOffset - cluster.byteOffset + c.body.length;
    parts.push(c.id === MkvId.Timecode ? uintElement(MkvId.Timecode, timecode) : cluster.subarray(at, end));
    at = end;
  }
  const newBody = concat(parts);
  return concat([encodeId(MkvId.Cluster), encodeSize(newBody.length, 8), newBody]);
}
