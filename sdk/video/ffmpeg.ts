/**
 * Finds the ffmpeg and ffprobe binaries and runs them. The gateway uses
 * ffmpeg to decode frames for GetImages (playback packaging never needs it);
 * the agent's camera input uses it to encode. The search order is fixed and
 * every step that was tried is reported, so "no ffmpeg" always says what was
 * missing and how to fix it:
 *
 * 1. a configured path (`ffmpegPath` option, or `TRIBUTARY_FFMPEG`),
 * 2. `ffmpeg-static` (its install script downloads the binary, so it is often absent),
 * 3. `@ffmpeg-installer/ffmpeg` (the binary ships inside the npm package),
 * 4. `ffmpeg` on the system's PATH.
 *
 * ffprobe is looked up the same way: a configured path (`TRIBUTARY_FFPROBE`),
 * next to the chosen ffmpeg, then the PATH.
 *
 * @example
 * const ff = locateFfmpeg();
 * console.log(ff.source, ff.ffmpeg); // e.g. "system /usr/bin/ffmpeg"
 * const jpeg = await runFfmpeg(ff, ['-i', 'pipe:0', '-frames:v', '1', '-f', 'mjpeg', 'pipe:1'], { input: mkv });
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { TributaryError } from '../protocol/errors.ts';

export type FfmpegSource = 'configured' | 'ffmpeg-static' | '@ffmpeg-installer/ffmpeg' | 'system';

export interface FfmpegLocation {
  ffmpeg: string;
  /** Undefined when no ffprobe was found (only tests and diagnostics need it). */
  ffprobe: string | undefined;
  source: FfmpegSource;
  /** One line per candidate that was tried, in order, with why it was or was not used. */
  tried: string[];
}

export interface LocateOptions {
  /** An explicit ffmpeg binary; when given and unusable, the search stops with an error (a typo must not silently fall through). */
  ffmpegPath?: string;
  ffprobePath?: string;
  /** The environment to read TRIBUTARY_FFMPEG, TRIBUTARY_FFPROBE and PATH from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
  /** Module resolution for the npm packages (tests pass one that finds nothing). */
  resolvePackage?: (name: string) => unknown;
}

const requireHere = createRequire(import.meta.url);

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    if (executable(file)) return file;
  }
  return undefined;
}

/** The binary path an npm package exports: ffmpeg-static exports a string, @ffmpeg-installer an object with `path`. */
function packageBinary(name: string, resolve: (name: string) => unknown): { file?: string; why: string } {
  let exported: unknown;
  try {
    exported = resolve(name);
  } catch (err) {
    return { why: `${name}: not installed (${String((err as Error).message).split('\n')[0]})` };
  }
  const file = typeof exported === 'string' ? exported : (exported as { path?: unknown } | null)?.path;
  if (typeof file !== 'string' || !file) return { why: `${name}: installed but exports no binary path for ${process.platform}-${process.arch}` };
  if (!executable(file)) return { why: `${name}: ${file} is missing or not executable (its install step did not finish)` };
  return { file, why: `${name}: ${file}` };
}

/** Finds ffmpeg (and ffprobe) in the documented order; throws FFMPEG_NOT_FOUND listing every candidate tried. */
export function locateFfmpeg(options: LocateOptions = {}): FfmpegLocation {
  const env = options.env ?? process.env;
  const resolve = options.resolvePackage ?? ((name: string) => requireHere(name));
  const tried: string[] = [];
  const configured = options.ffmpegPath ?? env.TRIBUTARY_FFMPEG;
  let found: { file: string; source: FfmpegSource } | undefined;
  if (configured) {
    if (!executable(configured)) {
      throw new TributaryError('FFMPEG_NOT_FOUND', `the configured ffmpeg ${configured} is missing or not executable (set by ${options.ffmpegPath ? 'the ffmpegPath option' : 'TRIBUTARY_FFMPEG'})`);
    }
    tried.push(`configured: ${configured}`);
    found = { file: configured, source: 'configured' };
  } else tried.push('configured: none (ffmpegPath option or TRIBUTARY_FFMPEG)');
  for (const name of ['ffmpeg-static', '@ffmpeg-installer/ffmpeg'] as const) {
    if (found) break;
    const r = packageBinary(name, resolve);
    tried.push(r.why);
    if (r.file) found = { file: r.file, source: name };
  }
  if (!found) {
    const system = onPath('ffmpeg', env);
    tried.push(system ? `system: ${system}` : 'system: no ffmpeg on PATH');
    if (system) found = { file: system, source: 'system' };
  }
  if (!found) {
    throw new TributaryError(
      'FFMPEG_NOT_FOUND',
      `no usable ffmpeg found; tried, in order:\n  ${tried.join('\n  ')}\n` +
        'Install one: `apt-get install ffmpeg` (Debian/Ubuntu), `npm install @ffmpeg-installer/ffmpeg`, or point TRIBUTARY_FFMPEG at a binary.',
    );
  }
  return { ffmpeg: found.file, ffprobe: locateFfprobe(found.file, options, env), source: found.source, tried };
}

function locateFfprobe(ffmpeg: string, options: LocateOptions, env: NodeJS.ProcessEnv): string | undefined {
  const configured = options.ffprobePath ?? env.TRIBUTARY_FFPROBE;
  if (configured) {
    if (!executable(configured)) throw new TributaryError('FFMPEG_NOT_FOUND', `the configured ffprobe ${configured} is missing or not executable`);
    return configured;
  }
  const beside = path.join(path.dirname(ffmpeg), process.platform === 'win32' ? 'ffprobe.exe' : 'ffprobe');
  if (executable(beside)) return beside;
  return onPath('ffprobe', env);
}

export interface RunOptions {
  /** Written to stdin, then stdin is closed. */
  input?: Buffer | readonly Buffer[];
  /** Kill ffmpeg after this long (default 30 s). */
  timeoutMs?: number;
  /** Kill ffmpeg once stdout passes this many bytes (default 256 MiB). */
  outputBytesMax?: number;
  /** Which binary to run (default ffmpeg). */
  binary?: 'ffmpeg' | 'ffprobe';
}

/** Runs ffmpeg (or ffprobe) to completion and returns its stdout; FFMPEG_FAILED carries the end of stderr. */
export function runFfmpeg(location: FfmpegLocation, args: readonly string[], options: RunOptions = {}): Promise<Buffer> {
  const binary = options.binary === 'ffprobe' ? location.ffprobe : location.ffmpeg;
  if (!binary) return Promise.reject(new TributaryError('FFMPEG_NOT_FOUND', `no ffprobe found (looked beside ${location.ffmpeg} and on PATH; set TRIBUTARY_FFPROBE)`));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const outputBytesMax = options.outputBytesMax ?? 256 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    // ffprobe has no -nostdin; ffmpeg needs it so that it never reads commands from a stdin we use for media.
    const fixed = options.binary === 'ffprobe' ? ['-hide_banner'] : ['-hide_banner', '-nostdin'];
    const child = spawn(binary, [...fixed, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let failure: string | undefined;
    const timer = setTimeout(() => {
      failure = `timed out after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > outputBytesMax) {
        failure ??= `output passed ${outputBytesMax} bytes`;
        child.kill('SIGKILL');
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    // ffmpeg may exit before reading all of its input (e.g. after -frames:v 1): EPIPE is expected then.
    child.stdin.on('error', () => {});
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new TributaryError('FFMPEG_FAILED', `could not start ${binary}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && !failure) return resolve(Buffer.concat(out, Math.min(outBytes, outputBytesMax)));
      reject(new TributaryError('FFMPEG_FAILED', `${path.basename(binary)} ${failure ?? `exited with ${code ?? signal}`}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
    const input = options.input === undefined ? [] : Buffer.isBuffer(options.input) ? [options.input] : options.input;
    for (const chunk of input) child.stdin.write(chunk);
    child.stdin.end();
  });
}
