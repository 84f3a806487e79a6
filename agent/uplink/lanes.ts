/**
 * Lanes: the uplink's split of a stream's hash key space, one lane per shard
 * (or per group of adjacent shards beyond `lanesMax`). Records of a partition
 * key always fall in one lane, so a lane sending its requests one at a time
 * keeps per-key order, while the lanes of a destination send side by side and
 * each meets only its own shard's limit. Pure: records and shard lists in,
 * lane numbers out.
 *
 * @example
 * const map = laneMapFromShards([{ StartingHashKey: '0' }, { StartingHashKey: '170141183460469231731687303715884105728' }], 8);
 * laneOf(map, { partitionKey: 'dev-17' }); // 0 or 1
 */
import assert from 'node:assert/strict';
import { hashKeyFromBigInt, hashKeyFromDecimal, hashKeyOfPartitionKey } from '../../sdk/protocol/streams/hash-key.ts';
import { hashKeyMax } from '../../sdk/protocol/streams/limits.ts';

/** Where each lane's hash key range starts, ascending; the first is 0. Lane i covers [starts[i], starts[i + 1]). */
export interface LaneMap {
  readonly starts: readonly Buffer[];
}

/** One lane for the whole hash key space. */
export const singleLane: LaneMap = Object.freeze({ starts: Object.freeze([hashKeyFromBigInt(0n)]) });

/** `count` lanes over equal ranges of the hash key space (CreateStream's even split). */
export function evenLaneMap(count: number): LaneMap {
  assert.ok(Number.isSafeInteger(count) && count >= 1, 'at least one lane');
  const step = (hashKeyMax + 1n) / BigInt(count);
  return Object.freeze({ starts: Object.freeze(Array.from({ length: count }, (_, i) => hashKeyFromBigInt(BigInt(i) * step))) });
}

/**
 * Lanes from a stream's open shards (ListShards' `HashKeyRange.StartingHashKey`):
 * one per shard, or with more shards than `lanesMax`, runs of adjacent shards
 * per lane. Undefined when the list is empty or malformed.
 */
export function laneMapFromShards(shards: ReadonlyArray<{ StartingHashKey: string }>, lanesMax: number): LaneMap | undefined {
  assert.ok(Number.isSafeInteger(lanesMax) && lanesMax >= 1, 'lanesMax is a positive integer');
  const keys: Buffer[] = [];
  for (const s of shards) {
    const k = hashKeyFromDecimal(s.StartingHashKey);
    if (!k) return undefined;
    keys.push(k);
  }
  if (keys.length === 0) return undefined;
  keys.sort(Buffer.compare);
  // The lowest open shard starts at 0 in a well-formed stream; make sure every key has a lane.
  keys[0] = hashKeyFromBigInt(0n);
  const lanes = Math.min(lanesMax, keys.length);
  const starts = Array.from({ length: lanes }, (_, i) => keys[Math.floor((i * keys.length) / lanes)]!);
  return Object.freeze({ starts: Object.freeze(starts) });
}

export function laneCount(map: LaneMap): number {
  return map.starts.length;
}

/** The lane of a record: by its explicit hash key when it has one, else by the MD5 of its partition key, as the gateway routes it. */
export function laneOf(map: LaneMap, r: { partitionKey: string; explicitHashKey?: string | undefined }): number {
  const starts = map.starts;
  if (starts.length === 1) return 0;
  // A malformed explicit hash key is refused by the gateway whatever lane sends it.
  const key = (r.explicitHashKey !== undefined ? hashKeyFromDecimal(r.explicitHashKey) : undefined) ?? hashKeyOfPartitionKey(r.partitionKey);
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (Buffer.compare(starts[mid]!, key) <= 0) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function sameLaneMap(a: LaneMap, b: LaneMap): boolean {
  return a.starts.length === b.starts.length && a.starts.every((s, i) => s.equals(b.starts[i]!));
}

/** For the intent file: the starts as decimal strings. */
export function encodeLaneMap(map: LaneMap): string[] {
  return map.starts.map((s) => ((s.readBigUInt64BE(0) << 64n) | s.readBigUInt64BE(8)).toString());
}

export function decodeLaneMap(v: unknown): LaneMap | undefined {
  if (!Array.isArray(v) || v.length === 0 || v.length > 1024) return undefined;
  const starts: Buffer[] = [];
  for (const s of v) {
    const k = typeof s === 'string' ? hashKeyFromDecimal(s) : undefined;
    if (!k || (starts.length > 0 && Buffer.compare(starts.at(-1)!, k) >= 0)) return undefined;
    starts.push(k);
  }
  if (!starts[0]!.equals(hashKeyFromBigInt(0n))) return undefined;
  return Object.freeze({ starts: Object.freeze(starts) });
}
