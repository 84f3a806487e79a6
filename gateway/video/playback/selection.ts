/**
 * Which stored fragments a playback session (or a clip) contains, as the
 * archived-media API reference describes each PlaybackMode:
 *
 * - LIVE: the newest fragments by ingestion, up to the playlist maximum.
 * - LIVE_REPLAY: from the start timestamp on; a fragment joins the playlist
 *   once the durations of the ones before it have elapsed since the session
 *   began (so archived media replays at its own pace and then follows live).
 * - ON_DEMAND: the oldest fragments of the range, up to the maximum.
 *
 * With PRODUCER_TIMESTAMP, fragments that share a start timestamp are
 * deduplicated, keeping the newest (largest fragment number).
 */
import { discontinuityGapMsMax } from './limits.ts';
import type { FragmentIndex, FragmentMeta, SelectorType } from './source.ts';

export interface Selection {
  mode: 'LIVE' | 'LIVE_REPLAY' | 'ON_DEMAND';
  selector: SelectorType;
  startMs?: number;
  endMs?: number;
  fragmentsMax: number;
  createdMs: number;
}

export function timestampOf(f: FragmentMeta, selector: SelectorType): number {
  return selector === 'PRODUCER_TIMESTAMP' ? f.ProducerTimestamp : f.ServerTimestamp;
}

/** Keeps the newest fragment of each producer start timestamp, in the order given. */
export function dedupeProducer(fragments: readonly FragmentMeta[]): FragmentMeta[] {
  const newest = new Map<number, FragmentMeta>();
  for (const f of fragments) {
    const had = newest.get(f.ProducerTimestamp);
    if (!had || had.FragmentNumber < f.FragmentNumber) newest.set(f.ProducerTimestamp, f);
  }
  return fragments.filter((f) => newest.get(f.ProducerTimestamp) === f);
}

/** The fragments of a range, ordered by the selector's timestamp (ingestion order breaks ties). */
export function rangeOf(index: FragmentIndex, selector: SelectorType, startMs: number, endMs: number): FragmentMeta[] {
  let fragments = index.range(selector, startMs, endMs);
  if (selector === 'PRODUCER_TIMESTAMP') fragments = dedupeProducer(fragments).sort((a, b) => a.ProducerTimestamp - b.ProducerTimestamp);
  return fragments;
}

/** The fragments a session's playlist or manifest lists at `nowMs`, with the position of the first in the session. */
export function selectFragments(index: FragmentIndex, s: Selection, nowMs: number): { fragments: FragmentMeta[]; first: number; complete: boolean } {
  if (s.mode === 'LIVE') {
    const all = index.list();
    const recent = s.selector === 'PRODUCER_TIMESTAMP' ? dedupeProducer(all.slice(-2 * s.fragmentsMax)) : all.slice(-s.fragmentsMax);
    const fragments = recent.slice(-s.fragmentsMax);
    return { fragments, first: Math.max(0, all.length - fragments.length), complete: false };
  }
  const fragments = rangeOf(index, s.selector, s.startMs!, s.endMs ?? Number.MAX_SAFE_INTEGER);
  if (s.mode === 'ON_DEMAND') return { fragments: fragments.slice(0, s.fragmentsMax), first: 0, complete: true };
  // LIVE_REPLAY: fragment k is available once fragments 0..k-1 have played.
  let available = 0;
  let elapsed = 0;
  while (available < fragments.length && elapsed <= nowMs - s.createdMs) elapsed += fragments[available++]!.FragmentLengthInMilliseconds;
  const first = Math.max(0, available - s.fragmentsMax);
  const complete = s.endMs !== undefined && available === fragments.length && (fragments.length > 0 || nowMs > s.endMs);
  return { fragments: fragments.slice(first, available), first, complete };
}

/** Whether a fragment may be served in a session: LIVE sessions play any fragment of the stream, the others only their range. */
export function fragmentInSession(f: FragmentMeta, s: Selection): boolean {
  if (s.mode === 'LIVE') return true;
  const t = timestampOf(f, s.selector);
  return t >= s.startMs! && t <= (s.endMs ?? Number.MAX_SAFE_INTEGER);
}

/** Whether a discontinuity marker goes before `next` (given the fragment before it) under a DiscontinuityMode. */
export function discontinuityBetween(prev: FragmentMeta | undefined, next: FragmentMeta, mode: 'ALWAYS' | 'NEVER' | 'ON_DISCONTINUITY', selector: SelectorType): boolean {
  if (!prev || mode === 'NEVER') return false;
  if (mode === 'ALWAYS') return true;
  const gap = timestampOf(next, selector) - (timestampOf(prev, selector) + prev.FragmentLengthInMilliseconds);
  return Math.abs(gap) > discontinuityGapMsMax;
}
