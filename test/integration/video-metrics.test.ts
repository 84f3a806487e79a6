// Proves the video part of GET /metrics against a real gateway: after real
// ffmpeg fragments go in through PutMedia (one request that ends in an ERROR
// ack), come out through GetMedia, GetMediaForFragmentList, an HLS segment
// and GetClip, the CloudWatch-named families count exactly that traffic,
// read back through a Prometheus text parser.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, type KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { GetMediaCommand, type KinesisVideoMediaClient } from '@aws-sdk/client-kinesis-video-media';
import { GetClipCommand, GetHLSStreamingSessionURLCommand, GetMediaForFragmentListCommand, type KinesisVideoArchivedMediaClient } from '@aws-sdk/client-kinesis-video-archived-media';
import type { Gateway } from '../../gateway/gateway.ts';
import { concat, MkvReader } from '../../sdk/protocol/mkv/index.ts';
import { ffmpegAvailable, testClip } from '../helpers/ffmpeg-mkv.ts';
import { testGateway, metricsText } from '../helpers/gateway.ts';
import { archivedMediaClient, rawPutMedia, videoClient, videoMediaClient } from '../helpers/video.ts';

interface Family {
  name: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; count?: string }>;
}

let gw: Gateway & { dataDir: string };
let kv: KinesisVideoClient;
let media: KinesisVideoMediaClient;
let archive: KinesisVideoArchivedMediaClient;
const t0 = 1_700_000_000;

beforeAll(async () => {
  gw = await testGateway();
  kv = videoClient(gw.url);
  media = videoMediaClient(gw.url);
  archive = archivedMediaClient(gw.url);
});
afterAll(async () => {
  for (const c of [kv, media, archive]) c?.destroy();
  await gw?.close();
});

async function scrape(): Promise<Map<string, Family>> {
  const text = await metricsText(gw);
  return new Map((parsePrometheusTextFormat(text) as Family[]).map((f) => [f.name, f]));
}

const value = (families: Map<string, Family>, name: string, labels: Record<string, string>) =>
  Number(families.get(`tributary_kinesisvideo_${name}`)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? NaN);

describe.skipIf(!ffmpegAvailable())('video metrics', () => {
  it('count PutMedia, GetMedia, GetMediaForFragmentList, HLS segments and GetClip by stream', async () => {
    await kv.send(new CreateStreamCommand({ StreamName: 'metered', DataRetentionInHours: 24 }));
    // 6 s of 640x360: 3 fragments of 60 frames. The body then ends inside a fourth Cluster: STREAM_READ_ERROR.
    const clip = testClip({ width: 640, height: 360, seconds: 6, tsOffsetSeconds: t0 });
    const events = new MkvReader().push(clip);
    const clusters = events.filter((e) => e.type === 'cluster');
    expect(clusters.length).toBe(3);
    const body = concat([clip, clusters[2]!.raw.subarray(0, 1000)]);
    const put = rawPutMedia(gw.url, { stream: 'metered' });
    put.req.end(body);
    await put.done;
    expect(put.acks.filter((a) => a.EventType === 'PERSISTED').length).toBe(3);
    expect(put.acks.filter((a) => a.EventType === 'ERROR').map((a) => a.ErrorCode)).toEqual(['STREAM_READ_ERROR']);

    const got = await media.send(new GetMediaCommand({ StreamName: 'metered', StartSelector: { StartSelectorType: 'EARLIEST' } }));
    const reader = new MkvReader();
    let getMediaBytes = 0;
    let chunks = 0;
    const payload = got.Payload as unknown as AsyncIterable<Uint8Array> & { destroy(): void };
    for await (const bytes of payload) {
      getMediaBytes += bytes.length;
      chunks += reader.push(bytes).filter((e) => e.type === 'tags' && e.tags.some((t) => t.name === 'AWS_KINESISVIDEO_CONTINUATION_TOKEN')).length;
      if (chunks === 3) break;
    }
    payload.destroy();

    const numbers = gw.video.find('metered')!.fragments.list().map((m) => m.FragmentNumber);
    const listed = await (await archive.send(new GetMediaForFragmentListCommand({ StreamName: 'metered', Fragments: numbers.slice(0, 2) }))).Payload!.transformToByteArray();

    const range = { StartTimestamp: new Date(t0 * 1000), EndTimestamp: new Date(t0 * 1000 + 60_000) };
    const { HLSStreamingSessionURL } = await archive.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'metered', PlaybackMode: 'ON_DEMAND', HLSFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: range } }));
    const segment = await fetch(new URL(`getMP4MediaFragment.mp4?FragmentNumber=${numbers[1]}&${new URL(HLSStreamingSessionURL!).searchParams}&TrackNumber=1`, HLSStreamingSessionURL!));
    expect(segment.status).toBe(200);
    const segmentBytes = (await segment.arrayBuffer()).byteLength;
    const mp4 = await (await archive.send(new GetClipCommand({ StreamName: 'metered', ClipFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: range } }))).Payload!.transformToByteArray();

    const m = await scrape();
    const stream = { stream: 'metered' };
    expect(value(m, 'PutMedia_IncomingBytes', stream)).toBe(body.length);
    expect(value(m, 'PutMedia_IncomingFragments', stream)).toBe(3);
    expect(value(m, 'PutMedia_IncomingFrames', stream)).toBe(180);
    expect(value(m, 'PutMedia_ErrorAckCount', { ...stream, error_code: 'STREAM_READ_ERROR' })).toBe(1);
    expect(m.get('tributary_kinesisvideo_PutMedia_PersistedAckLatency_seconds')!.type).toBe('HISTOGRAM');
    expect(value(m, 'PutMedia_ActiveConnections', stream)).toBe(0);
    expect(m.get('tributary_kinesisvideo_PutMedia_ActiveConnections')!.type).toBe('GAUGE');
    expect(value(m, 'GetMedia_OutgoingFragments', stream)).toBe(3);
    // GetMedia's answer is exactly its chunks (the client may not have read the last bytes yet when it stopped).
    expect(value(m, 'GetMedia_OutgoingBytes', stream)).toBeGreaterThanOrEqual(getMediaBytes);
    expect(value(m, 'GetMediaForFragmentList_OutgoingFragments', stream)).toBe(2);
    expect(value(m, 'GetMediaForFragmentList_OutgoingBytes', stream)).toBe(listed.length);
    expect(value(m, 'Playback_OutgoingBytes', { ...stream, action: 'GetMP4MediaFragment' })).toBe(segmentBytes);
    expect(value(m, 'Playback_OutgoingBytes', { ...stream, action: 'GetClip' })).toBe(mp4.length);
    expect(value(m, 'StoredFragments', stream)).toBe(3);
  });

  it('shows an open PutMedia connection as active', async () => {
    await kv.send(new CreateStreamCommand({ StreamName: 'metered-open', DataRetentionInHours: 1 }));
    const put = rawPutMedia(gw.url, { stream: 'metered-open' });
    put.req.on('error', () => undefined);
    put.req.write(testClip({ width: 640, height: 360, seconds: 6, tsOffsetSeconds: t0 }));
    await put.until((acks) => acks.filter((a) => a.EventType === 'PERSISTED').length === 3);
    expect(value(await scrape(), 'PutMedia_ActiveConnections', { stream: 'metered-open' })).toBe(1);
    put.req.end();
    await put.done;
    expect(value(await scrape(), 'PutMedia_ActiveConnections', { stream: 'metered-open' })).toBe(0);
  });
});
