/**
 * The bridge's side of the firmware protocol for one port (PROTOCOL.md
 * sections 4 to 7): decode frames from the byte stream, deduplicate by
 * sequence number within the MCU's boot session, answer time syncs and
 * convert uptimes to wall clock, turn telemetry and log frames into records,
 * and ack a frame only after its record's append has resolved (durable) and
 * the dedup state naming it is stored, or nack it. Reads and writes go
 * through the `SerialIo` it is given, so it knows nothing of file
 * descriptors.
 *
 * Two deduplicators: `#dedup` marks a seq when its frame arrives (so a
 * retransmit racing the append is caught), `#durable` only once its record's
 * append has resolved. Only `#durable` is stored (serial-state.ts), so the
 * stored state never names a frame the buffer does not hold; after a
 * restart both start from it.
 */
import assert from 'node:assert';
import {
  ClockEstimator, decodeMessage, DeviceDeduplicator, encodeFrame, encodeMessage, FrameDecoder, FrameError, FrameFlag, NackReason,
  type DedupSnapshot, type Frame, type FrameDecoderCounters, type Message,
} from '../../firmware-bridge/index.ts';
import { isPermanentAppendError, type RecordSink } from './common.ts';
import {
  serialAppendRecordsMax, serialPendingRecordsMax, serialTimeSyncsOutstandingMax, type SerialPortConfig,
} from './serial-config.ts';
import { serialRecord, type SerialRecord } from './serial-record.ts';
import { saveSerialState } from './serial-state.ts';

export interface SerialIo {
  /** Queues bytes for the MCU; false when they were dropped (port closed, queue full). */
  write(bytes: Uint8Array): boolean;
  pause(): void;
  resume(): void;
}

/** The decoder's counters (frames ok, CRC errors, resyncs, ...) and the session's own. */
export interface SerialSessionCounters extends FrameDecoderCounters {
  bytesRead: number;
  /** Records durable in a buffer. */
  records: number;
  /** Frames whose sequence number was already seen in this boot session (not written again). */
  duplicates: number;
  /** Good frames not turned into records: bad payload, unknown type, stale, refused by the buffer, wrong direction. */
  drops: number;
  stale: number;
  badPayload: number;
  unknownType: number;
  /** Frames that asked for an ack before any hello (nacked "no session"). */
  noSession: number;
  /** Appends that failed; their frames were nacked "not durable" so the MCU retries. */
  appendFailures: number;
  acks: number;
  nacks: number;
  /** Hellos that started a new boot session. */
  sessions: number;
  timeSyncsSent: number;
  timeSyncsAccepted: number;
  /** Writes of the stored dedup state that failed (the records stay durable and acked; a restart may store their retransmits again). */
  stateSaveFailures: number;
  /** Wall-clock ms of the last good frame, or null. */
  lastSeenMs: number | null;
  /** The MCU's boot id, or null before the first hello. */
  bootId: number | null;
  clockSynced: boolean;
  driftPpm: number;
}

export type SerialSessionEvent =
  | { kind: 'hello'; bootId: number; newSession: boolean; firmwareName: string; firmwareVersion: string }
  | { kind: 'append-failed'; destination: string; code: string }
  | { kind: 'state-restored'; bootId: number; highestSeq: number }
  | { kind: 'state-save-failed'; code: string };

export interface SerialSessionOptions {
  /** Where the dedup state is stored (serial-state.ts); without it the state lives in memory only (tests of the protocol alone). */
  stateFile?: string;
  now?: () => number;
  onEvent?: (event: SerialSessionEvent) => void;
}

interface Pending extends SerialRecord {
  seq: number;
  /** The boot session the frame was admitted in; undefined for a best-effort frame before any hello (not tracked). */
  bootId: number | undefined;
  epoch: number;
  wantsAck: boolean;
  settle: (durable: boolean) => void;
}

export class SerialSession {
  readonly #config: SerialPortConfig;
  readonly #sinks: ReadonlyMap<string, RecordSink>;
  readonly #io: SerialIo;
  readonly #now: () => number;
  readonly #onEvent: (event: SerialSessionEvent) => void;
  readonly #decoder = new FrameDecoder({ hunting: true });
  readonly #clock = new ClockEstimator();
  #dedup = new DeviceDeduplicator();
  /** The seqs of this session whose records are durable: what is stored. Undefined before the first session. */
  #durable: DeviceDeduplicator | undefined;
  readonly #stateFile: string | undefined;
  /** The boot id of the state last stored; a new session's hello is acked only once it is stored. */
  #savedBootId: number | undefined;
  /** Writes of the state run one at a time; `#saveQueued` is the next one, not started yet, which later callers join. */
  #saveChain: Promise<unknown> = Promise.resolve();
  #saveQueued: Promise<boolean> | undefined;
  /** Bumped by each new boot session: acks for records of an earlier boot are not sent. */
  #epoch = 0;
  /** Seqs admitted this session whose records are not durable yet: a duplicate is acked when its original is. */
  #inflight = new Map<number, Promise<boolean>>();
  #pending: Pending[] = [];
  #draining: Promise<void> | undefined;
  #paused = false;
  #txSeq = 0;
  /** Our time-sync seq to the wall clock it carried. */
  #timeSyncs = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;
  readonly #c = {
    bytesRead: 0, records: 0, duplicates: 0, drops: 0, stale: 0, badPayload: 0, unknownType: 0, noSession: 0, appendFailures: 0,
    acks: 0, nacks: 0, sessions: 0, timeSyncsSent: 0, timeSyncsAccepted: 0, stateSaveFailures: 0, lastSeenMs: null as number | null,
  };

  constructor(config: SerialPortConfig, sinks: ReadonlyMap<string, RecordSink>, io: SerialIo, options: SerialSessionOptions = {}) {
    this.#config = config;
    this.#sinks = sinks;
    this.#io = io;
    this.#now = options.now ?? Date.now;
    this.#onEvent = options.onEvent ?? (() => {});
    this.#stateFile = options.stateFile;
  }

  /** Continues the session stored by an earlier run (before any byte is read): its retransmits are recognised. */
  restore(snapshot: DedupSnapshot): void {
    assert(this.#dedup.session === undefined && this.#c.bytesRead === 0, 'restore before the port is read');
    this.#dedup = DeviceDeduplicator.restore(snapshot);
    this.#durable = DeviceDeduplicator.restore(snapshot);
    this.#savedBootId = snapshot.bootId;
    this.#onEvent({ kind: 'state-restored', bootId: snapshot.bootId, highestSeq: snapshot.highest });
  }

  counters(): SerialSessionCounters {
    const d = this.#decoder.counters;
    return {
      framesOk: d.framesOk, crcErrors: d.crcErrors, badCobs: d.badCobs, tooShort: d.tooShort, unknownVersion: d.unknownVersion,
      oversize: d.oversize, resyncs: d.resyncs, bytesDiscarded: d.bytesDiscarded, ...this.#c,
      bootId: this.#dedup.session ?? null, clockSynced: this.#clock.synced, driftPpm: this.#clock.driftPpm,
    };
  }

  /** The port (re)opened: the first bytes may be the tail of a frame, and the MCU may have missed our last time sync. */
  opened(): void {
    this.#decoder.resync();
    this.#timeSyncs.clear();
    this.#sendTimeSync();
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#sendTimeSync(), this.#config.timeSyncIntervalMs);
    this.#timer.unref();
  }

  closed(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stops the timer and waits for appends and state writes in progress; their acks go nowhere if the port is closed. */
  async stop(): Promise<void> {
    this.closed();
    while (this.#draining) await this.#draining;
    await this.#saveChain;
  }

  push(chunk: Uint8Array): void {
    this.#c.bytesRead += chunk.length;
    const now = this.#now();
    for (const ev of this.#decoder.push(chunk)) {
      if (ev.kind === 'error') continue; // Counted by the decoder; a bad block is never answered (its seq cannot be trusted).
      this.#c.lastSeenMs = now;
      this.#frame(ev.frame, now);
    }
    if (this.#pending.length > 0) this.#drain();
  }

  #frame(frame: Frame, now: number): void {
    const wantsAck = (frame.flags & FrameFlag.ackRequested) !== 0 && this.#config.ackMode !== 'off';
    let message: Message;
    try {
      message = decodeMessage(frame);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.#c.drops++;
      if (err.code === 'UNKNOWN_TYPE') this.#c.unknownType++;
      else this.#c.badPayload++;
      if (wantsAck) this.#nack(frame.seq, err.code === 'UNKNOWN_TYPE' ? NackReason.unsupportedType : NackReason.badPayload);
      return;
    }
    switch (message.type) {
      case 'hello': return this.#hello(frame.seq, message, wantsAck);
      case 'telemetry':
      case 'log': return this.#data(frame.seq, message, wantsAck, now);
      case 'time-sync-reply': this.#timeSyncReply(message, now); break;
      case 'heartbeat': break;
      default:
        // Our own frame types coming back: an echoing line (a pty left in cooked mode), not the MCU.
        this.#c.drops++;
        return;
    }
    const verdict = this.#dedup.admit(frame.seq);
    if (wantsAck) {
      if (verdict === 'no-session') this.#nack(frame.seq, NackReason.noSession);
      else this.#ack(frame.seq);
    }
  }

  #hello(seq: number, m: Extract<Message, { type: 'hello' }>, wantsAck: boolean): void {
    const { session, verdict } = this.#dedup.hello(m.bootId, seq);
    const newSession = session === 'new-session';
    if (newSession) {
      this.#epoch++;
      this.#inflight.clear();
      this.#clock.reset();
      this.#c.sessions++;
      // The hello is no record, but marking its seq is harmless and makes the stored state name the new boot.
      this.#durable = new DeviceDeduplicator(this.#dedup.windowSize);
      this.#durable.hello(m.bootId, seq);
    }
    if (newSession || verdict === 'new') {
      this.#onEvent({ kind: 'hello', bootId: m.bootId, newSession, firmwareName: m.firmwareName, firmwareVersion: m.firmwareVersion });
    }
    if (verdict === 'duplicate') this.#c.duplicates++;
    if (verdict === 'stale') {
      if (wantsAck) this.#nack(seq, NackReason.stale);
    } else if (this.#stateFile === undefined || (!newSession && this.#savedBootId === m.bootId)) {
      if (wantsAck) this.#ack(seq);
    } else {
      // A new boot is stored before its hello is acked: otherwise a restart would restore the previous boot's window, and
      // this boot's frames with seqs marked there would be acked as duplicates without ever being stored (lost). If the
      // write fails the hello stays unacked; the MCU repeats it and the write is tried again.
      const epoch = this.#epoch;
      void this.#persist().then((stored) => {
        if (stored && wantsAck && epoch === this.#epoch && this.#savedBootId === m.bootId) this.#ack(seq);
      });
    }
    if (newSession || !this.#clock.synced) this.#sendTimeSync();
  }

  #data(seq: number, m: Extract<Message, { type: 'telemetry' | 'log' }>, wantsAck: boolean, now: number): void {
    const verdict = this.#dedup.admit(seq);
    if (verdict === 'stale') {
      this.#c.stale++;
      this.#c.drops++;
      if (wantsAck) this.#nack(seq, NackReason.stale);
      return;
    }
    if (verdict === 'duplicate') {
      this.#c.duplicates++;
      if (!wantsAck) return;
      const original = this.#inflight.get(seq);
      const epoch = this.#epoch;
      if (original === undefined) this.#ack(seq);
      else void original.then((durable) => durable && epoch === this.#epoch && this.#ack(seq));
      return;
    }
    if (verdict === 'no-session' && wantsAck) {
      // Without a session we cannot tell a retransmit from a new frame: ask the MCU for its hello (it keeps the frame).
      this.#c.noSession++;
      this.#nack(seq, NackReason.noSession);
      return;
    }
    // A best-effort frame without a session is taken as it is: it is never retransmitted, so it cannot be a duplicate.
    const made = serialRecord(this.#config, m, { bootId: this.#dedup.session, seq, arrivalMs: now, toWallMs: (u) => this.#clock.toWallMs(u) });
    let settle!: (durable: boolean) => void;
    const durable = new Promise<boolean>((r) => (settle = r));
    const tracked = verdict === 'new';
    if (tracked) this.#inflight.set(seq, durable);
    const epoch = this.#epoch;
    void durable.then(() => {
      if (tracked && epoch === this.#epoch && this.#inflight.get(seq) === durable) this.#inflight.delete(seq);
    });
    const immediate = wantsAck && this.#config.ackMode === 'immediate';
    if (immediate) this.#ack(seq);
    this.#pending.push({ ...made, seq, bootId: tracked ? this.#dedup.session : undefined, epoch, wantsAck: wantsAck && !immediate, settle });
    if (this.#pending.length >= serialPendingRecordsMax && !this.#paused) {
      this.#paused = true;
      this.#io.pause();
    }
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = (async () => {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, serialAppendRecordsMax);
        if (this.#paused && this.#pending.length < serialPendingRecordsMax / 2) {
          this.#paused = false;
          this.#io.resume();
        }
        const groups = new Map<string, Pending[]>();
        for (const p of batch) groups.set(p.destination, [...(groups.get(p.destination) ?? []), p]);
        const durable = (await Promise.all([...groups].map(([destination, items]) => this.#append(destination, items)))).flat();
        // One state write per batch, after its appends resolved and before its acks: a crash in between costs at most a
        // duplicate of this batch after the restart (docs/agent-inputs.md, "Serial"), never a lost frame.
        let marked = false;
        for (const p of durable) marked = this.#markDurable(p) || marked;
        if (marked) await this.#persist();
        for (const p of durable) {
          p.settle(true);
          if (p.wantsAck && p.epoch === this.#epoch) this.#ack(p.seq);
        }
      }
    })().finally(() => {
      this.#draining = undefined;
    });
  }

  /** Appends one destination's records; returns those made durable (the caller stores the state, then acks). */
  async #append(destination: string, items: Pending[]): Promise<Pending[]> {
    const sink = this.#sinks.get(destination)!;
    try {
      await sink.append(items.map((p) => p.record));
    } catch (err) {
      if (isPermanentAppendError(err) && items.length > 1) {
        const kept: Pending[] = [];
        for (const p of items) kept.push(...await this.#append(destination, [p])); // Find the one record at fault; keep the rest.
        return kept;
      }
      this.#failed(destination, items, err);
      return [];
    }
    this.#c.records += items.length;
    return items;
  }

  /** A record of the current session is durable: its seq may be stored. Returns whether the stored state changes. */
  #markDurable(p: Pending): boolean {
    if (p.bootId === undefined || p.epoch !== this.#epoch) return false; // Untracked, or of a boot the MCU has left.
    assert(this.#durable !== undefined && this.#durable.session === p.bootId, 'a tracked record belongs to the durable session');
    return this.#durable.admit(p.seq) === 'new';
  }

  /**
   * Stores `#durable` atomically; resolves true once a write that began after this call succeeded. Calls while a write
   * is waiting to start share it (one write per batch, however many callers).
   */
  #persist(): Promise<boolean> {
    if (this.#stateFile === undefined) return Promise.resolve(true);
    if (this.#saveQueued) return this.#saveQueued;
    const file = this.#stateFile;
    const run = this.#saveChain.then(async () => {
      this.#saveQueued = undefined;
      const snapshot = this.#durable?.snapshot();
      if (snapshot === undefined) return true;
      try {
        await saveSerialState(file, snapshot);
      } catch (err) {
        this.#c.stateSaveFailures++;
        this.#onEvent({ kind: 'state-save-failed', code: String((err as { code?: unknown } | null)?.code ?? 'UNKNOWN') });
        return false;
      }
      this.#savedBootId = snapshot.bootId;
      return true;
    });
    this.#saveQueued = run;
    this.#saveChain = run;
    return run;
  }

  #failed(destination: string, items: Pending[], err: unknown): void {
    const permanent = isPermanentAppendError(err);
    this.#onEvent({ kind: 'append-failed', destination, code: String((err as { code?: unknown } | null)?.code ?? 'UNKNOWN') });
    if (!permanent) this.#c.appendFailures++;
    for (const p of items) {
      p.settle(false);
      if (p.epoch !== this.#epoch) continue;
      if (permanent) {
        this.#c.drops++;
        if (p.wantsAck) this.#nack(p.seq, NackReason.badPayload);
        continue;
      }
      // Not durable: forget the seq so the MCU's retransmit is admitted, and tell it to retry.
      this.#dedup.release(p.seq);
      if (p.wantsAck) this.#nack(p.seq, NackReason.notDurable);
      else this.#c.drops++;
    }
  }

  #timeSyncReply(m: Extract<Message, { type: 'time-sync-reply' }>, now: number): void {
    const sentWallMs = this.#timeSyncs.get(m.requestSeq);
    if (sentWallMs === undefined || sentWallMs !== m.wallMs) return; // Not ours, or answered twice.
    this.#timeSyncs.delete(m.requestSeq);
    const verdict = this.#clock.add({ uptimeMs: m.uptimeMs, sentWallMs, receivedWallMs: now });
    if (verdict === 'accepted' || verdict === 'reset') this.#c.timeSyncsAccepted++;
  }

  #sendTimeSync(): void {
    const wallMs = this.#now();
    const seq = this.#send({ type: 'time-sync', wallMs });
    if (seq === undefined) return;
    this.#c.timeSyncsSent++;
    this.#timeSyncs.set(seq, wallMs);
    if (this.#timeSyncs.size > serialTimeSyncsOutstandingMax) this.#timeSyncs.delete(this.#timeSyncs.keys().next().value!);
  }

  #ack(seq: number): void {
    if (this.#send({ type: 'ack', ackSeq: seq }) !== undefined) this.#c.acks++;
  }

  #nack(seq: number, reason: number): void {
    if (this.#send({ type: 'nack', ackSeq: seq, reason }) !== undefined) this.#c.nacks++;
  }

  /** Returns the seq the frame went out with, or undefined if the port dropped it. */
  #send(message: Message): number | undefined {
    const seq = this.#txSeq;
    this.#txSeq = (this.#txSeq + 1) >>> 0;
    return this.#io.write(encodeFrame(encodeMessage(message, { seq }))) ? seq : undefined;
  }
}
