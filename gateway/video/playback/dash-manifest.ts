/**
 * MPEG-DASH manifests (ISO/IEC 23009-1) for a streaming session: one Period,
 * one video AdaptationSet, and a SegmentList whose SegmentTimeline gives each
 * fragment's start and duration (90 kHz) and whose SegmentURLs name the
 * fragments, as getMP4MediaFragment.mp4 URLs relative to the manifest. LIVE
 * and LIVE_REPLAY sessions are `dynamic` manifests the player reloads;
 * ON_DEMAND is `static`. With DisplayFragmentTimestamp / DisplayFragmentNumber
 * ALWAYS, each S element carries AWS's `kvs:ts` / `kvs:fn` attributes.
 */
import { mediaTimescale, msToTicks } from '../packaging/samples.ts';
import { timestampOf } from './selection.ts';
import type { FragmentMeta, SelectorType } from './source.ts';

export interface ManifestInput {
  token: string;
  codecString: string;
  width: number;
  height: number;
  bandwidth: number;
  fragments: readonly FragmentMeta[];
  selector: SelectorType;
  dynamic: boolean;
  displayTimestamp: 'ALWAYS' | 'NEVER';
  displayNumber: 'ALWAYS' | 'NEVER';
  /** When the session began (dynamic manifests: availabilityStartTime), epoch ms. */
  availabilityStartMs: number;
  publishMs: number;
}

const xmlAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
const isoDuration = (ms: number) => `PT${(ms / 1000).toFixed(3)}S`;

export function dashManifest(m: ManifestInput): string {
  const total = m.fragments.reduce((n, f) => n + f.FragmentLengthInMilliseconds, 0);
  const first = m.fragments[0] ? msToTicks(timestampOf(m.fragments[0], m.selector)) : 0;
  const timing = m.dynamic
    ? `type="dynamic" availabilityStartTime="${new Date(m.availabilityStartMs).toISOString()}" publishTime="${new Date(m.publishMs).toISOString()}" minimumUpdatePeriod="PT1S" timeShiftBufferDepth="${isoDuration(Math.max(total, 1000))}" suggestedPresentationDelay="PT3S"`
    : `type="static" mediaPresentationDuration="${isoDuration(total)}"`;
  const tokenQuery = `SessionToken=${m.token}&TrackNumber=1`;
  const timeline: string[] = [];
  const urls: string[] = [];
  for (const f of m.fragments) {
    const extra = (m.displayTimestamp === 'ALWAYS' ? ` kvs:ts="${timestampOf(f, m.selector)}"` : '') + (m.displayNumber === 'ALWAYS' ? ` kvs:fn="${f.FragmentNumber}"` : '');
    timeline.push(`          <S t="${msToTicks(timestampOf(f, m.selector))}" d="${msToTicks(f.FragmentLengthInMilliseconds)}"${extra}/>`);
    urls.push(`        <SegmentURL media="${xmlAttr(`getMP4MediaFragment.mp4?FragmentNumber=${f.FragmentNumber}&${tokenQuery}`)}"/>`);
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:kvs="https://kinesisvideo.amazonaws.com/dash" profiles="urn:mpeg:dash:profile:isoff-live:2011" minBufferTime="PT2S" ${timing}>`,
    `  <Period id="0" start="PT0S">`,
    `    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">`,
    `      <Representation id="1" codecs="${m.codecString}" width="${m.width}" height="${m.height}" bandwidth="${Math.max(1, Math.round(m.bandwidth))}">`,
    `      <SegmentList timescale="${mediaTimescale}" presentationTimeOffset="${first}">`,
    `        <Initialization sourceURL="${xmlAttr(`getMP4InitFragment.mp4?${tokenQuery}`)}"/>`,
    '        <SegmentTimeline>',
    ...timeline,
    '        </SegmentTimeline>',
    ...urls,
    '      </SegmentList>',
    '      </Representation>',
    '    </AdaptationSet>',
    '  </Period>',
    '</MPD>',
    '',
  ].join('\n');
}
