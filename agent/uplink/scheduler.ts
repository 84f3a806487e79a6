/**
 * Priorities between destinations: one scheduler shared by the uplinks of
 * one agent (one per destination), deciding whose request goes next.
 *
 * - **Priority.** An uplink waits while an uplink of higher priority is
 *   healthy (link up, its last request not failed) and has more than one
 *   batch waiting. Equal priorities never wait for each other.
 * - **Anti-starvation.** A waiting uplink still sends one request once it has
 *   waited `waitMsMax`, so a low-priority destination's oldest records are
 *   never held back longer than that by priority alone.
 * - **Shared link cap.** With `bandwidthBytesPerSecondMax`, all uplinks
 *   together stay under that average rate of request bytes; when several may
 *   send, each gets a share of it in proportion to `priority + 1`.
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
  /** Average request bytes per second of all uplinks together (default: no cap). */
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
}

export class UplinkScheduler {
  readonly waitMsMax: number;
  readonly bandwidthBytesPerSecondMax: number | undefined;
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
  }

  /** Adds an uplink of `priority` (0-100, higher sends first). */
  join(priority = priorityDefault): SchedulerSlot {
    assert.ok(Number.isSafeInteger(priority) && priority >= 0 && priority <= priorityMax, 'priority is an integer from 0 to 100');
    const slot: SchedulerSlot = { priority, backlogBatches: 0, healthy: true, waitingSinceMs: undefined, freeAtMs: -Infinity };
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

  /** Milliseconds `slot` must wait before its next request may start (0: now). */
  delayMs(slot: SchedulerSlot, now: number): number {
    assert.ok(this.slots.has(slot), 'the slot belongs to this scheduler');
    let wait = 0;
    if (this.heldBack(slot)) {
      slot.waitingSinceMs ??= now;
      wait = slot.waitingSinceMs + this.waitMsMax - now;
    }
    if (this.bandwidthBytesPerSecondMax !== undefined) wait = Math.max(wait, this.linkFreeAtMs - now, slot.freeAtMs - now);
    return Math.max(0, wait);
  }

  /** `slot` starts a request of `wireBytes` now: it pays for it on the shared link and in its own share. */
  started(slot: SchedulerSlot, now: number, wireBytes: number): void {
    slot.waitingSinceMs = undefined;
    const cap = this.bandwidthBytesPerSecondMax;
    if (cap === undefined) return;
    this.linkFreeAtMs = Math.max(now, this.linkFreeAtMs) + (wireBytes * 1000) / cap;
    // The share among the uplinks that may send now (this one included), by priority + 1.
    let weights = slot.priority + 1;
    for (const o of this.slots) {
      if (o !== slot && o.healthy && o.backlogBatches > 0 && !this.heldBack(o)) weights += o.priority + 1;
    }
    const share = (cap * (slot.priority + 1)) / weights;
    slot.freeAtMs = Math.max(now, slot.freeAtMs) + (wireBytes * 1000) / share;
  }
}
