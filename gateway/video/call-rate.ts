/**
 * Calls per second by key over a sliding one-second window: how AWS words
 * its Kinesis Video quotas ("50 TPS per account", "5 TPS per stream"). Keys
 * are an action and an account or a stream; the map is swept of idle keys
 * once it grows past `keysMax`, so its memory stays bounded by the callers
 * of the last second.
 */
export const callRateKeysMaxDefault = 10_000;

export class CallRate {
  private readonly calls = new Map<string, number[]>();

  constructor(
    private readonly now: () => number,
    private readonly keysMax = callRateKeysMaxDefault,
  ) {}

  /** Admits a call under `key` unless `max` calls were admitted under it in the last second. */
  admit(key: string, max: number): boolean {
    const now = this.now();
    const recent = (this.calls.get(key) ?? []).filter((t) => now - t < 1000);
    const admitted = recent.length < max;
    if (admitted) recent.push(now);
    this.calls.set(key, recent);
    if (this.calls.size > this.keysMax) this.sweep(now);
    return admitted;
  }

  private sweep(now: number): void {
    for (const [key, times] of this.calls) if (!times.length || now - times[times.length - 1]! >= 1000) this.calls.delete(key);
  }
}

/** AWS's text for ClientLimitExceededException (Kinesis Video API Reference, the Errors of every action). */
export const clientLimitMessage = 'Kinesis Video Streams has throttled the request because you have exceeded the limit of allowed client calls. Try making the call later.';
