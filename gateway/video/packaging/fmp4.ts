/**
 * Fragmented MP4 (ISO/IEC 14496-12 with movie fragments, as HLS FRAGMENTED_MP4
 * and DASH use it): an init segment (ftyp + moov with an empty sample table
 * and mvex) and one media segment (moof + mdat) per stored fragment. The
 * media segment's tfdt carries the fragment's own timestamp, so segments can
 * be fetched in any order and still line up.
 */
import { box, ftyp, fullBox, mvhd, u32, u64, videoTrak } from './iso-box.ts';
import type { Sample, VideoTrack } from './samples.ts';

/** trun flags: data offset, and per sample duration, size, flags, composition offset. */
const trunFlags = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800;
/** tfhd flag: offsets are relative to the moof (CMAF requires it). */
const defaultBaseIsMoof = 0x020000;
/** Sample flags: a sync sample depends on nothing; others depend on earlier samples and are not sync samples. */
export const syncSampleFlags = 0x02000000;
export const nonSyncSampleFlags = 0x01010000;

export function initSegment(track: VideoTrack): Buffer {
  const emptyTables = [fullBox('stts', 0, 0, u32(0)), fullBox('stsc', 0, 0, u32(0)), fullBox('stsz', 0, 0, u32(0, 0)), fullBox('stco', 0, 0, u32(0))];
  const mvex = box('mvex', fullBox('trex', 0, 0, u32(1, 1, 0, 0, 0)));
  return Buffer.concat([
    ftyp('iso5', ['iso5', 'iso6', 'mp41', track.codec === 'avc' ? 'avc1' : 'hvc1']),
    box('moov', mvhd(0), videoTrak(track, emptyTables, 0), mvex),
  ]);
}

/**
 * One media segment: moof + mdat for `samples` (decode order, first a keyframe).
 * Returns the parts to send in order; the sample bytes are not copied.
 */
export function mediaSegment(samples: readonly Sample[], sequenceNumber: number): Buffer[] {
  const entries = Buffer.allocUnsafe(16 * samples.length);
  let mdatBytes = 0;
  samples.forEach((s, i) => {
    entries.writeUInt32BE(s.duration, 16 * i);
    entries.writeUInt32BE(s.data.length, 16 * i + 4);
    entries.writeUInt32BE(s.keyframe ? syncSampleFlags : nonSyncSampleFlags, 16 * i + 8);
    entries.writeInt32BE(s.cto, 16 * i + 12);
    mdatBytes += s.data.length;
  });
  const dataOffset = Buffer.allocUnsafe(4);
  const trun = fullBox('trun', 1, trunFlags, u32(samples.length), dataOffset, entries);
  const traf = box('traf', fullBox('tfhd', 0, defaultBaseIsMoof, u32(1)), fullBox('tfdt', 1, 0, u64(samples[0]?.dts ?? 0)), trun);
  const moof = box('moof', fullBox('mfhd', 0, 0, u32(sequenceNumber)), traf);
  // The data offset sits at a fixed place: moof header, mfhd, traf header, tfhd, tfdt, trun header and sample count.
  const at = moof.length - trun.length + 16;
  moof.writeUInt32BE(moof.length + 8, at);
  const mdatHead = Buffer.allocUnsafe(8);
  mdatHead.writeUInt32BE(8 + mdatBytes, 0);
  mdatHead.write('mdat', 4, 'latin1');
  return [moof, mdatHead, ...samples.map((s) => s.data)];
}
