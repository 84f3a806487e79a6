// The ml/ algorithms behind KDA SQL's table functions, tested by their
// properties rather than by numbers copied from the implementation:
// RANDOM_CUT_FOREST finds anomalies injected at random places into synthetic
// series (spikes, and with shingles a break in a pattern that stays in range),
// its explanation splits the score by column and points the right way, the
// tree keeps its invariants under random inserts and deletes, HOTSPOTS finds
// an injected dense square (and agrees with a brute-force DBSCAN), the top-k
// sketch is exact within its capacity and bounded beyond, and the distinct
// counter is exact to 10,000 items and within HyperLogLog's error after.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CountDistinctItems, formatExplanation, Hotspots, RandomCutForest, SeededRandom, TopKItems } from '../../gateway/analytics/ml/index.ts';
import { RandomCutTree } from '../../gateway/analytics/ml/random-cut-tree.ts';

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

describe('RandomCutForest', () => {
  it('scores injected spikes above nearly all normal records (property over seeds and places)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.uniqueArray(fc.integer({ min: 600, max: 2900 }), { minLength: 3, maxLength: 6 }), (seed, places) => {
        const rnd = new SeededRandom(seed);
        const forest = new RandomCutForest(2, { seed, numberOfTrees: 50 });
        const spikes = new Set(places);
        const normal: number[] = [];
        const injected: number[] = [];
        for (let i = 0; i < 3000; i++) {
          let a = 20 + 5 * Math.sin(i / 30) + rnd.next();
          let b = 50 + 2 * rnd.next();
          if (spikes.has(i)) {
            // Out of the usual range in one column, chosen at random.
            if (rnd.next() < 0.5) a += 15 + 10 * rnd.next();
            else b -= 10 + 10 * rnd.next();
          }
          const s = forest.process([a, b]);
          if (i < 400) continue;
          (spikes.has(i) ? injected : normal).push(s);
        }
        const bar = quantile(normal, 0.995);
        for (const s of injected) expect(s).toBeGreaterThan(bar);
      }),
      { numRuns: 5 },
    );
  });

  it('with shingles, finds a break in a periodic pattern whose values stay in range', () => {
    const run = (shingleSize: number) => {
      const forest = new RandomCutForest(1, { seed: 11, shingleSize, numberOfTrees: 50 });
      const scores: number[] = [];
      for (let i = 0; i < 3000; i++) {
        // A square wave 0,0,0,0,10,10,10,10,... ; at 2500 a high half-period starts two steps late, a pattern never seen before.
        const v = i >= 2500 && i < 2502 ? 0 : Math.floor(i / 4) % 2 === 0 ? 0 : 10;
        scores.push(forest.process([v + (i % 3) * 0.01]));
      }
      const normal = scores.slice(500, 2490);
      return { bar: Math.max(...normal), breakScore: Math.max(...scores.slice(2500, 2508)) };
    };
    const shingled = run(8);
    expect(shingled.breakScore).toBeGreaterThan(shingled.bar * 1.5);
    // Without shingles every value is an ordinary 0 or 10: the break is invisible, which shows the shingle is what finds it.
    const plain = run(1);
    expect(plain.breakScore).toBeLessThan(plain.bar * 1.5);
  });

  it('scores 0 while learning, then not', () => {
    const forest = new RandomCutForest(1, { seed: 3, subSampleSize: 64, numberOfTrees: 10 });
    const scores = Array.from({ length: 200 }, (_, i) => forest.process([i % 7]));
    expect(scores.slice(0, 64).every((s) => s === 0)).toBe(true);
    expect(scores.slice(64).every((s) => s > 0)).toBe(true);
  });

  it('explains: shares add up to the score, the anomalous column takes most of it and the direction is right', () => {
    const forest = new RandomCutForest(2, { seed: 5, numberOfTrees: 60 });
    const rnd = new SeededRandom(9);
    for (let i = 0; i < 1000; i++) forest.process([100 + 10 * rnd.next(), 70 + 5 * rnd.next()]);
    const high = forest.processWithExplanation([105, 140]);
    const low = forest.processWithExplanation([40, 72]);
    for (const e of [high, low]) {
      expect(e.columns[0]!.attributionScore + e.columns[1]!.attributionScore).toBeCloseTo(e.score, 9);
    }
    expect(high.columns[1]!.attributionScore).toBeGreaterThan(3 * high.columns[0]!.attributionScore);
    expect(high.columns[1]!.direction).toBe('HIGH');
    expect(high.columns[1]!.strength).toBeGreaterThan(high.columns[0]!.strength);
    expect(low.columns[0]!.attributionScore).toBeGreaterThan(3 * low.columns[1]!.attributionScore);
    expect(low.columns[0]!.direction).toBe('LOW');
    const ordinary = forest.processWithExplanation([105, 72]);
    expect(ordinary.score).toBeLessThan(high.score / 2);

    const json = JSON.parse(formatExplanation(['Systolic', 'Diastolic'], high, true));
    expect(Object.keys(json)).toEqual(['Systolic', 'Diastolic']);
    expect(json.Diastolic).toEqual({ DIRECTION: 'HIGH', STRENGTH: expect.stringMatching(/^\d+\.\d{4}$/), ATTRIBUTION_SCORE: expect.stringMatching(/^\d+\.\d{4}$/) });
    expect(JSON.parse(formatExplanation(['a', 'b'], high, false)).a).toEqual({ ATTRIBUTION_SCORE: expect.stringMatching(/^\d+\.\d{4}$/) });
  });

  it('is repeatable from a seed', () => {
    const run = () => {
      const f = new RandomCutForest(3, { seed: 42, numberOfTrees: 20 });
      const r = new SeededRandom(1);
      return Array.from({ length: 600 }, () => f.process([r.next(), r.next(), r.next()]));
    };
    expect(run()).toEqual(run());
  });

  it('refuses parameters outside AWS ranges and non-finite values', () => {
    expect(() => new RandomCutForest(1, { numberOfTrees: 0 })).toThrow(/numberOfTrees must be an integer from 1 to 1000/);
    expect(() => new RandomCutForest(1, { subSampleSize: 5 })).toThrow(/subSampleSize/);
    expect(() => new RandomCutForest(1, { shingleSize: 31 })).toThrow(/shingleSize/);
    expect(() => new RandomCutForest(1, { subSampleSize: 300, timeDecay: 200 })).toThrow(/less than timeDecay/);
    expect(() => new RandomCutForest(1).process([NaN])).toThrow(RangeError);
    const f = new RandomCutForest(1);
    expect(f.numberOfTrees).toBe(100);
    expect(f.subSampleSize).toBe(256);
    expect(f.timeDecay).toBe(100000);
    expect(f.shingleSize).toBe(1);
  });
});

describe('RandomCutTree', () => {
  it('keeps its invariants under random inserts and deletes, duplicates included', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 30 })), { maxLength: 300 }), fc.integer(), (ops, seed) => {
        const tree = new RandomCutTree(2, 64, new SeededRandom(seed));
        const held: number[][] = [];
        for (const [insert, x, y] of ops) {
          if ((insert || held.length === 0) && held.length < 64) {
            tree.insert([x, y]);
            held.push([x, y]);
          } else if (held.length > 0) {
            const [p] = held.splice((x * 31 + y) % held.length, 1);
            tree.delete(p!);
          }
          tree.check();
          expect(tree.totalMass).toBe(held.length);
        }
        for (const p of held) tree.delete(p);
        expect(tree.totalMass).toBe(0);
      }),
      { numRuns: 50 },
    );
  });

  it('attribution sums to the score', () => {
    const tree = new RandomCutTree(3, 32, new SeededRandom(1));
    const r = new SeededRandom(2);
    for (let i = 0; i < 32; i++) tree.insert([r.next(), r.next(), r.next()]);
    const out = { high: new Float64Array(3), low: new Float64Array(3) };
    for (const q of [[0.5, 0.5, 0.5], [2, 0, 0], [-1, 3, 0.2]]) {
      tree.attribution(q, out);
      const sum = [...out.high, ...out.low].reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(tree.score(q), 12);
    }
  });
});

/** DBSCAN by brute force, the reference Hotspots is checked against. */
function bruteHotspots(points: number[][], radius: number, minPts: number): Array<{ min: number[]; max: number[]; size: number }> {
  const near = (a: number[], b: number[]) => a.reduce((s, v, d) => s + (v - b[d]!) ** 2, 0) <= radius * radius;
  const neigh = points.map((p) => points.filter((q) => near(p, q)).length);
  const label = new Array<number>(points.length).fill(-1);
  const out: Array<{ min: number[]; max: number[]; size: number }> = [];
  points.forEach((_, i) => {
    if (neigh[i]! < minPts || label[i] !== -1) return;
    const id = out.length;
    const members: number[] = [];
    const queue = [i];
    label[i] = id;
    while (queue.length) {
      const k = queue.pop()!;
      members.push(k);
      if (neigh[k]! < minPts) continue;
      points.forEach((q, j) => {
        if (label[j] === -1 && near(points[k]!, q)) {
          label[j] = id;
          queue.push(j);
        }
      });
    }
    const ms = members.map((m) => points[m]!);
    out.push({ min: [0, 1].map((d) => Math.min(...ms.map((p) => p[d]!))), max: [0, 1].map((d) => Math.max(...ms.map((p) => p[d]!))), size: ms.length });
  });
  return out.filter((c) => c.size >= minPts);
}

describe('Hotspots', () => {
  it('finds an injected dense square in uniform noise, and only it', () => {
    const h = new Hotspots(2, { windowSize: 1000, scanRadius: 0.2, minimumNumberOfPointsInAHotspot: 17 });
    const r = new SeededRandom(4);
    let result = { hotspots: [] as Array<{ density: number; minValues: number[]; maxValues: number[] }> };
    for (let i = 0; i < 1500; i++) {
      const hot = i % 10 === 0;
      const p = hot ? [3 + 0.5 * r.next(), 7 + 0.5 * r.next()] : [10 * r.next(), 10 * r.next()];
      result = h.process(p);
    }
    expect(result.hotspots.length).toBe(1);
    const [spot] = result.hotspots;
    expect(spot!.minValues[0]).toBeGreaterThanOrEqual(2.7);
    expect(spot!.maxValues[0]).toBeLessThanOrEqual(3.8);
    expect(spot!.minValues[1]).toBeGreaterThanOrEqual(6.7);
    expect(spot!.maxValues[1]).toBeLessThanOrEqual(7.8);
    expect(spot!.density).toBeGreaterThan(10);
  });

  it('agrees with brute-force DBSCAN over the sliding window', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const r = new SeededRandom(seed);
        const h = new Hotspots(2, { windowSize: 100, scanRadius: 0.5, minimumNumberOfPointsInAHotspot: 5 });
        const window: number[][] = [];
        for (let i = 0; i < 250; i++) {
          const p = r.next() < 0.4 ? [1 + r.next(), 1 + r.next()] : [8 * r.next(), 8 * r.next()];
          window.push(p);
          if (window.length > 100) window.shift();
          const got = h.process(p).hotspots.map((s) => ({ min: s.minValues, max: s.maxValues }));
          const want = bruteHotspots(window, 0.5, 5).map((c) => ({ min: c.min, max: c.max }));
          const key = (c: { min: number[] }) => c.min.join(',');
          expect(got.sort((a, b) => key(a).localeCompare(key(b)))).toEqual(want.sort((a, b) => key(a).localeCompare(key(b))));
        }
      }),
      { numRuns: 5 },
    );
  });

  it('refuses parameters outside AWS ranges', () => {
    expect(() => new Hotspots(2, { windowSize: 99, scanRadius: 1, minimumNumberOfPointsInAHotspot: 2 })).toThrow(/windowSize/);
    expect(() => new Hotspots(2, { windowSize: 100, scanRadius: 0, minimumNumberOfPointsInAHotspot: 2 })).toThrow(/scanRadius/);
    expect(() => new Hotspots(2, { windowSize: 100, scanRadius: 1, minimumNumberOfPointsInAHotspot: 101 })).toThrow(/minimumNumberOfPointsInAHotspot/);
  });
});

describe('TopKItems', () => {
  it('is exact while the distinct items fit its counters', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 500 }), (items) => {
        const top = new TopKItems(5, { capacity: 41 });
        const exact = new Map<number, number>();
        for (const i of items) {
          top.add(i);
          exact.set(i, (exact.get(i) ?? 0) + 1);
        }
        const got = top.top();
        const counts = [...exact.values()].sort((a, b) => b - a).slice(0, 5);
        expect(got.map((g) => g.count)).toEqual(counts);
        for (const g of got) expect(g.count).toBe(exact.get(g.item as number));
        expect(top.count).toBe(items.length);
      }),
    );
  });

  it('beyond its counters, keeps the heavy hitters with counts within their error bound', () => {
    const top = new TopKItems(3, { capacity: 50 });
    const r = new SeededRandom(8);
    const exact = new Map<string, number>();
    for (let i = 0; i < 20000; i++) {
      // Three heavy items and a long tail of 5,000 rare ones.
      const u = r.next();
      const item = u < 0.2 ? 'alpha' : u < 0.35 ? 'beta' : u < 0.45 ? 'gamma' : `tail-${Math.floor(r.next() * 5000)}`;
      top.add(item);
      exact.set(item, (exact.get(item) ?? 0) + 1);
    }
    const got = top.top();
    expect(got.map((g) => g.item)).toEqual(['alpha', 'beta', 'gamma']);
    for (const g of got) {
      expect(g.count).toBeGreaterThanOrEqual(exact.get(g.item as string)!);
      expect(g.count - g.error).toBeLessThanOrEqual(exact.get(g.item as string)!);
    }
    top.reset();
    expect(top.top()).toEqual([]);
  });
});

describe('CountDistinctItems', () => {
  it('is exact up to 10,000 distinct items, duplicates ignored', () => {
    const d = new CountDistinctItems();
    for (let i = 0; i < 10_000; i++) {
      d.add(`item-${i}`);
      d.add(`item-${i}`);
    }
    expect(d.isExact).toBe(true);
    expect(d.estimate()).toBe(10_000);
    d.add(1);
    d.add('1');
    expect(d.isExact).toBe(false);
  });

  it('beyond, stays within 3% (about four standard errors)', () => {
    for (const n of [12_000, 50_000, 300_000]) {
      const d = new CountDistinctItems();
      for (let i = 0; i < n; i++) d.add(`device-${i}`);
      for (let i = 0; i < n; i += 7) d.add(`device-${i}`);
      expect(Math.abs(d.estimate() - n) / n).toBeLessThan(0.03);
    }
  });
});
