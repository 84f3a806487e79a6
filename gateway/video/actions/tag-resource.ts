/** TagResource (POST /TagResource): tags a stream by ARN, given as a list of {Key, Value}. */
import * as l from '../../../sdk/protocol/video/limits.ts';
import type { StructureShape } from '../../http/validate.ts';
import * as s from '../shapes.ts';

export const shape: StructureShape = {
  type: 'structure',
  members: {
    ResourceARN: { ...s.resourceArn, required: true } as typeof s.resourceArn,
    Tags: { type: 'list', required: true, min: 1, max: l.tagsPerResourceMax, member: { type: 'structure', members: { Key: { ...s.tagKey, required: true }, Value: { ...s.tagValue, required: true } as typeof s.tagValue } } },
  },
};

export async function handle(ctx: s.VideoContext, input: Record<string, unknown>): Promise<unknown> {
  const tags = Object.fromEntries((input.Tags as Array<{ Key: string; Value: string }>).map((t) => [t.Key, t.Value]));
  await ctx.registry.setTags(ctx.registry.resolve({ StreamARN: input.ResourceARN }), tags);
  return {};
}
