/**
 * The machine-learning algorithms behind KDA SQL's table functions, as pure
 * classes: numbers in, numbers out, no clocks or I/O, randomness from a seed.
 * The SQL engine (gateway/analytics/functions/) wraps them:
 *
 * | SQL function | class |
 * | --- | --- |
 * | RANDOM_CUT_FOREST | RandomCutForest.process |
 * | RANDOM_CUT_FOREST_WITH_EXPLANATION | RandomCutForest.processWithExplanation + formatExplanation |
 * | HOTSPOTS | Hotspots.process (JSON.stringify the result) |
 * | TOP_K_ITEMS_TUMBLING | TopKItems (one per window: add, top, reset) |
 * | COUNT_DISTINCT_ITEMS_TUMBLING | CountDistinctItems (one per window: add, estimate, reset) |
 *
 * Windowing (which rows fall in which tumbling window, when a window closes)
 * is the engine's; these classes only count.
 */
export { RandomCutForest, formatExplanation, type RandomCutForestOptions, type ColumnExplanation, type Explained } from './random-cut-forest.ts';
export { Hotspots, type HotspotsOptions, type Hotspot, type HotspotsResult } from './hotspots.ts';
export { TopKItems, type Item, type ItemCount } from './top-k.ts';
export { CountDistinctItems } from './count-distinct.ts';
export { SeededRandom } from './random.ts';
export * as mlLimits from './limits.ts';
