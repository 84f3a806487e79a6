// Proves the `tributary video hls-url | clip | images` commands against a real
// gateway: the printed session URL plays (its playlist lists the stored
// fragments), the clip is an MP4 ffprobe reads with the range's duration,
// images land as files of the asked size, and errors name the AWS error.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand } from '@aws-sdk/client-kinesis-video';
import type { Gateway } from '../../gateway/gateway.ts';
import { parseTime } from '../../bin/video-playback-commands.ts';
import { testClip } from '../helpers/ffmpeg-mkv.ts';
import { tempDir, testGateway, testOperator } from '../helpers/gateway.ts';
import { repoRoot } from '../helpers/spawn-gateway.ts';
import { videoClient } from '../helpers/video.ts';
import { probe, splitMkv, storeFragments } from '../helpers/video-fragments.ts';
import { tributaryBundle } from '../helpers/bundles.ts';

const exec = promisify(execFile);
const cli = (...args: string[]) => exec(process.execPath, [tributaryBundle(), ...args], { cwd: repoRoot });
let gw: Gateway & { dataDir: string };
let profile: string;
const out = tempDir('trb-video-cli-');
const recordedMs = Date.now() - 120_000;

beforeAll(async () => {
  gw = await testGateway();
  profile = path.join(out, 'operator.json');
  fs.writeFileSync(profile, JSON.stringify({ endpoint: gw.url, region: 'us-east-1', ...testOperator }), { mode: 0o600 });
  const kv = videoClient(gw.url);
  await kv.send(new CreateStreamCommand({ StreamName: 'cam', DataRetentionInHours: 24 }));
  kv.destroy();
  await storeFragments(gw.video.find('cam')!.fragments, splitMkv(testClip({ width: 640, height: 360, seconds: 8 })), recordedMs);
});
afterAll(async () => {
  await gw?.close();
});

describe('tributary video', () => {
  const iso = (ms: number) => new Date(ms).toISOString();

  it('hls-url prints a session URL whose playlist lists the fragments', async () => {
    const { stdout } = await cli('video', 'hls-url', 'cam', '-p', profile, '--mode', 'on-demand', '--selector', 'producer', '--start', iso(recordedMs - 1000), '--end', iso(recordedMs + 30_000));
    const url = stdout.trim();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/hls\/v1\/getHLSMasterPlaylist\.m3u8\?SessionToken=\S+$/);
    const media = await (await fetch(url.replace('getHLSMasterPlaylist', 'getHLSMediaPlaylist') + '&TrackNumber=1')).text();
    expect(media.match(/^getMP4MediaFragment\.mp4\?/gm)).toHaveLength(4);
  });

  it('clip writes an MP4 of the range', async () => {
    const file = path.join(out, 'clip.mp4');
    const { stdout } = await cli('video', 'clip', 'cam', '-p', profile, '--selector', 'producer', '--start', iso(recordedMs), '--end', iso(recordedMs + 3000), '-o', file);
    expect(JSON.parse(stdout)).toMatchObject({ file, bytes: fs.statSync(file).size });
    const p = probe(file);
    expect(p).toMatchObject({ codec: 'h264', width: 640, height: 360, frames: 120 });
    expect(p.duration).toBeCloseTo(4, 1);
  });

  it('images writes one file per instant at the asked size and lists the instants without media', async () => {
    const dir = path.join(out, 'frames');
    const { stdout } = await cli('video', 'images', 'cam', '-p', profile, '--selector', 'producer', '--start', iso(recordedMs + 6000), '--end', iso(recordedMs + 9000), '--interval', '1s', '--width', '320', '-o', dir);
    const r = JSON.parse(stdout) as { saved: number; missing: Array<{ error: string }> };
    expect(r.saved).toBe(2);
    expect(r.missing).toEqual([{ timestamp: iso(recordedMs + 8000), error: 'NO_MEDIA' }]);
    for (const f of fs.readdirSync(dir)) expect(probe(path.join(dir, f))).toMatchObject({ codec: 'mjpeg', width: 320, height: 180 });
  });

  it('-e/--endpoint overrides the profile\'s endpoint, for the ingest and the playback commands', async () => {
    // A profile whose endpoint is wrong (nothing listens there): -e points the commands at the gateway.
    const moved = path.join(out, 'moved.json');
    fs.writeFileSync(moved, JSON.stringify({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', ...testOperator }), { mode: 0o600 });
    const listed = JSON.parse((await cli('video', 'list', '-p', moved, '-e', gw.url, '--prefix', 'ca')).stdout) as Array<{ StreamName: string }>;
    expect(listed.map((s) => s.StreamName)).toEqual(['cam']);
    const { stdout } = await cli('video', 'hls-url', 'cam', '-p', moved, '--endpoint', gw.url, '--mode', 'on-demand', '--selector', 'producer', '--start', iso(recordedMs - 1000), '--end', iso(recordedMs + 30_000));
    expect(stdout.trim().startsWith(`${gw.url}/hls/v1/`)).toBe(true);
    const refused = await cli('video', 'list', '-p', moved).catch((e: { stderr: string; code: number }) => e);
    expect(refused).toMatchObject({ code: expect.any(Number) });
  });

  it('errors carry the AWS error type', async () => {
    const err = await cli('video', 'clip', 'missing', '-p', profile, '--start', '-1m', '-o', path.join(out, 'x.mp4')).catch((e: { stderr: string; code: number }) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toMatch(/^tributary: ResourceNotFoundException: /);
  });

  it('times: now, relative, epoch seconds, ISO 8601', () => {
    const now = 1_767_000_000_000;
    expect(parseTime('now', now)).toBe(now / 1000);
    expect(parseTime('-10m', now)).toBe(now / 1000 - 600);
    expect(parseTime('1767000000.5', now)).toBe(1767000000.5);
    expect(parseTime('2026-12-29T09:20:00Z', now)).toBe(Date.parse('2026-12-29T09:20:00Z') / 1000);
    expect(() => parseTime('yesterday')).toThrow(/relative time/);
  });
});
