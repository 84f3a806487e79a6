/**
 * HLS playlists (RFC 8216) for a streaming session: the master playlist names
 * one media playlist (the video track); the media playlist lists the
 * session's fragments with their durations and, as the session asks,
 * discontinuity markers and program date-times. URIs are relative to the
 * playlist (AWS's form: `getMP4MediaFragment.mp4?FragmentNumber=...&SessionToken=...&TrackNumber=1`),
 * so they work behind any host name. Pure: values in, text out.
 */
import { discontinuityBetween, timestampOf } from './selection.ts';
import type { FragmentMeta, SelectorType } from './source.ts';

export interface MasterPlaylistInput {
  token: string;
  codecString: string;
  width: number;
  height: number;
  /** Peak bits per second of the listed fragments. */
  bandwidth: number;
}

export function masterPlaylist(m: MasterPlaylistInput): string {
  const resolution = m.width && m.height ? `,RESOLUTION=${m.width}x${m.height}` : '';
  return [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    `#EXT-X-STREAM-INF:BANDWIDTH=${Math.max(1, Math.round(m.bandwidth))},CODECS="${m.codecString}"${resolution}`,
    `getHLSMediaPlaylist.m3u8?SessionToken=${m.token}&TrackNumber=1`,
    '',
  ].join('\n');
}

export interface MediaPlaylistInput {
  token: string;
  container: 'FRAGMENTED_MP4' | 'MPEG_TS';
  fragments: readonly FragmentMeta[];
  /** The fragment before the first listed one, to decide its discontinuity. */
  before?: FragmentMeta;
  /** EXT-X-MEDIA-SEQUENCE: the session position of the first fragment. */
  mediaSequence: number;
  /** EXT-X-DISCONTINUITY-SEQUENCE: discontinuities before the first fragment. */
  discontinuitySequence: number;
  discontinuity: 'ALWAYS' | 'NEVER' | 'ON_DISCONTINUITY';
  displayTimestamp: 'ALWAYS' | 'NEVER';
  selector: SelectorType;
  /** ON_DEMAND, and LIVE_REPLAY past its end: the playlist will not grow (EXT-X-ENDLIST). */
  complete: boolean;
  vod: boolean;
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

export function mediaPlaylist(p: MediaPlaylistInput): string {
  const longest = p.fragments.reduce((n, f) => Math.max(n, f.FragmentLengthInMilliseconds), 1000);
  const lines = [
    '#EXTM3U',
    // Version 7 for fMP4 segments with EXT-X-MAP (RFC 8216 section 7); 3 suffices for TS.
    `#EXT-X-VERSION:${p.container === 'FRAGMENTED_MP4' ? 7 : 3}`,
    `#EXT-X-TARGETDURATION:${Math.ceil(longest / 1000)}`,
    `#EXT-X-MEDIA-SEQUENCE:${p.mediaSequence}`,
  ];
  if (p.discontinuity !== 'NEVER') lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${p.discontinuitySequence}`);
  if (p.vod) lines.push('#EXT-X-PLAYLIST-TYPE:VOD');
  if (p.container === 'FRAGMENTED_MP4') lines.push(`#EXT-X-MAP:URI="getMP4InitFragment.mp4?SessionToken=${p.token}&TrackNumber=1"`);
  let prev = p.before;
  for (const f of p.fragments) {
    if (discontinuityBetween(prev, f, p.discontinuity, p.selector)) lines.push('#EXT-X-DISCONTINUITY');
    if (p.displayTimestamp === 'ALWAYS') lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(timestampOf(f, p.selector)).toISOString()}`);
    lines.push(`#EXTINF:${seconds(f.FragmentLengthInMilliseconds)},`);
    lines.push(p.container === 'FRAGMENTED_MP4'
      ? `getMP4MediaFragment.mp4?FragmentNumber=${f.FragmentNumber}&SessionToken=${p.token}&TrackNumber=1`
      : `getTSFragment.ts?FragmentNumber=${f.FragmentNumber}&SessionToken=${p.token}`);
    prev = f;
  }
  if (p.complete) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}

/** Discontinuities before position `first` of `all` (EXT-X-DISCONTINUITY-SEQUENCE of a sliding window). */
export function discontinuitiesBefore(all: readonly FragmentMeta[], first: number, mode: 'ALWAYS' | 'NEVER' | 'ON_DISCONTINUITY', selector: SelectorType): number {
  if (mode === 'NEVER') return 0;
  if (mode === 'ALWAYS') return Math.max(0, first);
  let n = 0;
  for (let i = 1; i <= first && i < all.length; i++) if (discontinuityBetween(all[i - 1], all[i]!, mode, selector)) n++;
  return n;
}
