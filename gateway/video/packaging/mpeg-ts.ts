/**
 * MPEG-2 transport stream segments (ISO/IEC 13818-1), as HLS MPEG_TS sessions
 * fetch them with getTSFragment: each segment stands alone (PAT, PMT, then
 * one PES per sample), H.264/H.265 in Annex B form with an access unit
 * delimiter per sample and the parameter sets repeated before each keyframe.
 */
import assert from 'node:assert/strict';
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

/** The elementary stream bytes of one sample, as parts: AUD, parameter sets before keyframes, NAL units with start codes. */
function annexBParts(sample: Sample, track: VideoTrack, parameterSets: Buffer[]): Buffer[] {
  const parts: Buffer[] = [accessUnitDelimiter[track.codec]];
  if (sample.keyframe) for (const ps of parameterSets) parts.push(startCode, ps);
  for (const nal of splitNals(sample.data, track.nalLengthSize)) {
    const type = track.codec === 'avc' ? nal[0]! & 0x1f : (nal[0]! >> 1) & 0x3f;
    if (type === (track.codec === 'avc' ? 9 : 35)) continue; // the sample's own delimiter: ours replaces it
    parts.push(startCode, nal);
  }
  return parts;
}

/** The PES payload room of a PES's first packet: 184 less the adaptation field with the PCR (its length byte and 7 bytes). */
const firstPacketRoom = 184 - 8;

/** How many packets packetize cuts a PES of `length` bytes into. */
function packetCount(length: number): number {
  return length <= firstPacketRoom ? 1 : 1 + Math.ceil((length - firstPacketRoom) / 184);
}

/**
 * Cuts one PES into packets written into `out` from `offset` (which the
 * caller sized with packetCount); the first carries the PCR (and the random
 * access flag on keyframes). Returns the offset after the last packet.
 */
function packetize(pes: Buffer, pcr: number, keyframe: boolean, cc: { value: number }, out: Buffer, offset: number): number {
  let at = 0;
  let first = true;
  while (at < pes.length) {
    const p = offset;
    out[p] = 0x47;
    out.writeUInt16BE((first ? 0x4000 : 0) | videoPid, p + 1);
    // The adaptation field: its flags and PCR (first packet), then stuffing; none when the payload fills the packet.
    let fieldBytes = 0; // bytes after the field's length byte
    let flags: number | undefined;
    if (first) {
      const base = pcr % timestampModulus;
      flags = keyframe ? 0x50 : 0x10;
      out[p + 5] = flags;
      out[p + 6] = Math.floor(base / 2 ** 25) & 0xff;
      out[p + 7] = Math.floor(base / 2 ** 17) & 0xff;
      out[p + 8] = Math.floor(base / 2 ** 9) & 0xff;
      out[p + 9] = Math.floor(base / 2) & 0xff;
      out[p + 10] = ((base & 1) << 7) | 0x7e;
      out[p + 11] = 0;
      fieldBytes = 7;
    }
    const hasField = first;
    const room = 184 - (hasField ? 1 + fieldBytes : 0);
    const payload = Math.min(room, pes.length - at);
    let stuffing = room - payload;
    let field = hasField;
    if (stuffing > 0 && !field) {
      // A bare length byte of 0 is one byte of stuffing; beyond that the field needs its flags byte.
      field = true;
      stuffing--;
      if (stuffing > 0) {
        out[p + 5] = 0x00;
        fieldBytes = 1;
        stuffing--;
      }
    }
    if (field) {
      out.fill(0xff, p + 5 + fieldBytes, p + 5 + fieldBytes + stuffing);
      fieldBytes += stuffing;
    }
    out[p + 3] = (field ? 0x30 : 0x10) | cc.value;
    let header = 4;
    if (field) {
      out[p + 4] = fieldBytes;
      header = 5 + fieldBytes;
    }
    pes.copy(out, p + header, at, at + payload);
    at += payload;
    cc.value = (cc.value + 1) & 0x0f;
    first = false;
    offset += packetBytes;
  }
  return offset;
}

/** One self-contained TS segment for the samples of a fragment, written into one buffer (no allocation per packet). */
export function tsSegment(track: VideoTrack, samples: readonly Sample[]): Buffer {
  const { parameterSets } = parseConfig(track.codec, track.config);
  const pes = samples.map((s) => Buffer.concat([pesHeader(s.dts + s.cto, s.dts), ...annexBParts(s, track, parameterSets)]));
  const tables = [patPacket(), pmtPacket(streamTypeByCodec[track.codec])];
  const out = Buffer.allocUnsafe(packetBytes * (tables.length + pes.reduce((n, p) => n + packetCount(p.length), 0)));
  let offset = 0;
  for (const t of tables) offset += t.copy(out, offset);
  const cc = { value: 0 };
  for (const [i, s] of samples.entries()) offset = packetize(pes[i]!, s.dts, s.keyframe, cc, out, offset);
  assert.equal(offset, out.length, 'packetCount and packetize disagree');
  return out;
}
