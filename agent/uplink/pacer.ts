/**
 * When the next request may start: an adaptive pace in records per second
 * (set from what the gateway accepted when it throttles, grown gradually
 * after clean answers) and an optional cap on average wire bytes per second.
 * Pure state: the caller passes `now`.
 *
 * Why records and a measured rate: a Kinesis shard refills its budget
 * continuously (1,000 records and 1 MiB a second, with a second's burst), so
 * while the uplink is throttled, the records the gateway accepts per second
 * *are* the limit in force. Setting the pace to that measurement (instead of
 * halving a request rate, as this pacer once did) lands on the limit in one
 * step; the earlier halving collapsed to a request every second or two and
 * never climbed back, because a request only counts as clean when none of
 * its records is throttled (issue #15). A pause never exceeds
 * `throttlePauseMsMax`: waiting longer than a shard's burst window earns no
 * more budget, so the pace cannot collapse below one request per pause.
 */
import assert from 'node:assert/strict';
import { paceIncreaseFactor, paceRecordsPerSecondMin, throttlePauseMsMax } from './limits.ts';

export class Pacer {
  /** Records per second the uplink allows itself; Infinity until the first throttling. */
  recordsPerSecond = Infinity;
  private lastStartMs = -Infinity;
  private lastRecords = 0;
  /** When the bytes already sent are paid off under the bandwidth cap. */
  private bandwidthFreeAtMs = -Infinity;
  /**
   * The measurement: records accepted since `windowStartMs`, the last
   * throttled answer (when the shards' budgets were seen spent), or the start
   * of the first request after an idle spell.
   */
  private windowStartMs: number | undefined;
  private windowAccepted = 0;
  private lastAnswerMs = -Infinity;

  constructor(private readonly bandwidthBytesPerSecondMax: number | undefined) {}

  /** Milliseconds to wait before the next request may start. */
  delayMs(now: number): number {
    const byPace = Number.isFinite(this.recordsPerSecond) ? this.lastStartMs + Math.min(throttlePauseMsMax, (this.lastRecords * 1000) / this.recordsPerSecond) - now : 0;
    const byBandwidth = this.bandwidthFreeAtMs - now;
    return Math.max(0, byPace, byBandwidth);
  }

  /** A request of `records` records and `wireBytes` bytes starts now. */
  started(now: number, records: number, wireBytes: number): void {
    // An idle spell (no answer for a burst window) ends the measurement: it would count the idleness as the limit.
    if (this.windowStartMs === undefined || now - this.lastAnswerMs > throttlePauseMsMax) {
      this.windowStartMs = now;
      this.windowAccepted = 0;
    }
    this.lastStartMs = now;
    this.lastRecords = records;
    const cap = this.bandwidthBytesPerSecondMax;
    if (cap !== undefined) this.bandwidthFreeAtMs = Math.max(now, this.bandwidthFreeAtMs) + (wireBytes * 1000) / cap;
  }

  /**
   * The gateway answered: `accepted` records stored, `throttled` records
   * refused for throughput. A throttled answer sets the pace to the records
   * accepted per second since the measurement began, and begins a new one
   * (the budgets are spent now);
   * a clean answer raises a finite pace by `paceIncreaseFactor`, probing for
   * a limit that went up.
   */
  answered(now: number, accepted: number, throttled: number): void {
    this.lastAnswerMs = now;
    this.windowAccepted += accepted;
    if (throttled > 0) {
      const since = this.windowStartMs ?? this.lastStartMs;
      const measured = (this.windowAccepted * 1000) / Math.max(1, now - since);
      this.recordsPerSecond = Math.max(paceRecordsPerSecondMin, measured);
      this.windowStartMs = now;
      this.windowAccepted = 0;
    } else if (Number.isFinite(this.recordsPerSecond)) {
      this.recordsPerSecond *= paceIncreaseFactor;
    }
    assert.ok(this.recordsPerSecond >= paceRecordsPerSecondMin);
  }
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base * 2^(attempt-1))]. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  assert.ok(attempt >= 1, 'attempts count from 1');
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.floor(random() * ceiling);
}
