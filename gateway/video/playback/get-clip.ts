/**
 * GetClip (POST /getClip): one playable MP4 of the fragments whose start
 * timestamps lie in the range, remuxed in process (never re-encoded), as
 * AWS: the first 100 MB or the first 200 fragments from the start. Fragments
 * are placed at their own timestamps; one that would start before the
 * previous one ended (server timestamps can overlap) follows it instead, so
 * the clip's timeline only moves forward.
 */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import type { StructureShape } from '../../http/validate.ts';
import { mp4File } from '../packaging/mp4-file.ts';
import type { Sample, VideoTrack } from '../packaging/samples.ts';
import type { PlaybackContext } from './context.ts';
import * as limits from './limits.ts';
import { rangeOf } from './selection.ts';
import * as s from './shapes.ts';
import type { FragmentMeta, PlaybackStream, SelectorType } from './source.ts';

export const shape: StructureShape = {
  type: 'structure',
  members: {
    StreamName: s.streamName,
    StreamARN: s.streamArn,
    ClipFragmentSelector: {
      type: 'structure',
      required: true,
      members: {
        FragmentSelectorType: { type: 'string', required: true, enum: s.selectorType },
        TimestampRange: { type: 'structure', required: true, members: { StartTimestamp: { type: 'timestamp', required: true }, EndTimestamp: { type: 'timestamp', required: true } } },
      },
    },
  },
};

interface Input {
  StreamName?: string;
  StreamARN?: string;
  ClipFragmentSelector: { FragmentSelectorType: SelectorType; TimestampRange: { StartTimestamp: number; EndTimestamp: number } };
}

/** GetClip's answer: the Content-Type header and the MP4 as parts to write in order. */
export interface ClipOutput {
  ContentType: string;
  Payload: Buffer[];
}

const invalid = (message: string) => new AwsError('InvalidArgumentException', message);

export async function handle(ctx: PlaybackContext, raw: Record<string, unknown>): Promise<ClipOutput> {
  const input = raw as unknown as Input;
  const { FragmentSelectorType: selector, TimestampRange: range } = input.ClipFragmentSelector;
  if (range.EndTimestamp <= range.StartTimestamp) throw invalid('EndTimestamp must be later than StartTimestamp.');
  if (range.EndTimestamp - range.StartTimestamp > limits.timestampRangeMsMax) throw invalid('EndTimestamp must be within 24 hours of StartTimestamp.');
  if (selector === 'SERVER_TIMESTAMP' && range.EndTimestamp > ctx.now()) throw invalid('EndTimestamp must be in the past when FragmentSelectorType is SERVER_TIMESTAMP.');
  const stream = ctx.streams.resolve(input);
  if (stream.dataRetentionInHours === 0) throw new AwsError('NoDataRetentionException', `Stream ${stream.name} does not retain data (DataRetentionInHours is 0); GetClip needs retained fragments.`);
  const fragments = clipFragments(rangeOf(stream.fragments, selector, range.StartTimestamp, range.EndTimestamp));
  if (!fragments.length) throw new AwsError('ResourceNotFoundException', `No fragments found in stream ${stream.name} for the requested time range.`, 404);
  const { track, samples } = await clipSamples(ctx, stream, fragments, selector);
  const Payload = mp4File(track, samples);
  ctx.sent?.('GetClip', stream.name, Payload.reduce((n, b) => n + b.length, 0));
  return { ContentType: 'video/mp4', Payload };
}

/** The first 200 fragments, and no more than 100 MB of them (at least one). */
export function clipFragments(fragments: readonly FragmentMeta[]): FragmentMeta[] {
  const out: FragmentMeta[] = [];
  let bytes = 0;
  for (const f of fragments.slice(0, limits.clipFragmentsMax)) {
    if (out.length && bytes + f.FragmentSizeInBytes > limits.clipBytesMax) break;
    bytes += f.FragmentSizeInBytes;
    out.push(f);
  }
  return out;
}

/** Every fragment's samples on one forward-moving timeline; the track of the first fragment. */
export async function clipSamples(ctx: PlaybackContext, stream: PlaybackStream, fragments: readonly FragmentMeta[], selector: SelectorType): Promise<{ track: VideoTrack; samples: Sample[] }> {
  const packaged = await Promise.all(fragments.map((f) => ctx.packager.samples(stream, f, selector)));
  const track = packaged[0]!.header.track;
  const samples: Sample[] = [];
  let end = Number.NEGATIVE_INFINITY;
  for (const { header, samples: part } of packaged) {
    if (header.track.codec !== track.codec || !header.track.config.equals(track.config)) {
      throw new AwsError('InvalidCodecPrivateDataException', 'The codec private data changes within the requested range; request the parts separately.');
    }
    const shift = part[0]!.dts < end ? end - part[0]!.dts : 0;
    for (const sample of part) samples.push(shift ? { ...sample, dts: sample.dts + shift } : sample);
    const last = samples[samples.length - 1]!;
    end = last.dts + last.duration;
  }
  return { track, samples };
}
