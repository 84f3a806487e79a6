/**
 * The Video streams view: the list (ListStreams), a stream's description
 * (DescribeStream) and live playback through the gateway's HLS endpoint
 * (GetDataEndpoint, then GetHLSStreamingSessionURL LIVE on that endpoint,
 * played by hls.js). hls.js is a file of its own beside the console
 * (`hls.mjs`), loaded on the first Play: it is larger than the rest of the
 * console together, and most sessions never play video.
 */
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type HlsType from 'hls.js';
import { rest, type Credentials } from './api.ts';
import { Alert, ResourceList, Summary, errorText, time } from './ui.ts';

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

function LivePlayer(p: { creds: Credentials; stream: string }) {
  const video = useRef<HTMLVideoElement>(null);
  const player = useRef<HlsType | undefined>(undefined);
  const [state, setState] = useState<'stopped' | 'starting' | 'playing'>('stopped');
  const [error, setError] = useState('');
  const stop = () => {
    player.current?.destroy();
    player.current = undefined;
    video.current?.removeAttribute('src');
    setState('stopped');
  };
  useEffect(() => stop, [p.stream]);
  const play = async () => {
    setError('');
    setState('starting');
    try {
      const { DataEndpoint } = await rest<{ DataEndpoint: string }>(p.creds, '/getDataEndpoint', { StreamName: p.stream, APIName: 'GET_HLS_STREAMING_SESSION_URL' });
      const { HLSStreamingSessionURL: url } = await rest<{ HLSStreamingSessionURL: string }>(p.creds, '/getHLSStreamingSessionURL',
        { StreamName: p.stream, PlaybackMode: 'LIVE', HLSFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP' } }, DataEndpoint);
      const { default: Hls } = await loadHls();
      const v = video.current!;
      v.addEventListener('playing', () => setState('playing'), { once: true });
      if (Hls.isSupported()) {
        // No worker: the page's Content-Security-Policy allows scripts from the gateway only.
        const hls = new Hls({ enableWorker: false });
        hls.on(Hls.Events.ERROR, (_e: unknown, d: { fatal: boolean; type: string; details: string }) => {
          if (d.fatal) {
            setError(`Playback failed: ${d.type} ${d.details}`);
            stop();
          }
        });
        hls.loadSource(url);
        hls.attachMedia(v);
        player.current = hls;
      } else if (v.canPlayType('application/vnd.apple.mpegurl')) {
        v.src = url; // Safari plays HLS itself.
      } else {
        throw new Error('This browser has neither Media Source Extensions nor native HLS: use a current Chromium, Firefox or Safari.');
      }
      await v.play().catch(() => undefined);
    } catch (err) {
      setError(errorText(err));
      setState('stopped');
    }
  };
  return h('section', { 'aria-label': 'Live video' },
    h('div', { class: 'row' },
      h('h3', null, 'Live video'),
      state === 'stopped' ? h('button', { type: 'button', onClick: play }, 'Play live') : h('button', { type: 'button', onClick: stop }, 'Stop video'),
      h('span', { role: 'status' }, state === 'playing' ? 'Playing live' : state === 'starting' ? 'Starting…' : 'Stopped'),
    ),
    h(Alert, { text: error }),
    h('video', { ref: video, class: 'player', muted: true, playsInline: true, controls: true, 'aria-label': `Live video of ${p.stream}` }),
  );
}

function VideoDetail(p: { creds: Credentials; stream: string }) {
  const [info, setInfo] = useState<any>();
  const [error, setError] = useState('');
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
    h(LivePlayer, { creds: p.creds, stream: p.stream }),
  );
}

export function VideoView(p: { creds: Credentials }) {
  const [stream, setStream] = useState<string | undefined>();
  return h('div', { class: 'layout' },
    h(ResourceList, { title: 'Video streams', noun: 'video streams', load: () => listVideoStreams(p.creds), selected: stream, onSelect: setStream }),
    h('main', null, stream ? h(VideoDetail, { key: stream, creds: p.creds, stream }) : h('p', null, 'Choose a video stream.')),
  );
}
