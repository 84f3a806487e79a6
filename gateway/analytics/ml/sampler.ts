/**
 * A time-decayed reservoir sample of fixed size, as each tree of a random cut
 * forest keeps (Guha et al. 2016, section 4; the AWS random-cut-forest
 * library's CompactSampler). Point number t gets the weight
 * `-t / timeDecay + log(-log(u))` for a uniform u, and the sample keeps the
 * points with the smallest weights: a weighted sample without replacement
 * where a point's chance to stay falls off as exp(-age / timeDecay), so the
 * model follows the recent `timeDecay` points. A max-heap on the weight finds
 * the point to evict.
 */
import assert from 'node:assert/strict';
import type { SeededRandom } from './random.ts';

export class TimeDecayedSampler<P> {
  private readonly weights: Float64Array;
  private readonly points: P[] = [];

  constructor(
    readonly capacity: number,
    private readonly decayPerPoint: number,
    private readonly random: SeededRandom,
  ) {
    assert(capacity >= 1 && decayPerPoint >= 0);
    this.weights = new Float64Array(capacity);
  }

  get size(): number {
    return this.points.length;
  }

  /** The sampled points, in no particular order. */
  get sample(): readonly P[] {
    return this.points;
  }

  /**
   * Offers point number `sequence`. Returns `{ accepted: false }`, or
   * `{ accepted: true, evicted }` with the point it displaced when full.
   */
  offer(sequence: number, point: P): { accepted: false } | { accepted: true; evicted: P | undefined } {
    const weight = -sequence * this.decayPerPoint + Math.log(-Math.log(this.random.nextOpen()));
    if (this.points.length < this.capacity) {
      this.points.push(point);
      this.siftUp(this.points.length - 1, weight);
      return { accepted: true, evicted: undefined };
    }
    if (!(weight < this.weights[0]!)) return { accepted: false };
    const evicted = this.points[0]!;
    this.points[0] = point;
    this.siftDown(0, weight);
    return { accepted: true, evicted };
  }

  private siftUp(i: number, weight: number): void {
    const point = this.points[i]!;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (this.weights[up]! >= weight) break;
      this.weights[i] = this.weights[up]!;
      this.points[i] = this.points[up]!;
      i = up;
    }
    this.weights[i] = weight;
    this.points[i] = point;
  }

  private siftDown(i: number, weight: number): void {
    const point = this.points[i]!;
    const n = this.points.length;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.weights[child + 1]! > this.weights[child]!) child++;
      if (this.weights[child]! <= weight) break;
      this.weights[i] = this.weights[child]!;
      this.points[i] = this.points[child]!;
      i = child;
    }
    this.weights[i] = weight;
    this.points[i] = point;
  }
}
