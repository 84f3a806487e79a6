/**
 * ListStreams (POST /listStreams): StreamInfo of every stream in name order,
 * optionally those whose name begins with a value; pages of MaxResults
 * (default 10,000) with an opaque NextToken (base64 of the last name).
 */
import * as l from '../../../sdk/protocol/video/limits.ts';
import { videoErrors } from '../../../sdk/protocol/errors.ts';
import type { StructureShape } from '../../http/validate.ts';
import * as s from '../shapes.ts';

export const shape: StructureShape = {
  type: 'structure',
  members: {
    MaxResults: { type: 'integer', min: 1, max: l.listStreamsResultsMax },
    NextToken: s.nextToken,
    StreamNameCondition: {
      type: 'structure',
      members: {
        ComparisonOperator: { type: 'string', enum: ['BEGINS_WITH'] },
        ComparisonValue: { type: 'string', min: 1, max: l.streamNameLengthMax, pattern: l.streamNamePattern },
      },
    },
  },
};

interface Input {
  MaxResults?: number;
  NextToken?: string;
  StreamNameCondition?: { ComparisonOperator?: string; ComparisonValue?: string };
}

export async function handle(ctx: s.VideoContext, raw: Record<string, unknown>): Promise<unknown> {
  const input = raw as Input;
  const max = input.MaxResults ?? l.listStreamsResultsMax;
  const prefix = input.StreamNameCondition?.ComparisonValue;
  if (input.StreamNameCondition && (prefix === undefined) !== (input.StreamNameCondition.ComparisonOperator === undefined)) {
    throw videoErrors.invalidArgument('StreamNameCondition needs both ComparisonOperator and ComparisonValue.');
  }
  const after = input.NextToken ? Buffer.from(input.NextToken, 'base64').toString('utf8') : undefined;
  const matching = ctx.registry.list().filter((st) => (prefix === undefined || st.name.startsWith(prefix)) && (after === undefined || st.name > after));
  const page = matching.slice(0, max);
  return {
    StreamInfoList: page.map((st) => st.info()),
    ...(matching.length > max ? { NextToken: Buffer.from(page.at(-1)!.name).toString('base64') } : {}),
  };
}
