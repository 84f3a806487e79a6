import type { StreamMeta } from '../model.ts';
import type { StreamRegistry } from '../registry.ts';
import { streamTarget, structure, type StreamsAction } from '../shapes.ts';

/** The members DescribeStream and DescribeStreamSummary both report. */
export function describeStreamCommon(registry: StreamRegistry, m: StreamMeta): Record<string, unknown> {
  return {
    StreamName: m.name,
    StreamARN: registry.arnOf(m.name),
    StreamStatus: m.status,
    StreamModeDetails: { StreamMode: m.mode },
    RetentionPeriodHours: m.retentionHours,
    StreamCreationTimestamp: new Date(m.createdMs),
    EnhancedMonitoring: [{ ShardLevelMetrics: [...m.shardLevelMetrics] }],
    ...(m.encryption.type === 'KMS' ? { EncryptionType: 'KMS', KeyId: m.encryption.keyId } : { EncryptionType: 'NONE' }),
  };
}

export const describeStreamSummary: StreamsAction = {
  shape: structure({ ...streamTarget }),
  handle({ registry }, input) {
    const rt = registry.resolve(input);
    const m = rt.meta;
    return {
      StreamDescriptionSummary: {
        ...describeStreamCommon(registry, m),
        OpenShardCount: rt.openShards.length,
        ConsumerCount: m.consumers?.length ?? 0,
        MaxRecordSizeInKiB: m.maxRecordSizeKiB,
      },
    };
  },
};
