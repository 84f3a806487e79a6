/**
 * Proves the ffmpeg search order (configured path, ffmpeg-static,
 * @ffmpeg-installer/ffmpeg, PATH), that ffprobe is found beside the chosen
 * ffmpeg, that the error lists every candidate tried, and that runFfmpeg
 * returns stdout and reports failures with ffmpeg's own words.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { locateFfmpeg, runFfmpeg } from '../../sdk/video/ffmpeg.ts';
import { TributaryError } from '../../sdk/protocol/errors.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trb-ffloc-'));
function fakeBinary(sub: string, name: string): string {
  fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const file = path.join(dir, sub, name);
  fs.writeFileSync(file, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return file;
}
const none = () => {
  throw new Error("Cannot find module 'x'");
};

describe('locateFfmpeg', () => {
  it('prefers the configured path, then the npm packages, then PATH; ffprobe beside the chosen ffmpeg', () => {
    const configured = fakeBinary('conf', 'ffmpeg');
    const statik = fakeBinary('static', 'ffmpeg');
    const installer = fakeBinary('installer', 'ffmpeg');
    const system = fakeBinary('bin', 'ffmpeg');
    const systemProbe = fakeBinary('bin', 'ffprobe');
    const env = { PATH: path.join(dir, 'bin') };
    const packages = (name: string) => (name === 'ffmpeg-static' ? statik : { path: installer });
    expect(locateFfmpeg({ ffmpegPath: configured, env, resolvePackage: packages })).toMatchObject({ ffmpeg: configured, source: 'configured', ffprobe: systemProbe });
    expect(locateFfmpeg({ env: { ...env, TRIBUTARY_FFMPEG: configured }, resolvePackage: packages }).source).toBe('configured');
    expect(locateFfmpeg({ env, resolvePackage: packages })).toMatchObject({ ffmpeg: statik, source: 'ffmpeg-static' });
    // ffmpeg-static installed but its download never happened: the installer's binary is next.
    const missing = (name: string) => (name === 'ffmpeg-static' ? path.join(dir, 'static', 'gone') : { path: installer });
    const r = locateFfmpeg({ env, resolvePackage: missing });
    expect(r).toMatchObject({ ffmpeg: installer, source: '@ffmpeg-installer/ffmpeg' });
    expect(r.tried.join('\n')).toMatch(/ffmpeg-static: .*gone is missing or not executable/);
    const sys = locateFfmpeg({ env, resolvePackage: none });
    expect(sys).toMatchObject({ ffmpeg: system, source: 'system', ffprobe: systemProbe });
    const beside = fakeBinary('installer', 'ffprobe');
    expect(locateFfmpeg({ env, resolvePackage: (n) => (n === 'ffmpeg-static' ? none() : { path: installer }) }).ffprobe).toBe(beside);
  });

  it('says what it tried when there is no ffmpeg, and refuses a configured path that is not there', () => {
    let err: unknown;
    try {
      locateFfmpeg({ env: { PATH: path.join(dir, 'empty') }, resolvePackage: none });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('FFMPEG_NOT_FOUND');
    expect((err as Error).message).toMatch(/configured: none[\s\S]*ffmpeg-static: not installed[\s\S]*@ffmpeg-installer\/ffmpeg: not installed[\s\S]*system: no ffmpeg on PATH[\s\S]*apt-get install ffmpeg/);
    expect(() => locateFfmpeg({ ffmpegPath: path.join(dir, 'nope'), env: {}, resolvePackage: none })).toThrow(/configured ffmpeg .*nope is missing/);
  });
});

describe('runFfmpeg', () => {
  it('returns stdout, and on failure the end of stderr', async () => {
    const ff = locateFfmpeg();
    const out = await runFfmpeg(ff, ['-loglevel', 'error', '-f', 'lavfi', '-i', 'color=red:size=16x16', '-frames:v', '1', '-c:v', 'png', '-f', 'image2pipe', 'pipe:1']);
    expect(out.subarray(1, 4).toString()).toBe('PNG');
    await expect(runFfmpeg(ff, ['-f', 'matroska', '-i', 'pipe:0', '-f', 'null', '-'], { input: Buffer.from('not a video') })).rejects.toMatchObject({ code: 'FFMPEG_FAILED' });
  });
});
