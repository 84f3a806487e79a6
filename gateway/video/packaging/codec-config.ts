/**
 * H.264 (avcC) and H.265 (hvcC) decoder configuration records, ISO/IEC
 * 14496-15: the NAL length size, the parameter sets (MPEG-TS repeats them in
 * band before every keyframe) and the RFC 6381 codec string the HLS master
 * playlist and the DASH manifest announce. Pure functions over bytes.
 */
import type { VideoCodec } from './samples.ts';

export class CodecConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecConfigError';
  }
}

export interface ParsedConfig {
  nalLengthSize: number;
  /** Parameter set NAL units (VPS, SPS, PPS), without length prefixes, in the order a decoder needs them. */
  parameterSets: Buffer[];
  /** RFC 6381 codec string, e.g. `avc1.64001f` or `hvc1.1.6.L93.b0`. */
  codecString: string;
}

function need(ok: boolean, what: string): void {
  if (!ok) throw new CodecConfigError(what);
}

/** Parses an avcC record (AVCDecoderConfigurationRecord). */
export function parseAvcC(b: Buffer): ParsedConfig {
  need(b.length >= 7 && b[0] === 1, 'avcC: not a version 1 AVCDecoderConfigurationRecord');
  const nalLengthSize = (b[4]! & 3) + 1;
  need(nalLengthSize !== 3, 'avcC: a NAL length size of 3 is not allowed');
  const parameterSets: Buffer[] = [];
  let at = 5;
  for (const mask of [0x1f, 0xff]) {
    need(at < b.length, 'avcC: truncated');
    const count = b[at]! & mask;
    at++;
    for (let i = 0; i < count; i++) {
      need(at + 2 <= b.length, 'avcC: truncated');
      const len = b.readUInt16BE(at);
      need(at + 2 + len <= b.length && len > 0, 'avcC: parameter set runs past the record');
      parameterSets.push(b.subarray(at + 2, at + 2 + len));
      at += 2 + len;
    }
  }
  need(parameterSets.length >= 2, 'avcC: needs at least one SPS and one PPS');
  const hex = (v: number) => v.toString(16).padStart(2, '0');
  return { nalLengthSize, parameterSets, codecString: `avc1.${hex(b[1]!)}${hex(b[2]!)}${hex(b[3]!)}` };
}

/** Parses an hvcC record (HEVCDecoderConfigurationRecord). */
export function parseHvcC(b: Buffer): ParsedConfig {
  need(b.length >= 23 && b[0] === 1, 'hvcC: not a version 1 HEVCDecoderConfigurationRecord');
  const nalLengthSize = (b[21]! & 3) + 1;
  need(nalLengthSize !== 3, 'hvcC: a NAL length size of 3 is not allowed');
  const parameterSets: Buffer[] = [];
  const arrays = b[22]!;
  let at = 23;
  for (let a = 0; a < arrays; a++) {
    need(at + 3 <= b.length, 'hvcC: truncated');
    const count = b.readUInt16BE(at + 1);
    at += 3;
    for (let i = 0; i < count; i++) {
      need(at + 2 <= b.length, 'hvcC: truncated');
      const len = b.readUInt16BE(at);
      need(at + 2 + len <= b.length && len > 0, 'hvcC: parameter set runs past the record');
      parameterSets.push(b.subarray(at + 2, at + 2 + len));
      at += 2 + len;
    }
  }
  need(parameterSets.length >= 3, 'hvcC: needs a VPS, an SPS and a PPS');
  return { nalLengthSize, parameterSets, codecString: hevcCodecString(b) };
}

/** ISO/IEC 14496-15 Annex E: hvc1.<space><profile>.<compat, bit-reversed>.<tier><level>[.<constraints>]. */
function hevcCodecString(b: Buffer): string {
  const space = ['', 'A', 'B', 'C'][b[1]! >> 6]!;
  const tier = b[1]! & 0x20 ? 'H' : 'L';
  const profile = b[1]! & 0x1f;
  let compat = b.readUInt32BE(2);
  let reversed = 0;
  for (let i = 0; i < 32; i++) {
    reversed = (reversed << 1) | (compat & 1);
    compat >>>= 1;
  }
  const constraints = [...b.subarray(6, 12)];
  while (constraints.length && constraints[constraints.length - 1] === 0) constraints.pop();
  const tail = constraints.map((c) => '.' + c.toString(16)).join('');
  return `hvc1.${space}${profile}.${(reversed >>> 0).toString(16)}.${tier}${b[12]!}${tail}`;
}

export function parseConfig(codec: VideoCodec, config: Buffer): ParsedConfig {
  return codec === 'avc' ? parseAvcC(config) : parseHvcC(config);
}

/**
 * True when a sample holds Annex B start codes rather than 4-byte length
 * prefixes (some producers send those). Only the 4-byte start code is
 * unambiguous: `00 00 01` is also the length prefix of a 256-511 byte NAL
 * unit, while a NAL unit of length 1 does not occur.
 */
export function looksAnnexB(data: Buffer): boolean {
  return data.length >= 5 && data[0] === 0 && data[1] === 0 && data[2] === 0 && data[3] === 1;
}

/** Annex B (start codes) to NAL units with 4-byte length prefixes. */
export function annexBToLengthPrefixed(data: Buffer): Buffer {
  const nals: Buffer[] = [];
  let start = -1;
  let i = 0;
  while (i + 2 < data.length) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      if (start >= 0) nals.push(trimZeros(data.subarray(start, i)));
      i += 3;
      start = i;
    } else i++;
  }
  if (start >= 0) nals.push(data.subarray(start));
  const out = Buffer.allocUnsafe(nals.reduce((n, x) => n + 4 + x.length, 0));
  let at = 0;
  for (const nal of nals) {
    out.writeUInt32BE(nal.length, at);
    nal.copy(out, at + 4);
    at += 4 + nal.length;
  }
  return out;
}

/** A NAL unit ends before the zero bytes of the next start code (`00 00 00 01`). */
function trimZeros(nal: Buffer): Buffer {
  let end = nal.length;
  while (end > 0 && nal[end - 1] === 0) end--;
  return nal.subarray(0, end);
}

/** Splits length-prefixed NAL units; throws on a length that runs past the sample. */
export function splitNals(data: Buffer, nalLengthSize: number): Buffer[] {
  const nals: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    need(at + nalLengthSize <= data.length, 'sample: truncated NAL length');
    const len = data.readUIntBE(at, nalLengthSize);
    at += nalLengthSize;
    need(at + len <= data.length, 'sample: NAL unit runs past the sample');
    nals.push(data.subarray(at, at + len));
    at += len;
  }
  return nals;
}
