import * as limits from '../../../sdk/protocol/streams/limits.ts';
import { shardIndexOf } from '../../../sdk/protocol/streams/sequence-number.ts';
import { ShardId, streamTarget, structure, type StreamsAction } from '../shapes.ts';
import { describeStreamCommon } from './describe-stream-summary.ts';

export const describeStream: StreamsAction = {
  shape: structure({
    Limit: { type: 'integer', min: 1, max: limits.listLimitMax },
    ExclusiveStartShardId: ShardId,
    ...streamTarget,
  }),
  handle({ registry }, input) {
    const rt = registry.resolve(input);
    const limit = (input.Limit as number | undefined) ?? limits.describeStreamLimitDefault;
    const after = input.ExclusiveStartShardId !== undefined ? shardIndexOf(input.ExclusiveStartShardId as string) ?? -1 : -1;
    const shards = rt.shards.filter((s) => s.meta.index > after);
    const m = rt.meta;
    return {
      StreamDescription: {
        ...describeStreamCommon(registry, m),
        Shards: shards.slice(0, limit).map((s) => s.describe()),
        HasMoreShards: shards.length > limit,
      },
    };
  },
};
