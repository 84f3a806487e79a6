/**
 * The packagers' common input: one video track (codec, decoder configuration,
 * size) and its samples in decode order with 90 kHz timestamps. The MKV
 * adapter (mkv-samples.ts) produces it from stored fragments; the fMP4, MP4
 * and MPEG-TS writers consume it. Samples are never decoded or re-encoded:
 * their bytes go out as they came in.
 */

/** Every packager writes 90 kHz timestamps: MPEG-TS requires it, and one timescale keeps fMP4, TS and clips in step. */
export const mediaTimescale = 90_000;

export type VideoCodec = 'avc' | 'hevc';

export interface VideoTrack {
  codec: VideoCodec;
  /** The ISO/IEC 14496-15 decoder configuration record (avcC or hvcC), from the Matroska CodecPrivate. */
  config: Buffer;
  width: number;
  height: number;
  /** Bytes in each NAL unit length prefix of the samples (from the configuration record). */
  nalLengthSize: number;
}

export interface Sample {
  /** Decode time, 90 kHz. */
  dts: number;
  /** Presentation minus decode time, 90 kHz (never negative). */
  cto: number;
  /** 90 kHz ticks until the next sample's decode time. */
  duration: number;
  keyframe: boolean;
  /** NAL units, each with a big-endian length prefix of `nalLengthSize` bytes. */
  data: Buffer;
}

/** A fragment's worth of samples (one Matroska cluster), starting with a keyframe. */
export interface MediaRun {
  track: VideoTrack;
  samples: Sample[];
}

/** Milliseconds to 90 kHz ticks, rounded (timestamps stay integers end to end). */
export function msToTicks(ms: number): number {
  return Math.round(ms * 90);
}
