/**
 * MPEG-2 transport stream segments (ISO/IEC 13818-1), as HLS MPEG_TS sessions
 * fetch them with getTSFragment: each segment stands alone (PAT, PMT, then
 * one PES per sample), H.264/H.265 in Annex B form with an access unit
 * delimiter per sample and the parameter sets repeated before each keyframe.
 */
import { parseConfig, splitNals } from './codec-config.ts';
import type { Sample, VideoTrack } from './samples.ts';

const packetBytes = 188;
const pmtPid = 0x1000;
const videoPid = 0x100;
const streamTypeByCodec = { avc: 0x1b, hevc: 0x24 } as const;
/** PTS and DTS are 33-bit 90 kHz counters; they wrap about every 26.5 hours (players handle the wrap). */
const timestampModulus = 2 ** 33;
const startCode = Buffer.from([0, 0, 0, 1]);
const accessUnitDelimiter = { avc: Buffer.from([0, 0, 0, 1, 0x09, 0xf0]), hevc: Buffer.from([0, 0, 0, 1, 0x46, 0x01, 0x50]) } as const;

const crcTable = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32/MPEG-2 over PSI sections. */
export function crc32Mpeg2(b: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of b) crc = ((crc << 8) ^ crcTable[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc >>> 0;
}

/** A PSI table in one packet: pointer field, section, CRC, 0xff stuffing. */
function psiPacket(pid: number, section: Buffer): Buffer {
  const p = Buffer.alloc(packetBytes, 0xff);
  p[0] = 0x47;
  p.writeUInt16BE(0x4000 | pid, 1);
  p[3] = 0x10;
  p[4] = 0;
  section.copy(p, 5);
  p.writeUInt32BE(crc32Mpeg2(section), 5 + section.length);
  return p;
}

function patPacket(): Buffer {
  // table 0, section length 13, transport stream id 1, version 0 current, section 0/0, program 1 -> PMT PID.
  return psiPacket(0, Buffer.from([0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xe0 | (pmtPid >> 8), pmtPid & 0xff]));
}

function pmtPacket(streamType: number): Buffer {
  return psiPacket(pmtPid, Buffer.from([
    0x02, 0xb0, 0x12, 0x00, 0x01, 0xc1, 0x00, 0x00,
    0xe0 | (videoPid >> 8), videoPid & 0xff, // PCR PID
    0xf0, 0x00, // program info length 0
    streamType, 0xe0 | (videoPid >> 8), videoPid & 0xff, 0xf0, 0x00,
  ]));
}

function writeTimestamp(b: Buffer, at: number, marker: number, ticks: number): void {
  const t = ticks % timestampModulus;
  const high = Math.floor(t / 2 ** 30);
  const low = t % 2 ** 30;
  b[at] = (marker << 4) | (high << 1) | 1;
  b.writeUInt16BE((((low >>> 15) & 0x7fff) << 1) | 1, at + 1);
  b.writeUInt16BE(((low & 0x7fff) << 1) | 1, at + 3);
}

function pesHeader(pts: number, dts: number): Buffer {
  const both = pts !== dts;
  const h = Buffer.alloc(both ? 19 : 14);
  h.writeUInt32BE(0x000001e0, 0); // start code prefix, stream id: video 0
  h.writeUInt16BE(0, 3); // unbounded length: allowed for video
  h[6] = 0x84; // marker bits, data alignment
  h[7] = both ? 0xc0 : 0x80;
  h[8] = both ? 10 : 5;
  writeTimestamp(h, 9, both ? 3 : 2, pts);
  if (both) writeTimestamp(h, 14, 1, dts);
  return h;
}

/** The elementary stream bytes of one sample: AUD, parameter sets before keyframes, NAL units with start codes. */
function annexB(sample: Sample, track: VideoTrack, parameterSets: Buffer[]): Buffer {
  const parts: Buffer[] = [accessUnitDelimiter[track.codec]];
  if (sample.keyframe) for (const ps of parameterSets) parts.push(startCode, ps);
  for (const nal of splitNals(sample.data, track.nalLengthSize)) {
    const type = track.codec === 'avc' ? nal[0]! & 0x1f : (nal[0]! >> 1) & 0x3f;
    if (type === (track.codec === 'avc' ? 9 : 35)) continue; // the sample's own delimiter: ours replaces it
    parts.push(startCode, nal);
  }
  return Buffer.concat(parts);
}

/** Cuts one PES into packets; the first carries the PCR (and the random access flag on keyframes). */
function packetize(pes: Buffer, pcr: number, keyframe: boolean, cc: { value: number }, out: Buffer[]): void {
  let at = 0;
  let first = true;
  while (at < pes.length) {
    const p = Buffer.alloc(packetBytes, 0xff);
    p[0] = 0x47;
    p.writeUInt16BE((first ? 0x4000 : 0) | videoPid, 1);
    // The adaptation field's bytes after its length byte; undefined when the packet has none.
    let field: number[] | undefined;
    if (first) {
      const base = pcr % timestampModulus;
      field = [keyframe ? 0x50 : 0x10, Math.floor(base / 2 ** 25) & 0xff, Math.floor(base / 2 ** 17) & 0xff, Math.floor(base / 2 ** 9) & 0xff, Math.floor(base / 2) & 0xff, ((base & 1) << 7) | 0x7e, 0];
    }
    const room = 184 - (field ? 1 + field.length : 0);
    const payload = Math.min(room, pes.length - at);
    let stuffing = room - payload;
    if (stuffing > 0 && !field) {
      // A bare length byte of 0 is one byte of stuffing; beyond that the field needs its flags byte.
      field = [];
      stuffing--;
      if (stuffing > 0) {
        field.push(0x00);
        stuffing--;
      }
    }
    if (field) for (; stuffing > 0; stuffing--) field.push(0xff);
    p[3] = (field ? 0x30 : 0x10) | cc.value;
    let header = 4;
    if (field) {
      p[4] = field.length;
      Buffer.from(field).copy(p, 5);
      header = 5 + field.length;
    }
    pes.copy(p, header, at, at + payload);
    at += payload;
    cc.value = (cc.value + 1) & 0x0f;
    first = false;
    out.push(p);
  }
}

/** One self-contained TS segment for the samples of a fragment. */
export function tsSegment(track: VideoTrack, samples: readonly Sample[]): Buffer {
  const { parameterSets } = parseConfig(track.codec, track.config);
  const out: Buffer[] = [patPacket(), pmtPacket(streamTypeByCodec[track.codec])];
  const cc = { value: 0 };
  for (const s of samples) {
    const es = annexB(s, track, parameterSets);
    packetize(Buffer.concat([pesHeader(s.dts + s.cto, s.dts), es]), s.dts, s.keyframe, cc, out);
  }
  return Buffer.concat(out);
}
