/**
 * RANDOM_CUT_FOREST and RANDOM_CUT_FOREST_WITH_EXPLANATION's model: a forest
 * of random cut trees over time-decayed samples of the recent points (Guha et
 * al. 2016). Each record is scored against the model first, then offered to
 * it, so a point never explains itself. Scores are the average over trees of
 * the AWS random-cut-forest library's anomaly score (about 1 for points like
 * the recent ones, several times that for outliers), 0 while the model is
 * learning.
 *
 * Defaults are AWS's (numberOfTrees 100, subSampleSize 256, timeDecay 100000,
 * shingleSize 1; see limits.ts). Beyond AWS: `seed` makes a forest repeatable
 * and `outputAfter` sets the learning phase (default: subSampleSize points,
 * the time it takes every tree's sample to fill).
 *
 * @example
 * const forest = new RandomCutForest(2, { seed: 7 });
 * for (const [x, y] of points) console.log(forest.process([x, y]));
 */
import assert from 'node:assert/strict';
import * as limits from './limits.ts';
import { SeededRandom } from './random.ts';
import { RandomCutTree, type DiVector } from './random-cut-tree.ts';
import { TimeDecayedSampler } from './sampler.ts';

export interface RandomCutForestOptions {
  numberOfTrees?: number;
  subSampleSize?: number;
  timeDecay?: number;
  shingleSize?: number;
  /** Seed of the forest's random numbers (default: a random one). */
  seed?: number;
  /** Points to learn before scores leave 0 (default subSampleSize). */
  outputAfter?: number;
}

/** How one input column contributed to a record's score (RANDOM_CUT_FOREST_WITH_EXPLANATION). */
export interface ColumnExplanation {
  /** This column's share of the anomaly score; the shares of all columns add up to the score. */
  attributionScore: number;
  /** Whether the value is anomalous by being high or low against the recent data (which side the isolating cuts came from). */
  direction: 'HIGH' | 'LOW';
  /** How far the value lies from the recent values of the column, in their standard deviations. */
  strength: number;
}

export interface Explained {
  score: number;
  columns: ColumnExplanation[];
}

interface Member {
  tree: RandomCutTree;
  sampler: TimeDecayedSampler<Float64Array>;
}

export class RandomCutForest {
  readonly numberOfTrees: number;
  readonly subSampleSize: number;
  readonly timeDecay: number;
  readonly shingleSize: number;
  readonly outputAfter: number;
  private readonly members: Member[] = [];
  private readonly shingle: Float64Array;
  private readonly scratch: DiVector;
  private readonly sum: DiVector;
  /** Records given to process(), shingled or not. */
  private seen = 0;
  /** Points (shingles) offered to the trees. */
  private updates = 0;

  constructor(
    readonly dimensions: number,
    options: RandomCutForestOptions = {},
  ) {
    this.numberOfTrees = options.numberOfTrees ?? limits.rcfNumberOfTreesDefault;
    this.subSampleSize = options.subSampleSize ?? limits.rcfSubSampleSizeDefault;
    this.timeDecay = options.timeDecay ?? limits.rcfTimeDecayDefault;
    this.shingleSize = options.shingleSize ?? limits.rcfShingleSizeDefault;
    this.outputAfter = options.outputAfter ?? this.subSampleSize;
    assertIntegerIn('dimensions', dimensions, 1, Number.MAX_SAFE_INTEGER);
    assertIntegerIn('numberOfTrees', this.numberOfTrees, limits.rcfNumberOfTreesMin, limits.rcfNumberOfTreesMax);
    assertIntegerIn('subSampleSize', this.subSampleSize, limits.rcfSubSampleSizeMin, limits.rcfSubSampleSizeMax);
    assertIntegerIn('timeDecay', this.timeDecay, limits.rcfTimeDecayMin, limits.rcfTimeDecayMax);
    assertIntegerIn('shingleSize', this.shingleSize, limits.rcfShingleSizeMin, limits.rcfShingleSizeMax);
    assertIntegerIn('outputAfter', this.outputAfter, 0, Number.MAX_SAFE_INTEGER);
    if (this.subSampleSize >= this.timeDecay) throw new RangeError(`subSampleSize must be less than timeDecay (got ${this.subSampleSize} and ${this.timeDecay})`);
    const random = new SeededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
    const dims = dimensions * this.shingleSize;
    for (let t = 0; t < this.numberOfTrees; t++) {
      this.members.push({
        tree: new RandomCutTree(dims, this.subSampleSize, random.fork()),
        sampler: new TimeDecayedSampler(this.subSampleSize, 1 / this.timeDecay, random.fork()),
      });
    }
    this.shingle = new Float64Array(dims);
    this.scratch = { high: new Float64Array(dims), low: new Float64Array(dims) };
    this.sum = { high: new Float64Array(dims), low: new Float64Array(dims) };
  }

  /** True once scores are no longer 0. */
  get ready(): boolean {
    return this.seen >= this.shingleSize && this.updates >= this.outputAfter;
  }

  /** Scores the record against the model (0 while learning), then learns it. */
  process(point: readonly number[]): number {
    const shingle = this.push(point);
    if (!shingle) return 0;
    const score = this.ready ? this.score(shingle) : 0;
    this.learn(shingle);
    return score;
  }

  /** As process(), with each input column's share of the score, its direction and strength. */
  processWithExplanation(point: readonly number[]): Explained {
    const shingle = this.push(point);
    if (!shingle) return this.zeroExplanation();
    const explained = this.ready ? this.explain(shingle, point) : this.zeroExplanation();
    this.learn(shingle);
    return explained;
  }

  private push(point: readonly number[]): Float64Array | undefined {
    assert.equal(point.length, this.dimensions, 'a record has one value per dimension');
    for (const v of point) if (!Number.isFinite(v)) throw new RangeError(`RANDOM_CUT_FOREST takes finite numbers (got ${v})`);
    // The shingle is the last shingleSize records, oldest first.
    this.shingle.copyWithin(0, this.dimensions);
    this.shingle.set(point, this.shingle.length - this.dimensions);
    this.seen++;
    return this.seen >= this.shingleSize ? this.shingle : undefined;
  }

  private score(shingle: Float64Array): number {
    let total = 0;
    for (const m of this.members) total += m.tree.score(shingle);
    return total / this.members.length;
  }

  private learn(shingle: Float64Array): void {
    const point = Float64Array.from(shingle);
    this.updates++;
    for (const m of this.members) {
      const r = m.sampler.offer(this.updates, point);
      if (!r.accepted) continue;
      if (r.evicted) m.tree.delete(r.evicted);
      m.tree.insert(point);
    }
  }

  private explain(shingle: Float64Array, point: readonly number[]): Explained {
    this.sum.high.fill(0);
    this.sum.low.fill(0);
    for (const m of this.members) {
      m.tree.attribution(shingle, this.scratch);
      for (let d = 0; d < shingle.length; d++) {
        this.sum.high[d]! += this.scratch.high[d]!;
        this.sum.low[d]! += this.scratch.low[d]!;
      }
    }
    const n = this.members.length;
    const columns: ColumnExplanation[] = [];
    let score = 0;
    for (let c = 0; c < this.dimensions; c++) {
      // A column's share is summed over its places in the shingle.
      let high = 0;
      let low = 0;
      for (let s = 0; s < this.shingleSize; s++) {
        high += this.sum.high[s * this.dimensions + c]! / n;
        low += this.sum.low[s * this.dimensions + c]! / n;
      }
      score += high + low;
      columns.push({ attributionScore: high + low, direction: high >= low ? 'HIGH' : 'LOW', strength: this.strength(c, point[c]!) });
    }
    return { score, columns };
  }

  /** |value - mean| / standard deviation of column c over the first tree's sample (its newest place in each shingle). */
  private strength(c: number, value: number): number {
    const sample = this.members[0]!.sampler.sample;
    const at = (this.shingleSize - 1) * this.dimensions + c;
    let mean = 0;
    for (const p of sample) mean += p[at]!;
    mean /= sample.length;
    let variance = 0;
    for (const p of sample) variance += (p[at]! - mean) ** 2;
    const sd = Math.sqrt(variance / sample.length);
    const deviation = Math.abs(value - mean);
    if (deviation === 0) return 0;
    // A column that has not varied: any change is a full-strength one relative to the column's scale.
    return sd > 0 ? deviation / sd : deviation / Math.max(Math.abs(mean), 1);
  }

  private zeroExplanation(): Explained {
    return { score: 0, columns: Array.from({ length: this.dimensions }, () => ({ attributionScore: 0, direction: 'HIGH' as const, strength: 0 })) };
  }
}

/**
 * ANOMALY_EXPLANATION as KDA writes it: a JSON object keyed by column name,
 * numbers as strings with four decimals, DIRECTION and STRENGTH only with
 * directionality (dev/examine-results-with-exp.html shows the shape).
 */
export function formatExplanation(columnNames: readonly string[], explained: Explained, withDirectionality: boolean): string {
  assert.equal(columnNames.length, explained.columns.length);
  const out: Record<string, Record<string, string>> = {};
  columnNames.forEach((name, i) => {
    const c = explained.columns[i]!;
    out[name] = withDirectionality
      ? { DIRECTION: c.direction, STRENGTH: c.strength.toFixed(4), ATTRIBUTION_SCORE: c.attributionScore.toFixed(4) }
      : { ATTRIBUTION_SCORE: c.attributionScore.toFixed(4) };
  });
  return JSON.stringify(out);
}

function assertIntegerIn(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer from ${min} to ${max} (got ${v})`);
}
