// Proves the video read APIs through the stock SDK clients against a real
// gateway: GetMedia (@aws-sdk/client-kinesis-video-media) from every
// StartSelector type, with the AWS_KINESISVIDEO_* tags per chunk and the
// stored Cluster bytes, tailing live fragments as they are stored; ListFragments
// (all, by producer and server timestamp, paged) and GetMediaForFragmentList
// (@aws-sdk/client-kinesis-video-archived-media), including the in-stream
// error tags for a missing fragment; and their error cases.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, type KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { GetMediaCommand, type KinesisVideoMediaClient, type StartSelector } from '@aws-sdk/client-kinesis-video-media';
import { GetMediaForFragmentListCommand, ListFragmentsCommand, type KinesisVideoArchivedMediaClient } from '@aws-sdk/client-kinesis-video-archived-media';
import type { Gateway } from '../../gateway/gateway.ts';
import type { FragmentMeta } from '../../gateway/storage/types.ts';
import { clusterElement, concat, ebmlHeader, infoElement, MkvReader, segmentStart, simpleBlock, tracksElement, type MkvEvent } from '../../sdk/protocol/mkv/index.ts';
import { testGateway } from '../helpers/gateway.ts';
import { archivedMediaClient, awsErrorOf, rawPutMedia, videoClient, videoMediaClient } from '../helpers/video.ts';

let gw: Gateway & { dataDir: string };
let kv: KinesisVideoClient;
let media: KinesisVideoMediaClient;
let archive: KinesisVideoArchivedMediaClient;
const base = Date.now() - 3_600_000;
let stored: FragmentMeta[];

const header = concat([ebmlHeader(), segmentStart(), infoElement({ timecodeScale: 1_000_000 }), tracksElement([{ number: 1, codecId: 'V_MPEG4/ISO/AVC', defaultDuration: 40_000_000 }])]);
/** A 2-second fragment: 50 frames of 40 ms. */
const fragment = (timecode: number, fill: number) => clusterElement(timecode, Array.from({ length: 50 }, (_, i) => simpleBlock({ track: 1, timecode: i * 40, keyframe: i === 0, data: new Uint8Array(200).fill(fill) })));

async function put(stream: string, clusters: Uint8Array[]): Promise<void> {
  const p = rawPutMedia(gw.url, { stream });
  p.req.end(concat([header, ...clusters]));
  await p.done;
  if (p.acks.filter((a) => a.EventType === 'PERSISTED').length !== clusters.length) throw new Error(`put failed: ${JSON.stringify(p.acks)}`);
}

beforeAll(async () => {
  gw = await testGateway();
  kv = videoClient(gw.url);
  media = videoMediaClient(gw.url);
  archive = archivedMediaClient(gw.url);
  await kv.send(new CreateStreamCommand({ StreamName: 'feed', DataRetentionInHours: 24 }));
  // One request each, a few ms apart, so that each fragment has its own server timestamp.
  for (const [i, tc] of [base, base + 2000, base + 4000].entries()) {
    await put('feed', [fragment(tc, i + 1)]);
    await new Promise((r) => setTimeout(r, 5));
  }
  stored = [...gw.video.find('feed')!.fragments.list()];
});
afterAll(async () => {
  for (const c of [kv, media, archive]) c?.destroy();
  await gw?.close();
});

interface Chunk {
  tags: Record<string, string>;
  cluster: Extract<MkvEvent, { type: 'cluster' }>;
}

/** GetMedia allows 5 calls per second per stream: the tests keep under it. */
let lastCallMs = 0;
async function paced(): Promise<void> {
  const wait = lastCallMs + 250 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  lastCallMs = Date.now();
}

/** Reads GetMedia's answer until `count` chunks came, then closes it. */
async function getMedia(StartSelector: StartSelector, count: number, stream = 'feed', onChunk?: (n: number) => void): Promise<{ chunks: Chunk[]; contentType: string | undefined }> {
  await paced();
  const out = await media.send(new GetMediaCommand({ StreamName: stream, StartSelector }));
  const reader = new MkvReader();
  const chunks: Chunk[] = [];
  let tags: Record<string, string> = {};
  const payload = out.Payload as unknown as AsyncIterable<Uint8Array> & { destroy(): void };
  for await (const bytes of payload) {
    for (const ev of reader.push(bytes)) {
      if (ev.type === 'ebml') tags = {};
      if (ev.type === 'tags') for (const t of ev.tags) tags[t.name] = t.value!;
      if (ev.type === 'cluster') chunks.push({ tags, cluster: ev });
      // The closing Tags of a chunk complete it.
      if (ev.type === 'tags' && 'AWS_KINESISVIDEO_CONTINUATION_TOKEN' in tags) onChunk?.(chunks.length);
    }
    if (chunks.length >= count && 'AWS_KINESISVIDEO_CONTINUATION_TOKEN' in (chunks.at(-1)?.tags ?? {})) break;
  }
  payload.destroy();
  return { chunks, contentType: out.ContentType };
}

const numbers = (chunks: Chunk[]) => chunks.map((c) => c.tags.AWS_KINESISVIDEO_FRAGMENT_NUMBER);

describe('GetMedia', () => {
  it('answers EARLIEST with every chunk, its tags and the stored Cluster', async () => {
    const { chunks, contentType } = await getMedia({ StartSelectorType: 'EARLIEST' }, 3);
    expect(contentType).toBe('video/webm');
    expect(numbers(chunks)).toEqual(stored.map((m) => m.FragmentNumber));
    for (const [i, c] of chunks.entries()) {
      const m = stored[i]!;
      expect(c.tags).toEqual({
        AWS_KINESISVIDEO_FRAGMENT_NUMBER: m.FragmentNumber,
        AWS_KINESISVIDEO_SERVER_TIMESTAMP: (m.ServerTimestamp / 1000).toFixed(3),
        AWS_KINESISVIDEO_PRODUCER_TIMESTAMP: (m.ProducerTimestamp / 1000).toFixed(3),
        AWS_KINESISVIDEO_MILLIS_BEHIND_NOW: String(stored.at(-1)!.ServerTimestamp - m.ServerTimestamp),
        AWS_KINESISVIDEO_CONTINUATION_TOKEN: m.FragmentNumber,
      });
      const want = (await gw.video.find('feed')!.fragments.read(m.FragmentNumber))!.cluster;
      expect(Buffer.from(c.cluster.raw).equals(Buffer.from(want))).toBe(true);
      expect(c.cluster.timecode).toBe(base + 2000 * i);
    }
  });

  it('starts after a fragment number, a continuation token, or at a timestamp', async () => {
    const [a, b, c] = stored;
    expect(numbers((await getMedia({ StartSelectorType: 'FRAGMENT_NUMBER', AfterFragmentNumber: a!.FragmentNumber }, 2)).chunks)).toEqual([b!.FragmentNumber, c!.FragmentNumber]);
    expect(numbers((await getMedia({ StartSelectorType: 'CONTINUATION_TOKEN', ContinuationToken: b!.FragmentNumber }, 1)).chunks)).toEqual([c!.FragmentNumber]);
    expect(numbers((await getMedia({ StartSelectorType: 'SERVER_TIMESTAMP', StartTimestamp: new Date(b!.ServerTimestamp) }, 2)).chunks)).toEqual([b!.FragmentNumber, c!.FragmentNumber]);
    // A producer timestamp inside the second fragment selects it.
    expect(numbers((await getMedia({ StartSelectorType: 'PRODUCER_TIMESTAMP', StartTimestamp: new Date(base + 3000) }, 2)).chunks)).toEqual([b!.FragmentNumber, c!.FragmentNumber]);
  });

  it('tails: NOW sends only fragments stored after the call, as they arrive', async () => {
    const got = getMedia({ StartSelectorType: 'NOW' }, 2);
    // Give the call time to reach the gateway before the new fragments exist.
    await new Promise((r) => setTimeout(r, 300));
    await put('feed', [fragment(base + 6000, 4)]);
    await put('feed', [fragment(base + 8000, 5)]);
    const { chunks } = await got;
    const all = gw.video.find('feed')!.fragments.list();
    expect(numbers(chunks)).toEqual(all.slice(3, 5).map((m) => m.FragmentNumber));
  });

  it('tails from EARLIEST into live fragments', async () => {
    await kv.send(new CreateStreamCommand({ StreamName: 'tail', DataRetentionInHours: 1 }));
    await put('tail', [fragment(base, 1)]);
    let putting: Promise<void> | undefined;
    const { chunks } = await getMedia({ StartSelectorType: 'EARLIEST' }, 2, 'tail', (n) => {
      if (n === 1) putting = put('tail', [fragment(base + 2000, 2)]);
    });
    await putting;
    expect(chunks.map((c) => c.cluster.timecode)).toEqual([base, base + 2000]);
  });

  it('refuses bad selectors and missing streams (the call rate: video-quotas.test.ts)', async () => {
    expect(await awsErrorOf(media.send(new GetMediaCommand({ StreamName: 'feed', StartSelector: { StartSelectorType: 'FRAGMENT_NUMBER' } })))).toMatchObject({ name: 'InvalidArgumentException', status: 400 });
    expect(await awsErrorOf(media.send(new GetMediaCommand({ StreamName: 'feed', StartSelector: { StartSelectorType: 'BOGUS' as 'NOW' } })))).toMatchObject({ name: 'InvalidArgumentException' });
    expect(await awsErrorOf(media.send(new GetMediaCommand({ StreamName: 'nope', StartSelector: { StartSelectorType: 'NOW' } })))).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
  });
});

describe('ListFragments', () => {
  it('lists all fragments, by producer and by server timestamp, in pages', async () => {
    const all = await archive.send(new ListFragmentsCommand({ StreamName: 'feed' }));
    const list = gw.video.find('feed')!.fragments.list();
    expect(all.Fragments!.map((f) => f.FragmentNumber)).toEqual(list.map((m) => m.FragmentNumber));
    expect(all.Fragments![0]).toEqual({
      FragmentNumber: list[0]!.FragmentNumber, FragmentSizeInBytes: list[0]!.FragmentSizeInBytes, FragmentLengthInMilliseconds: 2000,
      ProducerTimestamp: new Date(base), ServerTimestamp: new Date(list[0]!.ServerTimestamp),
    });
    const byProducer = await archive.send(new ListFragmentsCommand({
      StreamName: 'feed', FragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(base + 2000), EndTimestamp: new Date(base + 4000) } },
    }));
    expect(byProducer.Fragments!.map((f) => f.ProducerTimestamp!.getTime())).toEqual([base + 2000, base + 4000]);
    const byServer = await archive.send(new ListFragmentsCommand({
      StreamName: 'feed', FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date(list[1]!.ServerTimestamp) } },
    }));
    expect(byServer.Fragments!.map((f) => f.FragmentNumber)).toEqual(list.filter((m) => m.ServerTimestamp <= list[1]!.ServerTimestamp).map((m) => m.FragmentNumber));
    const pages: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await archive.send(new ListFragmentsCommand({ StreamName: 'feed', MaxResults: 2, ...(NextToken ? { NextToken } : {}) }));
      expect(page.Fragments!.length).toBeLessThanOrEqual(2);
      pages.push(...page.Fragments!.map((f) => f.FragmentNumber!));
      NextToken = page.NextToken;
    } while (NextToken);
    expect(pages).toEqual(list.map((m) => m.FragmentNumber));
  });

  it('answers an empty list for a stream without retention, and InvalidArgument for a reversed range', async () => {
    await kv.send(new CreateStreamCommand({ StreamName: 'nothing-kept', DataRetentionInHours: 0 }));
    const p = rawPutMedia(gw.url, { stream: 'nothing-kept' });
    p.req.end(concat([header, fragment(base, 1)]));
    await p.done;
    expect((await archive.send(new ListFragmentsCommand({ StreamName: 'nothing-kept' }))).Fragments).toEqual([]);
    expect(await awsErrorOf(archive.send(new ListFragmentsCommand({
      StreamName: 'feed', FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(2000), EndTimestamp: new Date(1000) } },
    })))).toMatchObject({ name: 'InvalidArgumentException', status: 400 });
    expect(await awsErrorOf(archive.send(new ListFragmentsCommand({ StreamName: 'feed', MaxResults: 1001 })))).toMatchObject({ name: 'InvalidArgumentException' });
  });
});

describe('GetMediaForFragmentList', () => {
  it('answers the chunks asked for in order, and error tags for a missing one', async () => {
    const [a, , c] = stored;
    const missing = '9134385233318' + '9'.repeat(34);
    const out = await archive.send(new GetMediaForFragmentListCommand({ StreamName: 'feed', Fragments: [c!.FragmentNumber, missing, a!.FragmentNumber] }));
    expect(out.ContentType).toBe('video/webm');
    const bytes = await out.Payload!.transformToByteArray();
    const r = new MkvReader();
    const events = [...r.push(bytes), ...r.end()];
    const tags = events.filter((e) => e.type === 'tags').map((e) => Object.fromEntries((e as { tags: Array<{ name: string; value?: string }> }).tags.map((t) => [t.name, t.value])));
    expect(tags).toEqual([
      { AWS_KINESISVIDEO_FRAGMENT_NUMBER: c!.FragmentNumber, AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP: (c!.ServerTimestamp / 1000).toFixed(3), AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP: (c!.ProducerTimestamp / 1000).toFixed(3) },
      { AWS_KINESISVIDEO_FRAGMENT_NUMBER: missing, AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE: '4000', AWS_KINESISVIDEO_EXCEPTION_MESSAGE: 'Requested fragment is not found' },
      { AWS_KINESISVIDEO_FRAGMENT_NUMBER: a!.FragmentNumber, AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP: (a!.ServerTimestamp / 1000).toFixed(3), AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP: (a!.ProducerTimestamp / 1000).toFixed(3) },
    ]);
    expect(events.filter((e) => e.type === 'cluster').map((e) => (e as { timecode: number }).timecode)).toEqual([base + 4000, base]);
    expect(await awsErrorOf(archive.send(new GetMediaForFragmentListCommand({ StreamName: 'feed', Fragments: [] })))).toMatchObject({ name: 'InvalidArgumentException' });
    expect(await awsErrorOf(archive.send(new GetMediaForFragmentListCommand({ StreamName: 'feed', Fragments: ['12ab'] })))).toMatchObject({ name: 'InvalidArgumentException' });
  });
});

describe('a fragment the store cannot read back (a damaged disk)', () => {
  it("answers AWS's error tags in its place: GetMedia ends there, GetMediaForFragmentList goes on", async () => {
    await kv.send(new CreateStreamCommand({ StreamName: 'damaged', DataRetentionInHours: 24 }));
    await put('damaged', [fragment(base, 1), fragment(base + 2000, 2), fragment(base + 4000, 3)]);
    const [a, b, c] = gw.video.find('damaged')!.fragments.list();
    // Three records of the same size in one segment: a byte in the middle of the file is inside the second.
    const dir = path.join(gw.dataDir, 'video', fs.readdirSync(path.join(gw.dataDir, 'video')).find((d) => d.startsWith('damaged-'))!);
    const file = path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.kvf'))!);
    const fd = fs.openSync(file, 'r+');
    const at = Math.floor(fs.fstatSync(fd).size / 2);
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, at);
    fs.writeSync(fd, Buffer.of(byte[0]! ^ 0xff), 0, 1, at);
    fs.closeSync(fd);
    // The newest fragments' media is also kept in memory for live readers (gateway/video/recent-media.ts);
    // the damage that matters is under fragments that have left it, so it is emptied here.
    gw.video.recentMedia.forgetStream(gw.video.find('damaged')!.key);

    await paced();
    const out = await media.send(new GetMediaCommand({ StreamName: 'damaged', StartSelector: { StartSelectorType: 'EARLIEST' } }));
    const events = [...new MkvReader().push(await out.Payload!.transformToByteArray())];
    const tagSets = events.filter((e) => e.type === 'tags').map((e) => Object.fromEntries((e as { tags: Array<{ name: string; value?: string }> }).tags.map((t) => [t.name, t.value])));
    expect(events.filter((e) => e.type === 'cluster').length).toBe(1);
    expect(tagSets.at(-1)).toEqual({ AWS_KINESISVIDEO_FRAGMENT_NUMBER: b!.FragmentNumber, AWS_KINESISVIDEO_ERROR_CODE: 'Internal error', AWS_KINESISVIDEO_ERROR_ID: '5000' });

    const listed = await archive.send(new GetMediaForFragmentListCommand({ StreamName: 'damaged', Fragments: [a!.FragmentNumber, b!.FragmentNumber, c!.FragmentNumber] }));
    const listedEvents = [...new MkvReader().push(await listed.Payload!.transformToByteArray())];
    expect(listedEvents.filter((e) => e.type === 'cluster').map((e) => (e as { timecode: number }).timecode)).toEqual([base, base + 4000]);
    const exception = listedEvents.filter((e) => e.type === 'tags').map((e) => Object.fromEntries((e as { tags: Array<{ name: string; value?: string }> }).tags.map((t) => [t.name, t.value]))).find((t) => 'AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE' in t);
    expect(exception).toEqual({ AWS_KINESISVIDEO_FRAGMENT_NUMBER: b!.FragmentNumber, AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE: '5000', AWS_KINESISVIDEO_EXCEPTION_MESSAGE: 'Internal error' });
  });
});
