// Proves playback of video ingested with PutMedia (the SDK's VideoProducer)
// through a real gateway and the stock
// @aws-sdk/client-kinesis-video-archived-media: HLS (fMP4 and MPEG-TS) and
// DASH session URLs whose playlists follow RFC 8216 / the DASH schema and
// whose segments ffprobe reads frame for frame; session tokens that expire,
// cannot be forged and die with a revoked key; policies that limit which
// streams a principal may play; GetClip checked with ffprobe (codec, size,
// duration) and GetImages (JPEG/PNG, size, paging, NO_MEDIA, MEDIA_ERROR);
// LIVE_REPLAY's pace on a manual clock; DASH LIVE; AWS's errors, including a
// codec change inside a clip's range and media without codec private data.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, type KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import {
  GetClipCommand, GetDASHStreamingSessionURLCommand, GetHLSStreamingSessionURLCommand, GetImagesCommand, type KinesisVideoArchivedMediaClient,
} from '@aws-sdk/client-kinesis-video-archived-media';
import type { Gateway } from '../../gateway/gateway.ts';
import { testClip } from '../helpers/ffmpeg-mkv.ts';
import { testGateway, testOperator } from '../helpers/gateway.ts';
import { VideoProducer } from '../../sdk/video/producer.ts';
import { archivedMediaClient, awsErrorOf, videoClient } from '../helpers/video.ts';
import { bframeClipArgs, encodeClip, probe } from '../helpers/video-fragments.ts';
import { clusterElement, concat, ebmlHeader, infoElement, segmentStart, simpleBlock, tracksElement } from '../../sdk/protocol/mkv/index.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trb-playback-'));
let clock = Date.now();
let gw: Gateway & { dataDir: string };
let kv: KinesisVideoClient;
let am: KinesisVideoArchivedMediaClient;
/** The recorded clip: 8 s of 640x360 at 30 fps, 2 s fragments, stored a minute before the test's "now". */
const clipBytes = testClip({ width: 640, height: 360, seconds: 8 });
const recordedMs = Date.now() - 60_000;
const frames = 240;

function ffprobeUrl(url: string): Promise<{ codec: string; width: number; height: number; frames: number; duration: number }> {
  return new Promise((resolve, reject) => {
    // Asynchronous: the gateway answering ffprobe runs in this process.
    execFile('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames:format=duration', '-of', 'json', url], (err, out) => {
      if (err) return reject(err);
      const j = JSON.parse(out) as { streams: Array<{ codec_name: string; width: number; height: number; nb_read_frames: string }>; format: { duration?: string } };
      const s = j.streams[0]!;
      resolve({ codec: s.codec_name, width: s.width, height: s.height, frames: Number(s.nb_read_frames), duration: Number(j.format.duration) });
    });
  });
}

async function get(url: string): Promise<{ status: number; type: string | null; errorType: string | null; body: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), errorType: res.headers.get('x-amzn-errortype'), body: Buffer.from(await res.arrayBuffer()) };
}

const onDemand = { PlaybackMode: 'ON_DEMAND' as const, HLSFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP' as const, TimestampRange: { StartTimestamp: new Date(recordedMs - 1000), EndTimestamp: new Date(recordedMs + 30_000) } } };

beforeAll(async () => {
  gw = await testGateway({}, { now: () => clock });
  kv = videoClient(gw.url);
  am = archivedMediaClient(gw.url);
  await kv.send(new CreateStreamCommand({ StreamName: 'cam', DataRetentionInHours: 24 }));
  await kv.send(new CreateStreamCommand({ StreamName: 'other', DataRetentionInHours: 24 }));
  await kv.send(new CreateStreamCommand({ StreamName: 'nothing-kept', DataRetentionInHours: 0 }));
  // Ingest as a camera does: PutMedia through the SDK's VideoProducer, producer time starting at recordedMs.
  for (const streamName of ['cam', 'other']) {
    const producer = new VideoProducer({ endpoint: gw.url, region: 'us-east-1', credentials: testOperator, streamName, producerStartMs: recordedMs, timecodeType: 'RELATIVE' });
    expect((await producer.put([clipBytes])).fragments).toHaveLength(4);
  }
  // 'mixed': the same camera, then (8 s later) one with another size, so another codec configuration.
  await kv.send(new CreateStreamCommand({ StreamName: 'mixed', DataRetentionInHours: 24 }));
  const put = (streamName: string, startMs: number, mkv: Uint8Array) =>
    new VideoProducer({ endpoint: gw.url, region: 'us-east-1', credentials: testOperator, streamName, producerStartMs: startMs, timecodeType: 'RELATIVE' }).put([mkv]);
  expect((await put('mixed', recordedMs, clipBytes)).fragments).toHaveLength(4);
  expect((await put('mixed', recordedMs + 8000, encodeClip('bframes-3s', bframeClipArgs(3)))).fragments).toHaveLength(3);
  // 'undecodable': H.264 by its codec ID, but no codec private data and frames of filler bytes.
  await kv.send(new CreateStreamCommand({ StreamName: 'undecodable', DataRetentionInHours: 24 }));
  const filler = concat([
    ebmlHeader(), segmentStart(), infoElement({ timecodeScale: 1_000_000 }), tracksElement([{ number: 1, codecId: 'V_MPEG4/ISO/AVC', pixelWidth: 64, pixelHeight: 64, defaultDuration: 33_333_333 }]),
    clusterElement(0, Array.from({ length: 60 }, (_, i) => simpleBlock({ track: 1, timecode: Math.round(i * 33.3), keyframe: i === 0, data: new Uint8Array(500).fill(i) }))),
  ]);
  expect((await put('undecodable', recordedMs, filler)).fragments).toHaveLength(1);
});
afterAll(async () => {
  kv?.destroy();
  am?.destroy();
  await gw?.close();
});

/** Checks an HLS media playlist against RFC 8216's rules for the tags we write; returns its segment URLs. */
function checkMediaPlaylist(text: string, base: string, o: { fmp4: boolean; vod: boolean; endList?: boolean }): string[] {
  const lines = text.trim().split('\n');
  expect(lines[0]).toBe('#EXTM3U');
  const target = Number(/^#EXT-X-TARGETDURATION:(\d+)$/m.exec(text)![1]);
  const durations = [...text.matchAll(/^#EXTINF:([\d.]+),$/gm)].map((m) => Number(m[1]));
  // RFC 8216 4.3.3.1: each EXTINF, rounded to the nearest integer, is at most the target duration.
  for (const d of durations) expect(Math.round(d)).toBeLessThanOrEqual(target);
  expect(text).toMatch(/^#EXT-X-MEDIA-SEQUENCE:\d+$/m);
  expect(text).toMatch(new RegExp(`^#EXT-X-VERSION:${o.fmp4 ? 7 : 3}$`, 'm'));
  if (o.fmp4) expect(text.indexOf('#EXT-X-MAP:URI=')).toBeLessThan(text.indexOf('#EXTINF'));
  // VOD playlists end; a LIVE_REPLAY playlist ends once its EndTimestamp is reached.
  expect(text.includes('#EXT-X-ENDLIST')).toBe(o.endList ?? o.vod);
  expect(text.includes('#EXT-X-PLAYLIST-TYPE:VOD')).toBe(o.vod);
  const uris = lines.filter((l) => !l.startsWith('#'));
  expect(uris.length).toBe(durations.length);
  return uris.map((u) => new URL(u, base).href);
}

describe('HLS', () => {
  it('ON_DEMAND fMP4: master and media playlists, init and media fragments that ffprobe plays frame for frame', async () => {
    const { HLSStreamingSessionURL: url } = await am.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'cam', ...onDemand, DiscontinuityMode: 'NEVER' }));
    expect(url).toMatch(new RegExp(`^${gw.url}/hls/v1/getHLSMasterPlaylist\\.m3u8\\?SessionToken=[A-Za-z0-9_.-]+$`));
    const master = await get(url!);
    expect(master.status).toBe(200);
    expect(master.type).toBe('application/vnd.apple.mpegurl');
    expect(master.body.toString()).toMatch(/#EXT-X-STREAM-INF:BANDWIDTH=\d+,CODECS="avc1\.[0-9a-f]{6}",RESOLUTION=640x360\n/);
    const mediaUrl = new URL(master.body.toString().trim().split('\n').at(-1)!, url).href;
    const media = (await get(mediaUrl)).body.toString();
    const segments = checkMediaPlaylist(media, mediaUrl, { fmp4: true, vod: true });
    expect(segments).toHaveLength(4);
    const init = await get(new URL(/#EXT-X-MAP:URI="([^"]+)"/.exec(media)![1]!, mediaUrl).href);
    expect(init.type).toBe('video/mp4');
    const parts = [init.body, ...(await Promise.all(segments.map(async (s) => (await get(s)).body)))];
    fs.writeFileSync(path.join(dir, 'hls.mp4'), Buffer.concat(parts));
    expect(probe(path.join(dir, 'hls.mp4'))).toMatchObject({ codec: 'h264', width: 640, height: 360, frames });
  });

  it('MPEG_TS: each segment is a transport stream ffprobe decodes on its own; ALWAYS puts a discontinuity between fragments', async () => {
    const { HLSStreamingSessionURL: url } = await am.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'cam', ...onDemand, ContainerFormat: 'MPEG_TS', DiscontinuityMode: 'ALWAYS', DisplayFragmentTimestamp: 'ALWAYS' }));
    const mediaUrl = url!.replace('getHLSMasterPlaylist.m3u8', 'getHLSMediaPlaylist.m3u8') + '&TrackNumber=1';
    const media = (await get(mediaUrl)).body.toString();
    const segments = checkMediaPlaylist(media, mediaUrl, { fmp4: false, vod: true });
    expect(media.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(3);
    expect(media).toMatch(/^#EXT-X-DISCONTINUITY-SEQUENCE:0$/m);
    expect(media.match(/#EXT-X-PROGRAM-DATE-TIME:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g)).toHaveLength(4);
    let total = 0;
    for (const [i, s] of segments.entries()) {
      const seg = await get(s);
      expect(seg.type).toBe('video/mp2t');
      fs.writeFileSync(path.join(dir, `seg${i}.ts`), seg.body);
      const p = probe(path.join(dir, `seg${i}.ts`));
      expect(p).toMatchObject({ codec: 'h264', width: 640, height: 360 });
      total += p.frames;
    }
    expect(total).toBe(frames);
  });

  it('LIVE lists the newest fragments (at most MaxMediaPlaylistFragmentResults) and needs one from the last 30 seconds', async () => {
    // The fragments arrived (server time) when the test began: 31 s later, LIVE finds nothing recent.
    clock = Date.now() + 31_000;
    try {
      expect(await awsErrorOf(am.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'cam', PlaybackMode: 'LIVE' })))).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
      clock = Date.now();
      const { HLSStreamingSessionURL: url } = await am.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'cam', MaxMediaPlaylistFragmentResults: 3 }));
      const mediaUrl = url!.replace('getHLSMasterPlaylist.m3u8', 'getHLSMediaPlaylist.m3u8') + '&TrackNumber=1';
      const media = (await get(mediaUrl)).body.toString();
      const segments = checkMediaPlaylist(media, mediaUrl, { fmp4: true, vod: false });
      expect(segments).toHaveLength(3);
      expect(media).toMatch(/^#EXT-X-MEDIA-SEQUENCE:1$/m);
      // SERVER_TIMESTAMP sessions default to DiscontinuityMode ALWAYS.
      expect(media).toMatch(/^#EXT-X-DISCONTINUITY-SEQUENCE:1$/m);
    } finally {
      clock = Date.now();
    }
  });

  it('LIVE_REPLAY adds each fragment once the ones before it have played, and ends at EndTimestamp', async () => {
    clock = Date.now();
    try {
      const replay = async (EndTimestamp?: Date) => {
        const { HLSStreamingSessionURL: url } = await am.send(new GetHLSStreamingSessionURLCommand({
          StreamName: 'cam', PlaybackMode: 'LIVE_REPLAY',
          HLSFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(recordedMs - 1000), ...(EndTimestamp ? { EndTimestamp } : {}) } },
        }));
        return url!.replace('getHLSMasterPlaylist.m3u8', 'getHLSMediaPlaylist.m3u8') + '&TrackNumber=1';
      };
      const open = await replay();
      const ended = await replay(new Date(recordedMs + 30_000));
      const listed = async (url: string) => {
        const text = (await get(url)).body.toString();
        const endList = text.includes('#EXT-X-ENDLIST');
        return { segments: checkMediaPlaylist(text, url, { fmp4: true, vod: false, endList }).length, endList };
      };
      // At the start only the first fragment is there to play; each 2 s of playing brings the next.
      expect(await listed(open)).toEqual({ segments: 1, endList: false });
      clock += 2000;
      expect(await listed(open)).toEqual({ segments: 2, endList: false });
      clock += 4000;
      expect(await listed(open)).toEqual({ segments: 4, endList: false });
      // All four have been listed: the session with an end is complete; the open one waits for more.
      expect(await listed(ended)).toEqual({ segments: 4, endList: true });
      clock += 60_000;
      expect(await listed(open)).toEqual({ segments: 4, endList: false });
    } finally {
      clock = Date.now();
    }
  });

  it('session URLs expire, cannot be forged, are bound to their stream and die with a revoked key', async () => {
    const { principal, secretAccessKey } = await gw.principals.createOperator('viewer', 'reader');
    const viewer = archivedMediaClient(gw.url, { accessKeyId: principal.accessKeyId, secretAccessKey });
    try {
      const { HLSStreamingSessionURL: url } = await viewer.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'cam', ...onDemand, Expires: 300 }));
      expect((await get(url!)).status).toBe(200);
      const token = new URL(url!).searchParams.get('SessionToken')!;
      const forged = url!.replace(token, token.slice(0, -3) + (token.endsWith('AAA') ? 'BBB' : 'AAA'));
      expect(await get(forged)).toMatchObject({ status: 401, errorType: 'NotAuthorizedException' });
      // A session serves its own range of its own stream, nothing else.
      const narrow = (await viewer.send(new GetHLSStreamingSessionURLCommand({
        StreamName: 'cam', PlaybackMode: 'ON_DEMAND', HLSFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(recordedMs - 1000), EndTimestamp: new Date(recordedMs + 2500) } },
      }))).HLSStreamingSessionURL!;
      const fragmentUrl = (n: string) => narrow.replace('getHLSMasterPlaylist.m3u8', 'getMP4MediaFragment.mp4') + `&FragmentNumber=${n}&TrackNumber=1`;
      const numbers = gw.video.find('cam')!.fragments.list().map((f) => f.FragmentNumber);
      expect((await get(fragmentUrl(numbers[0]!))).status).toBe(200);
      expect(await get(fragmentUrl(numbers[3]!))).toMatchObject({ status: 400, errorType: 'InvalidArgumentException' });
      expect(await get(fragmentUrl('9'.repeat(numbers[0]!.length)))).toMatchObject({ status: 404, errorType: 'ResourceNotFoundException' });
      clock += 301_000;
      const expired = await get(url!);
      expect(expired).toMatchObject({ status: 401, errorType: 'NotAuthorizedException' });
      expect(JSON.parse(expired.body.toString())).toEqual({ Message: 'The streaming session has expired.' });
      clock = Date.now();
      expect((await get(url!)).status).toBe(200);
      await gw.principals.revoke(principal.accessKeyId);
      expect(await get(url!)).toMatchObject({ status: 401, errorType: 'NotAuthorizedException' });
    } finally {
      clock = Date.now();
      viewer.destroy();
    }
  });

  it('a principal plays only the streams its policy grants', async () => {
    await gw.principals.putPolicy({ name: 'watch-cam', description: '', statements: [{ actions: ['kinesisvideo:GetHLSStreamingSessionURL', 'kinesisvideo:GetClip'], resources: ['videostream/cam'] }] });
    const { principal, secretAccessKey } = await gw.principals.createOperator('watcher', 'watch-cam');
    const watcher = archivedMediaClient(gw.url, { accessKeyId: principal.accessKeyId, secretAccessKey });
    try {
      expect((await watcher.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'cam', ...onDemand }))).HLSStreamingSessionURL).toBeTruthy();
      expect(await awsErrorOf(watcher.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'other', ...onDemand })))).toMatchObject({ name: 'AccessDeniedException', status: 403 });
      expect(await awsErrorOf(watcher.send(new GetDASHStreamingSessionURLCommand({ StreamName: 'cam', PlaybackMode: 'ON_DEMAND', DASHFragmentSelector: onDemand.HLSFragmentSelector })))).toMatchObject({ name: 'AccessDeniedException', status: 403 });
    } finally {
      watcher.destroy();
    }
  });

  it("answers AWS's errors for bad requests", async () => {
    const err = (input: Record<string, unknown>) => awsErrorOf(am.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'cam', ...input })));
    expect(await err({ PlaybackMode: 'ON_DEMAND' })).toMatchObject({ name: 'InvalidArgumentException', status: 400 });
    expect(await err({ ...onDemand, Expires: 299 })).toMatchObject({ name: 'InvalidArgumentException', status: 400 });
    expect(await err({ ...onDemand, Expires: 43_201 })).toMatchObject({ name: 'InvalidArgumentException', status: 400 });
    expect(await err({ ...onDemand, MaxMediaPlaylistFragmentResults: 5001 })).toMatchObject({ name: 'InvalidArgumentException', status: 400 });
    expect(await err({ PlaybackMode: 'LIVE', HLSFragmentSelector: onDemand.HLSFragmentSelector })).toMatchObject({ name: 'InvalidArgumentException' });
    const empty = { PlaybackMode: 'ON_DEMAND', HLSFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(recordedMs - 3_600_000), EndTimestamp: new Date(recordedMs - 3_500_000) } } };
    expect(await err(empty)).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
    expect(await awsErrorOf(am.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'nothing-kept', PlaybackMode: 'LIVE' })))).toMatchObject({ name: 'NoDataRetentionException', status: 400 });
    expect(await awsErrorOf(am.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'missing', PlaybackMode: 'LIVE' })))).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
  });
});

describe('DASH', () => {
  it('ON_DEMAND: a static MPD that ffmpeg plays frame for frame, with kvs:ts and kvs:fn when asked', async () => {
    const { DASHStreamingSessionURL: url } = await am.send(new GetDASHStreamingSessionURLCommand({
      StreamName: 'cam', PlaybackMode: 'ON_DEMAND', DASHFragmentSelector: onDemand.HLSFragmentSelector, DisplayFragmentTimestamp: 'ALWAYS', DisplayFragmentNumber: 'ALWAYS',
    }));
    expect(url).toMatch(/\/dash\/v1\/getDASHManifest\.mpd\?SessionToken=/);
    const mpd = await get(url!);
    expect(mpd.type).toBe('application/dash+xml');
    const text = mpd.body.toString();
    expect(text).toMatch(/<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"[^>]* type="static" mediaPresentationDuration="PT8\.000S">/);
    expect(text.match(/<S t="\d+" d="180000" kvs:ts="\d+" kvs:fn="\d+"\/>/g)).toHaveLength(4);
    expect(await ffprobeUrl(url!)).toMatchObject({ codec: 'h264', width: 640, height: 360, frames });
  });
  it('LIVE: a dynamic MPD of the newest fragments that the player reloads', async () => {
    clock = Date.now();
    const { DASHStreamingSessionURL: url } = await am.send(new GetDASHStreamingSessionURLCommand({ StreamName: 'cam', PlaybackMode: 'LIVE', MaxManifestFragmentResults: 2 }));
    const text = (await get(url!)).body.toString();
    expect(text).toMatch(/<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"[^>]* type="dynamic" availabilityStartTime="[^"]+" publishTime="[^"]+" minimumUpdatePeriod="PT1S"/);
    expect(text).not.toContain('mediaPresentationDuration');
    expect(text.match(/<S t="\d+" d="\d+"\/>/g)).toHaveLength(2);
    // Its segments are the newest two fragments, served by the session.
    const newest = gw.video.find('cam')!.fragments.list().slice(-2).map((f) => f.FragmentNumber);
    for (const n of newest) expect(text).toContain(`FragmentNumber=${n}`);
  });
});

describe('GetClip', () => {
  it('answers one MP4 of the range that ffprobe reads with the right codec, size and duration', async () => {
    const r = await am.send(new GetClipCommand({ StreamName: 'cam', ClipFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(recordedMs + 1000), EndTimestamp: new Date(recordedMs + 6500) } } }));
    expect(r.ContentType).toBe('video/mp4');
    fs.writeFileSync(path.join(dir, 'clip.mp4'), await r.Payload!.transformToByteArray());
    // Fragments starting at 2, 4 and 6 s: three fragments, 6 s.
    const p = probe(path.join(dir, 'clip.mp4'));
    expect(p).toMatchObject({ codec: 'h264', width: 640, height: 360, frames: 180 });
    expect(p.duration).toBeCloseTo(6, 1);
  });

  it('errors: no fragments in the range, end before start, no retention', async () => {
    const range = (a: number, b: number) => ({ FragmentSelectorType: 'PRODUCER_TIMESTAMP' as const, TimestampRange: { StartTimestamp: new Date(a), EndTimestamp: new Date(b) } });
    expect(await awsErrorOf(am.send(new GetClipCommand({ StreamName: 'cam', ClipFragmentSelector: range(recordedMs - 100_000, recordedMs - 90_000) })))).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
    expect(await awsErrorOf(am.send(new GetClipCommand({ StreamName: 'cam', ClipFragmentSelector: range(recordedMs, recordedMs - 1) })))).toMatchObject({ name: 'InvalidArgumentException', status: 400 });
    expect(await awsErrorOf(am.send(new GetClipCommand({ StreamName: 'nothing-kept', ClipFragmentSelector: range(recordedMs, recordedMs + 1) })))).toMatchObject({ name: 'NoDataRetentionException', status: 400 });
  });
  it('refuses a range whose codec configuration changes (InvalidCodecPrivateDataException) and media without one (MissingCodecPrivateDataException)', async () => {
    const range = (a: number, b: number) => ({ FragmentSelectorType: 'PRODUCER_TIMESTAMP' as const, TimestampRange: { StartTimestamp: new Date(a), EndTimestamp: new Date(b) } });
    const err = await awsErrorOf(am.send(new GetClipCommand({ StreamName: 'mixed', ClipFragmentSelector: range(recordedMs - 1000, recordedMs + 30_000) })));
    expect(err).toMatchObject({ name: 'InvalidCodecPrivateDataException', status: 400 });
    // Each part alone is a clip.
    expect((await am.send(new GetClipCommand({ StreamName: 'mixed', ClipFragmentSelector: range(recordedMs - 1000, recordedMs + 7000) }))).ContentType).toBe('video/mp4');
    expect((await am.send(new GetClipCommand({ StreamName: 'mixed', ClipFragmentSelector: range(recordedMs + 7500, recordedMs + 30_000) }))).ContentType).toBe('video/mp4');
    expect(await awsErrorOf(am.send(new GetClipCommand({ StreamName: 'undecodable', ClipFragmentSelector: range(recordedMs - 1000, recordedMs + 30_000) })))).toMatchObject({ name: 'MissingCodecPrivateDataException', status: 400 });
  });
});

describe('GetImages', () => {
  const images = (input: Record<string, unknown>) => am.send(new GetImagesCommand({
    StreamName: 'cam', ImageSelectorType: 'PRODUCER_TIMESTAMP', StartTimestamp: new Date(recordedMs + 500), EndTimestamp: new Date(recordedMs + 3500), SamplingInterval: 1000, Format: 'JPEG', ...input,
  }));

  it('JPEG at a requested size, one per sampling instant; PNG; NO_MEDIA where no fragment covers the instant', async () => {
    const jpeg = await images({ WidthPixels: 320, HeightPixels: 180, FormatConfig: { JPEGQuality: '60' } });
    expect(jpeg.Images!.map((i) => i.TimeStamp!.getTime())).toEqual([500, 1500, 2500].map((o) => recordedMs + o));
    for (const [k, img] of jpeg.Images!.entries()) {
      expect(img.Error).toBeUndefined();
      fs.writeFileSync(path.join(dir, `img${k}.jpg`), Buffer.from(img.ImageContent!, 'base64'));
      expect(probe(path.join(dir, `img${k}.jpg`))).toMatchObject({ codec: 'mjpeg', width: 320, height: 180 });
    }
    const png = await images({ Format: 'PNG', StartTimestamp: new Date(recordedMs + 7000), EndTimestamp: new Date(recordedMs + 9500) });
    expect(png.Images!.map((i) => i.Error)).toEqual([undefined, 'NO_MEDIA', 'NO_MEDIA']);
    fs.writeFileSync(path.join(dir, 'img.png'), Buffer.from(png.Images![0]!.ImageContent!, 'base64'));
    expect(probe(path.join(dir, 'img.png'))).toMatchObject({ codec: 'png', width: 640, height: 360 });
  });

  it('MEDIA_ERROR where a fragment covers the instant but no image can be made of it', async () => {
    const r = await images({ StreamName: 'undecodable', StartTimestamp: new Date(recordedMs + 500), EndTimestamp: new Date(recordedMs + 2500) });
    expect(r.Images!.map((i) => [i.Error, i.ImageContent])).toEqual([['MEDIA_ERROR', undefined], ['MEDIA_ERROR', undefined]]);
  });

  it('pages with MaxResults and NextToken', async () => {
    const first = await images({ MaxResults: 2, EndTimestamp: new Date(recordedMs + 5500) });
    expect(first.Images).toHaveLength(2);
    expect(first.NextToken).toMatch(/^[a-zA-Z0-9+/]+={0,2}$/);
    const second = await images({ MaxResults: 2, EndTimestamp: new Date(recordedMs + 5500), NextToken: first.NextToken });
    expect(second.Images!.map((i) => i.TimeStamp!.getTime())).toEqual([2500, 3500].map((o) => recordedMs + o));
  });

  it('errors: sampling interval under 200 ms, a range over 300 s, a bad JPEGQuality', async () => {
    expect(await awsErrorOf(images({ SamplingInterval: 199 }))).toMatchObject({ name: 'InvalidArgumentException', status: 400 });
    expect(await awsErrorOf(images({ EndTimestamp: new Date(recordedMs + 301_000) }))).toMatchObject({ name: 'InvalidArgumentException', status: 400 });
    expect(await awsErrorOf(images({ FormatConfig: { JPEGQuality: '101' } }))).toMatchObject({ name: 'InvalidArgumentException', status: 400 });
  });
});
