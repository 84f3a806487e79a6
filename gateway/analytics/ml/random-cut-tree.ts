/**
 * One random cut tree (Guha, Mishra, Roy, Schrijvers, "Robust Random Cut
 * Forest Based Anomaly Detection on Streams", ICML 2016), kept in flat typed
 * arrays: a node is an index, a leaf holds one distinct point and its
 * multiplicity, an internal node a cut (dimension, value) and the bounding box
 * of its subtree. Points go left when `point[cutDim] <= cutValue`.
 *
 * Insertion follows the paper's Algorithm "InsertPoint": at each node a cut is
 * drawn in the bounding box of the subtree *with* the new point, with each
 * dimension chosen in proportion to its extent; if the cut separates the new
 * point from the subtree, a new internal node with the point as a leaf
 * sibling takes the subtree's place, otherwise the point descends along the
 * existing cut. Deletion replaces the leaf's parent with the leaf's sibling
 * and shrinks the boxes above. The result is distributed as a tree built
 * from scratch on the sampled points (the paper's Theorems 5 and 6).
 *
 * Scoring and attribution are the displacement-free forms the AWS
 * random-cut-forest library uses (its AnomalyScoreVisitor and
 * AnomalyAttributionVisitor): walk from the leaf the query would reach back
 * to the root, mixing in at each node the probability that a cut would have
 * isolated the query there.
 */
import assert from 'node:assert/strict';
import type { SeededRandom } from './random.ts';

const none = -1;

/** The score of a query that a cut isolates at `depth` (AWS RCF's scoreUnseen). */
export function scoreUnseen(depth: number): number {
  return 1 / (depth + 1);
}

/** The score of a query equal to a sampled point of multiplicity `mass` at `depth` (scoreSeen). */
export function scoreSeen(depth: number, mass: number): number {
  return 1 / (depth + Math.log2(1 + mass));
}

/** Damping for duplicates: the more of the tree a duplicate makes up, the less anomalous it is. */
export function damp(leafMass: number, treeMass: number): number {
  return 1 - leafMass / (2 * treeMass);
}

/** Per dimension, the part of a score owed to values above (`high`) and below (`low`) the data. */
export interface DiVector {
  high: Float64Array;
  low: Float64Array;
}

export class RandomCutTree {
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly parent: Int32Array;
  private readonly cutDim: Int32Array;
  private readonly cutValue: Float64Array;
  private readonly mass: Int32Array;
  private readonly min: Float64Array;
  private readonly max: Float64Array;
  private readonly freeNodes: number[] = [];
  private readonly path: Int32Array;
  private root = none;

  /** `leavesMax` distinct points at most (the sample size); `dims` values per point. */
  constructor(
    readonly dims: number,
    readonly leavesMax: number,
    private readonly random: SeededRandom,
  ) {
    assert(dims >= 1 && leavesMax >= 1);
    const nodes = 2 * leavesMax;
    this.left = new Int32Array(nodes).fill(none);
    this.right = new Int32Array(nodes).fill(none);
    this.parent = new Int32Array(nodes).fill(none);
    this.cutDim = new Int32Array(nodes);
    this.cutValue = new Float64Array(nodes);
    this.mass = new Int32Array(nodes);
    this.min = new Float64Array(nodes * dims);
    this.max = new Float64Array(nodes * dims);
    for (let n = nodes - 1; n >= 0; n--) this.freeNodes.push(n);
    this.path = new Int32Array(nodes);
  }

  /** Points in the tree, duplicates counted. */
  get totalMass(): number {
    return this.root === none ? 0 : this.mass[this.root]!;
  }

  insert(point: ArrayLike<number>): void {
    assert(point.length === this.dims);
    if (this.root === none) {
      this.root = this.newLeaf(point, none);
      return;
    }
    let node = this.root;
    for (;;) {
      const cut = this.drawCut(node, point);
      if (cut === undefined) {
        // The merged box has no extent: the point equals this leaf's point.
        assert(this.isLeaf(node), 'an internal node always has a box with extent');
        this.mass[node]!++;
        return;
      }
      if (cut.separates) {
        this.splitAbove(node, point, cut.dim, cut.value);
        return;
      }
      this.mass[node]!++;
      this.extendBox(node, point);
      node = point[this.cutDim[node]!]! <= this.cutValue[node]! ? this.left[node]! : this.right[node]!;
    }
  }

  /** Removes one copy of `point`, which must be in the tree. */
  delete(point: ArrayLike<number>): void {
    const leaf = this.findLeaf(point);
    assert(leaf !== none && this.equalsLeaf(leaf, point), 'deleting a point the tree does not hold');
    if (this.mass[leaf]! > 1) {
      for (let n = leaf; n !== none; n = this.parent[n]!) this.mass[n]!--;
      return;
    }
    const up = this.parent[leaf]!;
    this.freeNode(leaf);
    if (up === none) {
      this.root = none;
      return;
    }
    const sibling = this.left[up] === leaf ? this.right[up]! : this.left[up]!;
    const grand = this.parent[up]!;
    this.replaceChild(grand, up, sibling);
    this.freeNode(up);
    for (let n = grand; n !== none; n = this.parent[n]!) {
      this.mass[n]!--;
      this.boxFromChildren(n);
    }
  }

  /** The anomaly score of `query` against this tree, normalised by log2(1 + tree mass). */
  score(query: ArrayLike<number>): number {
    if (this.root === none) return 0;
    const depth = this.descend(query);
    const leaf = this.path[depth]!;
    let score: number;
    let i = depth - 1;
    if (this.equalsLeaf(leaf, query)) {
      score = damp(this.mass[leaf]!, this.totalMass) * scoreSeen(depth, this.mass[leaf]!);
      i = -1; // inside every box above
    } else {
      score = scoreUnseen(depth);
    }
    for (; i >= 0; i--) {
      const p = this.separationProbability(this.path[i]!, query);
      if (p <= 0) break; // the query lies inside this box and so inside every box above
      score = p * scoreUnseen(i) + (1 - p) * score;
    }
    return score * Math.log2(1 + this.totalMass);
  }

  /**
   * The score split by dimension and direction; `out` receives the vector
   * (zeroed first). The components sum to `score(query)`.
   */
  attribution(query: ArrayLike<number>, out: DiVector): void {
    out.high.fill(0);
    out.low.fill(0);
    if (this.root === none) return;
    const depth = this.descend(query);
    const leaf = this.path[depth]!;
    let i = depth - 1;
    if (this.equalsLeaf(leaf, query)) {
      const s = damp(this.mass[leaf]!, this.totalMass) * scoreSeen(depth, this.mass[leaf]!) / (2 * this.dims);
      out.high.fill(s);
      out.low.fill(s);
      i = -1;
    } else {
      this.mixSeparation(leaf, query, 0, scoreUnseen(depth), out);
    }
    for (; i >= 0; i--) {
      if (this.mixSeparation(this.path[i]!, query, 1, scoreUnseen(i), out) <= 0) break;
    }
    const norm = Math.log2(1 + this.totalMass);
    for (let d = 0; d < this.dims; d++) {
      out.high[d]! *= norm;
      out.low[d]! *= norm;
    }
  }

  /** Checks the tree's invariants (tests): masses add up, boxes hold their subtrees, cuts separate. */
  check(): void {
    if (this.root === none) return;
    assert.equal(this.parent[this.root], none);
    this.checkNode(this.root);
  }

  // --- internals ---

  private isLeaf(n: number): boolean {
    return this.left[n] === none;
  }

  private newLeaf(point: ArrayLike<number>, up: number): number {
    const n = this.freeNodes.pop();
    assert(n !== undefined, 'tree is full: the sampler must delete before it inserts');
    this.left[n] = none;
    this.right[n] = none;
    this.parent[n] = up;
    this.mass[n] = 1;
    const o = n * this.dims;
    for (let d = 0; d < this.dims; d++) {
      this.min[o + d] = point[d]!;
      this.max[o + d] = point[d]!;
    }
    return n;
  }

  private freeNode(n: number): void {
    this.left[n] = none;
    this.right[n] = none;
    this.parent[n] = none;
    this.freeNodes.push(n);
  }

  /** Draws a cut in the box of `node` merged with `point`; undefined when that box is a single point. */
  private drawCut(node: number, point: ArrayLike<number>): { dim: number; value: number; separates: boolean } | undefined {
    const o = node * this.dims;
    let sum = 0;
    for (let d = 0; d < this.dims; d++) sum += Math.max(this.max[o + d]!, point[d]!) - Math.min(this.min[o + d]!, point[d]!);
    if (!(sum > 0)) return undefined;
    let r = this.random.next() * sum;
    let last = -1;
    for (let d = 0; d < this.dims; d++) {
      const lo = Math.min(this.min[o + d]!, point[d]!);
      const hi = Math.max(this.max[o + d]!, point[d]!);
      const range = hi - lo;
      if (range <= 0) continue;
      last = d;
      if (r < range) return this.cutAt(o, d, lo, hi, lo + r);
      r -= range;
    }
    // Rounding left r past the last extent: cut at the start of the last dimension that has one.
    const lo = Math.min(this.min[o + last]!, point[last]!);
    return this.cutAt(o, last, lo, Math.max(this.max[o + last]!, point[last]!), lo);
  }

  private cutAt(o: number, dim: number, lo: number, hi: number, value: number): { dim: number; value: number; separates: boolean } {
    if (!(value < hi)) value = lo; // rounding: keep the cut inside [lo, hi)
    return { dim, value, separates: value < this.min[o + dim]! || value >= this.max[o + dim]! };
  }

  /** Puts a new internal node above `node`, with a leaf for `point` on the side of the cut it falls. */
  private splitAbove(node: number, point: ArrayLike<number>, dim: number, value: number): void {
    const up = this.parent[node]!;
    const inner = this.freeNodes.pop();
    assert(inner !== undefined, 'tree is full');
    const leaf = this.newLeaf(point, inner);
    this.cutDim[inner] = dim;
    this.cutValue[inner] = value;
    const pointLeft = point[dim]! <= value;
    this.left[inner] = pointLeft ? leaf : node;
    this.right[inner] = pointLeft ? node : leaf;
    this.parent[inner] = up;
    this.parent[node] = inner;
    this.mass[inner] = this.mass[node]! + 1;
    const oi = inner * this.dims;
    const on = node * this.dims;
    for (let d = 0; d < this.dims; d++) {
      this.min[oi + d] = Math.min(this.min[on + d]!, point[d]!);
      this.max[oi + d] = Math.max(this.max[on + d]!, point[d]!);
    }
    if (up === none) this.root = inner;
    else if (this.left[up] === node) this.left[up] = inner;
    else this.right[up] = inner;
  }

  private replaceChild(up: number, old: number, child: number): void {
    this.parent[child] = up;
    if (up === none) this.root = child;
    else if (this.left[up] === old) this.left[up] = child;
    else this.right[up] = child;
  }

  private extendBox(n: number, point: ArrayLike<number>): void {
    const o = n * this.dims;
    for (let d = 0; d < this.dims; d++) {
      if (point[d]! < this.min[o + d]!) this.min[o + d] = point[d]!;
      if (point[d]! > this.max[o + d]!) this.max[o + d] = point[d]!;
    }
  }

  private boxFromChildren(n: number): void {
    const o = n * this.dims;
    const l = this.left[n]! * this.dims;
    const r = this.right[n]! * this.dims;
    for (let d = 0; d < this.dims; d++) {
      this.min[o + d] = Math.min(this.min[l + d]!, this.min[r + d]!);
      this.max[o + d] = Math.max(this.max[l + d]!, this.max[r + d]!);
    }
  }

  private findLeaf(point: ArrayLike<number>): number {
    let n = this.root;
    while (n !== none && !this.isLeaf(n)) n = point[this.cutDim[n]!]! <= this.cutValue[n]! ? this.left[n]! : this.right[n]!;
    return n;
  }

  /** Fills `path` from the root to the leaf `query` reaches; returns the leaf's depth. */
  private descend(query: ArrayLike<number>): number {
    let n = this.root;
    let depth = 0;
    while (!this.isLeaf(n)) {
      this.path[depth++] = n;
      n = query[this.cutDim[n]!]! <= this.cutValue[n]! ? this.left[n]! : this.right[n]!;
    }
    this.path[depth] = n;
    return depth;
  }

  private equalsLeaf(leaf: number, point: ArrayLike<number>): boolean {
    const o = leaf * this.dims;
    for (let d = 0; d < this.dims; d++) if (this.min[o + d] !== point[d]) return false;
    return true;
  }

  /** The probability that a random cut of the box of `n` merged with `query` separates the query. */
  private separationProbability(n: number, query: ArrayLike<number>): number {
    const o = n * this.dims;
    let outside = 0;
    let range = 0;
    for (let d = 0; d < this.dims; d++) {
      const q = query[d]!;
      const lo = this.min[o + d]!;
      const hi = this.max[o + d]!;
      if (q > hi) {
        outside += q - hi;
        range += q - lo;
      } else if (q < lo) {
        outside += lo - q;
        range += hi - q;
      } else {
        range += hi - lo;
      }
    }
    return outside > 0 ? outside / range : 0;
  }

  /**
   * out = (1 - p) * out + unseen * p_d per dimension and direction, where
   * p_d is the chance the separating cut falls in dimension d above or below
   * the box. With keep 0 the old vector is dropped (the leaf). Returns p.
   */
  private mixSeparation(n: number, query: ArrayLike<number>, keep: 0 | 1, unseen: number, out: DiVector): number {
    const o = n * this.dims;
    let range = 0;
    let outside = 0;
    for (let d = 0; d < this.dims; d++) {
      const q = query[d]!;
      const lo = this.min[o + d]!;
      const hi = this.max[o + d]!;
      range += Math.max(hi, q) - Math.min(lo, q);
      outside += q > hi ? q - hi : q < lo ? lo - q : 0;
    }
    if (!(outside > 0)) return 0;
    const p = outside / range;
    const stay = keep * (1 - p);
    for (let d = 0; d < this.dims; d++) {
      const q = query[d]!;
      const above = q > this.max[o + d]! ? (q - this.max[o + d]!) / range : 0;
      const below = q < this.min[o + d]! ? (this.min[o + d]! - q) / range : 0;
      out.high[d] = stay * out.high[d]! + unseen * above;
      out.low[d] = stay * out.low[d]! + unseen * below;
    }
    return p;
  }

  private checkNode(n: number): { mass: number } {
    if (this.isLeaf(n)) {
      assert(this.mass[n]! >= 1);
      return { mass: this.mass[n]! };
    }
    const l = this.left[n]!;
    const r = this.right[n]!;
    assert.equal(this.parent[l], n);
    assert.equal(this.parent[r], n);
    const ml = this.checkNode(l).mass;
    const mr = this.checkNode(r).mass;
    assert.equal(this.mass[n], ml + mr, 'mass is the sum of the children');
    const d = this.cutDim[n]!;
    assert(this.max[l * this.dims + d]! <= this.cutValue[n]!, 'left subtree lies at or below the cut');
    assert(this.min[r * this.dims + d]! > this.cutValue[n]!, 'right subtree lies above the cut');
    for (let k = 0; k < this.dims; k++) {
      assert.equal(this.min[n * this.dims + k], Math.min(this.min[l * this.dims + k]!, this.min[r * this.dims + k]!));
      assert.equal(this.max[n * this.dims + k], Math.max(this.max[l * this.dims + k]!, this.max[r * this.dims + k]!));
    }
    return { mass: ml + mr };
  }
}
