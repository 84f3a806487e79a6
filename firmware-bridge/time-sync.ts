/**
 * Converts MCU uptime (ms since its boot) to wall-clock time (Unix ms).
 *
 * The bridge sends a time-sync frame carrying its wall clock t0; the MCU
 * answers with its uptime u when it received it (and echoes t0); the bridge
 * notes t1 on receipt. Assuming a symmetric link, the MCU read u at about
 * (t0 + t1) / 2, so offset = (t0 + t1) / 2 - u with an error of at most
 * (t1 - t0) / 2. Offsets from several exchanges, fitted against uptime by
 * weighted least squares, give the clock's drift: crystals drift by tens of
 * ppm, RC oscillators by up to a few percent. Pure: times are passed in.
 */
import assert from 'node:assert';

export interface TimeSyncSample {
  /** MCU uptime in the reply. */
  uptimeMs: number;
  /** Bridge wall clock when the time-sync frame was sent (echoed by the MCU). */
  sentWallMs: number;
  /** Bridge wall clock when the reply arrived. */
  receivedWallMs: number;
}

export interface ClockEstimatorOptions {
  /** Samples kept for the fit (the oldest go first). Default 16. */
  samplesMax?: number;
  /** Replies slower than this are dropped: the midpoint says too little. Default 1000 ms. */
  rttMsMax?: number;
  /** Replies slower than twice the fastest seen plus this are dropped as delayed by buffering. Default 20 ms. */
  rttSlackMs?: number;
  /** Below this uptime span the drift is taken as 0: too short to tell drift from jitter. Default 10 s. */
  driftSpanMsMin?: number;
}

export type SampleVerdict = 'accepted' | 'rtt-too-long' | 'rtt-outlier' | 'reset';

export const clockEstimatorDefaults = Object.freeze({ samplesMax: 16, rttMsMax: 1000, rttSlackMs: 20, driftSpanMsMin: 10_000 });

interface Point { x: number; offset: number; rtt: number }

/**
 * @example
 * const clock = new ClockEstimator();
 * clock.add({ uptimeMs: 5000, sentWallMs: 1_700_000_000_000, receivedWallMs: 1_700_000_000_010 });
 * clock.toWallMs(6000); // 1_700_000_001_005
 */
export class ClockEstimator {
  private readonly options: Required<ClockEstimatorOptions>;
  private points: Point[] = [];
  private uptimeRef = 0;
  private lastUptime = -1;
  private rttMin = Infinity;
  private a = 0;
  private b = 0;

  constructor(options: ClockEstimatorOptions = {}) {
    this.options = { ...clockEstimatorDefaults, ...options };
    assert(this.options.samplesMax >= 2);
  }

  /** Whether at least one sample has been accepted since the last reset. */
  get synced(): boolean {
    return this.points.length > 0;
  }

  /** Drift of the MCU clock in ppm: positive when it runs slow (wall time passes faster than uptime). */
  get driftPpm(): number {
    return this.b * 1e6;
  }

  /** Wall minus uptime at the newest sample, in ms. */
  get offsetMs(): number {
    const last = this.points.at(-1);
    return last === undefined ? NaN : this.a + this.b * last.x;
  }

  /** Half the fastest round trip in the window: the error bound of one sample. */
  get uncertaintyMs(): number {
    return this.points.length === 0 ? Infinity : Math.min(...this.points.map((p) => p.rtt)) / 2;
  }

  /** Forgets everything: for a new MCU boot (a hello with a new boot id). */
  reset(): void {
    this.points = [];
    this.lastUptime = -1;
    this.rttMin = Infinity;
    this.a = 0;
    this.b = 0;
  }

  /** Adds one exchange. Uptime going backwards means the MCU rebooted: the estimator resets and starts from this sample. */
  add(sample: TimeSyncSample): SampleVerdict {
    const rtt = sample.receivedWallMs - sample.sentWallMs;
    let verdict: SampleVerdict = 'accepted';
    if (rtt < 0 || rtt > this.options.rttMsMax) return 'rtt-too-long';
    if (sample.uptimeMs < this.lastUptime) {
      this.reset();
      verdict = 'reset';
    }
    if (rtt > 2 * this.rttMin + this.options.rttSlackMs) return 'rtt-outlier';
    if (this.points.length === 0) this.uptimeRef = sample.uptimeMs;
    this.rttMin = Math.min(this.rttMin, rtt);
    this.lastUptime = sample.uptimeMs;
    const offset = (sample.sentWallMs + sample.receivedWallMs) / 2 - sample.uptimeMs;
    this.points.push({ x: sample.uptimeMs - this.uptimeRef, offset, rtt });
    if (this.points.length > this.options.samplesMax) this.points.shift();
    this.fit();
    return verdict;
  }

  /** Wall-clock ms for an uptime of this boot, or undefined before the first sample. */
  toWallMs(uptimeMs: number): number | undefined {
    if (this.points.length === 0) return undefined;
    return Math.round(uptimeMs + this.a + this.b * (uptimeMs - this.uptimeRef));
  }

  /** Weighted least squares of offset against uptime; faster round trips weigh more. */
  private fit(): void {
    let sw = 0, sx = 0, sy = 0;
    for (const p of this.points) {
      const w = 1 / (1 + p.rtt) ** 2;
      sw += w; sx += w * p.x; sy += w * p.offset;
    }
    const mx = sx / sw, my = sy / sw;
    let sxx = 0, sxy = 0;
    for (const p of this.points) {
      const w = 1 / (1 + p.rtt) ** 2;
      sxx += w * (p.x - mx) ** 2; sxy += w * (p.x - mx) * (p.offset - my);
    }
    const span = this.points.at(-1)!.x - this.points[0]!.x;
    this.b = span >= this.options.driftSpanMsMin && sxx > 0 ? sxy / sxx : 0;
    this.a = my - this.b * mx;
  }
}
