/**
 * The `inputs.camera` section of agent.yaml: one entry per camera. The
 * schema lives here (agent/config.ts includes it) and so do the defaults,
 * as named constants, and the checks the schema cannot express (exactly one
 * source; encoding where the source is not H.264).
 *
 * ```yaml
 * inputs:
 *   camera:
 *     - name: front
 *       stream: front-${device}
 *       source: { v4l2: { device: /dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920-video-index0, inputFormat: h264, width: 1280, height: 720, fps: 30 } }
 *       buffer: { capBytes: 4294967296, maxAgeHours: 168, policy: drop-oldest }
 *       uploadWindow: "22:00-06:00"
 * ```
 */
import type { Schema } from '../../sdk/config/yaml-schema.ts';

export const fragmentSecondsDefault = 2;
export const maxAgeHoursDefault = 168;
export const livePriorityDefault = 40;
export const backlogPriorityDefault = 10;
export const liveAgeSecondsDefault = 30;
export const restartMinMsDefault = 1000;
export const restartMaxMsDefault = 60_000;
export const bitrateDefault = 2_000_000;
export const presetDefault = 'veryfast';
/** When no cap is configured: this share of the state directory's free space at start, shared by the cameras. */
export const capFreePercentDefault = 25;
/** The rpicam-vid command line when none is configured: H.264 from the Pi's encoder on stdout, SPS/PPS before every keyframe. */
export const rpicamCommandDefault = ['rpicam-vid', '-t', '0', '-n', '--inline', '--codec', 'h264', '-o', '-'];

export type CameraCodec = 'copy' | 'libx264' | 'h264_v4l2m2m';

export type CameraSource =
  | { kind: 'synthetic'; width: number; height: number; fps: number; realtime: boolean }
  | { kind: 'v4l2'; device: string; inputFormat?: string; width?: number; height?: number; fps?: number }
  | { kind: 'rtsp'; url: string; transport: 'tcp' | 'udp' }
  | { kind: 'rpicam'; command: string[]; width?: number; height?: number; fps: number }
  | { kind: 'mkv'; path: string; loop: boolean; realtime: boolean };

export interface CameraConfig {
  name: string;
  /** The Kinesis Video stream (`${device}` already replaced by the daemon). */
  stream: string;
  source: CameraSource;
  encode: { codec: CameraCodec; bitrate: number; preset: string };
  /** GOP length when the agent encodes: one fragment per GOP. */
  fragmentSeconds: number;
  timestamps: 'capture' | 'source';
  buffer: { capBytes?: number; maxAgeHours: number; policy: 'drop-oldest' | 'keep-oldest'; seal?: boolean };
  priority: number;
  backlogPriority: number;
  liveAgeSeconds: number;
  /** Local time of day, minutes since midnight; the backlog goes only inside it (it may wrap past midnight). */
  uploadWindow?: { startMinute: number; endMinute: number };
  restartMinMs: number;
  restartMaxMs: number;
  ffmpegPath?: string;
}

const dimension = { kind: 'integer', min: 16, max: 8192 } as const;
const fps = { kind: 'integer', min: 1, max: 240 } as const;

/** "HH:MM-HH:MM" in local time. */
const uploadWindow: Schema = {
  kind: 'custom',
  describe: 'a local time range HH:MM-HH:MM',
  parse: (v) => {
    const m = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/.exec(v);
    if (!m) return { ok: false, error: 'must be a local time range HH:MM-HH:MM, like 22:00-06:00' };
    const startMinute = Number(m[1]) * 60 + Number(m[2]);
    const endMinute = Number(m[3]) * 60 + Number(m[4]);
    if (startMinute === endMinute) return { ok: false, error: 'must not start and end at the same time (leave it out to upload at any time)' };
    return { ok: true, value: { startMinute, endMinute } };
  },
};

export const cameraSchema: Schema = {
  kind: 'object',
  required: ['name', 'stream', 'source'],
  fields: {
    name: { kind: 'string', pattern: /^[A-Za-z0-9_-]{1,64}$/, hint: '1-64 of [A-Za-z0-9_-] (names the camera\'s buffer directory and status)' },
    stream: { kind: 'string', pattern: /^[a-zA-Z0-9_.${}-]{1,256}$/, hint: 'a Kinesis Video stream name, 1-256 of [a-zA-Z0-9_.-] (${device} allowed)' },
    source: {
      kind: 'object',
      fields: {
        synthetic: {
          kind: 'object',
          optional: true,
          fields: { width: { ...dimension, default: 1280 }, height: { ...dimension, default: 720 }, fps: { ...fps, default: 30 }, realtime: { kind: 'boolean', default: true } },
        },
        v4l2: {
          kind: 'object',
          optional: true,
          required: ['device'],
          fields: {
            device: { kind: 'string', pattern: /^\/\S+$/, hint: 'an absolute device path, like /dev/video0 or /dev/v4l/by-id/…' },
            inputFormat: { kind: 'string', pattern: /^[a-z0-9_]{1,32}$/, hint: 'a V4L2 input format ffmpeg knows: h264, mjpeg, yuyv422, …' },
            width: dimension, height: dimension, fps,
          },
        },
        rtsp: {
          kind: 'object',
          optional: true,
          required: ['url'],
          fields: { url: { kind: 'string', pattern: /^rtsps?:\/\/\S+$/, hint: 'an rtsp:// URL' }, transport: { kind: 'enum', values: ['tcp', 'udp'], default: 'tcp' } },
        },
        rpicam: {
          kind: 'object',
          optional: true,
          fields: { command: { kind: 'list', min: 1, item: { kind: 'string' } }, width: dimension, height: dimension, fps: { ...fps, default: 30 } },
        },
        mkv: {
          kind: 'object',
          optional: true,
          required: ['path'],
          fields: {
            path: { kind: 'string', pattern: /^\/\S+$/, hint: 'an absolute path to an MKV file or a named pipe' },
            loop: { kind: 'boolean', default: false },
            realtime: { kind: 'boolean', default: true },
          },
        },
      },
    },
    encode: {
      kind: 'object',
      fields: {
        codec: { kind: 'enum', values: ['copy', 'libx264', 'h264_v4l2m2m'] },
        bitrate: { kind: 'integer', min: 64_000, max: 100_000_000, default: bitrateDefault },
        preset: { kind: 'enum', values: ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium'], default: presetDefault },
      },
    },
    fragmentSeconds: { kind: 'integer', min: 1, max: 10, default: fragmentSecondsDefault },
    timestamps: { kind: 'enum', values: ['capture', 'source'], default: 'capture' },
    buffer: {
      kind: 'object',
      fields: {
        capBytes: { kind: 'integer', min: 4 * 1024 * 1024, max: 1024 ** 4 },
        maxAgeHours: { kind: 'integer', min: 1, max: 24 * 365, default: maxAgeHoursDefault },
        policy: { kind: 'enum', values: ['drop-oldest', 'keep-oldest'], default: 'drop-oldest' },
        seal: { kind: 'boolean' },
      },
    },
    priority: { kind: 'integer', min: 0, max: 100, default: livePriorityDefault },
    backlogPriority: { kind: 'integer', min: 0, max: 100, default: backlogPriorityDefault },
    liveAgeSeconds: { kind: 'integer', min: 2, max: 3600, default: liveAgeSecondsDefault },
    uploadWindow,
    restartMinMs: { kind: 'integer', min: 10, max: 600_000, default: restartMinMsDefault },
    restartMaxMs: { kind: 'integer', min: 10, max: 3_600_000, default: restartMaxMsDefault },
    ffmpegPath: { kind: 'string', pattern: /^\/\S+$/, hint: 'an absolute path to an ffmpeg binary' },
  },
};

/** The camera entry as the schema leaves it: `source` holds one of its sub-objects, `encode.codec` may be absent. */
export interface RawCameraConfig extends Omit<CameraConfig, 'source' | 'encode'> {
  source: { synthetic?: object; v4l2?: object; rtsp?: object; rpicam?: { command?: string[] } & object; mkv?: object };
  encode: { codec?: CameraCodec; bitrate: number; preset: string };
}

const sourceKinds = ['synthetic', 'v4l2', 'rtsp', 'rpicam', 'mkv'] as const;

/**
 * Checks what the schema cannot and fills the source-dependent defaults;
 * returns an error message naming the field, or the config. `where` is the
 * entry's path (`inputs.camera[0]`).
 */
export function resolveCameraConfig(raw: RawCameraConfig, where: string): CameraConfig | string {
  const given = sourceKinds.filter((k) => raw.source[k] !== undefined);
  if (given.length !== 1) return `${where}.source takes exactly one of ${sourceKinds.join(', ')} (got ${given.length ? given.join(', ') : 'none'})`;
  const kind = given[0]!;
  const source = { kind, ...(raw.source[kind] as object) } as CameraSource;
  if (source.kind === 'rpicam' && !source.command) source.command = [...rpicamCommandDefault];
  // H.264 sources are copied as they come; the others must be encoded.
  const h264 = source.kind === 'rtsp' || source.kind === 'rpicam' || source.kind === 'mkv' || (source.kind === 'v4l2' && source.inputFormat === 'h264');
  const codec = raw.encode.codec ?? (h264 ? 'copy' : 'libx264');
  if (codec === 'copy' && source.kind === 'synthetic') return `${where}.encode.codec: the synthetic source must be encoded (libx264 or h264_v4l2m2m), not copied`;
  if (codec === 'copy' && source.kind === 'v4l2' && source.inputFormat !== 'h264') {
    return `${where}.encode.codec: copy needs a camera that gives H.264 (source.v4l2.inputFormat: h264); this one must be encoded (libx264, or h264_v4l2m2m on a Raspberry Pi)`;
  }
  if (raw.restartMaxMs < raw.restartMinMs) return `${where}.restartMaxMs must be at least restartMinMs (${raw.restartMinMs})`;
  return Object.freeze({ ...raw, source, encode: { ...raw.encode, codec } }) as CameraConfig;
}

/** Whether `nowMs` (local time) lies inside the window. */
export function inUploadWindow(window: CameraConfig['uploadWindow'], nowMs: number): boolean {
  if (!window) return true;
  const d = new Date(nowMs);
  const minute = d.getHours() * 60 + d.getMinutes();
  const { startMinute: s, endMinute: e } = window;
  return s < e ? minute >= s && minute < e : minute >= s || minute < e;
}

/** Milliseconds until the window next opens (0 inside it). */
export function msUntilUploadWindow(window: CameraConfig['uploadWindow'], nowMs: number): number {
  if (!window || inUploadWindow(window, nowMs)) return 0;
  const d = new Date(nowMs);
  const open = new Date(d.getFullYear(), d.getMonth(), d.getDate(), Math.floor(window.startMinute / 60), window.startMinute % 60, 0, 0).getTime();
  return open > nowMs ? open - nowMs : new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1, Math.floor(window.startMinute / 60), window.startMinute % 60).getTime() - nowMs;
}
