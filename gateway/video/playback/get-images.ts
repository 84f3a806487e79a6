/**
 * GetImages (POST /getImages): one image per sampling instant of the range,
 * decoded by ffmpeg (images are the one thing playback cannot do without a
 * decoder), in pages of at most 25. Each instant takes the first frame shown
 * at or after it, from the fragment that covers it; an instant no fragment
 * covers gets Error NO_MEDIA, one whose frame could not be made MEDIA_ERROR.
 * One ffmpeg process per fragment makes all of that fragment's images.
 */
import { createHash } from 'node:crypto';
import { AwsError } from '../../../sdk/protocol/errors.ts';
import type { StructureShape } from '../../http/validate.ts';
import { msToTicks } from '../packaging/samples.ts';
import type { PlaybackContext } from './context.ts';
import { extractImages } from './image-extract.ts';
import * as limits from './limits.ts';
import { rangeOf, timestampOf } from './selection.ts';
import * as s from './shapes.ts';
import type { FragmentMeta, PlaybackStream, SelectorType } from './source.ts';

export const shape: StructureShape = {
  type: 'structure',
  members: {
    StreamName: s.streamName,
    StreamARN: s.streamArn,
    ImageSelectorType: { type: 'string', required: true, enum: s.selectorType },
    StartTimestamp: { type: 'timestamp', required: true },
    EndTimestamp: { type: 'timestamp', required: true },
    SamplingInterval: { type: 'integer' },
    Format: { type: 'string', required: true, enum: ['JPEG', 'PNG'] },
    FormatConfig: { type: 'map', min: 1, max: 1, key: { type: 'string', enum: ['JPEGQuality'] }, value: { type: 'string', min: 0, max: 256, pattern: '^[a-zA-Z_0-9]+' } },
    WidthPixels: { type: 'integer', min: 1, max: limits.imageWidthPixelsMax },
    HeightPixels: { type: 'integer', min: 1, max: limits.imageHeightPixelsMax },
    MaxResults: { type: 'long', min: 1, max: limits.imagesMaxResultsMax },
    NextToken: { type: 'string', min: 1, max: 4096, pattern: '[a-zA-Z0-9+/]+={0,2}' },
  },
};

interface Input {
  StreamName?: string;
  StreamARN?: string;
  ImageSelectorType: SelectorType;
  StartTimestamp: number;
  EndTimestamp: number;
  SamplingInterval?: number;
  Format: 'JPEG' | 'PNG';
  FormatConfig?: Record<string, string>;
  WidthPixels?: number;
  HeightPixels?: number;
  MaxResults?: number;
  NextToken?: string;
}

export interface Image {
  TimeStamp: Date;
  Error?: 'NO_MEDIA' | 'MEDIA_ERROR';
  ImageContent?: string;
}

/** Undocumented by AWS since SamplingInterval became optional: without it, one image a second. */
export const samplingIntervalMsDefault = 1000;

const invalid = (message: string) => new AwsError('InvalidArgumentException', message);

export async function handle(ctx: PlaybackContext, raw: Record<string, unknown>): Promise<{ Images: Image[]; NextToken?: string }> {
  const input = raw as unknown as Input;
  const interval = input.SamplingInterval ?? samplingIntervalMsDefault;
  const quality = checkArguments(input, interval);
  const stream = ctx.streams.resolve(input);
  if (stream.dataRetentionInHours === 0) throw new AwsError('NoDataRetentionException', `GetImages was requested for stream ${stream.name}, which does not retain data (DataRetentionInHours is 0).`);
  const all = instants(input.StartTimestamp, input.EndTimestamp, interval);
  const requestKey = createHash('sha256').update(JSON.stringify([stream.arn, input.ImageSelectorType, input.StartTimestamp, input.EndTimestamp, interval, input.Format, quality, input.WidthPixels, input.HeightPixels])).digest('base64').slice(0, 16);
  const from = input.NextToken ? pageStart(input.NextToken, requestKey) : 0;
  const pageSize = Math.min(input.MaxResults ?? limits.imagesPageMax, limits.imagesPageMax);
  const page = all.slice(from, from + pageSize);
  const images = await imagesFor(ctx, stream, input, page, quality);
  const next = from + page.length;
  return { Images: images, ...(next < all.length ? { NextToken: Buffer.from(JSON.stringify({ k: requestKey, i: next })).toString('base64') } : {}) };
}

/** Semantic checks; returns the JPEG quality (1-100). */
function checkArguments(input: Input, interval: number): number {
  if (input.EndTimestamp < input.StartTimestamp) throw invalid('EndTimestamp must not be earlier than StartTimestamp.');
  if (input.EndTimestamp - input.StartTimestamp > limits.imagesRangeMsMax) throw invalid(`The time range between StartTimestamp and EndTimestamp must be at most ${limits.imagesRangeMsMax / 1000} seconds.`);
  if (interval < limits.imagesSamplingIntervalMsMin) throw invalid(`SamplingInterval must be at least ${limits.imagesSamplingIntervalMsMin} milliseconds.`);
  const text = input.FormatConfig?.JPEGQuality;
  if (text === undefined) return limits.jpegQualityDefault;
  const q = Number(text);
  if (!/^\d+$/.test(text) || q < 1 || q > 100) throw invalid('FormatConfig JPEGQuality must be an integer from 1 to 100.');
  return q;
}

/** The sampling instants: the start, then every interval while before the end. */
export function instants(startMs: number, endMs: number, intervalMs: number): number[] {
  const out = [startMs];
  for (let t = startMs + intervalMs; t < endMs; t += intervalMs) out.push(t);
  return out;
}

function pageStart(token: string, requestKey: string): number {
  let parsed: { k?: unknown; i?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { k?: unknown; i?: unknown };
  } catch {
    throw invalid('NextToken is not valid.');
  }
  if (parsed.k !== requestKey || !Number.isInteger(parsed.i) || (parsed.i as number) < 0) throw invalid('NextToken does not belong to this request.');
  return parsed.i as number;
}

/** The fragment whose span covers `t` (the newest such), or undefined. */
function coveringFragment(fragments: readonly FragmentMeta[], t: number, selector: SelectorType): FragmentMeta | undefined {
  let found: FragmentMeta | undefined;
  for (const f of fragments) {
    const start = timestampOf(f, selector);
    if (start <= t && t < start + Math.max(1, f.FragmentLengthInMilliseconds)) found = f;
  }
  return found;
}

async function imagesFor(ctx: PlaybackContext, stream: PlaybackStream, input: Input, page: number[], quality: number): Promise<Image[]> {
  const images: Image[] = page.map((t) => ({ TimeStamp: new Date(t) }));
  if (!page.length) return images;
  // Fragments are at most 10 s long (PutMedia's limit): one that covers the first instant started at most 10 s before it.
  const candidates = rangeOf(stream.fragments, input.ImageSelectorType, page[0]! - 10_000, page[page.length - 1]!);
  const byFragment = new Map<FragmentMeta, number[]>();
  page.forEach((t, i) => {
    const f = coveringFragment(candidates, t, input.ImageSelectorType);
    if (!f) images[i]!.Error = 'NO_MEDIA';
    else byFragment.set(f, [...(byFragment.get(f) ?? []), i]);
  });
  for (const [f, indexes] of byFragment) {
    const results = await fragmentImages(ctx, stream, f, indexes.map((i) => page[i]!), input, quality);
    indexes.forEach((i, k) => {
      const content = results[k];
      if (content && content.length <= limits.imageContentCharsMax) images[i]!.ImageContent = content;
      else images[i]!.Error = 'MEDIA_ERROR';
    });
  }
  return images;
}

/** Base64 images of one fragment at the given instants (undefined where none could be made). */
async function fragmentImages(ctx: PlaybackContext, stream: PlaybackStream, f: FragmentMeta, times: number[], input: Input, quality: number): Promise<Array<string | undefined>> {
  try {
    const media = await stream.fragments.read(f.FragmentNumber);
    if (!media) return times.map(() => undefined);
    const { samples } = await ctx.packager.samples(stream, f, input.ImageSelectorType);
    // Frame numbers in presentation order, which is the order a decoder outputs them.
    const shown = samples.map((x) => x.dts + x.cto).sort((a, b) => a - b);
    const frameOf = (t: number) => {
      const i = shown.findIndex((p) => p >= msToTicks(t));
      return i < 0 ? shown.length - 1 : i;
    };
    const frames = times.map(frameOf);
    const decoded = await extractImages(ctx.ffmpeg(), Buffer.concat([media.header, media.cluster]), [...new Set(frames)], {
      format: input.Format, quality,
      ...(input.WidthPixels !== undefined ? { width: input.WidthPixels } : {}),
      ...(input.HeightPixels !== undefined ? { height: input.HeightPixels } : {}),
    });
    const unique = [...new Set(frames)].sort((a, b) => a - b);
    return frames.map((n) => decoded[unique.indexOf(n)]?.toString('base64'));
  } catch (err) {
    if (err instanceof AwsError) return times.map(() => undefined);
    if ((err as { code?: string }).code === 'FFMPEG_NOT_FOUND') throw err;
    return times.map(() => undefined);
  }
}
