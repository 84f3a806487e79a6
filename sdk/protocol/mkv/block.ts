/**
 * SimpleBlock and Block payloads (Matroska specification, "Block
 * structure"): track number (a size-style vint), a signed 16-bit timecode
 * relative to the Cluster's, a flags byte, then one frame or a laced group
 * of frames (Xiph, EBML or fixed-size lacing).
 */
import { readSize } from './vint.ts';

/** One frame of a block. Laced blocks give several frames with the same timecode. */
export interface MkvFrame {
  track: number;
  /** Relative to the Cluster's Timecode, in TimecodeScale units. */
  timecode: number;
  keyframe: boolean;
  invisible: boolean;
  discardable: boolean;
  /** From a BlockGroup's BlockDuration, in TimecodeScale units. */
  duration?: number;
  data: Uint8Array;
}

/** Thrown by `parseBlock` for a payload that is not a well-formed block. */
export class BlockError extends Error {}

const lacingNone = 0;
const lacingXiph = 1;
const lacingFixed = 2;
const lacingEbml = 3;

/**
 * Splits a block payload into frames. For a SimpleBlock the keyframe flag
 * is its own bit; for a Block the caller says (no ReferenceBlock).
 */
export function parseBlock(payload: Uint8Array, simple: boolean, keyframeOfGroup = false): MkvFrame[] {
  const track = readSize(payload, 0);
  if (track.length <= 0 || track.size <= 0) throw new BlockError('block has no valid track number');
  const head = track.length;
  if (payload.length < head + 3) throw new BlockError('block shorter than its header');
  const timecode = ((payload[head]! << 8) | payload[head + 1]!) << 16 >> 16;
  const flags = payload[head + 2]!;
  const base = {
    track: track.size,
    timecode,
    keyframe: simple ? (flags & 0x80) !== 0 : keyframeOfGroup,
    invisible: (flags & 0x08) !== 0,
    discardable: simple && (flags & 0x01) !== 0,
  };
  const lacing = (flags >> 1) & 3;
  const start = head + 3;
  if (lacing === lacingNone) return [{ ...base, data: payload.subarray(start) }];
  const sizes = laceSizes(payload, start, lacing);
  const frames: MkvFrame[] = [];
  let at = sizes.dataStart;
  for (const size of sizes.sizes) {
    frames.push({ ...base, data: payload.subarray(at, at + size) });
    at += size;
  }
  return frames;
}

/** The sizes of the frames of a laced block, and where their data starts. */
function laceSizes(payload: Uint8Array, start: number, lacing: number): { sizes: number[]; dataStart: number } {
  if (start >= payload.length) throw new BlockError('laced block without a frame count');
  const count = payload[start]! + 1;
  let at = start + 1;
  const sizes: number[] = [];
  if (lacing === lacingXiph) {
    for (let i = 0; i < count - 1; i++) {
      let size = 0;
      for (;;) {
        if (at >= payload.length) throw new BlockError('truncated Xiph lace sizes');
        const b = payload[at++]!;
        size += b;
        if (b !== 255) break;
      }
      sizes.push(size);
    }
  } else if (lacing === lacingEbml) {
    const first = readSize(payload, at);
    if (first.length <= 0 || first.size < 0) throw new BlockError('bad EBML lace size');
    at += first.length;
    sizes.push(first.size);
    for (let i = 1; i < count - 1; i++) {
      const diff = readSize(payload, at);
      if (diff.length <= 0 || diff.size < 0) throw new BlockError('bad EBML lace size difference');
      at += diff.length;
      const size = sizes[i - 1]! + diff.size - (2 ** (7 * diff.length - 1) - 1);
      if (size < 0) throw new BlockError('negative EBML lace size');
      sizes.push(size);
    }
  } else if (lacing === lacingFixed) {
    const total = payload.length - at;
    if (total % count !== 0) throw new BlockError('fixed-size lacing does not divide the block');
    return { sizes: new Array<number>(count).fill(total / count), dataStart: at };
  }
  const used = sizes.reduce((a, b) => a + b, 0);
  const last = payload.length - at - used;
  if (last < 0) throw new BlockError('lace sizes exceed the block');
  sizes.push(last);
  return { sizes, dataStart: at };
}
