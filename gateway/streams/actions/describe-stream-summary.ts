import type { StreamMeta } from '../model.ts';
import { streamTarget, structure, type StreamsAction } from '../shapes.ts';

export function describeEnhancedMonitoring(m: StreamMeta): Array<{ ShardLevelMetrics: string[] }> {
  return [{ ShardLevelMetrics: [...m.shardLevelMetrics] }];
}

export function describeEncryption(m: StreamMeta): { EncryptionType: string; KeyId?: string } {
  return m.encryption.type === 'KMS' ? { EncryptionType: 'KMS', KeyId: m.encryption.keyId } : { EncryptionType: 'NONE' };
}

export const describeStreamSummary: StreamsAction = {
  shape: structure({ ...streamTarget }),
  handle({ registry }, input) {
    const rt = registry.resolve(input);
    const m = rt.meta;
    return {
      StreamDescriptionSummary: {
        StreamName: m.name,
        StreamARN: registry.arnOf(m.name),
        StreamStatus: m.status,
        StreamModeDetails: { StreamMode: m.mode },
        RetentionPeriodHours: m.retentionHours,
        StreamCreationTimestamp: new Date(m.createdMs),
        EnhancedMonitoring: describeEnhancedMonitoring(m),
        ...describeEncryption(m),
        OpenShardCount: rt.openShards.length,
        ConsumerCount: 0,
        MaxRecordSizeInKiB: m.maxRecordSizeKiB,
      },
    };
  },
};
