/**
 * Real MKV from Debian's ffmpeg for the video tests: a test camera (testsrc,
 * H.264, one Cluster per GOP), encoded once per process and cached on disk
 * by its parameters, because CPU is scarce.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestClipOptions {
  width: number;
  height: number;
  seconds: number;
  fps?: number;
  gopSeconds?: number;
  /** Epoch seconds added to every timestamp (`-output_ts_offset`), for ABSOLUTE fragment timecodes. */
  tsOffsetSeconds?: number;
  /** Video bit rate, e.g. '2M' (default: the encoder's CRF). */
  bitrate?: string;
  /** Temporal noise strength (ffmpeg's noise filter): testsrc alone compresses far below a camera's bit rate. */
  noise?: number;
}

export function ffmpegAvailable(): boolean {
  return spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
}

/** The ffmpeg arguments that write the test camera as MKV to stdout. */
export function testCameraArgs(o: TestClipOptions): string[] {
  const fps = o.fps ?? 30;
  const gop = Math.round(fps * (o.gopSeconds ?? 2));
  return [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc=size=${o.width}x${o.height}:rate=${fps}`, '-t', String(o.seconds),
    ...(o.noise ? ['-vf', `noise=alls=${o.noise}:allf=t`] : []),
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    ...(o.bitrate ? ['-b:v', o.bitrate, '-maxrate', o.bitrate, '-bufsize', o.bitrate] : []),
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
    ...(o.tsOffsetSeconds !== undefined ? ['-output_ts_offset', String(o.tsOffsetSeconds)] : []),
    '-f', 'matroska', '-cluster_time_limit', '100000', '-cluster_size_limit', '100000000', 'pipe:1',
  ];
}

/** Encodes (once, cached under the OS temp directory) and returns the MKV bytes as ffmpeg writes them to a pipe. */
export function testClip(o: TestClipOptions): Buffer {
  const key = [o.width, o.height, o.seconds, o.fps ?? 30, o.gopSeconds ?? 2, o.tsOffsetSeconds ?? 'none', o.bitrate ?? 'crf', ...(o.noise ? [`noise${o.noise}`] : [])].join('-');
  const file = path.join(os.tmpdir(), `tributary-testclip-${key}.mkv`);
  if (fs.existsSync(file)) return fs.readFileSync(file);
  // Through a pipe (not a file) so that ffmpeg writes as to a live, unseekable output.
  const out = execFileSync('ffmpeg', testCameraArgs(o), { maxBuffer: 512 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, out);
  fs.renameSync(tmp, file);
  return out;
}

/** ffprobe's packets of a file: pts in seconds, size, keyframe flag. */
export function probePackets(file: string): Array<{ pts: number; size: number; keyframe: boolean }> {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,size,flags', '-of', 'json', file], { encoding: 'utf8' });
  const packets = (JSON.parse(out) as { packets: Array<{ pts_time: string; size: string; flags: string }> }).packets;
  return packets.map((p) => ({ pts: Number(p.pts_time), size: Number(p.size), keyframe: p.flags.includes('K') }));
}
