/**
 * Packaged segments, made on request and kept in a bounded cache: every
 * viewer of a live stream asks for the same few fragments, so each is read
 * and remuxed once, and concurrent requests for one segment share the work.
 */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import { initSegment, mediaSegment } from '../packaging/fmp4.ts';
import { clusterFrames, fragmentSamples, parseStreamHeader, type StreamHeader } from '../packaging/mkv-samples.ts';
import { tsSegment } from '../packaging/mpeg-ts.ts';
import type { Sample } from '../packaging/samples.ts';
import { timestampOf } from './selection.ts';
import type { FragmentMeta, PlaybackStream, SelectorType } from './source.ts';

/** Default cache size: about 100 two-second 720p fragments at 4 Mbit/s. */
export const segmentCacheBytesDefault = 128 * 1024 * 1024;

export type SegmentKind = 'init' | 'fmp4' | 'ts';

export interface PackagedFragment {
  header: StreamHeader;
  samples: Sample[];
}

export class SegmentPackager {
  private readonly cache = new Map<string, { parts: Buffer[]; bytes: number }>();
  private readonly pending = new Map<string, Promise<Buffer[]>>();
  private cachedBytes = 0;
  /** Segments served from the cache, and packaged afresh (for metrics and tests). */
  hits = 0;
  misses = 0;

  constructor(private readonly cacheBytesMax = segmentCacheBytesDefault) {}

  /** A fragment's header and samples, its first presentation time at the selector's timestamp. */
  async samples(stream: PlaybackStream, meta: FragmentMeta, selector: SelectorType): Promise<PackagedFragment> {
    const media = await stream.fragments.read(meta.FragmentNumber);
    if (!media) throw new AwsError('ResourceNotFoundException', `Fragment ${meta.FragmentNumber} is no longer available in stream ${stream.name}.`, 404);
    const header = parseStreamHeader(media.header);
    const frames = clusterFrames(media.cluster, header.trackNumber);
    const samples = fragmentSamples(header, frames, timestampOf(meta, selector));
    if (!samples.length) throw new AwsError('InvalidMediaFrameException', `Fragment ${meta.FragmentNumber} holds no video keyframe.`);
    return { header, samples };
  }

  /** The parts of one segment, from the cache when possible. */
  segment(stream: PlaybackStream, meta: FragmentMeta, kind: SegmentKind, selector: SelectorType): Promise<Buffer[]> {
    const key = `${stream.arn}\n${meta.FragmentNumber}\n${kind}\n${selector}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.hits++;
      // Map order is recency: move the hit to the end.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return Promise.resolve(hit.parts);
    }
    let work = this.pending.get(key);
    if (!work) {
      this.misses++;
      work = this.build(stream, meta, kind, selector).then(
        (built) => {
          // One buffer per segment: a cache hit is then a single write (one copy, made once).
          const parts = built.length === 1 ? built : [Buffer.concat(built)];
          this.pending.delete(key);
          this.remember(key, parts);
          return parts;
        },
        (err: unknown) => {
          this.pending.delete(key);
          throw err;
        },
      );
      this.pending.set(key, work);
    }
    return work;
  }

  private async build(stream: PlaybackStream, meta: FragmentMeta, kind: SegmentKind, selector: SelectorType): Promise<Buffer[]> {
    if (kind === 'init') {
      const media = await stream.fragments.read(meta.FragmentNumber);
      if (!media) throw new AwsError('ResourceNotFoundException', `Fragment ${meta.FragmentNumber} is no longer available in stream ${stream.name}.`, 404);
      return [initSegment(parseStreamHeader(media.header).track)];
    }
    const { header, samples } = await this.samples(stream, meta, selector);
    if (kind === 'ts') return [tsSegment(header.track, samples)];
    // mfhd wants increasing sequence numbers: the low digits of the fragment number increase with ingestion.
    return mediaSegment(samples, Number(meta.FragmentNumber.slice(-9)) || 1);
  }

  private remember(key: string, parts: Buffer[]): void {
    const bytes = parts.reduce((n, p) => n + p.length, 0);
    if (bytes > this.cacheBytesMax / 4) return;
    this.cache.set(key, { parts, bytes });
    this.cachedBytes += bytes;
    for (const [k, v] of this.cache) {
      if (this.cachedBytes <= this.cacheBytesMax) break;
      this.cache.delete(k);
      this.cachedBytes -= v.bytes;
    }
  }
}
