/**
 * Cameras on the device (the `inputs.camera` section): per camera a capture
 * (ffmpeg → fragments stamped with capture time), a ring of fragment files
 * under `<state>/camera/<name>/` that keeps recording through outages, and
 * an uplink (PutMedia through the SDK's VideoProducer) that removes a
 * fragment only once the gateway PERSISTED it. See docs/agent-camera.md.
 *
 * @example
 * const cameras = await startCameras(configs, { stateDir, endpoint, region, credentials, scheduler, log, conditions });
 * cameras.status(); // per camera: recording, fragments buffered, oldest unsent, upload rate, last error
 * await cameras.stop(5000);
 */
import path from 'node:path';
import { locateFfmpeg } from '../../sdk/video/ffmpeg.ts';
import type { ConditionLog } from '../condition-log.ts';
import type { AgentLogger } from '../daemon.ts';
import { diskSpace } from '../disk-space.ts';
import type { UplinkScheduler } from '../uplink/scheduler.ts';
import { CameraCapture, type CaptureEvent } from './capture.ts';
import { capFreePercentDefault, type CameraConfig } from './config.ts';
import { ringKey } from './fragment-file.ts';
import { FragmentRing, listRing, type RingProblem } from './ring.ts';
import { CameraUplink, type CameraUplinkEvent } from './uplink.ts';

export { cameraSchema, resolveCameraConfig, type CameraConfig, type RawCameraConfig } from './config.ts';
export { exportCameraRange, type ExportResult } from './export.ts';
export { listRing } from './ring.ts';

/** What `tributary-agent status` shows per camera. */
export interface CameraStatus {
  stream: string;
  /** starting, recording, restarting (after ffmpeg exited), ended (a file source), stopped. */
  state: string;
  recording: boolean;
  ffmpegPid: number | undefined;
  restarts: number;
  /** Fragments and bytes in the ring: recorded and not yet PERSISTED. */
  fragments: number;
  bytes: number;
  /** Capture time of the oldest fragment not yet PERSISTED. */
  oldestUnsentAt: string | undefined;
  oldestUnsentAgeMs: number | undefined;
  capBytes: number;
  policy: string;
  link: string;
  sentFragments: number;
  uploadBytesPerSecond: number;
  backlog: boolean;
  waitingForUploadWindow: boolean;
  droppedOldest: number;
  droppedNewest: number;
  expired: number;
  refused: number;
  /** The newest error of capture or upload, with when it happened. */
  lastError: string | undefined;
  lastErrorAt: string | undefined;
}

export interface RunningCameras {
  status(): Record<string, CameraStatus>;
  /** The ffmpeg pid of a camera (tests kill it). */
  ffmpegPid(name: string): number | undefined;
  stop(deadlineMs: number): Promise<void>;
}

export interface StartCamerasOptions {
  stateDir: string;
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  ca?: string;
  cert?: string;
  key?: string;
  scheduler?: UplinkScheduler;
  /** The longest wait between two upload attempts after failures (agent.yaml uplink.retryMaxMs). */
  retryMaxMs?: number;
  /** The agent's buffer key: cameras whose buffer is sealed derive theirs from it. */
  bufferKey?: () => Uint8Array;
  /** Whether the record buffers are encrypted: a camera's `buffer.seal` defaults to it. */
  encryptByDefault: boolean;
  log: AgentLogger;
  conditions: ConditionLog;
}

/** The directory of a camera's ring. */
export function cameraRingDir(stateDir: string, camera: string): string {
  return path.join(stateDir, 'camera', camera);
}

/** Each camera's cap: its configured one, or its share of `capFreePercentDefault` of the free space (plus what the rings hold). */
function capFor(c: CameraConfig, all: readonly CameraConfig[], stateDir: string): number {
  if (c.buffer.capBytes !== undefined) return c.buffer.capBytes;
  const held = all.reduce((n, x) => n + listRing(cameraRingDir(stateDir, x.name)).reduce((m, e) => m + e.bytes, 0), 0);
  const free = diskSpace(stateDir)?.freeBytes ?? 1024 ** 3;
  const unconfigured = all.filter((x) => x.buffer.capBytes === undefined).length;
  return Math.max(4 * 1024 * 1024, Math.floor(((free + held) * capFreePercentDefault) / 100 / unconfigured));
}

export async function startCameras(configs: readonly CameraConfig[], o: StartCamerasOptions): Promise<RunningCameras> {
  const cameras = new Map<string, { config: CameraConfig; ring: FragmentRing; capture: CameraCapture; uplink: CameraUplink }>();
  const located = new Map<string, string>();
  const ffmpegFor = (c: CameraConfig): string => {
    const k = c.ffmpegPath ?? '';
    if (!located.has(k)) {
      const l = locateFfmpeg(c.ffmpegPath ? { ffmpegPath: c.ffmpegPath } : {});
      o.log.info('camera: ffmpeg found', { ffmpeg: l.ffmpeg, source: l.source });
      located.set(k, l.ffmpeg);
    }
    return located.get(k)!;
  };
  for (const config of configs) {
    const name = config.name;
    const seal = config.buffer.seal ?? o.encryptByDefault;
    const capBytes = capFor(config, configs, o.stateDir);
    const ring = FragmentRing.open(cameraRingDir(o.stateDir, name), {
      capBytes, policy: config.buffer.policy, maxAgeMs: config.buffer.maxAgeHours * 3600_000,
      ...(seal && o.bufferKey ? { key: ringKey(o.bufferKey()) } : {}),
      freeBytes: () => diskSpace(o.stateDir)?.freeBytes,
      onProblem: onRingProblem(name, o),
    });
    const capture = new CameraCapture(config, ring, { ffmpeg: ffmpegFor(config), onEvent: onCaptureEvent(name, o) });
    const uplink = new CameraUplink({
      ring, stream: config.stream, endpoint: o.endpoint, region: o.region, credentials: o.credentials,
      ...(o.ca ? { ca: o.ca } : {}), ...(o.cert ? { cert: o.cert, key: o.key! } : {}),
      ...(o.scheduler ? { scheduler: o.scheduler } : {}), ...(o.retryMaxMs ? { retryMaxMs: o.retryMaxMs } : {}),
      priority: config.priority, backlogPriority: config.backlogPriority, liveAgeMs: config.liveAgeSeconds * 1000,
      ...(config.uploadWindow ? { uploadWindow: config.uploadWindow } : {}),
      onEvent: onUplinkEvent(name, o),
    });
    o.log.info('camera', { camera: name, stream: config.stream, source: config.source.kind, codec: config.encode.codec, capBytes, policy: config.buffer.policy, sealed: seal, buffered: ring.stats().fragments });
    cameras.set(name, { config, ring, capture, uplink });
    capture.start();
    uplink.start();
  }
  return {
    status: () => Object.fromEntries([...cameras].map(([name, c]) => [name, cameraStatus(c.config, c.ring, c.capture, c.uplink)])),
    ffmpegPid: (name) => cameras.get(name)?.capture.pid(),
    async stop(deadlineMs) {
      await Promise.all([...cameras.values()].map((c) => c.capture.stop()));
      await Promise.all([...cameras.values()].map((c) => c.uplink.stop({ deadlineMs })));
      for (const c of cameras.values()) await c.ring.close();
    },
  };
}

function cameraStatus(config: CameraConfig, ring: FragmentRing, capture: CameraCapture, uplink: CameraUplink): CameraStatus {
  const r = ring.stats();
  const c = capture.stats();
  const u = uplink.stats();
  const now = Date.now();
  const newest = (c.lastErrorAtMs ?? -1) >= (u.lastErrorAtMs ?? -1) ? { e: c.lastError, at: c.lastErrorAtMs } : { e: u.lastError, at: u.lastErrorAtMs };
  return {
    stream: config.stream, state: c.state, recording: c.recording, ffmpegPid: c.pid, restarts: c.restarts,
    fragments: r.fragments, bytes: r.bytes,
    oldestUnsentAt: r.oldestMs !== undefined ? new Date(r.oldestMs).toISOString() : undefined,
    oldestUnsentAgeMs: r.oldestMs !== undefined ? Math.max(0, now - r.oldestMs) : undefined,
    capBytes: r.capBytes, policy: config.buffer.policy,
    link: u.link, sentFragments: u.sentFragments, uploadBytesPerSecond: u.uploadBytesPerSecond, backlog: u.backlog, waitingForUploadWindow: u.waitingForWindow,
    droppedOldest: r.droppedOldestFragments, droppedNewest: r.droppedNewestFragments, expired: r.expiredFragments, refused: r.refusedFragments,
    lastError: newest.e, lastErrorAt: newest.at !== undefined ? new Date(newest.at).toISOString() : undefined,
  };
}

/** Ring problems as conditions: dropping, refusing and a full disk are logged when they start and when they end, with counts. */
function onRingProblem(name: string, o: StartCamerasOptions): (p: RingProblem) => void {
  const f = { camera: name };
  return (p) => {
    const counts = { fragments: p.fragments, bytes: p.bytes };
    switch (p.kind) {
      case 'dropped-oldest':
        o.conditions.raise(`camera-dropped:${name}`, 'warn', 'camera buffer full: dropping the oldest video (drop-oldest)', f, counts);
        return;
      case 'dropped-newest':
        o.conditions.raise(`camera-refused:${name}`, 'warn', 'camera buffer full: new video is not kept (keep-oldest)', { ...f, detail: p.detail }, counts);
        return;
      case 'disk-full':
        o.conditions.raise(`camera-disk:${name}`, 'error', 'camera buffer: no space left on the disk', { ...f, detail: p.detail });
        return;
      case 'expired':
        o.log.info('camera buffer: video older than maxAgeHours deleted', { ...f, ...counts });
        return;
      default:
        o.log.warn(`camera buffer: ${p.kind} fragment`, { ...f, ...counts, detail: p.detail });
    }
  };
}

function onCaptureEvent(name: string, o: StartCamerasOptions): (e: CaptureEvent) => void {
  const f = { camera: name };
  return (e) => {
    switch (e.kind) {
      case 'recording':
        o.conditions.clear(`camera-capture:${name}`, 'camera recording again', f);
        o.conditions.clear(`camera-dropped:${name}`, 'camera buffer: no longer dropping', f);
        o.conditions.clear(`camera-refused:${name}`, 'camera buffer: keeping new video again', f);
        o.log.info('camera recording', { ...f, pid: e.pid });
        return;
      case 'exited':
        o.conditions.raise(`camera-capture:${name}`, 'warn', 'camera capture stopped: ffmpeg exited; restarting', { ...f, error: e.error, stderr: e.stderr.slice(-3), nextStartMs: e.nextStartMs }, { restarts: 1 });
        return;
      case 'ended':
        o.log.info('camera source ended (file without loop)', f);
        return;
      case 'error':
        o.log.error('camera capture stopped', { ...f, error: e.error });
        return;
      case 'clock-adjusted':
        o.log.warn('camera clock adjusted: the source\'s timestamps drifted from the wall clock', { ...f, byMs: e.byMs });
        return;
      default:
        o.log.debug?.('camera', { ...f, ...e });
    }
  };
}

function onUplinkEvent(name: string, o: StartCamerasOptions): (e: CameraUplinkEvent) => void {
  const f = { camera: name };
  return (e) => {
    switch (e.kind) {
      case 'link':
        if (e.state === 'down') o.conditions.raise(`camera-link:${name}`, 'warn', 'camera upload: the gateway is unreachable; recording continues into the buffer', { ...f, error: e.error });
        else {
          o.conditions.clear(`camera-link:${name}`, 'camera upload: link up', f);
          o.conditions.clear(`camera-upload:${name}`, 'camera upload: fragments persisted again', f);
        }
        return;
      case 'retry':
        o.conditions.raise(`camera-upload:${name}`, 'warn', 'camera upload failed; retrying', { ...f, error: e.error, inMs: e.inMs }, { retries: 1 });
        return;
      case 'refused-fragment':
        o.log.error('camera upload: the gateway refused a fragment for good; removed from the buffer', { ...f, producerMs: e.producerMs, errorCode: e.errorCode });
        return;
      case 'waiting-for-window':
        o.log.info('camera upload: backlog waits for the upload window', { ...f, inMs: e.inMs });
        return;
    }
  };
}
