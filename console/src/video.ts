/**
 * The Video streams view: the list (ListStreams), a stream's description
 * (DescribeStream), live playback through the gateway's HLS endpoint
 * (GetDataEndpoint, then GetHLSStreamingSessionURL LIVE on that endpoint,
 * played by hls.js), and the last hour's recordings: a timeline of the
 * fragments with their gaps (ListFragments), playback from a chosen time
 * (ON_DEMAND), a 30 s clip to download (GetClip) and frames (GetImages). hls.js is a file of its own beside the console
 * (`hls.mjs`), loaded on the first Play: it is larger than the rest of the
 * console together, and most sessions never play video.
 */
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type HlsType from 'hls.js';
import { rest, restBlob, type Credentials } from './api.ts';
import { Alert, Field, ResourceList, Summary, errorText, time } from './ui.ts';

async function listVideoStreams(creds: Credentials): Promise<string[]> {
  const all: string[] = [];
  let token: string | undefined;
  do {
    const out = await rest<{ StreamInfoList: Array<{ StreamName: string }>; NextToken?: string }>(creds, '/listStreams', { MaxResults: 100, ...(token ? { NextToken: token } : {}) });
    all.push(...out.StreamInfoList.map((s) => s.StreamName));
    token = out.NextToken;
  } while (token);
  return all;
}

let hlsModule: Promise<{ default: typeof HlsType }> | undefined;
/** hls.js, from beside console.js (a variable specifier, so esbuild leaves the import to the browser). */
const loadHls = () => (hlsModule ??= import(/* @vite-ignore */ new URL('hls.mjs', import.meta.url).href));

type Session = { url: string; label: string; id: number };

/** Plays an HLS session URL with hls.js (Safari: natively); a new `session` replaces the one playing. */
function Player(p: { stream: string; session: Session | undefined; onStop(): void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [playing, setPlaying] = useState(false);
  const [error, setError] = useState('');
  useEffect(() => {
    setPlaying(false);
    if (!p.session) return;
    const v = video.current!;
    let hls: HlsType | undefined;
    let gone = false;
    const onPlaying = () => setPlaying(true);
    v.addEventListener('playing', onPlaying);
    setError('');
    (async () => {
      const { default: Hls } = await loadHls();
      if (gone) return;
      if (Hls.isSupported()) {
        // No worker: the page's Content-Security-Policy allows scripts from the gateway only.
        const player = new Hls({ enableWorker: false });
        hls = player;
        player.on(Hls.Events.ERROR, (_e: unknown, d: { fatal: boolean; type: string; details: string }) => {
          if (d.fatal) {
            setError(`Playback failed: ${d.type} ${d.details}`);
            p.onStop();
          }
        });
        player.loadSource(p.session!.url);
        player.attachMedia(v);
      } else if (v.canPlayType('application/vnd.apple.mpegurl')) {
        v.src = p.session!.url; // Safari plays HLS itself.
      } else {
        throw new Error('This browser has neither Media Source Extensions nor native HLS: use a current Chromium, Firefox or Safari.');
      }
      await v.play().catch(() => undefined);
    })().catch((err) => setError(errorText(err)));
    return () => {
      gone = true;
      v.removeEventListener('playing', onPlaying);
      hls?.destroy();
      v.removeAttribute('src');
      v.load();
    };
  }, [p.session?.id]);
  return h('div', null,
    h('p', { role: 'status' }, !p.session ? 'Stopped' : playing ? `Playing ${p.session.label}` : 'Starting…'),
    h(Alert, { text: error }),
    h('video', { ref: video, class: 'player', muted: true, playsInline: true, controls: true, 'aria-label': `Video of ${p.stream}` }),
  );
}

type Fragment = { FragmentNumber: string; ProducerTimestamp: number; FragmentLengthInMilliseconds: number; FragmentSizeInBytes: number };
const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);
/** A gap: more than a second between one fragment's end and the next one's start. */
const gapMsMin = 1000;

/** The last hour's fragments (ListFragments) as a timeline with its gaps; play, download a clip (GetClip) or see frames (GetImages) from a chosen time. */
function Recordings(p: { creds: Credentials; stream: string; onPlay(url: string, label: string): void }) {
  const [fragments, setFragments] = useState<Fragment[] | undefined>();
  const [from, setFrom] = useState('');
  const [images, setImages] = useState<Array<{ at: number; src?: string; error?: string }>>([]);
  const [notice, setNotice] = useState('');
  const [error, setError] = useState('');
  const endpoint = (api: string) => rest<{ DataEndpoint: string }>(p.creds, '/getDataEndpoint', { StreamName: p.stream, APIName: api }).then((o) => o.DataEndpoint);
  const guard = (f: () => Promise<void>) => async () => {
    setError('');
    try {
      await f();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const load = guard(async () => {
    const base = await endpoint('LIST_FRAGMENTS');
    const now = Date.now();
    const all: Fragment[] = [];
    let token: string | undefined;
    do {
      const out = await rest<{ Fragments: Fragment[]; NextToken?: string }>(p.creds, '/listFragments', token ? { StreamName: p.stream, NextToken: token } : {
        StreamName: p.stream, MaxResults: 1000,
        FragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: (now - 3_600_000) / 1000, EndTimestamp: now / 1000 } },
      }, base);
      all.push(...out.Fragments);
      token = out.NextToken;
    } while (token && all.length < 5000);
    all.sort((a, b) => a.ProducerTimestamp - b.ProducerTimestamp);
    setFragments(all);
    if (all.length && !from) setFrom(new Date(all[0]!.ProducerTimestamp * 1000).toISOString());
  });
  const fromMs = () => {
    const t = Date.parse(from);
    if (Number.isNaN(t)) throw new Error(`"${from}" is not a time: write it as 2026-12-07T23:10:05Z`);
    return t;
  };
  const range = (seconds: number) => ({ StartTimestamp: fromMs() / 1000, EndTimestamp: fromMs() / 1000 + seconds });
  const play = guard(async () => {
    const base = await endpoint('GET_HLS_STREAMING_SESSION_URL');
    const out = await rest<{ HLSStreamingSessionURL: string }>(p.creds, '/getHLSStreamingSessionURL', {
      StreamName: p.stream, PlaybackMode: 'ON_DEMAND', HLSFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: range(3600) },
    }, base);
    p.onPlay(out.HLSStreamingSessionURL, `recorded from ${clock(fromMs())}`);
  });
  const clip = guard(async () => {
    const base = await endpoint('GET_CLIP');
    const blob = await restBlob(p.creds, '/getClip', { StreamName: p.stream, ClipFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: range(30) } }, base);
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${p.stream}-${new Date(fromMs()).toISOString().replace(/[:.]/g, '-')}.mp4`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    setNotice(`Clip of 30 s from ${clock(fromMs())} downloaded (${Math.round(blob.size / 1024)} KiB)`);
  });
  const frames = guard(async () => {
    const base = await endpoint('GET_IMAGES');
    const out = await rest<{ Images: Array<{ TimeStamp: number; Error?: string; ImageContent?: string }> }>(p.creds, '/getImages', {
      StreamName: p.stream, ImageSelectorType: 'PRODUCER_TIMESTAMP', ...range(12), SamplingInterval: 2000, Format: 'JPEG', WidthPixels: 160, MaxResults: 6,
    }, base);
    setImages(out.Images.map((i) => ({ at: i.TimeStamp * 1000, ...(i.ImageContent ? { src: `data:image/jpeg;base64,${i.ImageContent}` } : { error: i.Error ?? 'no image' }) })));
  });
  const first = fragments?.[0];
  const last = fragments?.at(-1);
  const gaps: Array<[number, number]> = [];
  fragments?.forEach((f, i) => {
    const next = fragments[i + 1];
    const end = f.ProducerTimestamp * 1000 + f.FragmentLengthInMilliseconds;
    if (next && next.ProducerTimestamp * 1000 - end > gapMsMin) gaps.push([end, next.ProducerTimestamp * 1000]);
  });
  return h('section', { 'aria-label': 'Recordings' },
    h('div', { class: 'row' }, h('h3', null, 'Recordings, last hour'), h('button', { type: 'button', onClick: load }, 'Load recordings')),
    h(Alert, { text: error }),
    fragments && (fragments.length === 0 ? h('p', null, 'No fragments in the last hour.') : h(Timeline, { fragments, gaps, onPick: (ms) => setFrom(new Date(ms).toISOString()) })),
    first && last && h('p', null, `${fragments!.length} fragments from ${clock(first.ProducerTimestamp * 1000)} to ${clock(last.ProducerTimestamp * 1000 + last.FragmentLengthInMilliseconds)} (UTC), `,
      gaps.length ? `${gaps.length} gaps: ${gaps.map(([a, b]) => `${clock(a)}–${clock(b)}`).join(', ')}` : 'no gaps'),
    fragments && fragments.length > 0 && h('div', { class: 'row' },
      h(Field, { label: 'From (UTC, ISO 8601)', id: 'video-from', value: from, onInput: setFrom }),
      h('button', { type: 'button', onClick: play }, 'Play recorded'),
      h('button', { type: 'button', onClick: clip }, 'Download clip'),
      h('button', { type: 'button', onClick: frames }, 'Show frames'),
    ),
    notice && h('p', { role: 'status' }, notice),
    images.length > 0 && h('ul', { class: 'frames' }, images.map((i) => h('li', { key: i.at },
      i.src ? h('img', { src: i.src, alt: `Frame at ${clock(i.at)}`, width: 160 }) : h('span', null, `${clock(i.at)}: ${i.error}`)))),
  );
}

/** The hour as a bar: each fragment a dark span, gaps light; a click picks the time under it. */
function Timeline(p: { fragments: Fragment[]; gaps: Array<[number, number]>; onPick(ms: number): void }) {
  const w = 600;
  const startMs = p.fragments[0]!.ProducerTimestamp * 1000;
  const last = p.fragments.at(-1)!;
  const spanMs = Math.max(1000, last.ProducerTimestamp * 1000 + last.FragmentLengthInMilliseconds - startMs);
  const x = (ms: number) => ((ms - startMs) / spanMs) * w;
  const pick = (e: MouseEvent) => {
    const r = (e.currentTarget as SVGElement).getBoundingClientRect();
    p.onPick(Math.round(startMs + ((e.clientX - r.left) / r.width) * spanMs));
  };
  return h('svg', { class: 'timeline', viewBox: `0 0 ${w} 24`, width: w, height: 24, onClick: pick, role: 'img', 'aria-label': `Timeline: ${p.fragments.length} fragments, ${p.gaps.length} gaps; click to choose the time to start from` },
    p.fragments.map((f) => h('rect', { x: x(f.ProducerTimestamp * 1000), y: 2, width: Math.max(1, x(f.ProducerTimestamp * 1000 + f.FragmentLengthInMilliseconds) - x(f.ProducerTimestamp * 1000) - 0.5), height: 20 })),
  );
}

function VideoDetail(p: { creds: Credentials; stream: string }) {
  const [info, setInfo] = useState<any>();
  const [error, setError] = useState('');
  const [session, setSession] = useState<Session | undefined>();
  /** GetDataEndpoint, then GetHLSStreamingSessionURL LIVE on that endpoint. */
  const playLive = async () => {
    setError('');
    try {
      const { DataEndpoint } = await rest<{ DataEndpoint: string }>(p.creds, '/getDataEndpoint', { StreamName: p.stream, APIName: 'GET_HLS_STREAMING_SESSION_URL' });
      const { HLSStreamingSessionURL: url } = await rest<{ HLSStreamingSessionURL: string }>(p.creds, '/getHLSStreamingSessionURL',
        { StreamName: p.stream, PlaybackMode: 'LIVE', HLSFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP' } }, DataEndpoint);
      setSession({ url, label: 'live', id: Date.now() });
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => {
    rest(p.creds, '/describeStream', { StreamName: p.stream }).then((out) => setInfo(out.StreamInfo), (err) => setError(errorText(err)));
  }, [p.stream]);
  return h('article', { 'aria-label': `Video stream ${p.stream}` },
    h('h2', null, p.stream),
    h(Alert, { text: error }),
    info && h(Summary, { items: [
      ['Status', info.Status],
      ['Media type', info.MediaType],
      ['Retention', `${info.DataRetentionInHours} h`],
      ['Device', info.DeviceName],
      ['Created', info.CreationTime && time(info.CreationTime)],
      ['Version', info.Version],
    ] }),
    h('section', { 'aria-label': 'Player' },
      h('div', { class: 'row' },
        h('h3', null, 'Player'),
        h('button', { type: 'button', onClick: playLive }, 'Play live'),
        session && h('button', { type: 'button', onClick: () => setSession(undefined) }, 'Stop video'),
      ),
      h(Alert, { text: error }),
      h(Player, { stream: p.stream, session, onStop: () => setSession(undefined) }),
    ),
    h(Recordings, { creds: p.creds, stream: p.stream, onPlay: (url, label) => setSession({ url, label, id: Date.now() }) }),
  );
}

export function VideoView(p: { creds: Credentials }) {
  const [stream, setStream] = useState<string | undefined>();
  return h('div', { class: 'layout' },
    h(ResourceList, { title: 'Video streams', noun: 'video streams', load: () => listVideoStreams(p.creds), selected: stream, onSelect: setStream }),
    h('main', null, stream ? h(VideoDetail, { key: stream, creds: p.creds, stream }) : h('p', null, 'Choose a video stream.')),
  );
}
