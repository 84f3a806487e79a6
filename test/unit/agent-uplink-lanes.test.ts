// Proves the uplink's lane split (issue #15) record by record: a record's lane is the shard the gateway routes it to (by MD5
// of the partition key, or the explicit hash key), adjacent shards share lanes beyond lanesMax, and the map survives the
// intent file's encoding while malformed ones are refused.
import { describe, expect, it } from 'vitest';
import { decodeLaneMap, encodeLaneMap, evenLaneMap, laneCount, laneMapFromShards, laneOf, sameLaneMap, singleLane } from '../../agent/uplink/lanes.ts';
import { evenHashKeyRanges, hashKeyOfPartitionKey, hashKeyToBigInt } from '../../sdk/protocol/streams/hash-key.ts';

const shardsOf = (n: number) => evenHashKeyRanges(n).map((r) => ({ StartingHashKey: r.start.toString() }));

describe('uplink lanes', () => {
  it('puts each record in the lane of the shard the gateway routes it to', () => {
    const ranges = evenHashKeyRanges(4);
    const map = laneMapFromShards(shardsOf(4), 8)!;
    expect(laneCount(map)).toBe(4);
    for (let i = 0; i < 2000; i++) {
      const key = `dev-${i}`;
      const h = hashKeyToBigInt(hashKeyOfPartitionKey(key));
      const shard = ranges.findIndex((r) => r.start <= h && h <= r.end);
      expect(laneOf(map, { partitionKey: key })).toBe(shard);
    }
    // An explicit hash key wins over the partition key, as on the gateway.
    expect(laneOf(map, { partitionKey: 'x', explicitHashKey: '0' })).toBe(0);
    expect(laneOf(map, { partitionKey: 'x', explicitHashKey: ranges[3]!.start.toString() })).toBe(3);
    expect(laneOf(map, { partitionKey: 'x', explicitHashKey: (ranges[2]!.start - 1n).toString() })).toBe(1);
  });

  it('groups adjacent shards beyond lanesMax, in hash key order whatever order ListShards gave', () => {
    const shards = shardsOf(10).reverse();
    const map = laneMapFromShards(shards, 4)!;
    expect(laneCount(map)).toBe(4);
    const ranges = evenHashKeyRanges(10);
    // Lane i starts at shard floor(i * 10 / 4): shards 0, 2, 5, 7.
    expect(encodeLaneMap(map)).toEqual([0, 2, 5, 7].map((s) => ranges[s]!.start.toString()));
    expect(laneCount(laneMapFromShards(shardsOf(1), 8)!)).toBe(1);
    expect(laneMapFromShards([], 8)).toBeUndefined();
    expect(laneMapFromShards([{ StartingHashKey: 'x' }], 8)).toBeUndefined();
  });

  it('spreads keys over even lanes, and one lane takes everything', () => {
    const map = evenLaneMap(4);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[laneOf(map, { partitionKey: `k${i}` })]!++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
    expect(laneOf(singleLane, { partitionKey: 'anything' })).toBe(0);
  });

  it('round-trips through the intent file and refuses malformed maps', () => {
    const map = laneMapFromShards(shardsOf(6), 8)!;
    const back = decodeLaneMap(encodeLaneMap(map))!;
    expect(sameLaneMap(back, map)).toBe(true);
    expect(sameLaneMap(back, evenLaneMap(5))).toBe(false);
    for (const bad of [[], ['1'], ['0', '0'], ['0', '5', '3'], ['0', 'x'], 'nope', [0], ['0', (2n ** 128n).toString()]]) {
      expect(decodeLaneMap(bad)).toBeUndefined();
    }
  });
});
