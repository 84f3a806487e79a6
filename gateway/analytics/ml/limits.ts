/**
 * Parameter bounds and defaults of the KDA SQL machine-learning functions,
 * each cited to its page in the Amazon Kinesis Data Analytics SQL Reference
 * (https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/). The engine
 * checks a call's arguments against these before it builds a model; the
 * classes in this folder assert them.
 */
import assert from 'node:assert/strict';

/** sqlrf-random-cut-forest.html, numberOfTrees: default 100, 1 to 1,000. */
export const rcfNumberOfTreesDefault = 100;
export const rcfNumberOfTreesMin = 1;
export const rcfNumberOfTreesMax = 1000;
/** sqlrf-random-cut-forest.html, subSampleSize: default 256, 10 to 1,000, and less than timeDecay. */
export const rcfSubSampleSizeDefault = 256;
export const rcfSubSampleSizeMin = 10;
export const rcfSubSampleSizeMax = 1000;
/** sqlrf-random-cut-forest.html, timeDecay: default 100,000 (how many recent records count), 1 to the largest INTEGER. */
export const rcfTimeDecayDefault = 100_000;
export const rcfTimeDecayMin = 1;
export const rcfTimeDecayMax = 2_147_483_647;
/** sqlrf-random-cut-forest.html, shingleSize: default 1, 1 to 30. */
export const rcfShingleSizeDefault = 1;
export const rcfShingleSizeMin = 1;
export const rcfShingleSizeMax = 30;

/** sqlrf-hotspots.html, windowSize: 100 to 1,000 records. */
export const hotspotsWindowSizeMin = 100;
export const hotspotsWindowSizeMax = 1000;
/** sqlrf-hotspots.html, minimumNumberOfPointsInAHotspot: 2 to windowSize. */
export const hotspotsMinimumPointsMin = 2;

/** top-k.html, TOP_K_ITEMS_TUMBLING: K 1 to 100,000; windowSize 1 to 3,600 seconds. */
export const topKItemsKMin = 1;
export const topKItemsKMax = 100_000;
export const tumblingWindowSecondsMin = 1;
export const tumblingWindowSecondsMax = 3600;

/** count-distinct-items.html, COUNT_DISTINCT_ITEMS_TUMBLING: exact up to 10,000 distinct items, HyperLogLog beyond. */
export const countDistinctExactItemsMax = 10_000;

assert(rcfSubSampleSizeDefault < rcfTimeDecayDefault, 'the default subSampleSize must be less than the default timeDecay');
assert(rcfSubSampleSizeMin <= rcfSubSampleSizeDefault && rcfSubSampleSizeDefault <= rcfSubSampleSizeMax);
assert(hotspotsMinimumPointsMin <= hotspotsWindowSizeMin);
