// Proves that a person can watch the gateway's video: Debian's Chromium with
// hls.js (driven by playwright-core) plays session URLs from the stock
// archived-media client, LIVE while a VideoProducer keeps sending fragments
// over PutMedia (playback runs past what existed when the session began, so
// the playlist reloads) and
// ON_DEMAND in both container formats; time advances, frames are decoded at
// the stream's size, hls.js reports no fatal error and the picture is not black.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, type KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { GetHLSStreamingSessionURLCommand, type KinesisVideoArchivedMediaClient } from '@aws-sdk/client-kinesis-video-archived-media';
import type { Gateway } from '../../gateway/gateway.ts';
import { testClip } from '../helpers/ffmpeg-mkv.ts';
import { testGateway, testOperator } from '../helpers/gateway.ts';
import { VideoProducer } from '../../sdk/video/producer.ts';
import { launchChromium, playHls, startPageServer } from '../helpers/hls-browser.ts';
import { archivedMediaClient, videoClient } from '../helpers/video.ts';
import { pacedCamera, splitMkv, storeFragments, type SplitMkv } from '../helpers/video-fragments.ts';

let gw: Gateway & { dataDir: string };
let kv: KinesisVideoClient;
let am: KinesisVideoArchivedMediaClient;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let pages: Awaited<ReturnType<typeof startPageServer>>;
/** 20 s of 640x360, 2 s fragments: small, so that encoding stays cheap (cached across runs). */
const clip: SplitMkv = splitMkv(testClip({ width: 640, height: 360, seconds: 20 }));

beforeAll(async () => {
  gw = await testGateway();
  kv = videoClient(gw.url);
  am = archivedMediaClient(gw.url);
  browser = await launchChromium();
  pages = await startPageServer();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await pages?.close();
  kv?.destroy();
  am?.destroy();
  await gw?.close();
});

function expectWatchable(r: Awaited<ReturnType<typeof playHls>>, playedSeconds: number): void {
  expect(r.fatalErrors).toEqual([]);
  expect(r.currentTime - r.startTime).toBeGreaterThanOrEqual(playedSeconds);
  expect(r.totalVideoFrames).toBeGreaterThan(0);
  expect([r.videoWidth, r.videoHeight]).toEqual([640, 360]);
  // testsrc is a bright colour chart: a black or blank frame has neither luma nor lit pixels.
  expect(r.meanLuma).toBeGreaterThan(40);
  expect(r.litShare).toBeGreaterThan(0.5);
}

describe('hls.js in Chromium', () => {
  it('ON_DEMAND, fMP4 and MPEG-TS', async () => {
    await kv.send(new CreateStreamCommand({ StreamName: 'recorded', DataRetentionInHours: 24 }));
    const recordedMs = Date.now() - 120_000;
    await storeFragments(gw.video.find('recorded')!.fragments, { header: clip.header, clusters: clip.clusters.slice(0, 4) }, recordedMs);
    for (const ContainerFormat of ['FRAGMENTED_MP4', 'MPEG_TS'] as const) {
      const { HLSStreamingSessionURL } = await am.send(new GetHLSStreamingSessionURLCommand({
        StreamName: 'recorded', PlaybackMode: 'ON_DEMAND', ContainerFormat,
        HLSFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(recordedMs), EndTimestamp: new Date(recordedMs + 60_000) } },
      }));
      expectWatchable(await playHls(browser.context, pages.url, HLSStreamingSessionURL!, { playSeconds: 3, timeoutMs: 20_000 }), 3);
    }
  }, 60_000);

  it('LIVE follows fragments as they arrive through PutMedia', async () => {
    await kv.send(new CreateStreamCommand({ StreamName: 'live', DataRetentionInHours: 1 }));
    // The camera: the SDK's VideoProducer sends the clip over PutMedia at its own pace. Three
    // fragments (6 s) are there when the session begins; the others follow one every 2 s.
    const producerStartMs = Date.now() - 6000;
    const producer = new VideoProducer({ endpoint: gw.url, region: 'us-east-1', credentials: testOperator, streamName: 'live', producerStartMs, timecodeType: 'RELATIVE' });
    const camera = pacedCamera(clip, producerStartMs);
    const putting = producer.put(camera.frames);
    try {
      const log = gw.video.find('live')!.fragments;
      while (log.list().length < 3) await new Promise((r) => setTimeout(r, 50));
      const { HLSStreamingSessionURL } = await am.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'live', PlaybackMode: 'LIVE', HLSFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP' } }));
      const r = await playHls(browser.context, pages.url, HLSStreamingSessionURL!, { playSeconds: 8, timeoutMs: 30_000 });
      // 8 s played, more than the 6 s that existed at the start: the player took fragments that arrived later.
      expectWatchable(r, 8);
      expect(camera.sent).toBeGreaterThan(4);
    } finally {
      camera.stop();
      await putting;
    }
  }, 60_000);
});
