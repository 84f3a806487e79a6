/** UpdateStream (POST /updateStream): DeviceName and MediaType, guarded by CurrentVersion. */
import type { StructureShape } from '../../http/validate.ts';
import * as s from '../shapes.ts';

export const shape: StructureShape = {
  type: 'structure',
  members: { StreamName: s.streamName, StreamARN: s.streamArn, CurrentVersion: { ...s.version, required: true } as typeof s.version, DeviceName: s.deviceName, MediaType: s.mediaType },
};

export async function handle(ctx: s.VideoContext, input: Record<string, unknown>): Promise<unknown> {
  const stream = ctx.registry.resolve(input);
  ctx.registry.checkVersion(stream, input.CurrentVersion as string);
  await ctx.registry.update(stream, input as { DeviceName?: string; MediaType?: string });
  return {};
}
