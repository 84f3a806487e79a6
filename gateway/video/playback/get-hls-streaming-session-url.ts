/**
 * GetHLSStreamingSessionURL (POST /getHLSStreamingSessionURL): checks the
 * selection, that the stream has playable fragments for it, and answers the
 * master playlist URL with a signed SessionToken (see session-token.ts).
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
    HLSFragmentSelector: s.fragmentSelector,
    ContainerFormat: { type: 'string', enum: ['FRAGMENTED_MP4', 'MPEG_TS'] },
    DiscontinuityMode: { type: 'string', enum: ['ALWAYS', 'NEVER', 'ON_DISCONTINUITY'] },
    DisplayFragmentTimestamp: { type: 'string', enum: ['ALWAYS', 'NEVER'] },
    Expires: s.expires,
    MaxMediaPlaylistFragmentResults: s.playlistMax,
  },
};

interface Input {
  StreamName?: string;
  StreamARN?: string;
  PlaybackMode?: 'LIVE' | 'LIVE_REPLAY' | 'ON_DEMAND';
  HLSFragmentSelector?: SessionRequest['FragmentSelector'];
  ContainerFormat?: 'FRAGMENTED_MP4' | 'MPEG_TS';
  DiscontinuityMode?: 'ALWAYS' | 'NEVER' | 'ON_DISCONTINUITY';
  DisplayFragmentTimestamp?: 'ALWAYS' | 'NEVER';
  Expires?: number;
  MaxMediaPlaylistFragmentResults?: number;
}

export async function handle(ctx: PlaybackContext, raw: Record<string, unknown>, caller: PlaybackCaller): Promise<{ HLSStreamingSessionURL: string }> {
  const input = raw as Input;
  const now = ctx.now();
  const stream = ctx.streams.resolve(input);
  const selection = checkSelection(
    { ...input, FragmentSelector: input.HLSFragmentSelector, FragmentsMax: input.MaxMediaPlaylistFragmentResults },
    now, 'MaxMediaPlaylistFragmentResults', 'HLSFragmentSelector',
  );
  const expiresSeconds = checkExpires(input.Expires);
  await checkPlayable(ctx, stream, selection, now);
  const token = issueToken(ctx, {
    kind: 'hls', streamName: stream.name, streamArn: stream.arn, principal: caller.accessKeyId, ...selection,
    container: input.ContainerFormat ?? 'FRAGMENTED_MP4',
    // The API reference: ALWAYS by default for SERVER_TIMESTAMP, NEVER for PRODUCER_TIMESTAMP.
    discontinuity: input.DiscontinuityMode ?? (selection.selector === 'SERVER_TIMESTAMP' ? 'ALWAYS' : 'NEVER'),
    displayTimestamp: input.DisplayFragmentTimestamp ?? 'NEVER',
  }, expiresSeconds);
  return { HLSStreamingSessionURL: `${baseUrlOf(ctx, caller)}/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken=${token}` };
}
