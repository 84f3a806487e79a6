// Proves PutMedia against a real gateway: real ffmpeg MKV (720p H.264, 2 s
// GOP) sent through the SDK's VideoProducer and through a raw chunked
// request, acks checked line by line (BUFFERING, RECEIVED, PERSISTED per
// fragment, 47-digit increasing numbers), stored fragments byte-identical to
// what was sent with absolute producer time; RELATIVE timecodes; no PERSISTED
// without retention; AWS's ErrorIds for garbage, size, duration, backwards
// timecodes and a deleted stream, with earlier fragments kept; a cut
// connection keeps only complete fragments; resends are not stored twice;
// the producer resumes after cut connections; device policy checks. (The
// connection rate is in video-quotas.test.ts, on a gateway with a manual clock.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, DeleteStreamCommand, type KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import type { Gateway } from '../../gateway/gateway.ts';
import { clusterElement, concat, ebmlHeader, element, encodeSize, infoElement, MkvId, MkvReader, segmentStart, simpleBlock, tracksElement, type MkvEvent } from '../../sdk/protocol/mkv/index.ts';
import type { Ack } from '../../sdk/protocol/video/acks.ts';
import { VideoProducer } from '../../sdk/video/producer.ts';
import { testGateway, testOperator } from '../helpers/gateway.ts';
import { ffmpegAvailable, testClip } from '../helpers/ffmpeg-mkv.ts';
import net from 'node:net';
import { awsErrorOf, rawPutMedia, videoClient, writeInChunks } from '../helpers/video.ts';

const hasFfmpeg = ffmpegAvailable();
let gw: Gateway & { dataDir: string };
let kv: KinesisVideoClient;
let clip: Uint8Array;
// A fixed past start, so that the encoded clip is cached across runs (retention counts server time, not producer time).
const t0 = 1_700_000_000;

beforeAll(async () => {
  gw = await testGateway();
  kv = videoClient(gw.url);
  // 6 s of the test camera: 3 fragments of 2 s (about 180 kB each), absolute timecodes.
  if (hasFfmpeg) clip = new Uint8Array(testClip({ width: 1280, height: 720, seconds: 6, tsOffsetSeconds: t0, bitrate: '2M' }));
});
afterAll(async () => {
  kv?.destroy();
  await gw?.close();
});

async function createStream(name: string, hours = 24): Promise<void> {
  await kv.send(new CreateStreamCommand({ StreamName: name, DataRetentionInHours: hours }));
}

const clustersOf = (bytes: Uint8Array) => {
  const r = new MkvReader();
  return [...r.push(bytes), ...r.end()].filter((e): e is Extract<MkvEvent, { type: 'cluster' }> => e.type === 'cluster');
};

/**
 * A synthetic document: `tracks` video tracks (numbered 1..n), clusters of
 * frames at the given (ms) offsets, each frame on `track` (default 1) or, with
 * `everyTrack`, one copy per track.
 */
function synthetic(clusters: Array<{ timecode: number; frames: number[]; bytes?: number; track?: number }>, o: { tracks?: number; everyTrack?: boolean } = {}): Uint8Array {
  const numbers = Array.from({ length: o.tracks ?? 1 }, (_, i) => i + 1);
  return concat([
    ebmlHeader(), segmentStart(), infoElement({ timecodeScale: 1_000_000 }),
    tracksElement(numbers.map((number) => ({ number, codecId: 'V_MPEG4/ISO/AVC', pixelWidth: 64, pixelHeight: 64, defaultDuration: 33_333_333 }))),
    ...clusters.map((c) => clusterElement(c.timecode, c.frames.flatMap((t, i) =>
      (o.everyTrack ? numbers : [c.track ?? 1]).map((track) => simpleBlock({ track, timecode: t, keyframe: i === 0, data: new Uint8Array(c.bytes ?? 100).fill(i) }))))),
  ]);
}

const byType = (acks: Ack[], type: Ack['EventType']) => acks.filter((a) => a.EventType === type);

describe.skipIf(!hasFfmpeg)('real camera MKV', () => {
  it('stores every fragment through the VideoProducer, byte for byte, with absolute producer time', async () => {
    await createStream('cam-producer');
    const acks: Ack[] = [];
    const producer = new VideoProducer({ endpoint: gw.url, region: 'us-east-1', credentials: testOperator, streamName: 'cam-producer', onAck: (a) => acks.push(a) });
    const { fragments, reconnects } = await producer.put([clip]);
    expect(reconnects).toBe(0);
    const sent = clustersOf(clip);
    expect(fragments.map((f) => f.timecode)).toEqual(sent.map((c) => c.timecode));
    const log = gw.video.find('cam-producer')!.fragments;
    const stored = log.list();
    expect(stored.map((m) => m.FragmentNumber)).toEqual(fragments.map((f) => f.fragmentNumber));
    expect(stored.map((m) => m.ProducerTimestamp)).toEqual([0, 2000, 4000].map((d) => t0 * 1000 + d));
    for (const m of stored) expect(m.FragmentLengthInMilliseconds).toBe(2000);
    for (let i = 0; i < sent.length; i++) {
      const media = await log.read(stored[i]!.FragmentNumber);
      expect(Buffer.from(media!.cluster).equals(Buffer.from(sent[i]!.raw))).toBe(true);
      // The stored header and cluster are one playable document.
      const again = clustersOf(concat([media!.header, media!.cluster]));
      expect(again[0]!.frames.length).toBe(60);
    }
    expect(byType(acks, 'PERSISTED').length).toBe(3);
  });

  it('answers a raw chunked request with BUFFERING, RECEIVED and PERSISTED per fragment, line by line', async () => {
    await createStream('cam-raw');
    const put = rawPutMedia(gw.url, { stream: 'cam-raw' });
    await writeInChunks(put.req, clip, 16 * 1024);
    put.req.end();
    await put.done;
    expect(await put.status).toBe(200);
    const sent = clustersOf(clip).map((c) => c.timecode);
    // One JSON object per line, nothing else.
    expect(put.lines.map((l) => JSON.parse(l))).toEqual(put.acks);
    for (const tc of sent) {
      const own = put.acks.filter((a) => a.FragmentTimecode === tc).map((a) => a.EventType);
      expect(own).toEqual(['BUFFERING', 'RECEIVED', 'PERSISTED']);
    }
    const received = byType(put.acks, 'RECEIVED');
    expect(Object.keys(received[0]!).sort()).toEqual(['EventType', 'FragmentNumber', 'FragmentTimecode']);
    const numbers = received.map((a) => a.FragmentNumber!);
    for (const n of numbers) expect(n).toMatch(/^\d{47}$/);
    expect([...numbers].sort()).toEqual(numbers);
    expect(byType(put.acks, 'PERSISTED').map((a) => a.FragmentNumber)).toEqual(numbers);
  });

  it('treats a resent fragment as the one already stored', async () => {
    await createStream('cam-resend');
    const first = rawPutMedia(gw.url, { stream: 'cam-resend' });
    first.req.end(clip);
    await first.done;
    const second = rawPutMedia(gw.url, { stream: 'cam-resend' });
    second.req.end(clip);
    await second.done;
    expect(byType(second.acks, 'PERSISTED').map((a) => a.FragmentNumber)).toEqual(byType(first.acks, 'PERSISTED').map((a) => a.FragmentNumber));
    expect(gw.video.find('cam-resend')!.fragments.list().length).toBe(3);
  });

  it('resumes after connections cut in the middle of fragments, storing each fragment once', async () => {
    await createStream('cam-flaky');
    // The first two connections are cut after 250 kB (inside the second fragment); later ones pass.
    const cutter = await cuttingProxy(Number(new URL(gw.url).port), 250_000, 2);
    try {
      const producer = new VideoProducer({ endpoint: `http://127.0.0.1:${cutter.port}`, region: 'us-east-1', credentials: testOperator, streamName: 'cam-flaky' });
      const pieces = Array.from({ length: Math.ceil(clip.length / 8192) }, (_, i) => clip.subarray(i * 8192, (i + 1) * 8192));
      const { fragments, reconnects } = await producer.put(pieces);
      expect(reconnects).toBe(2);
      expect(fragments.length).toBe(3);
      const stored = gw.video.find('cam-flaky')!.fragments.list();
      expect(stored.map((m) => m.ProducerTimestamp)).toEqual([0, 2000, 4000].map((d) => t0 * 1000 + d));
    } finally {
      cutter.close();
    }
  });
});

describe.skipIf(!hasFfmpeg)('VideoProducer.putFfmpeg', () => {
  const camera = (seconds?: number) => [
    ...(seconds === undefined ? ['-re'] : []), '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30', ...(seconds === undefined ? [] : ['-t', String(seconds)]),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0',
  ];

  it('runs ffmpeg and sends every fragment it encodes, one per GOP', async () => {
    await createStream('ff-file');
    const producer = new VideoProducer({ endpoint: gw.url, region: 'us-east-1', credentials: testOperator, streamName: 'ff-file' });
    const { fragments } = await producer.putFfmpeg(camera(6));
    expect(fragments).toHaveLength(3);
    const stored = gw.video.find('ff-file')!.fragments.list();
    expect(stored.map((m) => m.FragmentNumber)).toEqual(fragments.map((f) => f.fragmentNumber));
    // RELATIVE timecodes from the producer's start: 0, 2 and 4 s after it.
    expect(stored.map((m) => m.ProducerTimestamp - producer.producerStartMs)).toEqual([0, 2000, 4000]);
    for (const m of stored) expect(clustersOf(concat([(await gw.video.find('ff-file')!.fragments.read(m.FragmentNumber))!.header, (await gw.video.find('ff-file')!.fragments.read(m.FragmentNumber))!.cluster]))[0]!.frames.length).toBe(60);
  });

  it('stops a camera that never ends when asked, after sending what it encoded', async () => {
    await createStream('ff-live');
    const stop = new AbortController();
    let persisted = 0;
    const producer = new VideoProducer({
      endpoint: gw.url, region: 'us-east-1', credentials: testOperator, streamName: 'ff-live',
      onAck: (a) => {
        if (a.EventType === 'PERSISTED' && ++persisted === 2) stop.abort();
      },
    });
    const { fragments } = await producer.putFfmpeg(camera(), { signal: stop.signal });
    // Two fragments were persisted before the stop; ffmpeg then closed the GOP it was in, which was sent too.
    expect(fragments.length).toBeGreaterThanOrEqual(3);
    expect(gw.video.find('ff-live')!.fragments.list().map((m) => m.FragmentNumber)).toEqual(fragments.map((f) => f.fragmentNumber));
  }, 60_000);

  it('fails with FFMPEG_FAILED and ffmpeg\'s own words when ffmpeg fails', async () => {
    await createStream('ff-bad');
    const producer = new VideoProducer({ endpoint: gw.url, region: 'us-east-1', credentials: testOperator, streamName: 'ff-bad' });
    const err = await producer.putFfmpeg(['-f', 'lavfi', '-i', 'no_such_source_filter']).then(() => undefined, (e: unknown) => e as Error & { code?: string });
    expect(err).toMatchObject({ code: 'FFMPEG_FAILED' });
    expect(err!.message).toMatch(/no_such_source_filter/i);
  });
});

describe('resends before the fsync (fsync: interval)', () => {
  // Under the interval policy a fragment is RECEIVED at once and PERSISTED only at the next fsync. A producer
  // that reconnects in between resends it; the gateway must answer with the copy on its way, not store a second.
  let slow: Gateway & { dataDir: string };
  let slowKv: KinesisVideoClient;
  beforeAll(async () => {
    slow = await testGateway({ fsync: { kind: 'interval', intervalMs: 5000 } });
    slowKv = videoClient(slow.url);
  });
  afterAll(async () => {
    slowKv?.destroy();
    await slow?.close();
  });

  it('acknowledges a fragment resent while its first copy awaits the fsync with the same number, and stores it once', async () => {
    await slowKv.send(new CreateStreamCommand({ StreamName: 'between-fsyncs', DataRetentionInHours: 1 }));
    const base = Date.now() - 10_000;
    const bytes = synthetic([0, 2000, 4000].map((d) => ({ timecode: base + d, frames: [0, 33] })));
    const first = rawPutMedia(slow.url, { stream: 'between-fsyncs' });
    first.req.on('error', () => undefined);
    first.req.write(bytes);
    await first.until((acks) => byType(acks, 'RECEIVED').length === 3);
    // The connection dies before any PERSISTED; the producer sends everything again.
    first.req.destroy();
    const second = rawPutMedia(slow.url, { stream: 'between-fsyncs' });
    second.req.end(bytes);
    await second.done;
    const numbers = byType(first.acks, 'RECEIVED').map((a) => a.FragmentNumber);
    expect(byType(second.acks, 'RECEIVED').map((a) => a.FragmentNumber)).toEqual(numbers);
    expect(byType(second.acks, 'PERSISTED').map((a) => a.FragmentNumber)).toEqual(numbers);
    expect(slow.video.find('between-fsyncs')!.fragments.list().map((m) => m.FragmentNumber)).toEqual(numbers);
  });
});

describe('timecodes and retention', () => {
  it('adds RELATIVE timecodes to the producer start timestamp and stores them absolute', async () => {
    await createStream('rel');
    const start = Date.now() - 60_000;
    const put = rawPutMedia(gw.url, { stream: 'rel', timecodeType: 'RELATIVE', startMs: start });
    put.req.end(synthetic([{ timecode: 0, frames: [0, 33, 67] }, { timecode: 100, frames: [0, 33] }]));
    await put.done;
    expect(byType(put.acks, 'PERSISTED').map((a) => a.FragmentTimecode)).toEqual([0, 100]);
    const log = gw.video.find('rel')!.fragments;
    const [a, b] = log.list();
    const startMs = Math.round(Number((start / 1000).toFixed(3)) * 1000);
    expect([a!.ProducerTimestamp, b!.ProducerTimestamp]).toEqual([startMs, startMs + 100]);
    expect(a!.FragmentLengthInMilliseconds).toBe(100); // 67 ms + one 33.3 ms frame
    const [stored] = clustersOf(concat([(await log.read(a!.FragmentNumber))!.header, (await log.read(a!.FragmentNumber))!.cluster]));
    expect(stored!.timecode).toBe(startMs);
    expect(stored!.frames.map((f) => f.timecode)).toEqual([0, 33, 67]);
  });

  it('sends RECEIVED but never PERSISTED for a stream without retention', async () => {
    await createStream('live-only', 0);
    const put = rawPutMedia(gw.url, { stream: 'live-only' });
    put.req.end(synthetic([{ timecode: Date.now() - 5000, frames: [0, 33] }]));
    await put.done;
    expect(put.acks.map((a) => a.EventType)).toEqual(['BUFFERING', 'RECEIVED']);
    expect(gw.video.find('live-only')!.fragments.list().length).toBe(1); // served live from memory
  });
});

describe('rates', () => {
  // PutMedia's per-stream limits (5 fragments and 12.5 MB per second) are met by reading the request more
  // slowly: an upload of a recording faster than that is paced, never failed. Lower bounds on time only.
  it('paces a burst of fragments to 5 per second', async () => {
    await createStream('burst');
    const base = Date.now() - 60_000;
    const put = rawPutMedia(gw.url, { stream: 'burst' });
    const began = Date.now();
    put.req.end(synthetic(Array.from({ length: 15 }, (_, i) => ({ timecode: base + i * 100, frames: [0, 33] }))));
    await put.done;
    // 5 at once, then 10 more at 5 a second: at least 2 s.
    expect(Date.now() - began).toBeGreaterThanOrEqual(1800);
    expect(byType(put.acks, 'PERSISTED').length).toBe(15);
    expect(byType(put.acks, 'ERROR')).toEqual([]);
  });

  it('paces a bulk upload to 12.5 MB per second', async () => {
    await createStream('bulk');
    const base = Date.now() - 60_000;
    const put = rawPutMedia(gw.url, { stream: 'bulk' });
    const began = Date.now();
    // Three fragments of 10 MB (50 frames of 200 kB): 12.5 MB at once, the other 17.5 MB at 12.5 MB/s.
    await writeInChunks(put.req, synthetic([0, 1, 2].map((i) => ({ timecode: base + i * 2000, frames: Array.from({ length: 50 }, (_, k) => k * 40), bytes: 200_000 }))), 256 * 1024);
    put.req.end();
    await put.done;
    expect(Date.now() - began).toBeGreaterThanOrEqual(1300);
    expect(byType(put.acks, 'PERSISTED').length).toBe(3);
    expect(byType(put.acks, 'ERROR')).toEqual([]);
  });
});

describe('errors', () => {
  const now = () => Date.now() - 10_000;

  it('answers garbage with INVALID_MKV_DATA (4006) and stores nothing', async () => {
    await createStream('garbage');
    const put = rawPutMedia(gw.url, { stream: 'garbage' });
    put.req.end(Buffer.from('this is not a matroska stream at all'));
    await put.done;
    expect(put.acks).toEqual([{ EventType: 'ERROR', ErrorId: 4006, ErrorCode: 'INVALID_MKV_DATA' }]);
    expect(gw.video.find('garbage')!.fragments.list()).toEqual([]);
  });

  it('keeps the fragments before a bad one: backwards timecode (4004), too long (4002), too large (4001)', async () => {
    const base = now();
    const cases: Array<[string, Uint8Array, number]> = [
      ['back', synthetic([{ timecode: base, frames: [0] }, { timecode: base - 1000, frames: [0] }]), 4004],
      ['long', synthetic([{ timecode: base, frames: [0] }, { timecode: base + 2000, frames: [0, 5000, 10_500] }]), 4002],
      ['big', concat([synthetic([{ timecode: base, frames: [0] }]), encodeIdSize(MkvId.Cluster, 60_000_000), new Uint8Array(1000)]), 4001],
    ];
    for (const [name, bytes, errorId] of cases) {
      await createStream(`err-${name}`);
      const put = rawPutMedia(gw.url, { stream: `err-${name}` });
      put.req.on('error', () => undefined);
      put.req.end(bytes);
      await put.done;
      const errors = byType(put.acks, 'ERROR');
      expect(errors.map((a) => a.ErrorId), name).toEqual([errorId]);
      expect(byType(put.acks, 'PERSISTED').length, name).toBe(1);
      expect(gw.video.find(`err-${name}`)!.fragments.list().length, name).toBe(1);
    }
  });

  it('answers the other fragment errors with their ErrorIds, keeping the fragments before: 4000, 4007, 4010, 4011, 4012', async () => {
    const base = now();
    const good = { timecode: base, frames: [0, 33] };
    const whole = synthetic([good, { timecode: base + 100, frames: [0, 33], bytes: 5000 }]);
    const cases: Array<[string, Uint8Array, number, string, number]> = [
      // The body ends (cleanly, with the chunked terminator) inside the second Cluster.
      ['truncated', whole.subarray(0, whole.length - 2000), 4000, 'STREAM_READ_ERROR', 1],
      // A producer timestamp two days ahead of the gateway's clock.
      ['future', synthetic([good, { timecode: Date.now() + 2 * 86_400_000, frames: [0] }]), 4007, 'INVALID_PRODUCER_TIMESTAMP', 1],
      // A frame on track 2 of a document that declares track 1 only.
      ['mismatch', synthetic([good, { timecode: base + 100, frames: [0], track: 2 }]), 4010, 'TRACK_NUMBER_MISMATCH', 1],
      // Two tracks declared; the first fragment has frames on both, the second on track 1 only.
      ['missing', concat([synthetic([good], { tracks: 2, everyTrack: true }).subarray(0), clusterElement(base + 100, [simpleBlock({ track: 1, timecode: 0, keyframe: true, data: new Uint8Array(10) })])]), 4011, 'FRAMES_MISSING_FOR_TRACK', 1],
      // Four tracks: refused at the Tracks element, before any fragment.
      ['tracks', synthetic([good], { tracks: 4, everyTrack: true }), 4012, 'MORE_THAN_ALLOWED_TRACKS_FOUND', 0],
    ];
    for (const [name, bytes, errorId, errorCode, kept] of cases) {
      await createStream(`err2-${name}`);
      const put = rawPutMedia(gw.url, { stream: `err2-${name}` });
      put.req.on('error', () => undefined);
      put.req.end(bytes);
      await put.done;
      expect(byType(put.acks, 'ERROR'), name).toEqual([expect.objectContaining({ EventType: 'ERROR', ErrorId: errorId, ErrorCode: errorCode })]);
      expect(byType(put.acks, 'PERSISTED').length, name).toBe(kept);
      expect(gw.video.find(`err2-${name}`)!.fragments.list().map((m) => m.ProducerTimestamp), name).toEqual(kept ? [base] : []);
    }
  });

  it('sends IDLE while no data arrives on an open request', async () => {
    await createStream('idle');
    const put = rawPutMedia(gw.url, { stream: 'idle' });
    put.req.on('error', () => undefined);
    put.req.write(synthetic([{ timecode: now(), frames: [0, 33] }]));
    await put.until((acks) => byType(acks, 'PERSISTED').length === 1);
    // AWS sends IDLE "periodically" while the connection is quiet; ours every 3 s.
    await put.until((acks) => byType(acks, 'IDLE').length >= 1, 20_000);
    expect(byType(put.acks, 'IDLE')[0]).toEqual({ EventType: 'IDLE' });
    put.req.end();
    await put.done;
    expect(byType(put.acks, 'ERROR')).toEqual([]);
  });

  it('keeps only complete fragments when the connection is cut in the middle of one', async () => {
    await createStream('cut');
    const base = now();
    const bytes = synthetic([{ timecode: base, frames: [0, 33] }, { timecode: base + 100, frames: [0, 33], bytes: 50_000 }]);
    const firstEnd = bytes.length - 100_000; // well inside the second cluster
    const put = rawPutMedia(gw.url, { stream: 'cut' });
    put.req.on('error', () => undefined);
    put.req.write(bytes.subarray(0, firstEnd));
    await put.until((acks) => byType(acks, 'PERSISTED').length === 1 && byType(acks, 'BUFFERING').length === 2);
    put.req.destroy();
    await put.done;
    const log = gw.video.find('cut')!.fragments;
    // Nothing more arrives after the cut: the second fragment was never complete.
    await new Promise((r) => setTimeout(r, 100));
    expect(log.list().map((m) => m.ProducerTimestamp)).toEqual([base]);
  });

  it('ends a session with STREAM_NOT_ACTIVE (4008) when its stream is deleted', async () => {
    const { StreamARN } = await kv.send(new CreateStreamCommand({ StreamName: 'doomed', DataRetentionInHours: 1 }));
    const put = rawPutMedia(gw.url, { stream: 'doomed' });
    put.req.on('error', () => undefined);
    put.req.write(synthetic([{ timecode: now(), frames: [0] }]));
    await put.until((acks) => byType(acks, 'PERSISTED').length === 1);
    await kv.send(new DeleteStreamCommand({ StreamARN }));
    await put.until((acks) => byType(acks, 'ERROR').length === 1);
    expect(byType(put.acks, 'ERROR')[0]).toMatchObject({ ErrorId: 4008, ErrorCode: 'STREAM_NOT_ACTIVE' });
    put.req.destroy();
  });

  it('refuses before 200: a missing stream (404), a foreign device (403)', async () => {
    const missing = rawPutMedia(gw.url, { stream: 'no-such-stream' });
    missing.req.end();
    expect(await missing.status).toBe(404);
    await missing.done;
    expect(JSON.parse(missing.lines.join(''))).toEqual({ Message: 'The requested stream is not found or not active.' });

    await createStream('porch-cam9');
    await createStream('porch-cam8');
    const { code } = await gw.principals.createPairingCode('cam9', 'device', 60_000);
    const device = await gw.principals.redeem(code, 'B'.repeat(44));
    const creds = { accessKeyId: device!.principal.accessKeyId, secretAccessKey: device!.secretAccessKey };
    const own = rawPutMedia(gw.url, { stream: 'porch-cam9', credentials: creds });
    own.req.end(synthetic([{ timecode: now(), frames: [0] }]));
    await own.done;
    expect(byType(own.acks, 'PERSISTED').length).toBe(1);
    const foreign = rawPutMedia(gw.url, { stream: 'porch-cam8', credentials: creds });
    foreign.req.end();
    expect(await foreign.status).toBe(403);
    await foreign.done;
    expect(await awsErrorOf(new VideoProducer({ endpoint: gw.url, region: 'us-east-1', credentials: creds, streamName: 'porch-cam8' }).put([synthetic([{ timecode: now(), frames: [0] }])])))
      .toMatchObject({ name: 'AccessDeniedException' });
  });
});

function encodeIdSize(id: number, size: number): Uint8Array {
  return concat([element(id, new Uint8Array(0)).subarray(0, 4), encodeSize(size, 8)]);
}

/** A TCP proxy that cuts each of its first `cuts` connections after `bytes` bytes towards the gateway. */
async function cuttingProxy(targetPort: number, bytes: number, cuts: number): Promise<{ port: number; close(): void }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const cut = connections++ < cuts;
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let sent = 0;
    client.on('data', (c: Buffer) => {
      if (cut && sent + c.length > bytes) {
        upstream.write(c.subarray(0, bytes - sent));
        client.destroy();
        upstream.destroy();
        return;
      }
      sent += c.length;
      upstream.write(c);
    });
    upstream.on('data', (c) => client.write(c));
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
