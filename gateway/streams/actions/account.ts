/** DescribeLimits, UpdateStreamMode and enhanced monitoring (stream and account settings). */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import { MetricsNameList, StreamARN, StreamId, StreamModeDetails, streamTarget, structure, type StreamsAction } from '../shapes.ts';
import { requireActive } from './common.ts';

export const describeLimits: StreamsAction = {
  shape: structure({}),
  handle({ registry }) {
    return {
      ShardLimit: registry.config.shardLimit,
      OpenShardCount: registry.openShardCount(),
      OnDemandStreamCount: registry.onDemandStreamCount(),
      OnDemandStreamCountLimit: registry.config.onDemandStreamCountLimit,
    };
  },
};

export const updateStreamMode: StreamsAction = {
  shape: structure({
    StreamARN: { ...StreamARN, required: true },
    StreamId,
    StreamModeDetails: { ...StreamModeDetails, required: true },
    WarmThroughputMiBps: { type: 'integer', min: 0 },
  }),
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    requireActive(registry, rt);
    const mode = (input.StreamModeDetails as { StreamMode: 'PROVISIONED' | 'ON_DEMAND' }).StreamMode;
    if (mode === rt.meta.mode) {
      throw new AwsError('InvalidArgumentException', `Stream ${rt.meta.name} under account ${registry.accountId} is already in ${mode} mode.`);
    }
    if (mode === 'ON_DEMAND' && registry.onDemandStreamCount() >= registry.config.onDemandStreamCountLimit) {
      throw new AwsError('LimitExceededException', `This request would exceed the on-demand stream count limit for the account ${registry.accountId} in ${registry.config.region}. Limit: ${registry.config.onDemandStreamCountLimit}.`);
    }
    rt.meta.mode = mode;
    rt.meta.status = 'UPDATING';
    await registry.persist();
    registry.transition(rt, registry.config.updateDelayMs, 'ACTIVE');
    return undefined;
  },
};

const allMetrics = ['IncomingBytes', 'IncomingRecords', 'OutgoingBytes', 'OutgoingRecords', 'WriteProvisionedThroughputExceeded', 'ReadProvisionedThroughputExceeded', 'IteratorAgeMilliseconds'];

function monitoring(enable: boolean): StreamsAction {
  return {
    shape: structure({ ...streamTarget, ShardLevelMetrics: { ...MetricsNameList, required: true } }),
    async handle({ registry }, input) {
      const rt = registry.resolve(input);
      requireActive(registry, rt);
      const asked = (input.ShardLevelMetrics as string[]).flatMap((m) => (m === 'ALL' ? allMetrics : [m]));
      const current = [...rt.meta.shardLevelMetrics];
      const next = enable ? [...new Set([...current, ...asked])] : current.filter((m) => !asked.includes(m));
      rt.meta.shardLevelMetrics = allMetrics.filter((m) => next.includes(m));
      await registry.persist();
      return {
        StreamName: rt.meta.name,
        CurrentShardLevelMetrics: current,
        DesiredShardLevelMetrics: rt.meta.shardLevelMetrics,
        StreamARN: registry.arnOf(rt.meta.name),
      };
    },
  };
}

export const enableEnhancedMonitoring = monitoring(true);
export const disableEnhancedMonitoring = monitoring(false);
