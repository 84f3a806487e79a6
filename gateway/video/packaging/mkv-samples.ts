/**
 * From stored Matroska to the packagers' samples: the stream header (EBML,
 * Segment, Info, Tracks) gives the video track; a fragment's Cluster gives
 * its frames. Decode timestamps are derived (Matroska stores presentation
 * times only), and the fragment's start is placed at the time the caller
 * picks (its producer or server timestamp), so segments line up on the
 * session's timeline whatever timecode type the producer used.
 */
import { MkvError, MkvReader, readCluster, type MkvFrame, type MkvTrack } from '../../../sdk/protocol/mkv/index.ts';
import { AwsError } from '../../../sdk/protocol/errors.ts';
import { annexBToLengthPrefixed, CodecConfigError, looksAnnexB, parseConfig } from './codec-config.ts';
import { msToTicks, type Sample, type VideoCodec, type VideoTrack } from './samples.ts';

/** Matroska codec IDs of the video AWS plays back (the H.265 one in both spellings AWS documents). */
const codecById: Record<string, VideoCodec> = { 'V_MPEG4/ISO/AVC': 'avc', 'V_MPEGH/ISO/HEVC': 'hevc', 'V_MPEG/ISO/HEVC': 'hevc' };

export interface StreamHeader {
  track: VideoTrack;
  trackNumber: number;
  /** Nanoseconds per Matroska timecode unit. */
  timecodeScale: number;
  /** Nanoseconds per frame when the producer said (the last frame's duration). */
  defaultDurationNs?: number;
}

/** How many distinct stream headers parseStreamHeader remembers (a producer session has one; they are a few hundred bytes). */
export const streamHeadersCachedMax = 256;
const headerCache = new Map<string, StreamHeader>();

/**
 * The first video track of a stream header; AWS's errors when it is not
 * H.264/H.265 or has no usable codec private data. Cached by the header's
 * bytes: every fragment read from the store comes with its own copy of its
 * session's header, so a cache by buffer would never hit.
 */
export function parseStreamHeader(header: Uint8Array): StreamHeader {
  const cacheKey = Buffer.from(header.buffer, header.byteOffset, header.byteLength).toString('latin1');
  const cached = headerCache.get(cacheKey);
  if (cached) return cached;
  let timecodeScale = 1_000_000;
  let tracks: MkvTrack[] = [];
  for (const ev of new MkvReader().push(header)) {
    if (ev.type === 'info') timecodeScale = ev.info.timecodeScale;
    if (ev.type === 'tracks') tracks = ev.tracks;
  }
  const video = tracks.find((t) => t.type === 1 || t.codecId.startsWith('V_')) ?? tracks[0];
  const codec = video && codecById[video.codecId];
  if (!video || !codec) {
    throw new AwsError('UnsupportedStreamMediaTypeException', `The type of the media could not be determined from the codec IDs of the tracks in the first fragment (got ${video?.codecId ?? 'no track'}); the codec ID of track 1 should be V_MPEG4/ISO/AVC or V_MPEGH/ISO/HEVC.`);
  }
  if (!video.codecPrivate?.length) throw new AwsError('MissingCodecPrivateDataException', 'No codec private data was found in the video track.');
  const config = Buffer.from(video.codecPrivate);
  let nalLengthSize: number;
  try {
    nalLengthSize = parseConfig(codec, config).nalLengthSize;
  } catch (err) {
    if (!(err instanceof CodecConfigError)) throw err;
    throw new AwsError('InvalidCodecPrivateDataException', `The codec private data in the video track is not valid: ${err.message}.`);
  }
  const parsed: StreamHeader = {
    track: { codec, config, width: video.pixelWidth ?? 0, height: video.pixelHeight ?? 0, nalLengthSize },
    trackNumber: video.number,
    timecodeScale,
    ...(video.defaultDuration ? { defaultDurationNs: video.defaultDuration } : {}),
  };
  if (headerCache.size >= streamHeadersCachedMax) headerCache.delete(headerCache.keys().next().value!);
  headerCache.set(cacheKey, parsed);
  return parsed;
}

/**
 * The video frames of one stored Cluster (known size, as the store keeps it),
 * in stored (decode) order, read in place: views into `cluster`, no copy.
 */
export function clusterFrames(cluster: Uint8Array, trackNumber: number): MkvFrame[] {
  try {
    return readCluster(cluster).frames.filter((f) => f.track === trackNumber);
  } catch (err) {
    if (!(err instanceof MkvError)) throw err;
    throw new AwsError('InvalidMediaFrameException', `A stored fragment is not a complete Matroska cluster: ${err.message}.`);
  }
}

/**
 * The samples of one fragment, with its first presentation time at
 * `startMs` (90 kHz out). Frames before the first keyframe are dropped: a
 * segment must start with one.
 */
export function fragmentSamples(header: StreamHeader, frames: readonly MkvFrame[], startMs: number): Sample[] {
  const first = frames.findIndex((f) => f.keyframe);
  if (first < 0) return [];
  const kept = frames.slice(first);
  const unitMs = header.timecodeScale / 1e6;
  const t0 = Math.min(...kept.map((f) => f.timecode));
  const pts = kept.map((f) => msToTicks(startMs + (f.timecode - t0) * unitMs));
  const dts = decodeTimes(pts);
  const frameTicks = header.defaultDurationNs ? msToTicks(header.defaultDurationNs / 1e6) : medianStep(dts);
  return kept.map((f, i) => {
    const data = Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength);
    return {
      dts: dts[i]!,
      cto: pts[i]! - dts[i]!,
      duration: i + 1 < kept.length ? dts[i + 1]! - dts[i]! : frameTicks,
      keyframe: f.keyframe,
      data: looksAnnexB(data) && header.track.nalLengthSize === 4 ? annexBToLengthPrefixed(data) : data,
    };
  });
}

/**
 * Decode times for presentation times in decode order: the sorted
 * presentation times, moved back by the largest reorder delay so that no
 * sample decodes after it is shown (without B-frames, dts = pts).
 */
export function decodeTimes(pts: readonly number[]): number[] {
  const sorted = [...pts].sort((a, b) => a - b);
  let delay = 0;
  for (let i = 0; i < pts.length; i++) delay = Math.max(delay, sorted[i]! - pts[i]!);
  return sorted.map((t) => t - delay);
}

function medianStep(dts: readonly number[]): number {
  const steps = dts.slice(1).map((t, i) => t - dts[i]!).filter((d) => d > 0).sort((a, b) => a - b);
  return steps.length ? steps[steps.length >> 1]! : 3000;
}
