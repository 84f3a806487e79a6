/**
 * ListFragments (POST /listFragments, archived media): the stored fragments
 * of a stream, all or those whose producer or server timestamp lies in a
 * range (both ends included), in ingestion order (AWS promises no order),
 * MaxResults (1-1000, default 1000) per page with an opaque NextToken. A
 * stream without retention has no archive: the list is empty.
 */
import { videoErrors } from '../../../sdk/protocol/errors.ts';
import * as limits from '../../../sdk/protocol/video/limits.ts';
import type { StructureShape } from '../../http/validate.ts';
import type { FragmentMeta } from '../../storage/types.ts';
import * as s from '../shapes.ts';

export const timestampSelector: StructureShape = {
  type: 'structure',
  members: {
    FragmentSelectorType: { type: 'string', required: true, enum: ['PRODUCER_TIMESTAMP', 'SERVER_TIMESTAMP'] },
    TimestampRange: { type: 'structure', required: true, members: { StartTimestamp: { type: 'timestamp', required: true }, EndTimestamp: { type: 'timestamp', required: true } } },
  },
};

export const shape: StructureShape = {
  type: 'structure',
  members: {
    StreamName: s.streamName,
    StreamARN: s.streamArn,
    MaxResults: { type: 'long', min: 1, max: limits.listFragmentsResultsMax },
    NextToken: { type: 'string', min: 1, max: 4096, pattern: '[a-zA-Z0-9_\\.\\-]+' },
    FragmentSelector: timestampSelector,
  },
};

interface Input {
  MaxResults?: number;
  NextToken?: string;
  FragmentSelector?: { FragmentSelectorType: 'PRODUCER_TIMESTAMP' | 'SERVER_TIMESTAMP'; TimestampRange: { StartTimestamp: number; EndTimestamp: number } };
}

/** The Fragment shape on the wire (timestamps as Dates, sent as epoch seconds). */
export function wireFragment(m: FragmentMeta): Record<string, unknown> {
  return {
    FragmentNumber: m.FragmentNumber,
    FragmentSizeInBytes: m.FragmentSizeInBytes,
    ProducerTimestamp: new Date(m.ProducerTimestamp),
    ServerTimestamp: new Date(m.ServerTimestamp),
    FragmentLengthInMilliseconds: m.FragmentLengthInMilliseconds,
  };
}

export async function handle(ctx: s.VideoContext, raw: Record<string, unknown>): Promise<unknown> {
  const input = raw as Input;
  const stream = ctx.registry.resolve(raw);
  const sel = input.FragmentSelector;
  if (sel && sel.TimestampRange.StartTimestamp > sel.TimestampRange.EndTimestamp) {
    throw videoErrors.invalidArgument('StartTimestamp must not be later than EndTimestamp.');
  }
  const after = input.NextToken ? decodeToken(input.NextToken) : undefined;
  if (stream.dataRetentionInHours === 0) return { Fragments: [] };
  const all = sel ? stream.fragments.range(sel.FragmentSelectorType, sel.TimestampRange.StartTimestamp, sel.TimestampRange.EndTimestamp) : stream.fragments.list();
  const from = after === undefined ? all : all.filter((m) => m.FragmentNumber > after);
  const max = input.MaxResults ?? limits.listFragmentsResultsMax;
  const page = from.slice(0, max);
  return { Fragments: page.map(wireFragment), ...(from.length > max ? { NextToken: encodeToken(page.at(-1)!.FragmentNumber) } : {}) };
}

function encodeToken(afterNumber: string): string {
  return Buffer.from(JSON.stringify({ a: afterNumber })).toString('base64url');
}

function decodeToken(token: string): string {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { a?: unknown };
    if (typeof v.a === 'string' && /^\d+$/.test(v.a)) return v.a;
  } catch {
    // Falls through to the error below.
  }
  throw videoErrors.invalidArgument('The NextToken is not valid.');
}
