/**
 * GetMedia (POST /getMedia, @aws-sdk/client-kinesis-video-media): the
 * stream's fragments from a StartSelector on, as MKV chunks (chunks.ts),
 * then live: the answer stays open and each new fragment follows as soon as
 * it is stored, until the client goes or the stream is deleted.
 *
 * StartSelector: EARLIEST (the oldest stored fragment), NOW (fragments that
 * arrive from now on), FRAGMENT_NUMBER (after AfterFragmentNumber),
 * SERVER_TIMESTAMP / PRODUCER_TIMESTAMP (the fragment containing
 * StartTimestamp, or the first after it), CONTINUATION_TOKEN (after the
 * chunk whose AWS_KINESISVIDEO_CONTINUATION_TOKEN it is). A fragment the
 * store cannot read ends the answer with AWS's error tags
 * (AWS_KINESISVIDEO_ERROR_CODE, AWS_KINESISVIDEO_ERROR_ID 5000). Limits: 5 calls
 * per second per stream (ClientLimitExceededException), 25 MB/s per answer.
 */
import { videoErrors } from '../../../sdk/protocol/errors.ts';
import * as limits from '../../../sdk/protocol/video/limits.ts';
import type { RestAction, RestStream } from '../../http/rest.ts';
import type { StructureShape } from '../../http/validate.ts';
import type { FragmentMeta } from '../../storage/types.ts';
import { parseFragmentNumber } from '../../storage/fragment-index.ts';
import type { VideoRegistry, VideoStream } from '../registry.ts';
import * as s from '../shapes.ts';
import { errorChunk, fragmentAt, getMediaChunk } from './chunks.ts';
import { CallRate, clientLimitMessage } from '../call-rate.ts';
import type { VideoMetrics } from '../metrics.ts';

const fragmentNumber = { type: 'string', min: 1, max: limits.fragmentNumberLengthMax, pattern: '^[0-9]+$' } as const;

export const shape: StructureShape = {
  type: 'structure',
  members: {
    StreamName: s.streamName,
    StreamARN: s.streamArn,
    StartSelector: {
      type: 'structure',
      required: true,
      members: {
        StartSelectorType: { type: 'string', required: true, enum: ['FRAGMENT_NUMBER', 'SERVER_TIMESTAMP', 'PRODUCER_TIMESTAMP', 'NOW', 'EARLIEST', 'CONTINUATION_TOKEN'] },
        AfterFragmentNumber: fragmentNumber,
        StartTimestamp: { type: 'timestamp' },
        ContinuationToken: { type: 'string', min: 1, max: limits.fragmentNumberLengthMax, pattern: '^[a-zA-Z0-9_\\.\\-]+$' },
      },
    },
  },
};

interface Selector {
  StartSelectorType: string;
  AfterFragmentNumber?: string;
  StartTimestamp?: number;
  ContinuationToken?: string;
}

/** Where reading starts: a fragment to send first, or "after this number" (undefined: the next to arrive). */
type Start = { first: FragmentMeta } | { after: string | undefined };

export function startOf(stream: VideoStream, sel: Selector): Start {
  const log = stream.fragments;
  const need = (v: unknown, name: string) => {
    if (v === undefined) throw videoErrors.invalidArgument(`StartSelectorType ${sel.StartSelectorType} requires ${name}.`);
  };
  switch (sel.StartSelectorType) {
    case 'EARLIEST': {
      const first = log.next(undefined);
      return first ? { first } : { after: undefined };
    }
    case 'NOW':
      return { after: log.list().at(-1)?.FragmentNumber };
    case 'FRAGMENT_NUMBER':
    case 'CONTINUATION_TOKEN': {
      const n = sel.StartSelectorType === 'FRAGMENT_NUMBER' ? sel.AfterFragmentNumber : sel.ContinuationToken;
      need(n, sel.StartSelectorType === 'FRAGMENT_NUMBER' ? 'AfterFragmentNumber' : 'ContinuationToken');
      if (parseFragmentNumber(n!) === undefined) throw videoErrors.invalidArgument(`${n} is not a fragment number of this stream.`);
      return { after: n };
    }
    default: {
      need(sel.StartTimestamp, 'StartTimestamp');
      const first = fragmentAt(log.list(), sel.StartSelectorType as 'SERVER_TIMESTAMP' | 'PRODUCER_TIMESTAMP', sel.StartTimestamp!);
      return first ? { first } : { after: log.list().at(-1)?.FragmentNumber };
    }
  }
}

export function getMediaAction(registry: VideoRegistry): RestAction {
  const calls = new CallRate(registry.now);
  return {
    name: 'GetMedia',
    shape,
    handle: ({ input }): RestStream => {
      const stream = registry.resolve(input);
      if (!calls.admit(stream.arn, limits.getMediaCallsPerSecondMax)) throw videoErrors.clientLimit(clientLimitMessage);
      const start = startOf(stream, input.StartSelector as Selector);
      const stop = new AbortController();
      const onDeleted = () => stop.abort();
      stream.deleted.signal.addEventListener('abort', onDeleted, { once: true });
      return {
        contentType: 'video/webm',
        body: tail(stream, start, stop.signal, registry.metrics, (n, err) => registry.o.log.error('GetMedia could not read a fragment', { stream: stream.name, fragment: n, err: String(err) })),
        cancel: () => {
          stream.deleted.signal.removeEventListener('abort', onDeleted);
          stop.abort();
        },
      };
    },
  };
}

/** The chunks from `start` on, then each new fragment as it becomes durable; paced to 25 MB/s. */
async function* tail(stream: VideoStream, start: Start, signal: AbortSignal, metrics: VideoMetrics, readFailed: (fragment: string, err: unknown) => void): AsyncGenerator<Uint8Array> {
  const labels = Object.freeze({ stream: stream.name }); // Frozen: the metrics find its key by identity.
  let meta: FragmentMeta | undefined = 'first' in start ? start.first : stream.fragments.next(start.after);
  let last = 'first' in start ? undefined : start.after;
  const began = Date.now();
  let sent = 0;
  while (!signal.aborted) {
    meta ??= await stream.fragments.waitForNext(last, signal);
    if (!meta) return;
    let media: Awaited<ReturnType<VideoStream['fragments']['read']>>;
    try {
      media = await stream.fragments.read(meta.FragmentNumber);
    } catch (err) {
      // A fragment the store cannot give back (a damaged disk): AWS's error tags end the answer, as its GetMedia does.
      readFailed(meta.FragmentNumber, err);
      yield errorChunk([
        { name: 'AWS_KINESISVIDEO_FRAGMENT_NUMBER', value: meta.FragmentNumber },
        { name: 'AWS_KINESISVIDEO_ERROR_CODE', value: 'Internal error' },
        { name: 'AWS_KINESISVIDEO_ERROR_ID', value: '5000' },
      ]);
      return;
    }
    last = meta.FragmentNumber;
    if (media) {
      // How far this fragment is behind the newest one stored (0 when it is the newest).
      const newest = stream.fragments.list().at(-1);
      const behindMs = newest ? newest.ServerTimestamp - meta.ServerTimestamp : 0;
      const chunk = getMediaChunk(media, behindMs);
      yield chunk;
      metrics.getMediaOutgoingBytes.inc(labels, chunk.length);
      metrics.getMediaOutgoingFragments.inc(labels);
      metrics.getMediaMillisBehindNow.set(labels, Math.max(0, behindMs));
      sent += chunk.length;
      const ahead = (sent / limits.getMediaBytesPerSecondMax) * 1000 - (Date.now() - began);
      if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
    }
    meta = stream.fragments.next(last);
  }
}
