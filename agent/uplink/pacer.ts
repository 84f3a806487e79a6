/**
 * When the next request may start: an adaptive request rate (halved on
 * throttling, grown gradually after clean requests) and an optional cap on
 * average wire bytes per second. Pure state: the caller passes `now`.
 */
import assert from 'node:assert/strict';
import { rateIncreaseFactor, requestRatePerSecondMax, requestRatePerSecondMin } from './limits.ts';

export class Pacer {
  /** Requests per second the uplink currently allows itself. */
  rate = requestRatePerSecondMax;
  private lastStartMs = -Infinity;
  /** When the bytes already sent are paid off under the bandwidth cap. */
  private bandwidthFreeAtMs = -Infinity;

  constructor(private readonly bandwidthBytesPerSecondMax: number | undefined) {}

  /** Milliseconds to wait before the next request may start. */
  delayMs(now: number): number {
    const byRate = this.lastStartMs + 1000 / this.rate - now;
    const byBandwidth = this.bandwidthFreeAtMs - now;
    return Math.max(0, byRate, byBandwidth);
  }

  /** A request of `wireBytes` starts now. */
  started(now: number, wireBytes: number): void {
    this.lastStartMs = now;
    const cap = this.bandwidthBytesPerSecondMax;
    if (cap !== undefined) this.bandwidthFreeAtMs = Math.max(now, this.bandwidthFreeAtMs) + (wireBytes * 1000) / cap;
  }

  throttled(): void {
    this.rate = Math.max(requestRatePerSecondMin, this.rate / 2);
  }

  accepted(): void {
    this.rate = Math.min(requestRatePerSecondMax, this.rate * rateIncreaseFactor);
    assert.ok(this.rate >= requestRatePerSecondMin && this.rate <= requestRatePerSecondMax);
  }
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base * 2^(attempt-1))]. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  assert.ok(attempt >= 1, 'attempts count from 1');
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.floor(random() * ceiling);
}
