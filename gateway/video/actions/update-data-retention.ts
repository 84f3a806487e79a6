/**
 * UpdateDataRetention (POST /updateDataRetention): INCREASE or DECREASE by
 * DataRetentionChangeInHours, guarded by CurrentVersion. Going to 0 stops
 * persistence (stored fragments go); leaving 0 starts it.
 */
import * as l from '../../../sdk/protocol/video/limits.ts';
import { videoErrors } from '../../../sdk/protocol/errors.ts';
import type { StructureShape } from '../../http/validate.ts';
import * as s from '../shapes.ts';

export const shape: StructureShape = {
  type: 'structure',
  members: {
    StreamName: s.streamName,
    StreamARN: s.streamArn,
    CurrentVersion: { ...s.version, required: true } as typeof s.version,
    Operation: { type: 'string', required: true, enum: ['INCREASE_DATA_RETENTION', 'DECREASE_DATA_RETENTION'] },
    DataRetentionChangeInHours: { type: 'integer', required: true, min: 1 },
  },
};

export async function handle(ctx: s.VideoContext, input: Record<string, unknown>): Promise<unknown> {
  const stream = ctx.registry.resolve(input);
  ctx.registry.checkVersion(stream, input.CurrentVersion as string);
  const change = input.DataRetentionChangeInHours as number;
  const current = stream.meta.dataRetentionInHours;
  const next = input.Operation === 'INCREASE_DATA_RETENTION' ? current + change : current - change;
  if (next < l.dataRetentionHoursMin) throw videoErrors.invalidArgument(`The data retention cannot go below ${l.dataRetentionHoursMin} hours (it is ${current}).`);
  if (next > l.dataRetentionHoursMax) throw videoErrors.invalidArgument(`The data retention cannot exceed ${l.dataRetentionHoursMax} hours (it is ${current}).`);
  await ctx.registry.updateRetention(stream, next);
  return {};
}
