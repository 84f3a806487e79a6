/**
 * A plain (non-fragmented) MP4 file, as GetClip answers: ftyp, then moov with
 * the full sample table (moov first, "faststart", so players can start before
 * the end arrives), then one mdat holding every sample as one chunk. Sample
 * bytes are not copied: the result is a list of buffers to write in order.
 */
import { box, ftyp, fullBox, mvhd, u32, u64, videoTrak } from './iso-box.ts';
import type { Sample, VideoTrack } from './samples.ts';

/** Run-length (count, value) pairs of a sequence, as stts and ctts store them. */
function runs(values: readonly number[]): number[] {
  const out: number[] = [];
  for (const v of values) {
    if (out.length && out[out.length - 1] === v) out[out.length - 2]!++;
    else out.push(1, v);
  }
  return out;
}

function sampleTables(samples: readonly Sample[], chunkOffset: number): Buffer[] {
  const stts = runs(samples.map((s) => s.duration));
  const tables = [fullBox('stts', 0, 0, u32(stts.length / 2, ...stts))];
  if (samples.some((s) => s.cto !== 0)) {
    const ctts = runs(samples.map((s) => s.cto));
    tables.push(fullBox('ctts', 0, 0, u32(ctts.length / 2, ...ctts)));
  }
  const sync: number[] = [];
  samples.forEach((s, i) => s.keyframe && sync.push(i + 1));
  if (sync.length < samples.length) tables.push(fullBox('stss', 0, 0, u32(sync.length, ...sync)));
  const sizes = Buffer.allocUnsafe(4 * samples.length);
  samples.forEach((s, i) => sizes.writeUInt32BE(s.data.length, 4 * i));
  tables.push(
    fullBox('stsc', 0, 0, u32(1, 1, samples.length, 1)),
    fullBox('stsz', 0, 0, u32(0, samples.length), sizes),
    fullBox('co64', 0, 0, u32(1), u64(chunkOffset)),
  );
  return tables;
}

/** An edit list that starts presentation at the first sample's presentation time (B-frames delay it past decode time 0). */
function editList(firstCto: number, durationMs: number): Buffer | undefined {
  if (firstCto === 0) return undefined;
  return box('edts', fullBox('elst', 0, 0, u32(1, durationMs, firstCto, 0x00010000)));
}

/**
 * The clip for `samples` (decode order, timestamps anywhere: they are
 * rebased so the file starts at 0). `samples` must start with a keyframe.
 */
export function mp4File(track: VideoTrack, samples: readonly Sample[]): Buffer[] {
  const base = samples[0]?.dts ?? 0;
  const rebased = samples.map((s, i) => ({ ...s, dts: s.dts - base, duration: i + 1 < samples.length ? samples[i + 1]!.dts - s.dts : s.duration }));
  const durationTicks = rebased.reduce((n, s) => n + s.duration, 0);
  const durationMs = Math.round(durationTicks / 90);
  const head = ftyp('isom', ['isom', 'iso2', track.codec === 'avc' ? 'avc1' : 'hvc1', 'mp41']);
  const build = (offset: number) =>
    box('moov', mvhd(durationMs), videoTrak(track, sampleTables(rebased, offset), durationTicks, editList(rebased[0]?.cto ?? 0, durationMs)));
  // The chunk offset depends on the moov's size, which does not depend on the offset's value (co64 is fixed width).
  const probe = build(0);
  const mdatBytes = rebased.reduce((n, s) => n + s.data.length, 0);
  const moov = build(head.length + probe.length + 16);
  const mdatHead = Buffer.allocUnsafe(16);
  // A 64-bit mdat size (size field 1, then largesize) so clips past 4 GiB would stay valid.
  mdatHead.writeUInt32BE(1, 0);
  mdatHead.write('mdat', 4, 'latin1');
  mdatHead.writeBigUInt64BE(BigInt(16 + mdatBytes), 8);
  return [head, moov, mdatHead, ...rebased.map((s) => s.data)];
}
