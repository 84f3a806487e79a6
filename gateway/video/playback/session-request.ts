/**
 * The part GetHLSStreamingSessionURL and GetDASHStreamingSessionURL share:
 * semantic checks of the selection, defaults as the API reference gives
 * them, the check that the stream has playable fragments for it (AWS answers
 * ResourceNotFoundException otherwise), and the signed session token.
 */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import { parseStreamHeader } from '../packaging/mkv-samples.ts';
import type { PlaybackContext } from './context.ts';
import * as limits from './limits.ts';
import { selectFragments } from './selection.ts';
import { newSessionId, signSession, type PlaybackSession } from './session-token.ts';
import type { PlaybackStream, SelectorType } from './source.ts';

export interface SessionRequest {
  StreamName?: string;
  StreamARN?: string;
  PlaybackMode?: PlaybackSession['mode'];
  FragmentSelector?: { FragmentSelectorType?: SelectorType; TimestampRange?: { StartTimestamp?: number; EndTimestamp?: number } };
  Expires?: number;
  FragmentsMax?: number;
}

const invalid = (message: string) => new AwsError('InvalidArgumentException', message);

/** The selection a request asks for, checked; AWS's InvalidArgumentException for contradictions. */
export function checkSelection(r: SessionRequest, nowMs: number, fragmentsField: string, selectorField: string): Pick<PlaybackSession, 'mode' | 'selector' | 'startMs' | 'endMs' | 'fragmentsMax'> {
  const mode = r.PlaybackMode ?? 'LIVE';
  const selector = r.FragmentSelector?.FragmentSelectorType ?? 'SERVER_TIMESTAMP';
  const range = r.FragmentSelector?.TimestampRange;
  if (mode === 'LIVE' && range) throw invalid(`${selectorField}.TimestampRange must not be set when PlaybackMode is LIVE.`);
  if (mode !== 'LIVE') {
    if (!range) throw invalid(`${selectorField} with a TimestampRange is required when PlaybackMode is ${mode}.`);
    if (range.StartTimestamp === undefined) throw invalid('StartTimestamp is required when a TimestampRange is given.');
    if (mode === 'ON_DEMAND' && range.EndTimestamp === undefined) throw invalid('EndTimestamp is required when PlaybackMode is ON_DEMAND.');
    if (range.EndTimestamp !== undefined) {
      if (range.EndTimestamp <= range.StartTimestamp) throw invalid('EndTimestamp must be later than StartTimestamp.');
      if (range.EndTimestamp - range.StartTimestamp > limits.timestampRangeMsMax) throw invalid('EndTimestamp must be within 24 hours of StartTimestamp.');
      if (selector === 'SERVER_TIMESTAMP' && range.EndTimestamp > nowMs) throw invalid('EndTimestamp must be in the past when FragmentSelectorType is SERVER_TIMESTAMP.');
    }
  }
  const fragmentsMax = r.FragmentsMax ?? (mode === 'ON_DEMAND' ? limits.playlistFragmentsOnDemandDefault : limits.playlistFragmentsLiveDefault);
  if (fragmentsMax < 1 || fragmentsMax > limits.playlistFragmentsMax) throw invalid(`${fragmentsField} must be between 1 and ${limits.playlistFragmentsMax}.`);
  return {
    mode, selector, fragmentsMax,
    ...(range?.StartTimestamp !== undefined ? { startMs: range.StartTimestamp } : {}),
    ...(range?.EndTimestamp !== undefined ? { endMs: range.EndTimestamp } : {}),
  };
}

/** Expires in seconds, defaulted and bounded. */
export function checkExpires(expires: number | undefined): number {
  const s = expires ?? limits.sessionExpiresSecondsDefault;
  if (!Number.isInteger(s) || s < limits.sessionExpiresSecondsMin || s > limits.sessionExpiresSecondsMax) {
    throw invalid(`Expires must be between ${limits.sessionExpiresSecondsMin} and ${limits.sessionExpiresSecondsMax} seconds.`);
  }
  return s;
}

/** The stream, checked for retention and for fragments the session would play; their codec must be playable. */
export async function checkPlayable(ctx: PlaybackContext, stream: PlaybackStream, selection: Pick<PlaybackSession, 'mode' | 'selector' | 'startMs' | 'endMs' | 'fragmentsMax'>, nowMs: number): Promise<void> {
  if (stream.dataRetentionInHours === 0) throw new AwsError('NoDataRetentionException', `Stream ${stream.name} does not retain data (DataRetentionInHours is 0); playback needs retained fragments.`);
  let first;
  if (selection.mode === 'LIVE') {
    const newest = stream.fragments.list().at(-1);
    if (!newest || newest.ServerTimestamp < nowMs - limits.liveWindowMs) {
      throw new AwsError('ResourceNotFoundException', `No fragments found in stream ${stream.name} within the last ${limits.liveWindowMs / 1000} seconds.`, 404);
    }
    first = newest;
  } else {
    first = selectFragments(stream.fragments, { ...selection, createdMs: Number.NEGATIVE_INFINITY }, nowMs).fragments[0];
    if (!first) throw new AwsError('ResourceNotFoundException', `No fragments found in stream ${stream.name} for the requested time range.`, 404);
  }
  const media = await stream.fragments.read(first.FragmentNumber);
  if (!media) throw new AwsError('ResourceNotFoundException', `No fragments found in stream ${stream.name} for the requested time range.`, 404);
  parseStreamHeader(media.header);
}

/** Signs a session for `stream`; returns its token. */
export function issueToken(ctx: PlaybackContext, session: Omit<PlaybackSession, 'id' | 'createdMs' | 'expiresMs'>, expiresSeconds: number): string {
  const createdMs = ctx.now();
  return signSession(ctx.sessionKey, { ...session, createdMs, expiresMs: createdMs + expiresSeconds * 1000, id: newSessionId() });
}
