/** DeleteStream (POST /deleteStream): by StreamARN, guarded by CurrentVersion when given. */
import type { StructureShape } from '../../http/validate.ts';
import * as s from '../shapes.ts';

export const shape: StructureShape = { type: 'structure', members: { StreamARN: { ...s.streamArn, required: true } as typeof s.streamArn, CurrentVersion: s.version } };

export async function handle(ctx: s.VideoContext, input: Record<string, unknown>): Promise<unknown> {
  const stream = ctx.registry.resolve({ StreamARN: input.StreamARN });
  ctx.registry.checkVersion(stream, input.CurrentVersion as string | undefined);
  await ctx.registry.delete(stream);
  return {};
}
