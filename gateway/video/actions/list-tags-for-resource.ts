/** ListTagsForResource (POST /ListTagsForResource): a stream's tags by ARN, paged by key. */
import type { StructureShape } from '../../http/validate.ts';
import * as s from '../shapes.ts';

export const shape: StructureShape = { type: 'structure', members: { ResourceARN: { ...s.resourceArn, required: true } as typeof s.resourceArn, NextToken: s.nextToken } };

export async function handle(ctx: s.VideoContext, input: Record<string, unknown>): Promise<unknown> {
  return s.pageTags(ctx.registry.resolve({ StreamARN: input.ResourceARN }).meta.tags, input.NextToken as string | undefined);
}
