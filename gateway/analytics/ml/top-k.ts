/**
 * TOP_K_ITEMS_TUMBLING's sketch: the Space-Saving algorithm (Metwally,
 * Agrawal, El Abbadi, "Efficient Computation of Frequent and Top-k Elements
 * in Data Streams", ICDT 2005). It keeps `capacity` counters; an item without
 * a counter takes over the smallest one and inherits its count (remembered as
 * the item's possible overcount). While no more than `capacity` distinct items
 * arrive the counts are exact; beyond, every item with a true count above
 * total/capacity is kept, and a count is at most `error` too high. AWS calls
 * its function approximate (sqlref/top-k.html) and does not say how; the
 * default capacity here is max(2K, K + 1000) counters.
 *
 * @example
 * const top = new TopKItems(3);
 * for (const item of ['a', 'b', 'a']) top.add(item);
 * top.top(); // [{ item: 'a', count: 2, error: 0 }, { item: 'b', count: 1, error: 0 }]
 */
import * as limits from './limits.ts';

export type Item = string | number;

export interface ItemCount {
  item: Item;
  count: number;
  /** How much `count` may exceed the true count (0 while the sketch is exact). */
  error: number;
}

export class TopKItems {
  readonly capacity: number;
  /** Min-heap of counter slots by count; position[] maps a slot back into it. */
  private readonly heap: number[] = [];
  private readonly items: Item[] = [];
  private readonly counts: number[] = [];
  private readonly errors: number[] = [];
  private readonly position: number[] = [];
  private readonly slots = new Map<Item, number>();
  private total = 0;

  constructor(
    readonly k: number,
    options: { capacity?: number } = {},
  ) {
    if (!Number.isInteger(k) || k < limits.topKItemsKMin || k > limits.topKItemsKMax) {
      throw new RangeError(`K must be an integer from ${limits.topKItemsKMin} to ${limits.topKItemsKMax} (got ${k})`);
    }
    this.capacity = options.capacity ?? Math.max(2 * k, k + 1000);
    if (!Number.isInteger(this.capacity) || this.capacity < k) throw new RangeError(`capacity must be an integer of at least K (got ${this.capacity})`);
  }

  /** Items counted so far (the window's row count). */
  get count(): number {
    return this.total;
  }

  add(item: Item, weight = 1): void {
    this.total += weight;
    const known = this.slots.get(item);
    if (known !== undefined) {
      this.counts[known]! += weight;
      this.siftDown(this.position[known]!);
      return;
    }
    if (this.heap.length < this.capacity) {
      const slot = this.items.length;
      this.items.push(item);
      this.counts.push(weight);
      this.errors.push(0);
      this.position.push(this.heap.length);
      this.heap.push(slot);
      this.slots.set(item, slot);
      this.siftUp(this.heap.length - 1);
      return;
    }
    // Take over the smallest counter.
    const slot = this.heap[0]!;
    this.slots.delete(this.items[slot]!);
    this.errors[slot] = this.counts[slot]!;
    this.counts[slot]! += weight;
    this.items[slot] = item;
    this.slots.set(item, slot);
    this.siftDown(0);
  }

  /** The K most frequent items, most frequent first (ties: the smaller overcount, then the item). */
  top(): ItemCount[] {
    const all: ItemCount[] = [];
    for (const slot of this.heap) all.push({ item: this.items[slot]!, count: this.counts[slot]!, error: this.errors[slot]! });
    all.sort((a, b) => b.count - a.count || a.error - b.error || (String(a.item) < String(b.item) ? -1 : String(a.item) > String(b.item) ? 1 : 0));
    return all.slice(0, this.k);
  }

  /** Empties the sketch for the next window. */
  reset(): void {
    this.heap.length = 0;
    this.items.length = 0;
    this.counts.length = 0;
    this.errors.length = 0;
    this.position.length = 0;
    this.slots.clear();
    this.total = 0;
  }

  private less(i: number, j: number): boolean {
    return this.counts[this.heap[i]!]! < this.counts[this.heap[j]!]!;
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    this.heap[i] = b;
    this.heap[j] = a;
    this.position[b] = i;
    this.position[a] = j;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.less(i, up)) return;
      this.swap(i, up);
      i = up;
    }
  }

  private siftDown(i: number): void {
    for (;;) {
      let c = 2 * i + 1;
      if (c >= this.heap.length) return;
      if (c + 1 < this.heap.length && this.less(c + 1, c)) c++;
      if (!this.less(c, i)) return;
      this.swap(i, c);
      i = c;
    }
  }
}
