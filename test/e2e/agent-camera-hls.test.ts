// Proves a person can watch what a device's camera records (issue #13): the
// agent bundle records a synthetic 720p camera with real ffmpeg (libx264,
// 2 s GOPs) and uploads it with PutMedia to a real TLS gateway; Debian's
// Chromium with hls.js (playwright-core) plays the stream LIVE from the
// gateway's HLS session URL, as got from the stock archived-media client:
// time advances, frames decode at 1280x720, no fatal error, not black.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GetHLSStreamingSessionURLCommand, type KinesisVideoArchivedMediaClient } from '@aws-sdk/client-kinesis-video-archived-media';
import type { KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import type { Gateway } from '../../gateway/gateway.ts';
import { startAgent, waitFor } from '../helpers/agent-process.ts';
import { cameraConfig, cameraDevice, listAllFragments, videoClients } from '../helpers/camera-agent.ts';
import { testGateway } from '../helpers/gateway.ts';
import { launchChromium, playHls, startPageServer } from '../helpers/hls-browser.ts';

let gw: Gateway & { dataDir: string };
let kv: KinesisVideoClient;
let am: KinesisVideoArchivedMediaClient;
let closeClients: () => void;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let pages: Awaited<ReturnType<typeof startPageServer>>;
beforeAll(async () => {
  gw = await testGateway({ tlsEnabled: true, createDelayMs: 0 });
  ({ kv, am, close: closeClients } = videoClients(gw));
  browser = await launchChromium({ ignoreHttpsErrors: true });
  pages = await startPageServer();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await pages?.close();
  closeClients?.();
  await gw?.close();
});

it('plays a synthetic 720p camera recorded by the agent, LIVE, in Chromium', async () => {
  const state = await cameraDevice(gw, kv, 'cam-h', ['hls-cam-h']);
  const config = cameraConfig(state, {
    cameras: [
      '    - name: hls', '      stream: hls-${device}',
      // 15 fps keeps the encoder's share of this 2-core machine small; 720p as the issue asks.
      '      source: { synthetic: { width: 1280, height: 720, fps: 15 } }',
      '      encode: { codec: libx264, preset: ultrafast, bitrate: 1500000 }',
    ],
  });
  const agent = await startAgent(config);
  try {
    await waitFor('three fragments at the gateway', async () => (await listAllFragments(am, 'hls-cam-h')).length >= 3, 60_000, agent.log);
    const { HLSStreamingSessionURL } = await am.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'hls-cam-h', PlaybackMode: 'LIVE' }));
    const r = await playHls(browser.context, pages.url, HLSStreamingSessionURL!, { playSeconds: 4, timeoutMs: 40_000 });
    expect(r.fatalErrors).toEqual([]);
    expect(r.currentTime - r.startTime).toBeGreaterThanOrEqual(4);
    expect(r.totalVideoFrames).toBeGreaterThan(0);
    expect([r.videoWidth, r.videoHeight]).toEqual([1280, 720]);
    // testsrc is a bright colour chart: a black or blank frame has neither luma nor lit pixels.
    expect(r.meanLuma).toBeGreaterThan(40);
    expect(r.litShare).toBeGreaterThan(0.5);
  } finally {
    agent.proc.kill('SIGTERM');
    await agent.exited;
  }
}, 150_000);
