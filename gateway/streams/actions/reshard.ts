/** SplitShard, MergeShards and UpdateShardCount. */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import { hashKeyToBigInt } from '../../../sdk/protocol/streams/hash-key.ts';
import type { ShardRuntime, StreamRuntime } from '../model.ts';
import { StreamRegistry } from '../registry.ts';
import { HashKey, ShardId, streamTarget, structure, type StreamsAction } from '../shapes.ts';
import { findShard, onDemandError, requireActive, shardIndexOrThrow } from './common.ts';

function requireOpen(reg: StreamRegistry, rt: StreamRuntime, shard: ShardRuntime, verb: 'split' | 'merged'): void {
  if (!shard.open) {
    throw new AwsError('InvalidArgumentException', `Shard ${shard.id} in stream ${rt.meta.name} under account ${reg.accountId} has already been merged or split, and thus is not eligible for ${verb === 'split' ? 'splitting' : 'merging'}.`);
  }
}

// Check order from kinesalite's captures of AWS: a malformed shard id, then
// the stream, then its status, then the shard's existence, then the rest.

export const splitShard: StreamsAction = {
  shape: structure({ NewStartingHashKey: { ...HashKey, required: true }, ...streamTarget, ShardToSplit: { ...ShardId, required: true } }),
  async handle({ registry }, input) {
    const index = shardIndexOrThrow(registry, input, input.ShardToSplit as string);
    const rt = registry.resolve(input);
    if (rt.meta.mode === 'ON_DEMAND') throw onDemandError(registry, rt);
    requireActive(registry, rt);
    const shard = findShard(registry, rt, index);
    requireOpen(registry, rt, shard, 'split');
    if (registry.openShardCount() + 1 > registry.config.shardLimit) throw registry.shardLimitError(1);
    const key = BigInt(input.NewStartingHashKey as string);
    const start = hashKeyToBigInt(shard.startKey);
    const end = hashKeyToBigInt(shard.endKey);
    if (key <= start + 1n || key >= end) {
      throw new AwsError(
        'InvalidArgumentException',
        `NewStartingHashKey ${input.NewStartingHashKey} used in SplitShard() on shard ${shard.id} in stream ${rt.meta.name} under account ${registry.accountId} ` +
          `is not both greater than one plus the shard's StartingHashKey ${shard.meta.startingHashKey} and less than the shard's EndingHashKey ${shard.meta.endingHashKey}.`,
      );
    }
    await registry.reshard(rt, [shard], [
      { start, end: key - 1n, parent: shard.meta.index },
      { start: key, end, parent: shard.meta.index },
    ]);
    return undefined;
  },
};

export const mergeShards: StreamsAction = {
  shape: structure({ ShardToMerge: { ...ShardId, required: true }, AdjacentShardToMerge: { ...ShardId, required: true }, ...streamTarget }),
  async handle({ registry }, input) {
    const ia = shardIndexOrThrow(registry, input, input.ShardToMerge as string);
    const ib = shardIndexOrThrow(registry, input, input.AdjacentShardToMerge as string);
    const rt = registry.resolve(input);
    if (rt.meta.mode === 'ON_DEMAND') throw onDemandError(registry, rt);
    requireActive(registry, rt);
    const a = findShard(registry, rt, ia);
    const b = findShard(registry, rt, ib);
    requireOpen(registry, rt, a, 'merged');
    requireOpen(registry, rt, b, 'merged');
    await merge(registry, rt, a, b);
    return undefined;
  },
};

/**
 * Merges `a` and the shard right above it: AWS refuses a pair given in the
 * other order ("adjacency is inverted" in kinesalite's captures).
 */
async function merge(registry: StreamRegistry, rt: StreamRuntime, a: ShardRuntime, b: ShardRuntime): Promise<void> {
  if (a === b || hashKeyToBigInt(a.endKey) + 1n !== hashKeyToBigInt(b.startKey)) {
    throw new AwsError('InvalidArgumentException', `Shards ${a.id} and ${b.id} in stream ${rt.meta.name} under account ${registry.accountId} are not an adjacent pair of shards eligible for merging`);
  }
  await registry.reshard(rt, [a, b], [
    { start: hashKeyToBigInt(a.startKey), end: hashKeyToBigInt(b.endKey), parent: a.meta.index, adjacentParent: b.meta.index },
  ]);
}

/**
 * UNIFORM_SCALING within AWS's bounds (at most double, at least half the open
 * shards): scale up by splitting the widest shards at their midpoints, scale
 * down by merging the narrowest adjacent pairs, so the result stays as even
 * as a sequence of splits and merges allows, with lineage intact.
 */
export const updateShardCount: StreamsAction = {
  shape: structure({
    ...streamTarget,
    TargetShardCount: { type: 'integer', required: true, min: 1 },
    ScalingType: { type: 'string', required: true, enum: ['UNIFORM_SCALING'] },
  }),
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    if (rt.meta.mode === 'ON_DEMAND') throw onDemandError(registry, rt);
    requireActive(registry, rt);
    const current = rt.openShards.length;
    const target = input.TargetShardCount as number;
    const name = rt.meta.name;
    if (target > current * 2) {
      throw new AwsError('InvalidArgumentException', `UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: ${current} Target shard count: ${target}`);
    }
    if (target < Math.ceil(current / 2)) {
      throw new AwsError('InvalidArgumentException', `UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: ${current} Target shard count: ${target}`);
    }
    if (registry.openShardCount() - current + target > registry.config.shardLimit) throw registry.shardLimitError(target - current);
    for (let n = current; n < target; n++) {
      const widest = [...rt.openShards].sort((x, y) => cmp(StreamRegistry.width(y), StreamRegistry.width(x)))[0]!;
      const start = hashKeyToBigInt(widest.startKey);
      const end = hashKeyToBigInt(widest.endKey);
      const mid = start + (end - start + 1n) / 2n;
      await registry.reshard(rt, [widest], [
        { start, end: mid - 1n, parent: widest.meta.index },
        { start: mid, end, parent: widest.meta.index },
      ]);
    }
    for (let n = current; n > target; n--) {
      const open = rt.openShards;
      let best = 0;
      for (let i = 1; i < open.length - 1; i++) {
        if (StreamRegistry.width(open[i]!) + StreamRegistry.width(open[i + 1]!) < StreamRegistry.width(open[best]!) + StreamRegistry.width(open[best + 1]!)) best = i;
      }
      await merge(registry, rt, open[best]!, open[best + 1]!);
    }
    return { StreamName: name, CurrentShardCount: current, TargetShardCount: target, StreamARN: registry.arnOf(name) };
  },
};

const cmp = (x: bigint, y: bigint) => (x < y ? -1 : x > y ? 1 : 0);
