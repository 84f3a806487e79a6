/**
 * A camera's capture: ffmpeg (ffmpeg-process.ts) writes MKV, the fragmenter
 * cuts it into fragments stamped with capture time, and each fragment is
 * appended to the camera's ring. ffmpeg's stdout is read only as fast as the
 * ring stores, so a slow disk holds ffmpeg back rather than filling memory.
 *
 * When ffmpeg exits (it crashed, was killed, the camera was unplugged, the
 * RTSP camera stopped answering), capture starts again after a backoff that
 * doubles per failed run, from `restartMinMs` to `restartMaxMs`, and is back
 * at the minimum once a run has recorded for a minute. A file source that
 * ends without `loop` ends the capture. The fragment ffmpeg was writing when
 * it died is lost; nothing already in the ring is.
 */
import { MkvError } from '../../sdk/protocol/mkv/index.ts';
import { backoffMs } from '../inputs/common.ts';
import { captureSpec } from './capture-args.ts';
import type { CameraConfig } from './config.ts';
import { startCapture, type CaptureRun } from './ffmpeg-process.ts';
import { Fragmenter } from './fragmenter.ts';
import type { FragmentRing } from './ring.ts';

export type CaptureState = 'starting' | 'recording' | 'restarting' | 'ended' | 'stopped';

export interface CaptureStats {
  state: CaptureState;
  recording: boolean;
  pid: number | undefined;
  /** ffmpeg runs started after the first. */
  restarts: number;
  lastError: string | undefined;
  lastErrorAtMs: number | undefined;
  /** When the current run began recording (its first fragment). */
  recordingSinceMs: number | undefined;
  fragmentsCaptured: number;
  bytesCaptured: number;
  /** Times the capture clock anchor moved (a source clock drifting from the wall clock, or a long stall). */
  clockAdjustments: number;
  /** Clusters not stored: no keyframe at their start, or empty. */
  fragmentsSkipped: number;
}

export type CaptureEvent =
  | { kind: 'started'; pid: number | undefined; restarts: number }
  | { kind: 'recording'; pid: number | undefined }
  | { kind: 'exited'; error: string | undefined; stderr: string[]; nextStartMs: number | undefined }
  | { kind: 'ended' }
  | { kind: 'clock-adjusted'; byMs: number }
  | { kind: 'skipped'; reason: string }
  | { kind: 'error'; error: string };

export interface CaptureOptions {
  ffmpeg: string;
  now?: () => number;
  onEvent?: (e: CaptureEvent) => void;
}

/** A run that recorded this long was healthy: the next failure starts over at the shortest backoff. */
const healthyRunMs = 60_000;

export class CameraCapture {
  private readonly now: () => number;
  private run: CaptureRun | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private lastEndMs = 0;
  private readonly s: CaptureStats = {
    state: 'starting', recording: false, pid: undefined, restarts: 0, lastError: undefined, lastErrorAtMs: undefined,
    recordingSinceMs: undefined, fragmentsCaptured: 0, bytesCaptured: 0, clockAdjustments: 0, fragmentsSkipped: 0,
  };

  constructor(private readonly config: CameraConfig, private readonly ring: FragmentRing, private readonly o: CaptureOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.runLoop().catch((err: unknown) => {
      // A broken invariant of ours (the ring refusing an append order, say): report it and stop capturing.
      this.s.state = 'stopped';
      this.s.recording = false;
      this.fail(`capture stopped: ${(err as Error).message}`);
      this.o.onEvent?.({ kind: 'error', error: (err as Error).message });
    });
  }

  stats(): CaptureStats {
    return { ...this.s, pid: this.run?.pid() };
  }

  /** The ffmpeg process of the current run, if any (tests kill it). */
  pid(): number | undefined {
    return this.run?.pid();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.run?.kill();
    this.wakeUp?.();
    await this.loop;
    this.s.state = 'stopped';
    this.s.recording = false;
  }

  private async runLoop(): Promise<void> {
    const spec = captureSpec(this.config);
    let failures = 0;
    while (!this.stopping) {
      const started = this.now();
      const outcome = await this.once(spec);
      if (this.stopping) break;
      if (outcome.ended) {
        this.s.state = 'ended';
        this.o.onEvent?.({ kind: 'ended' });
        return;
      }
      const recordedMs = this.s.recordingSinceMs !== undefined ? this.now() - Math.max(started, this.s.recordingSinceMs) : 0;
      if (recordedMs >= healthyRunMs) failures = 0;
      const wait = backoffMs(failures++, this.config.restartMinMs, this.config.restartMaxMs);
      this.s.state = 'restarting';
      this.s.recording = false;
      this.s.recordingSinceMs = undefined;
      this.fail(outcome.error ?? 'ffmpeg exited');
      this.o.onEvent?.({ kind: 'exited', error: outcome.error, stderr: outcome.stderr, nextStartMs: wait });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeUp = undefined;
      this.s.restarts++;
    }
  }

  /** One ffmpeg run, start to exit. */
  private async once(spec: ReturnType<typeof captureSpec>): Promise<{ ended: boolean; error?: string; stderr: string[] }> {
    this.s.state = 'starting';
    const run = startCapture(this.o.ffmpeg, spec);
    this.run = run;
    this.o.onEvent?.({ kind: 'started', pid: run.pid(), restarts: this.s.restarts });
    const fragmenter = new Fragmenter({
      timestamps: this.config.timestamps, realtime: spec.realtime,
      notBeforeMs: Math.max(this.lastEndMs, this.ring.stats().newestEndMs ?? 0),
    });
    let streamError: string | undefined;
    try {
      for await (const chunk of run.output) {
        await this.store(fragmenter.push(chunk, this.now()));
        this.drain(fragmenter);
      }
      await this.store(fragmenter.end(this.now()));
    } catch (err) {
      // A torn last Cluster (ffmpeg killed mid-write) is the fragment in progress: lost by design.
      if (!(err instanceof MkvError && err.code === 'TRUNCATED')) {
        streamError = `ffmpeg's output is not MKV the agent can read: ${(err as Error).message}`;
        run.kill();
      }
    }
    this.drain(fragmenter);
    const result = await run.done;
    this.run = undefined;
    const error = streamError ?? result.error;
    const ended = !error && this.config.source.kind === 'mkv' && !this.config.source.loop;
    return { ended, ...(error ? { error } : {}), stderr: result.stderr };
  }

  private async store(fragments: ReturnType<Fragmenter['push']>): Promise<void> {
    for (const f of fragments) {
      if (this.stopping) return;
      const r = await this.ring.append(f);
      this.lastEndMs = Math.max(this.lastEndMs, f.producerMs + f.durationMs);
      if (r !== 'stored') continue;
      this.s.fragmentsCaptured++;
      this.s.bytesCaptured += f.cluster.length;
      if (!this.s.recording) {
        this.s.recording = true;
        this.s.state = 'recording';
        this.s.recordingSinceMs = this.now();
        this.o.onEvent?.({ kind: 'recording', pid: this.run?.pid() });
      }
    }
  }

  private drain(f: Fragmenter): void {
    for (const e of f.events.splice(0)) {
      if (e.kind === 'anchor-moved') {
        this.s.clockAdjustments++;
        this.o.onEvent?.({ kind: 'clock-adjusted', byMs: e.byMs });
      } else if (e.kind === 'fragment-skipped') {
        this.s.fragmentsSkipped++;
        this.o.onEvent?.({ kind: 'skipped', reason: e.reason });
      } else this.o.onEvent?.({ kind: 'skipped', reason: 'timestamps: source, but the source\'s timecodes are not epoch milliseconds; using capture time' });
    }
  }

  private fail(message: string): void {
    this.s.lastError = message;
    this.s.lastErrorAtMs = this.now();
  }
}
