/**
 * Frames to still images with ffmpeg: the fragment's MKV goes in on stdin,
 * the chosen frames (by number, in presentation order) come out as JPEG or
 * PNG, optionally scaled, as one stream that is split into images here.
 */
import { runFfmpeg, type FfmpegLocation } from '../../../sdk/video/ffmpeg.ts';

export interface ImageOptions {
  format: 'JPEG' | 'PNG';
  /** 1 (smallest) to 100 (best), JPEG only. */
  quality: number;
  width?: number;
  height?: number;
}

/** Decode budget per fragment: a 10 s fragment of 4K decodes well within it. */
export const imageExtractTimeoutMs = 20_000;

/** JPEGQuality 1-100 onto ffmpeg's mjpeg qscale 31 (worst) to 2 (best). */
export function mjpegQscale(quality: number): number {
  return Math.round(31 - ((quality - 1) * 29) / 99);
}

function scaleFilter(o: ImageOptions): string | undefined {
  // Both given: stretched to that size (AWS's rule). One given: the other follows the aspect ratio (even, as encoders want).
  if (o.width !== undefined && o.height !== undefined) return `scale=${o.width}:${o.height}`;
  if (o.width !== undefined) return `scale=${o.width}:-2`;
  if (o.height !== undefined) return `scale=-2:${o.height}`;
  return undefined;
}

/** The images of frames `frames` (ascending after dedupe), in ascending frame order. */
export async function extractImages(ff: FfmpegLocation, mkv: Buffer, frames: number[], o: ImageOptions): Promise<Buffer[]> {
  const wanted = [...new Set(frames)].sort((a, b) => a - b);
  const select = `select='${wanted.map((n) => `eq(n\\,${n})`).join('+')}'`;
  const filters = [select, scaleFilter(o)].filter(Boolean).join(',');
  const codec = o.format === 'JPEG' ? ['-c:v', 'mjpeg', '-q:v', String(mjpegQscale(o.quality)), '-pix_fmt', 'yuvj420p'] : ['-c:v', 'png'];
  const out = await runFfmpeg(ff, [
    '-loglevel', 'error', '-f', 'matroska', '-i', 'pipe:0', '-map', '0:v:0', '-vf', filters, '-vsync', '0', ...codec, '-f', 'image2pipe', 'pipe:1',
  ], { input: mkv, timeoutMs: imageExtractTimeoutMs, outputBytesMax: 64 * 1024 * 1024 });
  return o.format === 'JPEG' ? splitJpegs(out) : splitPngs(out);
}

/** Concatenated JPEGs: each ends with EOI (FF D9) right before the next one's SOI (FF D8). */
export function splitJpegs(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 2; i + 3 < b.length; i++) {
    if (b[i] === 0xff && b[i + 1] === 0xd8 && b[i + 2] === 0xff && b[i - 2] === 0xff && b[i - 1] === 0xd9) {
      out.push(b.subarray(start, i));
      start = i;
    }
  }
  if (b.length > start) out.push(b.subarray(start));
  return out.filter((x) => x.length > 4 && x[0] === 0xff && x[1] === 0xd8);
}

/** Concatenated PNGs, split by walking their chunks to IEND. */
export function splitPngs(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at + 8 <= b.length && b.readUInt32BE(at) === 0x89504e47) {
    let p = at + 8;
    for (;;) {
      if (p + 12 > b.length) return out;
      const len = b.readUInt32BE(p);
      const type = b.toString('latin1', p + 4, p + 8);
      p += 12 + len;
      if (type === 'IEND') break;
    }
    out.push(b.subarray(at, p));
    at = p;
  }
  return out;
}
