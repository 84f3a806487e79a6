/**
 * A camera's uplink: the ring's fragments, oldest first, to the camera's
 * Kinesis Video stream with PutMedia, through the SDK's `VideoProducer` (the
 * same code a device app that captures on its own uses).
 *
 * - One PutMedia connection per camera, fragments in capture order, ABSOLUTE
 *   timecodes (the capture wall-clock time the fragmenter stamped).
 * - A fragment leaves the ring only on its PERSISTED ack. After a lost
 *   connection the producer resends what is not yet PERSISTED; after the
 *   producer gives up, or after an agent restart, a new producer starts at
 *   the ring's first fragment, which is the first not PERSISTED. The gateway
 *   answers a fragment it already stored (same producer timestamp) with the
 *   stored fragment's number without storing it again (docs/video.md), so a
 *   fragment PERSISTED just before a crash, whose ack was lost, is not
 *   stored twice.
 * - The link is shared with the record destinations through the agent's
 *   `UplinkScheduler`: the camera joins twice, at its live priority and at
 *   its backlog priority. A fragment older than `liveAgeSeconds` is backlog;
 *   the camera then sends at the backlog priority (behind telemetry, logs
 *   and other cameras' live video), and only inside the upload window. The
 *   PutMedia body is written in the scheduler's pieces (about 50 ms of the
 *   link cap each), each when the scheduler lets it and paid for as it
 *   goes, so a higher priority never waits behind a whole fragment.
 * - The gateway refusing a fragment for good (too long, too large, bad MKV,
 *   a timestamp it will not take) removes that fragment and goes on; the
 *   stream missing or access denied keeps everything and retries slowly.
 */
import assert from 'node:assert/strict';
import { AwsError } from '../../sdk/protocol/errors.ts';
import { putMediaErrorIds } from '../../sdk/protocol/video/limits.ts';
import type { Ack } from '../../sdk/protocol/video/acks.ts';
import { VideoProducer } from '../../sdk/video/producer.ts';
import type { SchedulerSlot, UplinkScheduler } from '../uplink/scheduler.ts';
import { inUploadWindow, msUntilUploadWindow, type CameraConfig } from './config.ts';
import type { FragmentRing, RingEntry } from './ring.ts';

export interface CameraUplinkOptions {
  ring: FragmentRing;
  stream: string;
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  ca?: string;
  cert?: string;
  key?: string;
  scheduler?: UplinkScheduler;
  priority: number;
  backlogPriority: number;
  liveAgeMs: number;
  uploadWindow?: CameraConfig['uploadWindow'];
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Fragments yielded to the producer and not yet PERSISTED, in bytes (default 8 MiB). */
  inFlightBytesMax?: number;
  now?: () => number;
  onEvent?: (e: CameraUplinkEvent) => void;
}

export type CameraUplinkEvent =
  | { kind: 'link'; state: 'up' | 'down'; error?: string }
  | { kind: 'refused-fragment'; producerMs: number; errorCode: string }
  | { kind: 'retry'; error: string; inMs: number }
  | { kind: 'waiting-for-window'; inMs: number };

export interface CameraUplinkStats {
  link: 'unknown' | 'up' | 'down';
  /** Fragments and bytes PERSISTED since start. */
  sentFragments: number;
  sentBytes: number;
  /** Bytes PERSISTED per second over the last `rateWindowMs`. */
  uploadBytesPerSecond: number;
  /** Fragments the gateway refused for good (removed from the ring). */
  refusedFragments: number;
  /** PutMedia producers started after the first (a lost link, a refusal, a restart of the connection). */
  reconnects: number;
  lastError: string | undefined;
  lastErrorAtMs: number | undefined;
  /** The oldest fragment waiting is older than `liveAgeSeconds`. */
  backlog: boolean;
  /** A backlog waits for the upload window. */
  waitingForWindow: boolean;
}

const rateWindowMs = 10_000;
/** ErrorIds that condemn the fragment, not the connection: sending it again fails again. */
const fragmentErrors = new Set<number>([
  putMediaErrorIds.MAX_FRAGMENT_SIZE_REACHED, putMediaErrorIds.MAX_FRAGMENT_DURATION_REACHED, putMediaErrorIds.FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS,
  putMediaErrorIds.MORE_THAN_ALLOWED_TRACKS_FOUND, putMediaErrorIds.INVALID_MKV_DATA, putMediaErrorIds.INVALID_PRODUCER_TIMESTAMP,
  putMediaErrorIds.TRACK_NUMBER_MISMATCH, putMediaErrorIds.FRAMES_MISSING_FOR_TRACK,
]);
/** The producer's own reconnects before it gives up and this uplink starts a new one after its backoff. */
const producerReconnectsMax = 4;

/** Beyond the stop deadline, how long `stop` waits for the producer to let go. */
const stopGraceMs = 1000;

class Stopped extends Error {}

/**
 * One PutMedia connection's state. The main lane sends the ring oldest
 * first. The live lane runs while the main one waits for the upload window:
 * it sends what was recorded from `liveAgeSeconds` before the wait began
 * (`from`) on, in capture order, and ends (after its fragments in flight are
 * PERSISTED, or its connection fails) when the window opens.
 */
class Lane {
  /** Fragments handed to the lane's producer and not yet PERSISTED, by producer timestamp. */
  readonly inFlight = new Map<number, number>();
  inFlightBytes = 0;
  attempts = 0;
  lastHeader: Uint8Array | undefined;
  /** The producer failed because the gateway refused a fragment for good (removed from the ring): no backoff. */
  refusedJustNow = false;
  /** Live lane: the first producer timestamp it sends; set to end it. */
  from = 0;
  ending = false;
  loop: Promise<void> | undefined;
  constructor(readonly live: boolean) {}
}

export class CameraUplink {
  private readonly now: () => number;
  private loop: Promise<void> | undefined;
  private stopping: { deadlineAtMs: number } | undefined;
  private aborted = false;
  private readonly wakeUps = new Set<() => void>();
  private liveSlot: SchedulerSlot | undefined;
  private backlogSlot: SchedulerSlot | undefined;
  private readonly main = new Lane(false);
  /** The live lane while the backlog waits for the upload window. */
  private liveLane: Lane | undefined;
  private readonly acked: Array<{ atMs: number; bytes: number }> = [];
  private readonly s: CameraUplinkStats = {
    link: 'unknown', sentFragments: 0, sentBytes: 0, uploadBytesPerSecond: 0, refusedFragments: 0, reconnects: -1,
    lastError: undefined, lastErrorAtMs: undefined, backlog: false, waitingForWindow: false,
  };

  constructor(private readonly o: CameraUplinkOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    assert.ok(!this.loop, 'a camera uplink starts once');
    if (this.o.scheduler) {
      this.liveSlot = this.o.scheduler.join(this.o.priority);
      this.backlogSlot = this.o.scheduler.join(this.o.backlogPriority);
    }
    this.loop = this.run(this.main);
  }

  stats(): CameraUplinkStats {
    const since = this.now() - rateWindowMs;
    while (this.acked.length && this.acked[0]!.atMs < since) this.acked.shift();
    const bytes = this.acked.reduce((n, a) => n + a.bytes, 0);
    return { ...this.s, reconnects: Math.max(0, this.s.reconnects), uploadBytesPerSecond: Math.round((bytes * 1000) / rateWindowMs) };
  }

  /**
   * Stops taking new fragments; waits up to `deadlineMs` for the ones in
   * flight to be PERSISTED, then drops the connection. Unsent fragments stay
   * in the ring for the next start.
   */
  async stop(options: { deadlineMs: number }): Promise<void> {
    if (!this.loop) return;
    this.stopping ??= { deadlineAtMs: this.now() + options.deadlineMs };
    const timer = setTimeout(() => {
      this.aborted = true;
      this.wake();
    }, options.deadlineMs);
    this.wake();
    try {
      // The producer may hold the connection past the deadline while it retries (it has no abort): stop waiting for it.
      const loops = Promise.all([this.loop, this.liveLane?.loop]);
      await Promise.race([loops, new Promise((r) => setTimeout(r, options.deadlineMs + stopGraceMs).unref())]);
    } finally {
      clearTimeout(timer);
      if (this.liveSlot) this.o.scheduler!.leave(this.liveSlot);
      if (this.backlogSlot) this.o.scheduler!.leave(this.backlogSlot);
    }
  }

  private wake(): void {
    const w = [...this.wakeUps];
    this.wakeUps.clear();
    for (const f of w) f();
  }

  /** Sleeps up to `ms`; a stop, a ring change or `wake` ends it early. */
  private async pause(ms: number): Promise<void> {
    let wakeUp: (() => void) | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms);
        wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
        this.wakeUps.add(wakeUp);
      }),
      this.o.ring.changed(ms),
    ]);
    this.wakeUps.delete(wakeUp!);
  }

  /** Whether the lane still has work: the main one until stopped, the live one until ended too. */
  private running(lane: Lane): boolean {
    return !this.stopping && !lane.ending;
  }

  private async run(lane: Lane): Promise<void> {
    let first = true;
    while (this.running(lane)) {
      const start = lane.live ? this.o.ring.after(lane.from - 1) : this.o.ring.first();
      if (!start) {
        await this.pause(1000);
        continue;
      }
      // The live lane's first connection is not a reconnect.
      if (!(lane.live && first)) this.s.reconnects++;
      first = false;
      lane.inFlight.clear();
      lane.inFlightBytes = 0;
      lane.lastHeader = undefined;
      const producer = new VideoProducer({
        endpoint: this.o.endpoint, region: this.o.region, credentials: this.o.credentials, streamName: this.o.stream,
        ...(this.o.ca ? { ca: this.o.ca } : {}), ...(this.o.cert ? { cert: this.o.cert, key: this.o.key! } : {}),
        timecodeType: 'ABSOLUTE', producerStartMs: start.producerMs, reconnectAttemptsMax: producerReconnectsMax,
        bufferBytesMax: this.o.inFlightBytesMax ?? 8 * 1024 * 1024,
        onAck: (ack) => this.onAck(lane, ack),
        ...(this.o.scheduler ? { beforeWrite: (piece) => this.pace(piece), writePieceBytes: this.o.scheduler.pieceBytes } : {}),
      });
      try {
        await producer.put(this.fragments(lane));
        lane.attempts = 0;
      } catch (err) {
        if (err instanceof Stopped || this.aborted) break;
        // An ending live lane does not retry: what it did not get PERSISTED goes with the main lane, in order.
        if (lane.ending) break;
        await this.failed(lane, err as Error);
      }
    }
    lane.inFlight.clear();
  }

  private async failed(lane: Lane, err: Error): Promise<void> {
    const code = (err as { code?: string }).code;
    this.s.lastError = err.message;
    this.s.lastErrorAtMs = this.now();
    // A fragment the gateway refused for good was removed in onAck: go on at once with the next.
    if (code === 'PUT_MEDIA_ERROR' && lane.refusedJustNow) {
      lane.refusedJustNow = false;
      return;
    }
    // An AWS error is an answer: the gateway is there, and refuses (no stream, no permission).
    const state = err instanceof AwsError ? 'up' : 'down';
    if (this.s.link !== state) this.o.onEvent?.({ kind: 'link', state, ...(state === 'down' ? { error: err.message } : {}) });
    this.s.link = state;
    const max = this.o.retryMaxMs ?? 30_000;
    const min = Math.min(max, this.o.retryMinMs ?? 1000);
    const wait = Math.round(Math.min(max, min * 2 ** Math.min(lane.attempts++, 20)) * (0.5 + Math.random() / 2));
    this.o.onEvent?.({ kind: 'retry', error: err.message, inMs: wait });
    const until = this.now() + wait;
    while (this.running(lane) && this.now() < until) await this.pause(until - this.now());
  }

  private onAck(lane: Lane, ack: Ack): void {
    const ms = ack.FragmentTimecode;
    if (ack.EventType === 'ERROR') {
      if (ms !== undefined && ack.ErrorId !== undefined && fragmentErrors.has(ack.ErrorId)) {
        this.o.ring.remove(ms, 'refused');
        this.s.refusedFragments++;
        lane.refusedJustNow = true;
        this.o.onEvent?.({ kind: 'refused-fragment', producerMs: ms, errorCode: ack.ErrorCode ?? String(ack.ErrorId) });
      }
      return;
    }
    if (ack.EventType !== 'PERSISTED' || ms === undefined) return;
    // Also after failures with the link up (refusals): the condition they raised ends here.
    if (this.s.link !== 'up' || lane.attempts > 0) this.o.onEvent?.({ kind: 'link', state: 'up' });
    this.s.link = 'up';
    const bytes = lane.inFlight.get(ms);
    if (bytes !== undefined) {
      lane.inFlight.delete(ms);
      lane.inFlightBytes -= bytes;
    }
    if (this.o.ring.remove(ms)) {
      this.s.sentFragments++;
      this.s.sentBytes += bytes ?? 0;
      this.acked.push({ atMs: this.now(), bytes: bytes ?? 0 });
    }
    lane.attempts = 0;
    this.wake();
  }

  /**
   * The producer's source: each fragment's bytes (its stream header when it
   * changes, then its Cluster), in capture order. The main lane's never ends
   * while running: the producer keeps one connection and reopens it when the
   * gateway closes an idle one. The live lane's ends when the lane ends.
   */
  private async *fragments(lane: Lane): AsyncGenerator<Uint8Array> {
    let cursor: number | undefined = lane.live ? lane.from - 1 : undefined;
    for (;;) {
      if (!this.running(lane)) {
        // Let what is in flight be PERSISTED, up to the deadline; then end the body, or abandon it.
        while (lane.inFlight.size > 0 && !this.aborted) await this.pause(200);
        if (this.aborted) throw new Stopped('stopped at the deadline');
        return;
      }
      const e = this.o.ring.after(cursor);
      if (!e) {
        this.reportBacklog(lane, this.s.backlog);
        await this.pause(1000);
        continue;
      }
      if (!lane.live && !(await this.turn(e))) continue;
      let media: { header: Uint8Array; cluster: Uint8Array };
      try {
        media = await this.o.ring.read(e);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'FRAGMENT_GONE' || code === 'FRAGMENT_FILE_CORRUPT') {
          cursor = e.producerMs;
          continue;
        }
        throw err;
      }
      cursor = e.producerMs;
      lane.inFlight.set(e.producerMs, media.cluster.length);
      lane.inFlightBytes += media.cluster.length;
      if (!lane.lastHeader || !Buffer.from(lane.lastHeader).equals(Buffer.from(media.header))) {
        lane.lastHeader = media.header;
        yield media.header;
      }
      yield media.cluster;
    }
  }

  /**
   * Main lane: waits for the upload window when the fragment is backlog,
   * with a live lane sending what is recorded meanwhile; when the window
   * opens, ends the live lane and waits for it. False to look again.
   */
  private async turn(e: RingEntry): Promise<boolean> {
    const backlog = this.now() - e.producerMs > this.o.liveAgeMs;
    this.s.backlog = backlog;
    if (backlog && !inUploadWindow(this.o.uploadWindow, this.now())) {
      const inMs = msUntilUploadWindow(this.o.uploadWindow, this.now());
      if (!this.s.waitingForWindow) this.o.onEvent?.({ kind: 'waiting-for-window', inMs });
      this.s.waitingForWindow = true;
      this.startLiveLane(e);
      this.reportBacklog(this.main, true);
      await this.pause(Math.min(inMs, 60_000));
      return false;
    }
    this.s.waitingForWindow = false;
    const live = this.liveLane;
    if (live) {
      live.ending = true;
      this.wake();
      await live.loop;
      this.liveLane = undefined;
    }
    return true;
  }

  /** While the main lane waits at backlog fragment `e`: a live lane from `liveAgeMs` ago on (never at or before `e`). */
  private startLiveLane(e: RingEntry): void {
    if (this.liveLane || this.stopping) return;
    const lane = new Lane(true);
    lane.from = Math.max(e.producerMs + 1, this.now() - this.o.liveAgeMs);
    this.liveLane = lane;
    lane.loop = this.run(lane);
  }

  /**
   * Before each piece of the PutMedia body: waits for its turn on the link
   * (priorities and the cap; a fragment's later pieces are not held back by
   * priority), then pays for it. At the live priority or the backlog one by
   * the fragment's age.
   */
  private async pace(piece: { bytes: number; timecode: number; first: boolean }): Promise<void> {
    const scheduler = this.o.scheduler!;
    const backlog = this.now() - piece.timecode > this.o.liveAgeMs;
    const slot = backlog ? this.backlogSlot! : this.liveSlot!;
    const lane = this.liveLane && piece.timecode >= this.liveLane.from ? this.liveLane : this.main;
    for (;;) {
      if (this.aborted) throw new Stopped('stopped at the deadline');
      this.reportBacklog(lane, backlog, 1);
      const wait = scheduler.delayMs(slot, this.now(), { continuing: !piece.first });
      if (wait <= 0) break;
      await new Promise((r) => setTimeout(r, Math.min(wait, 250)));
    }
    scheduler.started(slot, this.now(), piece.bytes);
  }

  /**
   * Tells the scheduler how many of the lane's fragments wait (at least
   * `atLeast`: one being written), at the priority they wait at. While a
   * live lane runs, the main lane's fragments wait for the upload window
   * and count for no one.
   */
  private reportBacklog(lane: Lane, backlog: boolean, atLeast = 0): void {
    if (!this.liveSlot || !this.backlogSlot) return;
    const entries = this.o.ring.list();
    const live = this.liveLane;
    if (live && lane !== live) {
      this.backlogSlot.backlogBatches = 0;
      return;
    }
    let waiting: number;
    if (live) {
      // The live lane's fragments are the newest: count from the end.
      let n = 0;
      for (let i = entries.length - 1; i >= 0 && entries[i]!.producerMs >= live.from; i--) n++;
      waiting = n - live.inFlight.size;
    } else waiting = entries.length - this.main.inFlight.size;
    waiting = Math.max(atLeast, waiting);
    this.liveSlot.backlogBatches = backlog ? 0 : waiting;
    this.backlogSlot.backlogBatches = backlog ? waiting : 0;
    this.liveSlot.healthy = this.backlogSlot.healthy = this.s.link !== 'down';
  }
}
