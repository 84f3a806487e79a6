/**
 * Per-stream PutMedia limits: connections per second (refused with
 * ClientLimitExceededException, as AWS does for a stream-level limit), and
 * the data rate and fragment rate (met with backpressure: the gateway stops
 * reading the request until the stream is back under its rate, so a producer
 * uploading a recording in bulk is paced rather than failed).
 */
import * as limits from '../../../sdk/protocol/video/limits.ts';

export class StreamThrottle {
  private connectionTimes: number[] = [];
  private bytesAvailable = limits.putMediaBytesPerSecondMax;
  private fragmentsAvailable = limits.fragmentsPerSecondMax;
  private refilledMs: number;

  constructor(private readonly now: () => number) {
    this.refilledMs = now();
  }

  /** Admits a new connection unless 5 were admitted in the last second. */
  admitConnection(): boolean {
    const now = this.now();
    this.connectionTimes = this.connectionTimes.filter((t) => now - t < 1000);
    if (this.connectionTimes.length >= limits.putMediaConnectionsPerSecondMax) return false;
    this.connectionTimes.push(now);
    return true;
  }

  /** Takes bytes and fragments from the buckets; returns how long to wait before reading more (0: go on). */
  take(bytes: number, fragments: number): number {
    this.refill();
    this.bytesAvailable -= bytes;
    this.fragmentsAvailable -= fragments;
    const byteWait = this.bytesAvailable < 0 ? (-this.bytesAvailable / limits.putMediaBytesPerSecondMax) * 1000 : 0;
    const fragmentWait = this.fragmentsAvailable < 0 ? (-this.fragmentsAvailable / limits.fragmentsPerSecondMax) * 1000 : 0;
    return Math.ceil(Math.max(byteWait, fragmentWait));
  }

  private refill(): void {
    const now = this.now();
    const s = (now - this.refilledMs) / 1000;
    this.refilledMs = now;
    this.bytesAvailable = Math.min(limits.putMediaBytesPerSecondMax, this.bytesAvailable + s * limits.putMediaBytesPerSecondMax);
    this.fragmentsAvailable = Math.min(limits.fragmentsPerSecondMax, this.fragmentsAvailable + s * limits.fragmentsPerSecondMax);
  }
}
