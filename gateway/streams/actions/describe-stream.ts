import * as limits from '../../../sdk/protocol/streams/limits.ts';
import { shardIndexOf } from '../../../sdk/protocol/streams/sequence-number.ts';
import { ShardId, streamTarget, structure, type StreamsAction } from '../shapes.ts';
import { describeEnhancedMonitoring, describeEncryption } from './describe-stream-summary.ts';

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
        StreamName: m.name,
        StreamARN: registry.arnOf(m.name),
        StreamStatus: m.status,
        StreamModeDetails: { StreamMode: m.mode },
        Shards: shards.slice(0, limit).map((s) => s.describe()),
        HasMoreShards: shards.length > limit,
        RetentionPeriodHours: m.retentionHours,
        StreamCreationTimestamp: new Date(m.createdMs),
        EnhancedMonitoring: describeEnhancedMonitoring(m),
        ...describeEncryption(m),
      },
    };
  },
};
