import { AwsError } from '../../../sdk/protocol/errors.ts';
import * as limits from '../../../sdk/protocol/streams/limits.ts';
import { StreamName, structure, type StreamsAction } from '../shapes.ts';

/** ListStreams' NextToken: the last stream name of the page, opaque to clients. */
function encodeToken(lastName: string): string {
  return Buffer.from(JSON.stringify({ v: 1, after: lastName }), 'utf8').toString('base64url');
}
function decodeToken(token: string): string {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v: number; after: string };
    if (t.v === 1 && typeof t.after === 'string') return t.after;
  } catch {
    // Falls through to the error below.
  }
  throw new AwsError('InvalidArgumentException', 'Invalid NextToken.');
}

export const listStreams: StreamsAction = {
  shape: structure({
    Limit: { type: 'integer', min: 1, max: limits.listLimitMax },
    ExclusiveStartStreamName: StreamName,
    NextToken: { type: 'string', min: 1, max: 1048576 },
  }),
  handle({ registry }, input) {
    const limit = (input.Limit as number | undefined) ?? limits.listStreamsLimitDefault;
    const after = input.NextToken !== undefined ? decodeToken(input.NextToken as string) : (input.ExclusiveStartStreamName as string | undefined);
    const all = registry.list().filter((s) => after === undefined || s.meta.name > after);
    const page = all.slice(0, limit);
    const more = all.length > limit;
    return {
      StreamNames: page.map((s) => s.meta.name),
      HasMoreStreams: more,
      NextToken: more ? encodeToken(page.at(-1)!.meta.name) : undefined,
      StreamSummaries: page.map((s) => ({
        StreamName: s.meta.name,
        StreamARN: registry.arnOf(s.meta.name),
        StreamStatus: s.meta.status,
        StreamModeDetails: { StreamMode: s.meta.mode },
        StreamCreationTimestamp: new Date(s.meta.createdMs),
      })),
    };
  },
};
