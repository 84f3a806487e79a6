/**
 * Proves that the in-process packagers remux stored fragments (real ffmpeg
 * MKV: H.264 without and with B-frames, H.265) into fMP4, MPEG-TS and MP4
 * that ffprobe reads with the right codec, size, every frame and the right
 * duration, and that ffmpeg decodes without errors; plus the byte-level
 * pieces (codec strings, Annex B, CRC, decode times) on known values.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { annexBToLengthPrefixed, looksAnnexB, parseAvcC, parseHvcC, splitNals } from '../../gateway/video/packaging/codec-config.ts';
import { initSegment, mediaSegment } from '../../gateway/video/packaging/fmp4.ts';
import { clusterFrames, decodeTimes, fragmentSamples, parseStreamHeader } from '../../gateway/video/packaging/mkv-samples.ts';
import { mp4File } from '../../gateway/video/packaging/mp4-file.ts';
import { crc32Mpeg2, tsSegment } from '../../gateway/video/packaging/mpeg-ts.ts';
import type { Sample } from '../../gateway/video/packaging/samples.ts';
import { testClip } from '../helpers/ffmpeg-mkv.ts';
import { bframeClipArgs, decodeErrors, encodeClip, hevcClipArgs, probe, splitMkv } from '../helpers/video-fragments.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trb-pack-'));
const startMs = 1_767_000_000_000;

function fragments(mkv: Buffer) {
  const split = splitMkv(mkv);
  const header = parseStreamHeader(split.header);
  const frags = split.clusters.map((c) => fragmentSamples(header, clusterFrames(c.raw, header.trackNumber), startMs + c.timecode));
  return { header, frags, frames: frags.reduce((n, f) => n + f.length, 0) };
}

const clips = {
  'H.264 720p': { mkv: () => testClip({ width: 1280, height: 720, seconds: 4 }), codec: 'h264', width: 1280, height: 720, seconds: 4 },
  'H.264 with B-frames': { mkv: () => encodeClip('bframes-3s', bframeClipArgs(3)), codec: 'h264', width: 320, height: 240, seconds: 3 },
  'H.265': { mkv: () => encodeClip('hevc-3s', hevcClipArgs(3)), codec: 'hevc', width: 320, height: 240, seconds: 3 },
};

describe.each(Object.entries(clips))('%s', (name, clip) => {
  const file = (ext: string) => path.join(dir, `${name.replace(/\W+/g, '-')}.${ext}`);

  it('fMP4: init segment plus one media segment per fragment plays every frame', () => {
    const { header, frags, frames } = fragments(clip.mkv());
    expect(frags.length).toBeGreaterThan(1);
    fs.writeFileSync(file('mp4'), Buffer.concat([initSegment(header.track), ...frags.flatMap((s, i) => mediaSegment(s, i + 1))]));
    const p = probe(file('mp4'));
    expect(p).toMatchObject({ codec: clip.codec, width: clip.width, height: clip.height, frames });
    expect(decodeErrors(file('mp4'))).toBe('');
  });

  it('MPEG-TS: self-contained segments decode each on their own', () => {
    const { header, frags } = fragments(clip.mkv());
    for (const [i, samples] of frags.entries()) {
      fs.writeFileSync(file(`${i}.ts`), tsSegment(header.track, samples));
      const p = probe(file(`${i}.ts`));
      expect(p).toMatchObject({ codec: clip.codec, width: clip.width, height: clip.height, frames: samples.length });
      expect(decodeErrors(file(`${i}.ts`))).toBe('');
    }
  });

  it('MP4 clip: one file with every frame and the clip duration', () => {
    const { header, frags, frames } = fragments(clip.mkv());
    fs.writeFileSync(file('clip.mp4'), Buffer.concat(mp4File(header.track, frags.flat())));
    const p = probe(file('clip.mp4'));
    expect(p).toMatchObject({ codec: clip.codec, width: clip.width, height: clip.height, frames });
    expect(p.duration).toBeCloseTo(clip.seconds, 1);
    expect(decodeErrors(file('clip.mp4'))).toBe('');
  });
});

describe('byte-level pieces', () => {
  it('codec strings and parameter sets come from the configuration records', () => {
    const avc = parseStreamHeader(splitMkv(testClip({ width: 1280, height: 720, seconds: 4 })).header);
    const a = parseAvcC(avc.track.config);
    expect(a.codecString).toMatch(/^avc1\.[0-9a-f]{6}$/);
    expect(a.nalLengthSize).toBe(4);
    expect(a.parameterSets.map((p) => p[0]! & 0x1f)).toEqual([7, 8]);
    const hevc = parseStreamHeader(splitMkv(encodeClip('hevc-3s', hevcClipArgs(3))).header);
    const h = parseHvcC(hevc.track.config);
    expect(h.codecString).toMatch(/^hvc1\.1\.6\.L\d+(\.[0-9a-f]+)*$/);
    expect(h.parameterSets.map((p) => (p[0]! >> 1) & 0x3f).slice(0, 3)).toEqual([32, 33, 34]);
  });

  it('Annex B samples become length-prefixed; a 3-byte length that looks like a start code is left alone', () => {
    const annexB = Buffer.from([0, 0, 0, 1, 0x65, 1, 2, 0, 0, 1, 0x41, 3]);
    expect(looksAnnexB(annexB)).toBe(true);
    expect(splitNals(annexBToLengthPrefixed(annexB), 4)).toEqual([Buffer.from([0x65, 1, 2]), Buffer.from([0x41, 3])]);
    const prefixed = Buffer.concat([Buffer.from([0, 0, 1, 0xf9]), Buffer.alloc(0x1f9, 7)]);
    expect(looksAnnexB(prefixed)).toBe(false);
  });

  it('CRC-32/MPEG-2 check value', () => {
    expect(crc32Mpeg2(Buffer.from('123456789'))).toBe(0x0376e6e7);
  });

  it('decode times: equal to presentation without reordering, shifted by the reorder delay with it', () => {
    expect(decodeTimes([0, 10, 20, 30])).toEqual([0, 10, 20, 30]);
    const pts = [0, 30, 10, 20, 60, 40, 50];
    const dts = decodeTimes(pts);
    expect(dts).toEqual([-10, 0, 10, 20, 30, 40, 50]);
    dts.forEach((d, i) => expect(d).toBeLessThanOrEqual(pts[i]!));
  });

  it('the fMP4 data offset points at the first sample byte', () => {
    const samples: Sample[] = [
      { dts: 900, cto: 0, duration: 3000, keyframe: true, data: Buffer.from([0, 0, 0, 2, 0x65, 0xaa]) },
      { dts: 3900, cto: 0, duration: 3000, keyframe: false, data: Buffer.from([0, 0, 0, 1, 0x41]) },
    ];
    const seg = Buffer.concat(mediaSegment(samples, 7));
    const moofSize = seg.readUInt32BE(0);
    const trun = seg.indexOf('trun');
    expect(seg.readUInt32BE(trun + 8)).toBe(2);
    expect(seg.subarray(seg.readUInt32BE(trun + 12), seg.readUInt32BE(trun + 12) + 6)).toEqual(samples[0]!.data);
    expect(seg.toString('latin1', moofSize + 4, moofSize + 8)).toBe('mdat');
    const tfdt = seg.indexOf('tfdt');
    expect(Number(seg.readBigUInt64BE(tfdt + 8))).toBe(900);
  });
});
