/**
 * Token buckets for the per-shard limits. A bucket may go into debt (a single
 * GetRecords can return 10 MiB against a 2 MiB/s allowance, as on AWS, and
 * then later calls wait for the debt to be repaid).
 */
export class TokenBucket {
  private tokens: number;
  private updatedMs: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedMs = now;
  }

  private refill(now: number): void {
    const elapsed = now - this.updatedMs;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSecond) / 1000);
      this.updatedMs = now;
    }
  }

  /** Takes `n` tokens if they are all there. */
  tryTake(n: number, now: number): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** True when the bucket is out of debt (at least one token). */
  available(now: number): boolean {
    this.refill(now);
    return this.tokens >= 1;
  }

  /** Takes `n` tokens even into debt. */
  charge(n: number, now: number): void {
    this.refill(now);
    this.tokens -= n;
  }
}
