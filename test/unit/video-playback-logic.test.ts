/**
 * Proves the pure parts of playback on constructed fragment lists: session
 * tokens (round trip, tampering, expiry), fragment selection per
 * PlaybackMode (LIVE's newest N, ON_DEMAND's oldest N, LIVE_REPLAY's pacing,
 * producer-timestamp deduplication), discontinuity rules and sequences,
 * GetClip's 200-fragment / 100 MB cut, and GetImages' sampling instants.
 */
import { describe, expect, it } from 'vitest';
import { clipFragments } from '../../gateway/video/playback/get-clip.ts';
import { instants } from '../../gateway/video/playback/get-images.ts';
import { discontinuitiesBefore, mediaPlaylist } from '../../gateway/video/playback/hls-playlists.ts';
import { mjpegQscale, splitJpegs, splitPngs } from '../../gateway/video/playback/image-extract.ts';
import { dedupeProducer, discontinuityBetween, selectFragments } from '../../gateway/video/playback/selection.ts';
import { SessionVerifier, signSession, verifySession, type PlaybackSession } from '../../gateway/video/playback/session-token.ts';
import type { FragmentIndex, FragmentMeta, SelectorType } from '../../gateway/video/playback/source.ts';

const key = Buffer.alloc(32, 7);
const session: PlaybackSession = {
  kind: 'hls', streamName: 'cam-1', streamArn: 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/cam-1/1767000000000', principal: 'AKID1',
  mode: 'ON_DEMAND', selector: 'PRODUCER_TIMESTAMP', startMs: 1000, endMs: 9000, container: 'MPEG_TS', discontinuity: 'ON_DISCONTINUITY',
  displayTimestamp: 'ALWAYS', fragmentsMax: 10, createdMs: 5000, expiresMs: 305_000, id: 'abcdefgh',
};

function frag(i: number, producerMs: number, lengthMs = 2000, serverMs = producerMs + 100): FragmentMeta {
  return { FragmentNumber: String(i).padStart(20, '0'), ProducerTimestamp: producerMs, ServerTimestamp: serverMs, FragmentLengthInMilliseconds: lengthMs, FragmentSizeInBytes: 1000 };
}

function index(metas: FragmentMeta[]): FragmentIndex {
  const ts = (f: FragmentMeta, k: SelectorType) => (k === 'PRODUCER_TIMESTAMP' ? f.ProducerTimestamp : f.ServerTimestamp);
  return { list: () => metas, find: (n) => metas.find((f) => f.FragmentNumber === n), range: (k, a, b) => metas.filter((f) => ts(f, k) >= a && ts(f, k) <= b), read: async () => undefined };
}

describe('session tokens', () => {
  it('round-trip every field, fail on any changed byte, expire at expiresMs', () => {
    const token = signSession(key, session);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(verifySession(key, token, 304_999)).toEqual({ ok: true, session });
    expect(verifySession(key, token, 305_000)).toMatchObject({ ok: false, reason: 'expired' });
    expect(verifySession(Buffer.alloc(32, 8), token, 0)).toMatchObject({ ok: false, reason: 'signature' });
    for (let i = 0; i < token.length; i += 7) {
      const c = token[i] === 'A' ? 'B' : 'A';
      expect(verifySession(key, token.slice(0, i) + c + token.slice(i + 1), 0).ok).toBe(false);
    }
    expect(verifySession(key, 'garbage', 0)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('a SessionVerifier answers as verifySession does, expiry included, once a token is remembered (issue #12)', () => {
    const verifier = new SessionVerifier(key, 2);
    const token = signSession(key, session);
    const others = [signSession(key, { ...session, id: 'other1' }), signSession(key, { ...session, id: 'other2' })];
    const tampered = token.slice(0, -2) + (token.at(-2) === 'A' ? 'BB' : 'AA');
    for (let round = 0; round < 2; round++) {
      for (const t of [token, ...others, tampered, 'garbage']) {
        for (const now of [0, 304_999, 305_000]) expect(verifier.verify(t, now)).toEqual(verifySession(key, t, now));
      }
    }
    // Remembered tokens are checked against the clock of each call, not the first.
    expect(verifier.verify(token, 0).ok).toBe(true);
    expect(verifier.verify(token, 305_000)).toMatchObject({ ok: false, reason: 'expired' });
    // A verifier with another key refuses what it never verified.
    expect(new SessionVerifier(Buffer.alloc(32, 8)).verify(token, 0)).toMatchObject({ ok: false, reason: 'signature' });
  });

  it('DASH sessions keep DisplayFragmentNumber', () => {
    const dash = { ...session, kind: 'dash' as const, container: 'FRAGMENTED_MP4' as const, displayNumber: 'ALWAYS' as const };
    expect(verifySession(key, signSession(key, dash), 0)).toEqual({ ok: true, session: dash });
  });
});

describe('selection', () => {
  const metas = Array.from({ length: 10 }, (_, i) => frag(i, 10_000 + 2000 * i));

  it('LIVE lists the newest N; ON_DEMAND the oldest N of the range', () => {
    const live = selectFragments(index(metas), { mode: 'LIVE', selector: 'SERVER_TIMESTAMP', fragmentsMax: 3, createdMs: 0 }, 0);
    expect(live.fragments.map((f) => f.FragmentNumber)).toEqual(metas.slice(7).map((f) => f.FragmentNumber));
    expect(live.first).toBe(7);
    const vod = selectFragments(index(metas), { mode: 'ON_DEMAND', selector: 'PRODUCER_TIMESTAMP', startMs: 12_000, endMs: 20_000, fragmentsMax: 3, createdMs: 0 }, 0);
    expect(vod.fragments.map((f) => f.ProducerTimestamp)).toEqual([12_000, 14_000, 16_000]);
    expect(vod.complete).toBe(true);
  });

  it('LIVE_REPLAY adds a fragment once the ones before it have played', () => {
    const s = { mode: 'LIVE_REPLAY' as const, selector: 'PRODUCER_TIMESTAMP' as const, startMs: 10_000, endMs: 100_000, fragmentsMax: 5, createdMs: 1_000_000 };
    expect(selectFragments(index(metas), s, 1_000_000).fragments).toHaveLength(1);
    expect(selectFragments(index(metas), s, 1_001_999).fragments).toHaveLength(1);
    expect(selectFragments(index(metas), s, 1_002_000).fragments).toHaveLength(2);
    const late = selectFragments(index(metas), s, 1_100_000);
    expect(late.fragments).toHaveLength(5);
    expect(late.first).toBe(5);
    expect(late.complete).toBe(true);
  });

  it('PRODUCER_TIMESTAMP keeps the newest of fragments with the same start', () => {
    const dup = [frag(1, 1000), frag(2, 1000), frag(3, 3000)];
    expect(dedupeProducer(dup).map((f) => f.FragmentNumber)).toEqual([dup[1]!.FragmentNumber, dup[2]!.FragmentNumber]);
  });

  it('ON_DISCONTINUITY marks gaps and overlaps over 50 ms; the sequence counts the ones before the window', () => {
    const a = frag(1, 0, 2000);
    expect(discontinuityBetween(a, frag(2, 2050), 'ON_DISCONTINUITY', 'PRODUCER_TIMESTAMP')).toBe(false);
    expect(discontinuityBetween(a, frag(2, 2051), 'ON_DISCONTINUITY', 'PRODUCER_TIMESTAMP')).toBe(true);
    expect(discontinuityBetween(a, frag(2, 1949), 'ON_DISCONTINUITY', 'PRODUCER_TIMESTAMP')).toBe(true);
    expect(discontinuityBetween(a, frag(2, 2000), 'ALWAYS', 'PRODUCER_TIMESTAMP')).toBe(true);
    expect(discontinuityBetween(a, frag(2, 9000), 'NEVER', 'PRODUCER_TIMESTAMP')).toBe(false);
    const gappy = [frag(0, 0), frag(1, 2000), frag(2, 5000), frag(3, 7000), frag(4, 10_000)];
    expect(discontinuitiesBefore(gappy, 3, 'ON_DISCONTINUITY', 'PRODUCER_TIMESTAMP')).toBe(1);
    expect(discontinuitiesBefore(gappy, 3, 'ALWAYS', 'PRODUCER_TIMESTAMP')).toBe(3);
    const text = mediaPlaylist({ token: 't', container: 'MPEG_TS', fragments: gappy.slice(3), before: gappy[2]!, mediaSequence: 3, discontinuitySequence: 1, discontinuity: 'ON_DISCONTINUITY', displayTimestamp: 'NEVER', selector: 'PRODUCER_TIMESTAMP', complete: false, vod: false });
    expect(text).toBe([
      '#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:3', '#EXT-X-DISCONTINUITY-SEQUENCE:1',
      '#EXTINF:2.000,', `getTSFragment.ts?FragmentNumber=${gappy[3]!.FragmentNumber}&SessionToken=t`,
      '#EXT-X-DISCONTINUITY', '#EXTINF:2.000,', `getTSFragment.ts?FragmentNumber=${gappy[4]!.FragmentNumber}&SessionToken=t`, '',
    ].join('\n'));
  });
});

describe('GetClip and GetImages limits', () => {
  it('a clip takes the first 200 fragments and stops before 100 MB (at least one)', () => {
    const many = Array.from({ length: 250 }, (_, i) => frag(i, i * 2000));
    expect(clipFragments(many)).toHaveLength(200);
    const big = Array.from({ length: 5 }, (_, i) => ({ ...frag(i, i * 2000), FragmentSizeInBytes: 40 * 1024 * 1024 }));
    expect(clipFragments(big)).toHaveLength(2);
    expect(clipFragments([{ ...frag(0, 0), FragmentSizeInBytes: 200 * 1024 * 1024 }])).toHaveLength(1);
  });

  it('sampling instants: the start, then every interval before the end', () => {
    expect(instants(0, 1000, 300)).toEqual([0, 300, 600, 900]);
    expect(instants(0, 100, 300)).toEqual([0]);
    expect(instants(0, 900, 300)).toEqual([0, 300, 600]);
  });

  it('JPEG quality maps onto qscale 31..2; concatenated images split apart', () => {
    expect([mjpegQscale(1), mjpegQscale(80), mjpegQscale(100)]).toEqual([31, 8, 2]);
    const jpeg = (n: number) => Buffer.from([0xff, 0xd8, 0xff, 0xe0, n, 0xff, 0xd9]);
    expect(splitJpegs(Buffer.concat([jpeg(1), jpeg(2), jpeg(3)]))).toEqual([jpeg(1), jpeg(2), jpeg(3)]);
    const chunk = (type: string, data: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, data.length]), Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]);
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', Buffer.alloc(13)), chunk('IEND', Buffer.alloc(0))]);
    expect(splitPngs(Buffer.concat([png, png]))).toEqual([png, png]);
  });
});
