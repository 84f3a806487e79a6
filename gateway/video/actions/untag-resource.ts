/** UntagResource (POST /UntagResource): removes a stream's tags by key, by ARN. */
import type { StructureShape } from '../../http/validate.ts';
import * as s from '../shapes.ts';

export const shape: StructureShape = { type: 'structure', members: { ResourceARN: { ...s.resourceArn, required: true } as typeof s.resourceArn, TagKeyList: { ...s.tagKeyList, required: true } as typeof s.tagKeyList } };

export async function handle(ctx: s.VideoContext, input: Record<string, unknown>): Promise<unknown> {
  await ctx.registry.removeTags(ctx.registry.resolve({ StreamARN: input.ResourceARN }), input.TagKeyList as string[]);
  return {};
}
