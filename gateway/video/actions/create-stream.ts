/** CreateStream (POST /createStream): a new video stream, ACTIVE at once; answers its StreamARN. */
import * as l from '../../../sdk/protocol/video/limits.ts';
import type { StructureShape } from '../../http/validate.ts';
import * as s from '../shapes.ts';

export const shape: StructureShape = {
  type: 'structure',
  members: {
    StreamName: { ...s.streamName, required: true } as typeof s.streamName,
    DeviceName: s.deviceName,
    MediaType: s.mediaType,
    KmsKeyId: { type: 'string', min: 1, max: l.kmsKeyIdLengthMax, pattern: '.+' },
    DataRetentionInHours: { type: 'integer', min: l.dataRetentionHoursMin, max: l.dataRetentionHoursMax },
    Tags: { ...s.tagMap, min: 0 } as typeof s.tagMap,
    StreamStorageConfiguration: { type: 'structure', members: { DefaultStorageTier: { type: 'string', required: true, enum: ['HOT', 'WARM'] } } },
  },
};

export async function handle(ctx: s.VideoContext, input: Record<string, unknown>): Promise<{ StreamARN: string }> {
  const stream = await ctx.registry.create(input as Parameters<typeof ctx.registry.create>[0]);
  return { StreamARN: stream.arn };
}
