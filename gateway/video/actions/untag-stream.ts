/** UntagStream (POST /untagStream): removes tags by key (absent keys are ignored). */
import type { StructureShape } from '../../http/validate.ts';
import * as s from '../shapes.ts';

export const shape: StructureShape = { type: 'structure', members: { StreamARN: s.streamArn, StreamName: s.streamName, TagKeyList: { ...s.tagKeyList, required: true } as typeof s.tagKeyList } };

export async function handle(ctx: s.VideoContext, input: Record<string, unknown>): Promise<unknown> {
  await ctx.registry.removeTags(ctx.registry.resolve(input), input.TagKeyList as string[]);
  return {};
}
