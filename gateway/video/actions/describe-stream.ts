/** DescribeStream (POST /describeStream): the stream's StreamInfo, by StreamName or StreamARN. */
import type { StructureShape } from '../../http/validate.ts';
import * as s from '../shapes.ts';

export const shape: StructureShape = { type: 'structure', members: { StreamName: s.streamName, StreamARN: s.streamArn } };

export async function handle(ctx: s.VideoContext, input: Record<string, unknown>): Promise<unknown> {
  return { StreamInfo: ctx.registry.resolve(input).info() };
}
