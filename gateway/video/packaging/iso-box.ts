/**
 * ISO base media file format (ISO/IEC 14496-12) boxes, written directly into
 * buffers: the parts the fMP4 segments and the MP4 clips share (ftyp, the
 * track header boxes, the sample entry with its avcC/hvcC).
 */
import type { VideoTrack } from './samples.ts';
import { mediaTimescale } from './samples.ts';

/** A box: 32-bit size, four-character type, then the payload. */
export function box(type: string, ...payload: Buffer[]): Buffer {
  const size = 8 + payload.reduce((n, p) => n + p.length, 0);
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(size, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, ...payload], size);
}

/** A full box: a box whose payload starts with a version byte and 24 bits of flags. */
export function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  const vf = Buffer.allocUnsafe(4);
  vf.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0);
  return box(type, vf, ...payload);
}

/** Big-endian fields in order: `u32(1, 2)`. */
export const u8 = (...v: number[]): Buffer => Buffer.from(v);
export function u16(...v: number[]): Buffer {
  const b = Buffer.allocUnsafe(2 * v.length);
  v.forEach((x, i) => b.writeUInt16BE(x & 0xffff, 2 * i));
  return b;
}
export function u32(...v: number[]): Buffer {
  const b = Buffer.allocUnsafe(4 * v.length);
  v.forEach((x, i) => b.writeUInt32BE(x >>> 0, 4 * i));
  return b;
}
export function u64(v: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(v), 0);
  return b;
}

/** The identity transformation matrix of mvhd/tkhd. */
const matrix = u32(0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000);

export function ftyp(major: string, compatible: string[]): Buffer {
  return box('ftyp', Buffer.from(major, 'latin1'), u32(0x200), Buffer.from(compatible.join(''), 'latin1'));
}

/** Movie header; `durationMs` 0 for fragmented files (the fragments carry the time). */
export function mvhd(durationMs: number): Buffer {
  return fullBox('mvhd', 0, 0, u32(0, 0, 1000, durationMs), u32(0x00010000), u16(0x0100, 0), u32(0, 0), matrix, Buffer.alloc(24), u32(2));
}

function tkhd(track: VideoTrack, durationMs: number): Buffer {
  return fullBox('tkhd', 0, 3, u32(0, 0, 1, 0, durationMs, 0, 0), u16(0, 0, 0, 0), matrix, u32(track.width << 16, track.height << 16));
}

function mdhd(durationTicks: number): Buffer {
  // Language 'und', packed as three 5-bit letters.
  return fullBox('mdhd', 0, 0, u32(0, 0, mediaTimescale, durationTicks), u16(0x55c4, 0));
}

const hdlr = fullBox('hdlr', 0, 0, u32(0), Buffer.from('vide', 'latin1'), Buffer.alloc(12), Buffer.from('VideoHandler\0', 'latin1'));
const vmhd = fullBox('vmhd', 0, 1, u16(0, 0, 0, 0));
const dinf = box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1)));

/** The visual sample entry (avc1 or hvc1) with the track's configuration record inside. */
function sampleEntry(track: VideoTrack): Buffer {
  const compressor = Buffer.alloc(32);
  return box(
    track.codec === 'avc' ? 'avc1' : 'hvc1',
    Buffer.alloc(6), u16(1), // reserved, data_reference_index
    u16(0, 0), u32(0, 0, 0), // pre_defined, reserved, pre_defined
    u16(track.width, track.height),
    u32(0x00480000, 0x00480000, 0), // 72 dpi, reserved
    u16(1), compressor, u16(0x0018, 0xffff), // frame_count, compressorname, depth, pre_defined -1
    box(track.codec === 'avc' ? 'avcC' : 'hvcC', track.config),
  );
}

/** A video trak whose sample table is `stbl` (empty for fMP4, full for a clip). */
export function videoTrak(track: VideoTrack, stblChildren: Buffer[], durationTicks: number, edit?: Buffer): Buffer {
  const durationMs = Math.round(durationTicks / 90);
  const stbl = box('stbl', fullBox('stsd', 0, 0, u32(1), sampleEntry(track)), ...stblChildren);
  return box('trak', tkhd(track, durationMs), ...(edit ? [edit] : []), box('mdia', mdhd(durationTicks), hdlr, box('minf', vmhd, dinf, stbl)));
}
