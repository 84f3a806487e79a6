/**
 * Turns ffmpeg's MKV output into fragments stamped with capture wall-clock
 * time. One MKV Cluster (one GOP, as ffmpeg writes them with a large
 * cluster time limit) is one fragment. Pure: bytes and the arrival time in,
 * fragments out.
 *
 * Capture time. ffmpeg's timecodes count from its own start (or are the
 * source's), so each run of ffmpeg gets an anchor: the wall-clock time of
 * its timecode zero. A fragment cannot have been captured later than it
 * arrived, less its own length, so every fragment gives an upper bound on
 * the anchor (`arrival - length - timecode`); delays in delivery (a busy
 * disk, a burst from the camera) only make that bound later, never earlier.
 * The anchor is kept at the lowest recent bound: it moves down at once when
 * a fragment arrives earlier than the anchor says it could (the source's
 * clock runs fast), and up only when every fragment of the last
 * `anchorWindowFragments` arrived more than `driftMsMax` late (the source's
 * clock runs slow, or it stalled for longer than the window). Small jitter
 * never moves it, so timestamps stay continuous.
 *
 * Producer timestamps strictly increase across fragments and across runs:
 * a run's first fragment never starts before the previous run's last one
 * ended (`notBeforeMs`); within a run, each starts after the previous start.
 */
import assert from 'node:assert/strict';
import { MkvReader, type MkvEvent, type MkvTrack } from '../../sdk/protocol/mkv/index.ts';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import { fragmentDurationMs, streamHeader, timecodeScaleMs, withClusterTimecode } from './mkv-edit.ts';

export interface CapturedFragment {
  /** Capture wall-clock time of the fragment's first frame, epoch ms: the PutMedia producer timestamp. */
  producerMs: number;
  durationMs: number;
  /** EBML header, Segment (unknown size), Info, Tracks. */
  header: Uint8Array;
  /** The Cluster, its Timecode set to `producerMs` (in the header's TimecodeScale). */
  cluster: Uint8Array;
}

export interface FragmenterOptions {
  /** `capture`: anchored to the wall clock as above. `source`: keep the source's timecodes when they are epoch ms. */
  timestamps: 'capture' | 'source';
  /** False for sources read faster than real time (files, test sources): the anchor is fixed at the first fragment. */
  realtime: boolean;
  /** Where the previous run's last fragment ended (epoch ms): nothing is stamped before it. */
  notBeforeMs: number;
  driftMsMax?: number;
  anchorWindowFragments?: number;
}

export type FragmenterEvent =
  | { kind: 'anchor-moved'; byMs: number }
  | { kind: 'fragment-skipped'; reason: 'no-keyframe' | 'empty'; timecode: number }
  | { kind: 'source-timestamps-relative' };

/** Epoch milliseconds after 2001: a timecode this large is already absolute. */
const absoluteMsMin = 1e12;
export const driftMsMaxDefault = 1000;
export const anchorWindowFragmentsDefault = 15;
/** A fragment arriving this much earlier than the anchor allows moves the anchor down. */
const earlyToleranceMs = 250;

export class Fragmenter {
  private readonly reader = new MkvReader();
  private parts: { ebml?: Uint8Array; info?: Uint8Array; tracks?: Uint8Array } = {};
  private header: Uint8Array | undefined;
  private tracks: MkvTrack[] = [];
  private timecodeScale = 1_000_000;
  private anchorMs: number | undefined;
  private readonly bounds: number[] = [];
  private notBeforeMs: number;
  /** Where the latest fragment of this run ends. */
  endMs = 0;
  private sourceAbsolute: boolean | undefined;
  readonly events: FragmenterEvent[] = [];

  constructor(private readonly o: FragmenterOptions) {
    this.notBeforeMs = o.notBeforeMs;
  }

  /** ffmpeg's bytes, in any split; `nowMs` is when they arrived. */
  push(chunk: Uint8Array, nowMs: number): CapturedFragment[] {
    return this.accept(this.reader.push(chunk), nowMs);
  }

  /** ffmpeg's output ended (it exited): a Cluster of unknown size completes here; throws MkvError('TRUNCATED') if it stopped mid-element. */
  end(nowMs: number): CapturedFragment[] {
    return this.accept(this.reader.end(), nowMs);
  }

  private accept(events: MkvEvent[], nowMs: number): CapturedFragment[] {
    const out: CapturedFragment[] = [];
    for (const ev of events) {
      if (ev.type === 'ebml') {
        this.parts = { ebml: ev.raw };
        this.header = undefined;
      } else if (ev.type === 'info') {
        this.parts.info = ev.raw;
        this.timecodeScale = ev.info.timecodeScale;
      } else if (ev.type === 'tracks') {
        this.parts.tracks = ev.raw;
        this.tracks = ev.tracks;
      } else if (ev.type === 'cluster') {
        const f = this.fragment(ev, nowMs);
        if (f) out.push(f);
      }
    }
    return out;
  }

  private fragment(ev: Extract<MkvEvent, { type: 'cluster' }>, nowMs: number): CapturedFragment | undefined {
    const { ebml, info, tracks } = this.parts;
    assert.ok(ebml && info && tracks, 'ffmpeg writes the EBML header, Info and Tracks before the first Cluster');
    this.header ??= streamHeader({ ebml, info, tracks });
    // ffmpeg's Matroska muxer always writes millisecond timecodes; acks name fragments by them.
    if (this.timecodeScale !== timecodeScaleMs) throw new TributaryError('CAMERA_TIMECODE_SCALE', `the capture's TimecodeScale is ${this.timecodeScale} ns; the camera input needs milliseconds (1000000)`);
    const msPerUnit = 1;
    const video = new Set(this.tracks.filter((t) => t.type === undefined || t.type === 1).map((t) => t.number));
    const frames = ev.frames;
    if (frames.length === 0) {
      this.events.push({ kind: 'fragment-skipped', reason: 'empty', timecode: ev.timecode });
      return undefined;
    }
    const firstVideo = frames.find((f) => video.has(f.track));
    if (firstVideo && !firstVideo.keyframe) {
      this.events.push({ kind: 'fragment-skipped', reason: 'no-keyframe', timecode: ev.timecode });
      return undefined;
    }
    const durationMs = fragmentDurationMs(frames, this.tracks, this.timecodeScale);
    const sourceMs = Math.round(ev.timecode * msPerUnit);
    let producerMs = this.stamp(sourceMs, durationMs, nowMs);
    producerMs = Math.max(producerMs, this.notBeforeMs);
    // Within a run, a fragment may start before the previous one ended (the anchor just moved down): only
    // starts must increase (PutMedia's rule). Across runs the next run starts after this one's end.
    this.notBeforeMs = producerMs + 1;
    this.endMs = Math.max(this.endMs, producerMs + durationMs);
    const units = Math.round(producerMs / msPerUnit);
    return { producerMs, durationMs, header: this.header, cluster: withClusterTimecode(ev.raw, units) };
  }

  /** The producer timestamp of a fragment whose source timecode is `sourceMs`. */
  private stamp(sourceMs: number, durationMs: number, nowMs: number): number {
    if (this.o.timestamps === 'source') {
      this.sourceAbsolute ??= sourceMs >= absoluteMsMin;
      if (this.sourceAbsolute) return sourceMs;
      if (this.bounds.length === 0 && this.anchorMs === undefined) this.events.push({ kind: 'source-timestamps-relative' });
    }
    const bound = nowMs - durationMs - sourceMs;
    if (this.anchorMs === undefined) {
      this.anchorMs = bound;
      this.bounds.push(bound);
      return this.anchorMs + sourceMs;
    }
    if (!this.o.realtime) return this.anchorMs + sourceMs;
    const window = this.o.anchorWindowFragments ?? anchorWindowFragmentsDefault;
    this.bounds.push(bound);
    if (this.bounds.length > window) this.bounds.shift();
    const lowest = Math.min(...this.bounds);
    let moved: number | undefined;
    if (bound < this.anchorMs - earlyToleranceMs) moved = bound;
    else if (this.bounds.length >= window && lowest > this.anchorMs + (this.o.driftMsMax ?? driftMsMaxDefault)) moved = lowest;
    if (moved !== undefined) {
      this.events.push({ kind: 'anchor-moved', byMs: moved - this.anchorMs });
      this.anchorMs = moved;
    }
    return this.anchorMs + sourceMs;
  }
}
