/** TagStream (POST /tagStream): adds or replaces tags; at most 50 per stream. */
import type { StructureShape } from '../../http/validate.ts';
import * as s from '../shapes.ts';

export const shape: StructureShape = { type: 'structure', members: { StreamARN: s.streamArn, StreamName: s.streamName, Tags: { ...s.tagMap, required: true } as typeof s.tagMap } };

export async function handle(ctx: s.VideoContext, input: Record<string, unknown>): Promise<unknown> {
  await ctx.registry.setTags(ctx.registry.resolve(input), input.Tags as Record<string, string>);
  return {};
}
