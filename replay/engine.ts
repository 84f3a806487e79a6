/**
 * The replay run: reads the source in order, rewrites keys, rejects what
 * cannot be sent, paces by the records' original times, and hands each record
 * to the lane its partition key hashes to; the lanes send (lane.ts). The
 * checkpoint (checkpoint.ts) is saved before every request with new records
 * and at the end; a run that finds its checkpoint resumes from it.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '../sdk/protocol/errors.ts';
import { CheckpointWriter, emptyCounters, laneLowWater, readCheckpoint, type CheckpointDoc, type Counters, type LaneState } from './checkpoint.ts';
import { Lane, type LaneHost } from './lane.ts';
import { keyFor, type KeyRule } from './partition-key.ts';
import { Progress, type ProgressMode } from './progress.ts';
import { RejectsFile } from './rejects.ts';
import type { ReplayRecord, ReplaySource, ReplayTarget } from './types.ts';

export type Speed = { kind: 'max' } | { kind: 'scaled'; factor: number };

export interface ReplayOptions {
  checkpointFile: string;
  rejectsFile: string;
  /** Identifies the command (source, target, key rule, lanes, format): a checkpoint of another command is refused. */
  fingerprint: string;
  speed: Speed;
  keyRule: KeyRule;
  lanes: number;
  progress: ProgressMode;
  progressIntervalMs: number;
  /** fsync the checkpoint and rejects (survive power loss, not only kill -9). */
  sync: boolean;
  lingerMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export interface ReplaySummary {
  source: string;
  target: string;
  finished: boolean;
  /** True when this command found the run already finished and sent nothing. */
  alreadyFinished?: boolean;
  resumed: boolean;
  read: number;
  sent: number;
  sentMB: number;
  rejected: number;
  retried: number;
  throttled: number;
  requests: number;
  seconds: number;
  recordsPerS: number;
  exactlyOnce: boolean;
  checkpoint: string;
  rejects?: string;
}

export interface OpenedRun {
  source: ReplaySource;
  target: ReplayTarget;
}

/** FNV-1a: a fast, stable hash of the partition key, so a key keeps its lane across runs. */
export function laneOf(key: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
}

export class ReplayEngine implements LaneHost {
  counters: Counters;
  sourceDone = false;
  stopping = false;
  readonly lingerMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  private readonly doc: CheckpointDoc;
  private readonly resumed: boolean;
  private readonly writer: CheckpointWriter;
  private readonly rejects: RejectsFile;
  private lanes: Lane[] = [];
  private read = 0;
  private scanned: number;
  private readonly startedMs = Date.now();
  source!: ReplaySource;
  target!: ReplayTarget;

  constructor(private readonly o: ReplayOptions) {
    const saved = readCheckpoint(o.checkpointFile);
    if (saved && saved.fingerprint !== o.fingerprint) {
      throw new TributaryError('REPLAY_CHECKPOINT_MISMATCH', `checkpoint ${o.checkpointFile} belongs to a different replay command (source, target, --partition-key, --lanes or --format differ); pass another --checkpoint, or --restart to start over`);
    }
    this.resumed = saved !== undefined;
    this.doc = saved ?? {
      v: 1, fingerprint: o.fingerprint, runId: randomBytes(6).toString('hex'), startedAt: new Date().toISOString(), finished: false,
      sourceState: undefined, targetState: undefined, lanes: [], scanned: 0, rejectsBytes: 0, counters: emptyCounters(), elapsedMs: 0,
    };
    this.counters = this.doc.counters;
    this.scanned = this.doc.scanned;
    this.lingerMs = o.speed.kind === 'max' ? (o.lingerMs ?? 5) : 0;
    this.retryBaseMs = o.retryBaseMs ?? 100;
    this.retryMaxMs = o.retryMaxMs ?? 5000;
    this.rejects = new RejectsFile(o.rejectsFile, this.resumed ? this.doc.rejectsBytes : undefined, o.sync);
    this.writer = new CheckpointWriter(o.checkpointFile, () => this.snapshot(), o.sync);
  }

  get runId(): string {
    return this.doc.runId;
  }

  /** What the source and target must resume from (undefined on a first run). */
  get savedSourceState(): unknown {
    return this.doc.sourceState;
  }

  get savedTargetState(): unknown {
    return this.doc.targetState;
  }

  get finished(): boolean {
    return this.doc.finished;
  }

  save(): Promise<void> {
    return this.writer.save();
  }

  reject(r: ReplayRecord | { ordinal: number; raw: string }, reason: string): void {
    this.rejects.write(r, reason);
    this.counters.rejected++;
  }

  stop(): void {
    this.stopping = true;
    for (const l of this.lanes) l.nudge();
  }

  private snapshot(): CheckpointDoc {
    this.doc.lanes = this.lanes.map((l) => l.state);
    this.doc.scanned = this.scanned;
    this.doc.rejectsBytes = this.rejects.bytes;
    this.doc.targetState = this.target.state();
    this.doc.sourceState = this.source.state;
    this.doc.counters = this.counters;
    return { ...this.doc, elapsedMs: this.doc.elapsedMs + (Date.now() - this.startedMs) };
  }

  /** Runs to the end of the source (or until stop()); the checkpoint is saved last. */
  async run(source: ReplaySource, target: ReplayTarget): Promise<ReplaySummary> {
    this.source = source;
    this.target = target;
    if (this.doc.finished) return this.summary(true);
    const states: LaneState[] = this.resumed && this.doc.lanes.length > 0 ? this.doc.lanes : Array.from({ length: target.lanes }, () => ({ lastBatch: 0, taken: 0, window: null }));
    if (states.length !== target.lanes) throw new TributaryError('REPLAY_CHECKPOINT_MISMATCH', `checkpoint ${this.o.checkpointFile} has ${states.length} lanes, the target ${target.lanes}`);
    this.lanes = states.map((s, i) => new Lane(i, s, this));
    const progress = new Progress(this.o.progress, () => ({ read: this.read, sent: this.counters.sent, rejected: this.counters.rejected, sentBytes: this.counters.sentBytes, bytesRead: source.bytesRead, totalBytes: source.totalBytes }), this.o.progressIntervalMs);
    await this.save(); // The run exists on disk before the first request.
    const sending = Promise.all(this.lanes.map((l) => l.run()));
    let failure: unknown;
    sending.catch((err: unknown) => {
      failure ??= err;
      this.stop();
    });
    try {
      await this.readAll();
    } catch (err) {
      failure ??= err;
      this.stop();
    }
    this.sourceDone = true;
    for (const l of this.lanes) l.nudge();
    await sending.catch(() => undefined);
    progress.stop();
    if (!this.stopping && failure === undefined) this.doc.finished = true;
    await this.save();
    await target.close();
    await source.close?.();
    this.rejects.close();
    if (failure !== undefined) throw failure;
    return this.summary(false);
  }

  private async readAll(): Promise<void> {
    const skip = Math.min(this.scanned, ...this.lanes.map((l) => laneLowWater(l.state)));
    const pace = new Pacer(this.o.speed);
    let ordinal = 0;
    for await (const item of this.source.items(skip)) {
      if (this.stopping) return;
      const n = ordinal++;
      if (item.kind === 'skipped') continue;
      this.read++;
      if (item.kind === 'bad') {
        if (n >= this.scanned) this.reject({ ordinal: n, raw: item.raw }, item.reason);
      } else {
        const r = item.record as ReplayRecord;
        r.ordinal = n;
        await this.dispatch(r, n >= this.scanned, pace);
      }
      if (n >= this.scanned) this.scanned = n + 1;
      for (const l of this.lanes) l.passed(n);
    }
    // A source shorter than the checkpoint's windows (it changed since the last run): send what was found;
    // the gateway refuses a batch number reused for other records, and the run stops saying so.
    if (!this.stopping) for (const l of this.lanes) l.passed(Number.MAX_SAFE_INTEGER - 1);
  }

  private async dispatch(r: ReplayRecord, fresh: boolean, pace: Pacer): Promise<void> {
    let problem = this.target.problem(r);
    if (problem === undefined) {
      const k = keyFor(this.o.keyRule, r.partitionKey, r.data64);
      if ('problem' in k) problem = k.problem;
      else r.partitionKey = k.key;
    }
    if (problem !== undefined) {
      if (fresh) this.reject(r, problem);
      return;
    }
    const lane = this.lanes[laneOf(r.partitionKey, this.lanes.length)]!;
    if (lane.offer(r) !== 'new') return;
    await pace.wait(r.timeMs);
    if (lane.full) await lane.space();
    lane.push(r);
  }

  private summary(alreadyFinished: boolean): ReplaySummary {
    const c = this.counters;
    const seconds = (this.doc.elapsedMs + (alreadyFinished ? 0 : Date.now() - this.startedMs)) / 1000;
    return {
      source: this.source.description, target: this.target.description, finished: this.doc.finished, ...(alreadyFinished ? { alreadyFinished } : {}), resumed: this.resumed,
      read: this.read, sent: c.sent, sentMB: Math.round(c.sentBytes / 1e4) / 100, rejected: c.rejected, retried: c.retried, throttled: c.throttled, requests: c.requests,
      seconds: Math.round(seconds * 100) / 100, recordsPerS: seconds > 0 ? Math.round(c.sent / seconds) : 0, exactlyOnce: this.target.exactlyOnce,
      checkpoint: this.o.checkpointFile, ...(c.rejected > 0 ? { rejects: this.o.rejectsFile } : {}),
    };
  }
}

/** `--speed`: records leave at their original spacing divided by the factor; `max` does not wait. */
class Pacer {
  private firstMs: number | undefined;
  private startMs = 0;

  constructor(private readonly speed: Speed) {}

  async wait(timeMs: number | undefined): Promise<void> {
    if (this.speed.kind === 'max' || timeMs === undefined) return;
    if (this.firstMs === undefined) {
      this.firstMs = timeMs;
      this.startMs = performance.now();
      return;
    }
    const dueMs = this.startMs + (timeMs - this.firstMs) / this.speed.factor;
    const waitMs = dueMs - performance.now();
    if (waitMs >= 1) await sleep(waitMs);
  }
}
