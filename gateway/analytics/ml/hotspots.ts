/**
 * HOTSPOTS' model: dense regions among the last `windowSize` records.
 *
 * AWS documents the inputs and the shape of the result (sqlref/sqlrf-hotspots.html):
 * a hotspot is "a small region of space that is relatively dense with data
 * points", scanRadius is "analogous to the ε value in the DBSCAN algorithm",
 * and each record gets `{"hotspots":[{density, minValues, maxValues}]}`. It
 * does not publish the algorithm, so ours is DBSCAN over the window: a point
 * with at least minimumNumberOfPointsInAHotspot points (itself included)
 * within scanRadius (Euclidean) is a core point; core points within
 * scanRadius of each other form one cluster, which also takes in the points
 * within scanRadius of its core points. A cluster of at least
 * minimumNumberOfPointsInAHotspot points is a hotspot, described by the box
 * around its points and its density relative to the window's: (its share of
 * the window's points) / (its box's share of the window's box volume), with
 * every side of both boxes at least scanRadius so that a flat box has a
 * volume. Hotspots come densest first.
 *
 * Neighbour counts are kept up to date as points enter and leave the window
 * (a grid of scanRadius cells finds neighbours), so a record costs a few
 * neighbourhood queries, not a pass over all pairs.
 *
 * @example
 * const h = new Hotspots(2, { windowSize: 1000, scanRadius: 0.2, minimumNumberOfPointsInAHotspot: 17 });
 * const { hotspots } = h.process([x, y]);
 */
import assert from 'node:assert/strict';
import * as limits from './limits.ts';

export interface HotspotsOptions {
  windowSize: number;
  scanRadius: number;
  minimumNumberOfPointsInAHotspot: number;
}

export interface Hotspot {
  density: number;
  minValues: number[];
  maxValues: number[];
}

export interface HotspotsResult {
  hotspots: Hotspot[];
}

/** Beyond this many dimensions a grid query visits more cells than a window holds points: scan the window instead. */
const gridDimensionsMax = 6;

export class Hotspots {
  readonly windowSize: number;
  readonly scanRadius: number;
  readonly minimumPoints: number;
  /** The window, a ring of point slots. */
  private readonly points: (Float64Array | undefined)[];
  private readonly neighbours: Int32Array;
  private next = 0;
  private readonly grid = new Map<string, Set<number>>();
  private readonly r2: number;

  constructor(
    readonly dimensions: number,
    options: HotspotsOptions,
  ) {
    this.windowSize = options.windowSize;
    this.scanRadius = options.scanRadius;
    this.minimumPoints = options.minimumNumberOfPointsInAHotspot;
    if (!Number.isInteger(dimensions) || dimensions < 1) throw new RangeError(`dimensions must be a positive integer (got ${dimensions})`);
    if (!Number.isInteger(this.windowSize) || this.windowSize < limits.hotspotsWindowSizeMin || this.windowSize > limits.hotspotsWindowSizeMax) {
      throw new RangeError(`windowSize must be an integer from ${limits.hotspotsWindowSizeMin} to ${limits.hotspotsWindowSizeMax} (got ${this.windowSize})`);
    }
    if (!(this.scanRadius > 0) || !Number.isFinite(this.scanRadius)) throw new RangeError(`scanRadius must be greater than 0 (got ${this.scanRadius})`);
    if (!Number.isInteger(this.minimumPoints) || this.minimumPoints < limits.hotspotsMinimumPointsMin || this.minimumPoints > this.windowSize) {
      throw new RangeError(`minimumNumberOfPointsInAHotspot must be an integer from ${limits.hotspotsMinimumPointsMin} to windowSize (got ${this.minimumPoints})`);
    }
    this.points = new Array(this.windowSize).fill(undefined);
    this.neighbours = new Int32Array(this.windowSize);
    this.r2 = this.scanRadius * this.scanRadius;
  }

  /** Adds the record to the window (dropping the oldest when full) and returns the window's hotspots. */
  process(point: readonly number[]): HotspotsResult {
    assert.equal(point.length, this.dimensions, 'a record has one value per dimension');
    for (const v of point) if (!Number.isFinite(v)) throw new RangeError(`HOTSPOTS takes finite numbers (got ${v})`);
    const slot = this.next;
    this.next = (this.next + 1) % this.windowSize;
    const old = this.points[slot];
    if (old) this.remove(slot, old);
    this.add(slot, Float64Array.from(point));
    return { hotspots: this.hotspots() };
  }

  private add(slot: number, p: Float64Array): void {
    let count = 1;
    this.forNeighbours(p, slot, (j) => {
      this.neighbours[j]!++;
      count++;
    });
    this.points[slot] = p;
    this.neighbours[slot] = count;
    if (this.dimensions <= gridDimensionsMax) {
      const key = this.cellKey(p);
      let cell = this.grid.get(key);
      if (!cell) this.grid.set(key, (cell = new Set()));
      cell.add(slot);
    }
  }

  private remove(slot: number, p: Float64Array): void {
    this.points[slot] = undefined;
    if (this.dimensions <= gridDimensionsMax) {
      const key = this.cellKey(p);
      const cell = this.grid.get(key)!;
      cell.delete(slot);
      if (cell.size === 0) this.grid.delete(key);
    }
    this.forNeighbours(p, slot, (j) => this.neighbours[j]!--);
  }

  /** Calls `visit` with every other point of the window within scanRadius of p. */
  private forNeighbours(p: Float64Array, self: number, visit: (slot: number) => void): void {
    const check = (j: number) => {
      if (j === self) return;
      const q = this.points[j];
      if (q && this.distance2(p, q) <= this.r2) visit(j);
    };
    if (this.dimensions > gridDimensionsMax) {
      for (let j = 0; j < this.windowSize; j++) check(j);
      return;
    }
    const base = Array.from(p, (v) => Math.floor(v / this.scanRadius));
    const offsets = new Array<number>(this.dimensions).fill(-1);
    for (;;) {
      const cell = this.grid.get(base.map((b, d) => b + offsets[d]!).join(','));
      if (cell) for (const j of cell) check(j);
      let d = 0;
      while (d < this.dimensions && offsets[d] === 1) offsets[d++] = -1;
      if (d === this.dimensions) break;
      offsets[d]!++;
    }
  }

  private cellKey(p: Float64Array): string {
    return Array.from(p, (v) => Math.floor(v / this.scanRadius)).join(',');
  }

  private distance2(a: Float64Array, b: Float64Array): number {
    let s = 0;
    for (let d = 0; d < this.dimensions; d++) s += (a[d]! - b[d]!) ** 2;
    return s;
  }

  /** DBSCAN over the window from the maintained neighbour counts. */
  private hotspots(): Hotspot[] {
    const cluster = new Int32Array(this.windowSize).fill(-1);
    const clusters: number[][] = [];
    for (let i = 0; i < this.windowSize; i++) {
      if (!this.isCore(i) || cluster[i] !== -1) continue;
      const members: number[] = [];
      const id = clusters.length;
      const queue = [i];
      cluster[i] = id;
      while (queue.length > 0) {
        const k = queue.pop()!;
        members.push(k);
        if (!this.isCore(k)) continue; // a border point joins but does not spread the cluster
        this.forNeighbours(this.points[k]!, k, (j) => {
          if (cluster[j] !== -1) return;
          cluster[j] = id;
          queue.push(j);
        });
      }
      clusters.push(members);
    }
    const filled = this.points.filter((p): p is Float64Array => p !== undefined);
    const windowBox = this.box(filled);
    return clusters
      .filter((m) => m.length >= this.minimumPoints)
      .map((m) => {
        const box = this.box(m.map((k) => this.points[k]!));
        const density = (m.length / filled.length) / (this.volume(box) / this.volume(windowBox));
        return { density, minValues: Array.from(box.min), maxValues: Array.from(box.max) };
      })
      .sort((a, b) => b.density - a.density);
  }

  private isCore(i: number): boolean {
    return this.points[i] !== undefined && this.neighbours[i]! >= this.minimumPoints;
  }

  private box(points: Float64Array[]): { min: Float64Array; max: Float64Array } {
    const min = new Float64Array(this.dimensions).fill(Infinity);
    const max = new Float64Array(this.dimensions).fill(-Infinity);
    for (const p of points) {
      for (let d = 0; d < this.dimensions; d++) {
        if (p[d]! < min[d]!) min[d] = p[d]!;
        if (p[d]! > max[d]!) max[d] = p[d]!;
      }
    }
    return { min, max };
  }

  private volume(box: { min: Float64Array; max: Float64Array }): number {
    let v = 1;
    for (let d = 0; d < this.dimensions; d++) v *= Math.max(box.max[d]! - box.min[d]!, this.scanRadius);
    return v;
  }
}
