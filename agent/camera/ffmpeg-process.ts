/**
 * The one module that talks to `fluent-ffmpeg` (DESIGN.md names it; it is
 * archived upstream, so nothing else imports it and replacing it means
 * rewriting this file only). It runs one capture: ffmpeg with the camera's
 * arguments, optionally fed by another program's stdout (rpicam-vid), MKV
 * on stdout, and the end of its stderr kept for the status.
 *
 * The binary is found as the gateway finds it (sdk/video/ffmpeg.ts): a
 * configured path, `ffmpeg-static`, `@ffmpeg-installer/ffmpeg`, the system's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import type { CaptureSpec } from './capture-args.ts';

export interface CaptureRun {
  /** ffmpeg's stdout: the MKV stream. Ends when ffmpeg exits. */
  readonly output: AsyncIterable<Buffer>;
  /** ffmpeg's pid once it runs. */
  pid(): number | undefined;
  /** Kills ffmpeg (and the feeder): SIGKILL, since a stopped capture has nothing to flush that is not already read. */
  kill(): void;
  /** Resolves when ffmpeg has exited: `error` says why when it did not end cleanly; `stderr` holds its last lines. */
  readonly done: Promise<{ error?: string; stderr: string[] }>;
}

/** Lines of ffmpeg's stderr kept (fluent-ffmpeg's ring): enough for the error, not a log. */
const stderrLinesKept = 20;

export function startCapture(binary: string, spec: CaptureSpec): CaptureRun {
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  let feeder: ChildProcess | undefined;
  let feederError: string | undefined;
  // presets: we use none; naming a directory keeps fluent-ffmpeg from reading __dirname, which the ESM bundle lacks.
  const cmd = ffmpeg({ stdoutLines: stderrLinesKept, presets: '/nonexistent/fluent-ffmpeg-presets' } as ffmpeg.FfmpegCommandOptions).setFfmpegPath(binary);
  if (spec.feeder) {
    const [program, ...args] = spec.feeder;
    feeder = spawn(program!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let feederStderr = '';
    feeder.stderr!.on('data', (c: Buffer) => (feederStderr = (feederStderr + c.toString('utf8')).slice(-2000)));
    feeder.on('error', (err) => (feederError = `${program}: ${err.message}`));
    feeder.on('exit', (code, signal) => {
      if (code !== 0) feederError ??= `${program} exited with ${code ?? signal}: ${lastLine(feederStderr)}`;
    });
    cmd.input(feeder.stdout!);
  } else cmd.input(spec.input);
  // -nostdin: ffmpeg must never read commands from a terminal or pipe (not with a feeder, whose bytes are its stdin).
  const global = ['-hide_banner', '-loglevel', 'warning', '-nostats', ...(spec.feeder ? [] : ['-nostdin'])];
  cmd.inputOptions([...global, ...spec.inputOptions]).outputOptions(spec.outputOptions).output(out, { end: true });
  let killed = false;
  let proc: ChildProcess | undefined;
  const done = new Promise<{ error?: string; stderr: string[] }>((resolve) => {
    cmd.on('start', () => {
      proc = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      if (killed) proc?.kill('SIGKILL');
    });
    cmd.on('end', (_stdout: string | null, stderr: string | null) => {
      feeder?.kill('SIGKILL');
      resolve({ ...(feederError ? { error: feederError } : {}), stderr: lines(stderr) });
    });
    cmd.on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
      feeder?.kill('SIGKILL');
      out.end();
      const tail = lines(stderr);
      const settle = (message: string) => {
        const why = feederError ?? (tail.length && !/killed with signal/.test(message) ? `${firstLine(message)}: ${tail.at(-1)}` : firstLine(message));
        resolve({ error: why, stderr: tail });
      };
      // Under load fluent-ffmpeg may see its output close before ffmpeg's exit and report that instead: wait for the exit and say what it was.
      const p = proc;
      if (err.message === 'Output stream closed' && p) {
        const report = () => {
          if (p.exitCode === 0) resolve({ ...(feederError ? { error: feederError } : {}), stderr: tail });
          else settle(p.signalCode ? `ffmpeg was killed with signal ${p.signalCode}` : `ffmpeg exited with code ${p.exitCode}`);
        };
        if (p.exitCode !== null || p.signalCode !== null) report();
        else p.once('exit', report);
        return;
      }
      settle(err.message);
    });
  });
  cmd.run();
  return {
    output: out,
    pid: () => proc?.pid,
    kill: () => {
      killed = true;
      proc?.kill('SIGKILL');
      feeder?.kill('SIGKILL');
    },
    done,
  };
}

function lines(text: string | null | undefined): string[] {
  return (text ?? '').split('\n').map((l) => l.trim()).filter(Boolean).slice(-stderrLinesKept);
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

function lastLine(s: string): string {
  return s.trim().split('\n').at(-1) ?? '';
}
