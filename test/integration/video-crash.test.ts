// Proves video durability and the CLI against real gateway processes: a
// `tributary gateway start` child receives real camera fragments over a raw
// PutMedia request and is killed with SIGKILL in the middle of a fragment;
// after a restart on the same data directory, every fragment acknowledged
// PERSISTED is listed (ListFragments) and reads back byte for byte
// (GetMediaForFragmentList) and plays (GetClip of them all, decoded by
// ffmpeg frame for frame). Then `tributary video create | put | list |
// delete` runs against it as a user would.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, DescribeStreamCommand } from '@aws-sdk/client-kinesis-video';
import { GetClipCommand, GetMediaForFragmentListCommand, ListFragmentsCommand } from '@aws-sdk/client-kinesis-video-archived-media';
import { withTimecode } from '../../gateway/video/ingest/put-media-session.ts';
import { concat, MkvReader, type MkvEvent } from '../../sdk/protocol/mkv/index.ts';
import type { Ack } from '../../sdk/protocol/video/acks.ts';
import { tempDir } from '../helpers/gateway.ts';
import { ffmpegAvailable, testClip } from '../helpers/ffmpeg-mkv.ts';
import { repoRoot, spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.ts';
import { archivedMediaClient, rawPutMedia, videoClient } from '../helpers/video.ts';
import { tributaryBundle } from '../helpers/bundles.ts';
import { decodeErrors, probe } from '../helpers/video-fragments.ts';

const run = promisify(execFile);
const children: SpawnedGateway[] = [];
const dataDir = tempDir('trb-video-crash-');
afterAll(() => {
  for (const c of children) c.child.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function operator(): { accessKeyId: string; secretAccessKey: string } {
  const p = JSON.parse(fs.readFileSync(path.join(dataDir, 'operator.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
  return { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey };
}

async function start(): Promise<SpawnedGateway> {
  const gw = await spawnGateway(['--data', dataDir, '--insecure-http', '--log-level', 'info']);
  children.push(gw);
  return gw;
}

describe.skipIf(!ffmpegAvailable())('a gateway killed during PutMedia', () => {
  it('keeps every fragment it acknowledged PERSISTED', async () => {
    const events = (() => {
      const r = new MkvReader();
      const clip = testClip({ width: 1280, height: 720, seconds: 6, tsOffsetSeconds: 1_700_000_000, bitrate: '2M' });
      return [...r.push(clip), ...r.end()];
    })();
    const header = concat(events.filter((e) => e.type === 'ebml' || e.type === 'info' || e.type === 'tracks').map((e) => (e as { raw: Uint8Array }).raw));
    const clusters = events.filter((e): e is Extract<MkvEvent, { type: 'cluster' }> => e.type === 'cluster');
    // The camera's header with its Segment start, then an endless run of its fragments, 2 s apart.
    const segment = Uint8Array.of(0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    const docHeader = concat([header.subarray(0, (events[0] as { raw: Uint8Array }).raw.length), segment, header.subarray((events[0] as { raw: Uint8Array }).raw.length)]);
    const fragment = (i: number) => withTimecode(clusters[i % clusters.length]!.raw, 1_700_000_000_000 + i * 2000);

    let gw = await start();
    const kv = videoClient(gw.url, operator());
    await kv.send(new CreateStreamCommand({ StreamName: 'crash-cam', DataRetentionInHours: 24 }));
    kv.destroy();

    const put = rawPutMedia(gw.url, { stream: 'crash-cam', credentials: operator() });
    put.req.on('error', () => undefined);
    put.req.write(docHeader);
    const sent = new Map<number, Uint8Array>();
    const persisted = () => put.acks.filter((a: Ack) => a.EventType === 'PERSISTED');
    for (let i = 0; ; i++) {
      const bytes = fragment(i);
      sent.set(1_700_000_000_000 + i * 2000, bytes);
      if (persisted().length >= 4) {
        // Half a fragment, then the kill: the gateway dies with a fragment in progress.
        put.req.write(bytes.subarray(0, bytes.length >> 1));
        await new Promise((r) => setTimeout(r, 20));
        gw.child.kill('SIGKILL');
        break;
      }
      put.req.write(bytes);
      await put.until((acks) => acks.filter((a) => a.EventType === 'RECEIVED').length > i, 20_000);
    }
    await gw.exited;
    await put.done;
    const acked = persisted();
    expect(acked.length).toBeGreaterThanOrEqual(4);

    gw = await start();
    const archive = archivedMediaClient(gw.url, operator());
    try {
      const listed = (await archive.send(new ListFragmentsCommand({ StreamName: 'crash-cam' }))).Fragments!;
      const listedNumbers = new Set(listed.map((f) => f.FragmentNumber));
      for (const a of acked) expect(listedNumbers.has(a.FragmentNumber)).toBe(true);
      const out = await archive.send(new GetMediaForFragmentListCommand({ StreamName: 'crash-cam', Fragments: acked.map((a) => a.FragmentNumber!) }));
      const r = new MkvReader();
      const bytes = await out.Payload!.transformToByteArray();
      const got = [...r.push(bytes), ...r.end()].filter((e): e is Extract<MkvEvent, { type: 'cluster' }> => e.type === 'cluster');
      expect(got.length).toBe(acked.length);
      for (const [i, c] of got.entries()) {
        expect(c.timecode).toBe(acked[i]!.FragmentTimecode);
        expect(Buffer.from(c.raw).equals(Buffer.from(sent.get(c.timecode)!))).toBe(true);
      }
      // And they play: one GetClip of every acknowledged fragment decodes frame for frame (60 frames each).
      const first = acked[0]!.FragmentTimecode!;
      const last = acked.at(-1)!.FragmentTimecode!;
      const clip = await archive.send(new GetClipCommand({ StreamName: 'crash-cam', ClipFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(first), EndTimestamp: new Date(last + 1) } } }));
      const file = path.join(dataDir, 'after-crash.mp4');
      fs.writeFileSync(file, await clip.Payload!.transformToByteArray());
      expect(probe(file)).toMatchObject({ codec: 'h264', width: 1280, height: 720, frames: 60 * acked.length });
      expect(decodeErrors(file)).toBe('');
    } finally {
      archive.destroy();
    }
    // Two gateway starts; on a loaded machine each takes seconds.
  }, 120_000);

  it('serves the CLI: create, put (a file and stdin), list, delete', async () => {
    const profile = path.join(dataDir, 'operator.json');
    const cli = (args: string[], input?: Buffer) => {
      const p = run(process.execPath, [tributaryBundle(), 'video', ...args, '-p', profile], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
      if (input) p.child.stdin!.end(input);
      return p.then((r) => JSON.parse(r.stdout) as Record<string, unknown>);
    };
    const clipFile = path.join(dataDir, 'clip.mkv');
    fs.writeFileSync(clipFile, testClip({ width: 1280, height: 720, seconds: 6, tsOffsetSeconds: 1_700_000_000, bitrate: '2M' }));
    expect(await cli(['create', 'cli-cam', '--retention', '2', '--media-type', 'video/h264'])).toMatchObject({ StreamARN: expect.stringMatching(/stream\/cli-cam\//) });
    expect(await cli(['put', 'cli-cam', clipFile, '-q'])).toMatchObject({ stream: 'cli-cam', fragments: 3, reconnects: 0 });
    // The same file again through stdin: its fragments are already stored, so nothing is stored twice.
    expect(await cli(['put', 'cli-cam', '-', '-q'], fs.readFileSync(clipFile))).toMatchObject({ fragments: 3 });
    const listed = (await cli(['list', '--prefix', 'cli-'])) as unknown as Array<{ StreamName: string }>;
    expect(listed).toEqual([expect.objectContaining({ StreamName: 'cli-cam', DataRetentionInHours: 2, MediaType: 'video/h264' })]);
    const gw = children.at(-1)!;
    const archive = archivedMediaClient(gw.url, operator());
    expect((await archive.send(new ListFragmentsCommand({ StreamName: 'cli-cam' }))).Fragments!.length).toBe(3);
    archive.destroy();
    expect(await cli(['delete', 'cli-cam'])).toEqual({ deleted: 'cli-cam' });
    const kv = videoClient(gw.url, operator());
    await expect(kv.send(new DescribeStreamCommand({ StreamName: 'cli-cam' }))).rejects.toThrow(/not found/);
    kv.destroy();
    // Each command is a Node process; on a loaded machine a start takes seconds.
  }, 180_000);
});
