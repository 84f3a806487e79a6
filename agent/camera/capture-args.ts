/**
 * The ffmpeg command line for a camera: its input (device, URL, file, the
 * stdout of rpicam-vid, or a test pattern), H.264 copied or encoded with a
 * fixed GOP, and Matroska on stdout with one Cluster per GOP, which is one
 * fragment. Pure: a config in, argument lists out (ffmpeg-process.ts runs
 * them through fluent-ffmpeg).
 */
import type { CameraConfig } from './config.ts';

export interface CaptureSpec {
  /** ffmpeg's input: a path or URL, or `pipe:0` when `feeder` writes to its stdin. */
  input: string;
  inputOptions: string[];
  outputOptions: string[];
  /** A program whose stdout is ffmpeg's input (rpicam-vid). */
  feeder?: string[];
  /** Whether the input runs at its own pace (cameras, -re); false for a file or test pattern read as fast as possible. */
  realtime: boolean;
}

/**
 * Matroska to stdout, one Cluster per keyframe: the muxer starts a Cluster at
 * each video keyframe, and the limits are set past any GOP so that only
 * keyframes do (a Cluster is one fragment, at most 10 s on the gateway).
 */
const matroskaOut = ['-f', 'matroska', '-cluster_time_limit', '100000', '-cluster_size_limit', '100000000'];

export function captureSpec(c: CameraConfig): CaptureSpec {
  const s = c.source;
  const fps = 'fps' in s && s.fps !== undefined ? s.fps : 30;
  const gop = Math.max(1, Math.round(fps * c.fragmentSeconds));
  const encode = encodeOptions(c, gop);
  // Video only: the gateway's players package the first video track (docs/video.md).
  const out = ['-map', '0:v:0', ...encode, ...matroskaOut];
  switch (s.kind) {
    case 'synthetic':
      return {
        input: `testsrc=size=${s.width}x${s.height}:rate=${s.fps}`,
        inputOptions: [...(s.realtime ? ['-re'] : []), '-f', 'lavfi'],
        outputOptions: out,
        realtime: s.realtime,
      };
    case 'v4l2':
      return {
        input: s.device,
        inputOptions: [
          '-f', 'v4l2', '-thread_queue_size', '64',
          ...(s.inputFormat ? ['-input_format', s.inputFormat] : []),
          ...(s.width && s.height ? ['-video_size', `${s.width}x${s.height}`] : []),
          ...(s.fps ? ['-framerate', String(s.fps)] : []),
        ],
        outputOptions: out,
        realtime: true,
      };
    case 'rtsp':
      // Socket timeout in microseconds: a camera that stops answering ends the run, which restarts it.
      return { input: s.url, inputOptions: ['-rtsp_transport', s.transport, '-timeout', '10000000'], outputOptions: out, realtime: true };
    case 'rpicam': {
      // rpicam-vid writes raw H.264 (no timestamps): the frame rate gives them; --intra sets its GOP to a fragment.
      const feeder = [...s.command];
      if (!feeder.includes('--intra')) feeder.push('--intra', String(gop));
      if (!feeder.includes('--framerate')) feeder.push('--framerate', String(s.fps));
      if (s.width && !feeder.includes('--width')) feeder.push('--width', String(s.width));
      if (s.height && !feeder.includes('--height')) feeder.push('--height', String(s.height));
      return { input: 'pipe:0', inputOptions: ['-f', 'h264', '-framerate', String(s.fps)], outputOptions: out, feeder, realtime: true };
    }
    case 'mkv':
      return {
        input: s.path,
        inputOptions: [...(s.realtime ? ['-re'] : []), ...(s.loop ? ['-stream_loop', '-1'] : [])],
        outputOptions: out,
        realtime: s.realtime,
      };
  }
}

function encodeOptions(c: CameraConfig, gop: number): string[] {
  const { codec, bitrate, preset } = c.encode;
  if (codec === 'copy') return ['-c:v', 'copy'];
  const rate = ['-b:v', String(bitrate), '-maxrate', String(bitrate), '-bufsize', String(bitrate * 2)];
  // A keyframe exactly every fragment, never in between (no scene-cut keyframes), no B-frames (live latency).
  const gopOptions = ['-g', String(gop), '-keyint_min', String(gop), '-bf', '0'];
  if (codec === 'h264_v4l2m2m') return ['-c:v', 'h264_v4l2m2m', '-pix_fmt', 'yuv420p', ...rate, ...gopOptions];
  return ['-c:v', 'libx264', '-preset', preset, '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', ...rate, ...gopOptions, '-sc_threshold', '0'];
}
