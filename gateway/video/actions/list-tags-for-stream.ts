/** ListTagsForStream (POST /listTagsForStream): the stream's tags, paged by key. */
import type { StructureShape } from '../../http/validate.ts';
import * as s from '../shapes.ts';

export const shape: StructureShape = { type: 'structure', members: { NextToken: s.nextToken, StreamARN: s.streamArn, StreamName: s.streamName } };

export async function handle(ctx: s.VideoContext, input: Record<string, unknown>): Promise<unknown> {
  return s.pageTags(ctx.registry.resolve(input).meta.tags, input.NextToken as string | undefined);
}
