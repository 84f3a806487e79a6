/**
 * The MKV "chunks" GetMedia and GetMediaForFragmentList answer with, one per
 * fragment, in the layout AWS writes (as consumers such as the Kinesis Video
 * parser libraries read it): the stream header (EBML header, Segment of
 * unknown size, Info, Tracks), a Tags element with the fragment's number and
 * timestamps, the Cluster, and for GetMedia a second Tags element with
 * AWS_KINESISVIDEO_MILLIS_BEHIND_NOW and AWS_KINESISVIDEO_CONTINUATION_TOKEN.
 * Timestamps are epoch seconds with milliseconds ("1726677687.758").
 */
import { concat, ebmlHeader, segmentStart, tagsElement } from '../../../sdk/protocol/mkv/index.ts';
import type { FragmentMedia, FragmentMeta } from '../../storage/types.ts';

export const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** A GetMedia chunk; the continuation token is the fragment's number (resuming starts after it). */
export function getMediaChunk(media: FragmentMedia, millisBehindNow: number): Uint8Array {
  const m = media.meta;
  return concat([
    media.header,
    tagsElement([
      { name: 'AWS_KINESISVIDEO_FRAGMENT_NUMBER', value: m.FragmentNumber },
      { name: 'AWS_KINESISVIDEO_SERVER_TIMESTAMP', value: seconds(m.ServerTimestamp) },
      { name: 'AWS_KINESISVIDEO_PRODUCER_TIMESTAMP', value: seconds(m.ProducerTimestamp) },
    ]),
    media.cluster,
    tagsElement([
      { name: 'AWS_KINESISVIDEO_MILLIS_BEHIND_NOW', value: String(Math.max(0, Math.round(millisBehindNow))) },
      { name: 'AWS_KINESISVIDEO_CONTINUATION_TOKEN', value: m.FragmentNumber },
    ]),
  ]);
}

/** A GetMediaForFragmentList chunk (its tags are named *_SIDE_TIMESTAMP, as that API documents them). */
export function fragmentListChunk(media: FragmentMedia): Uint8Array {
  const m = media.meta;
  return concat([
    media.header,
    tagsElement([
      { name: 'AWS_KINESISVIDEO_FRAGMENT_NUMBER', value: m.FragmentNumber },
      { name: 'AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP', value: seconds(m.ServerTimestamp) },
      { name: 'AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP', value: seconds(m.ProducerTimestamp) },
    ]),
    media.cluster,
  ]);
}

/** An in-stream error, as a document of its own: EBML header, Segment, one Tags element. */
export function errorChunk(tags: Array<{ name: string; value: string }>): Uint8Array {
  return concat([ebmlHeader(), segmentStart(), tagsElement(tags)]);
}

/**
 * The fragment a timestamp selects, in ingestion order: by producer time the
 * first that contains it or starts after it; by server time (an arrival
 * instant, not a span) the first that arrived at or after it.
 */
export function fragmentAt(list: readonly FragmentMeta[], kind: 'SERVER_TIMESTAMP' | 'PRODUCER_TIMESTAMP', ms: number): FragmentMeta | undefined {
  if (kind === 'SERVER_TIMESTAMP') return list.find((m) => m.ServerTimestamp >= ms);
  return list.find((m) => m.ProducerTimestamp + Math.max(1, m.FragmentLengthInMilliseconds) > ms);
}
