/**
 * Priorities between destinations: one scheduler shared by the uplinks of
 * one agent (one per destination, and each camera's live video and backlog),
 * deciding whose bytes go next.
 *
 * - **Priority.** An uplink waits while an uplink of higher priority is
 *   healthy (link up, its last request not failed) and has more than one
 *   batch waiting. Equal priorities never wait for each other.
 * - **Anti-starvation.** A waiting uplink still sends one request once it has
 *   waited `waitMsMax`, so a low-priority destination's oldest records are
 *   never held back longer than that by priority alone. A body sent in
 *   pieces (a video fragment) asks for its first piece like a request; the
 *   rest of it is `continuing` and is not held back by priority.
 * - **Shared link cap.** With `bandwidthBytesPerSecondMax`, all uplinks
 *   together stay under that average rate of bytes. While several uplinks
 *   compete — each asked for its turn and has not started since — each gets
 *   a share of the cap in proportion to `priority + 1`. The shares are
 *   work-conserving: a share holds an uplink back only while another uplink
 *   is actually waiting, so an uplink alone (the others idle, lingering for
 *   fuller batches, or held back) gets the whole cap.
 * - **Small pieces.** A large body pays for its bytes in pieces of
 *   `pieceBytes` (about 50 ms of the cap) as it is written, so an uplink of
 *   any priority waits at most about that long behind bytes already paid for.
 * - **Timer slack.** Time the link stood idle because a caller's timer fired
 *   late (up to `lateToleranceMs`) is not lost: the average over a second or
 *   more still reaches the cap on a loaded machine.
 *
 * Pure state, like the pacer: callers pass `now`.
 *
 * @example
 * const scheduler = new UplinkScheduler({ waitMsMax: 5000, bandwidthBytesPerSecondMax: 64 * 1024 });
 * const alerts = new Uplink({ ...common, buffer: alertsBuffer, stream: 'alerts', scheduler, priority: 90 });
 * const logs = new Uplink({ ...common, buffer: logsBuffer, stream: 'logs', scheduler, priority: 10 });
 */
import assert from 'node:assert/strict';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import { priorityDefault, priorityMax, schedulerWaitMsMaxDefault } from './limits.ts';

export interface UplinkSchedulerOptions {
  /** A waiting uplink still sends a request at least this often (default 5 s). */
  waitMsMax?: number;
  /** Average bytes per second of all uplinks together (default: no cap). */
  bandwidthBytesPerSecondMax?: number;
}

/** One uplink's place in the scheduler. */
export interface SchedulerSlot {
  readonly priority: number;
  /** Batches the uplink has waiting (0: idle). */
  backlogBatches: number;
  /** Link up and the last request not failed: the uplink is making progress. */
  healthy: boolean;
  /** Since when priority has held this uplink back (cleared by each request it starts). */
  waitingSinceMs: number | undefined;
  /** When this uplink's share of the link cap is paid off. */
  freeAtMs: number;
  /** Until when the uplink counts as competing for the link: it asked for its turn and has not started since. */
  askingUntilMs: number | undefined;
}

/** Late timers: idle link time up to this long before `now` still counts as the link's (see the class doc). */
export const lateToleranceMs = 250;
/** An uplink told to wait counts as competing until this long after the wait it was told (it asks again by then). */
const askSlackMs = 1000;
/** A large body's pieces take about this long at the cap... */
const pieceMs = 50;
/** ...within these bounds (without a cap: the largest). */
const pieceBytesMin = 4 * 1024;
const pieceBytesMax = 64 * 1024;

export class UplinkScheduler {
  readonly waitMsMax: number;
  readonly bandwidthBytesPerSecondMax: number | undefined;
  /** The size of the pieces a large body (a video fragment) pays for at a time. */
  readonly pieceBytes: number;
  private readonly slots = new Set<SchedulerSlot>();
  /** When the bytes already sent by all uplinks are paid off under the link cap. */
  private linkFreeAtMs = -Infinity;

  constructor(options: UplinkSchedulerOptions = {}) {
    const w = options.waitMsMax ?? schedulerWaitMsMaxDefault;
    if (!Number.isSafeInteger(w) || w < 1) throw new TributaryError('UPLINK_OPTIONS_INVALID', `waitMsMax must be a positive integer (got ${w})`);
    const bw = options.bandwidthBytesPerSecondMax;
    if (bw !== undefined && (!Number.isSafeInteger(bw) || bw < 1)) {
      throw new TributaryError('UPLINK_OPTIONS_INVALID', `bandwidthBytesPerSecondMax must be a positive integer (got ${bw})`);
    }
    this.waitMsMax = w;
    this.bandwidthBytesPerSecondMax = bw;
    this.pieceBytes = bw === undefined ? pieceBytesMax : Math.min(pieceBytesMax, Math.max(pieceBytesMin, Math.round((bw * pieceMs) / 1000)));
  }

  /** Adds an uplink of `priority` (0-100, higher sends first). */
  join(priority = priorityDefault): SchedulerSlot {
    assert.ok(Number.isSafeInteger(priority) && priority >= 0 && priority <= priorityMax, 'priority is an integer from 0 to 100');
    const slot: SchedulerSlot = { priority, backlogBatches: 0, healthy: true, waitingSinceMs: undefined, freeAtMs: -Infinity, askingUntilMs: undefined };
    this.slots.add(slot);
    return slot;
  }

  leave(slot: SchedulerSlot): void {
    this.slots.delete(slot);
  }

  /** Whether a healthy uplink of higher priority has more than one batch waiting. */
  heldBack(slot: SchedulerSlot): boolean {
    for (const o of this.slots) if (o.priority > slot.priority && o.healthy && o.backlogBatches > 1) return true;
    return false;
  }

  /**
   * Milliseconds `slot` must wait before its next request (or piece) may
   * start (0: now). Asking makes the slot compete for the link until it
   * starts, or stops asking. `continuing`: the rest of a body whose first
   * piece had its turn (priority does not hold it back; the cap does).
   */
  delayMs(slot: SchedulerSlot, now: number, options: { continuing?: boolean } = {}): number {
    assert.ok(this.slots.has(slot), 'the slot belongs to this scheduler');
    let wait = 0;
    if (!options.continuing && this.heldBack(slot)) {
      slot.waitingSinceMs ??= now;
      wait = slot.waitingSinceMs + this.waitMsMax - now;
    }
    if (this.bandwidthBytesPerSecondMax !== undefined) {
      wait = Math.max(wait, this.linkFreeAtMs - now);
      // Its own share holds it back only while another uplink competes for the link (work-conserving).
      if (slot.freeAtMs > now && this.othersCompete(slot, now)) wait = Math.max(wait, slot.freeAtMs - now);
    }
    wait = Math.max(0, wait);
    slot.askingUntilMs = now + wait + askSlackMs;
    return wait;
  }

  /** `slot` starts a request (or piece) of `wireBytes` now: it pays for it on the shared link and in its own share. */
  started(slot: SchedulerSlot, now: number, wireBytes: number): void {
    slot.waitingSinceMs = undefined;
    slot.askingUntilMs = undefined;
    const cap = this.bandwidthBytesPerSecondMax;
    if (cap === undefined) return;
    this.linkFreeAtMs = paidFrom(this.linkFreeAtMs, now) + (wireBytes * 1000) / cap;
    // The share among the uplinks competing now (this one included), by priority + 1. Alone, its share is the
    // whole link, and what it paid ahead while others competed is forgiven (it held no one back meanwhile).
    let weights = slot.priority + 1;
    for (const o of this.slots) if (o !== slot && this.competes(o, now)) weights += o.priority + 1;
    if (weights === slot.priority + 1) {
      slot.freeAtMs = this.linkFreeAtMs;
      return;
    }
    const share = (cap * (slot.priority + 1)) / weights;
    slot.freeAtMs = paidFrom(slot.freeAtMs, now) + (wireBytes * 1000) / share;
  }

  /** Whether `o` waits for the link now: it asked and has not started since, and nothing else holds it back. */
  private competes(o: SchedulerSlot, now: number): boolean {
    return o.askingUntilMs !== undefined && o.askingUntilMs >= now && o.healthy && o.backlogBatches > 0 && !this.heldBack(o);
  }

  private othersCompete(slot: SchedulerSlot, now: number): boolean {
    for (const o of this.slots) if (o !== slot && this.competes(o, now)) return true;
    return false;
  }
}

/** Where new bytes start paying: when the earlier ones are paid off, or now; idle time lost to a late timer is not lost. */
function paidFrom(freeAtMs: number, now: number): number {
  return freeAtMs >= now - lateToleranceMs ? freeAtMs : now;
}
