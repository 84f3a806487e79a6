/**
 * GetDASHStreamingSessionURL (POST /getDASHStreamingSessionURL): as the HLS
 * variant, answering the MPD URL. DASH sessions are always fragmented MP4.
 */
import type { StructureShape } from '../../http/validate.ts';
import { baseUrlOf, type PlaybackCaller, type PlaybackContext } from './context.ts';
import { checkExpires, checkPlayable, checkSelection, issueToken, type SessionRequest } from './session-request.ts';
import * as s from './shapes.ts';

export const shape: StructureShape = {
  type: 'structure',
  members: {
    StreamName: s.streamName,
    StreamARN: s.streamArn,
    PlaybackMode: { type: 'string', enum: s.playbackMode },
    DisplayFragmentTimestamp: { type: 'string', enum: ['ALWAYS', 'NEVER'] },
    DisplayFragmentNumber: { type: 'string', enum: ['ALWAYS', 'NEVER'] },
    DASHFragmentSelector: s.fragmentSelector,
    Expires: s.expires,
    MaxManifestFragmentResults: s.playlistMax,
  },
};

interface Input {
  StreamName?: string;
  StreamARN?: string;
  PlaybackMode?: 'LIVE' | 'LIVE_REPLAY' | 'ON_DEMAND';
  DisplayFragmentTimestamp?: 'ALWAYS' | 'NEVER';
  DisplayFragmentNumber?: 'ALWAYS' | 'NEVER';
  DASHFragmentSelector?: SessionRequest['FragmentSelector'];
  Expires?: number;
  MaxManifestFragmentResults?: number;
}

export async function handle(ctx: PlaybackContext, raw: Record<string, unknown>, caller: PlaybackCaller): Promise<{ DASHStreamingSessionURL: string }> {
  const input = raw as Input;
  const now = ctx.now();
  const stream = ctx.streams.resolve(input);
  const selection = checkSelection(
    { ...input, FragmentSelector: input.DASHFragmentSelector, FragmentsMax: input.MaxManifestFragmentResults },
    now, 'MaxManifestFragmentResults', 'DASHFragmentSelector',
  );
  const expiresSeconds = checkExpires(input.Expires);
  await checkPlayable(ctx, stream, selection, now);
  const token = issueToken(ctx, {
    kind: 'dash', streamName: stream.name, streamArn: stream.arn, principal: caller.accessKeyId, ...selection,
    container: 'FRAGMENTED_MP4', discontinuity: 'NEVER',
    displayTimestamp: input.DisplayFragmentTimestamp ?? 'NEVER',
    displayNumber: input.DisplayFragmentNumber ?? 'NEVER',
  }, expiresSeconds);
  return { DASHStreamingSessionURL: `${baseUrlOf(ctx, caller)}/dash/v1/getDASHManifest.mpd?SessionToken=${token}` };
}
