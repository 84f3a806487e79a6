import { AwsError } from '../../../sdk/protocol/errors.ts';
import * as limits from '../../../sdk/protocol/streams/limits.ts';
import { structure, StreamModeDetails, StreamName, TagMap, type StreamsAction } from '../shapes.ts';

export const createStream: StreamsAction = {
  shape: structure({
    ShardCount: { type: 'integer', min: 1, max: 1000000 },
    StreamName: { ...StreamName, required: true },
    StreamModeDetails,
    Tags: TagMap,
    WarmThroughputMiBps: { type: 'integer', min: 0 },
    MaxRecordSizeInKiB: { type: 'integer', min: 1024, max: 10240 },
  }),
  async handle({ registry }, input) {
    const mode = ((input.StreamModeDetails as { StreamMode?: string } | undefined)?.StreamMode ?? 'PROVISIONED') as 'PROVISIONED' | 'ON_DEMAND';
    let shardCount = input.ShardCount as number | undefined;
    if (mode === 'PROVISIONED' && shardCount === undefined) {
      throw new AwsError('InvalidArgumentException', 'ShardCount is required for provisioned streams.');
    }
    if (mode === 'ON_DEMAND') {
      if (shardCount !== undefined) throw new AwsError('InvalidArgumentException', 'ShardCount cannot be specified for on-demand streams.');
      if (registry.onDemandStreamCount() >= registry.config.onDemandStreamCountLimit) {
        throw new AwsError('LimitExceededException', `This request would exceed the on-demand stream count limit for the account ${registry.accountId} in ${registry.config.region}. Limit: ${registry.config.onDemandStreamCountLimit}.`);
      }
      shardCount = limits.onDemandShardCountDefault;
    }
    await registry.create(input.StreamName as string, shardCount!, mode, (input.Tags as Record<string, string>) ?? {}, (input.MaxRecordSizeInKiB as number) ?? 1024);
    return undefined;
  },
};
