/**
 * A machine's system directories, writable without touching the machine:
 * commands run in a private mount namespace (`unshare --mount`) where each
 * listed directory (/etc, /var/lib, /usr/local, …) is an overlay whose upper
 * layer is a temporary directory. So a test can run what the docs and the
 * Debian packages do as root — `useradd`, `sudo -u tributary …`, files under
 * /etc/tributary and /var/lib/tributary, `dpkg -i` — with the machine's real
 * tools, while the machine (shared by other tests) sees none of it, and what a
 * command left behind is exactly the upper layers' content. Needs root.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { repoRoot } from './bundles.ts';

export interface SandboxRun {
  code: number | string;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Standard input for the command. */
  input?: string;
  /** Give up (and kill the command) after this long; default 120 s. */
  timeoutMs?: number;
}

export interface Sandbox {
  /** The temporary directory holding the overlays' layers. */
  readonly dir: string;
  /** The upper layer of an overlaid directory: what was written under it. */
  upper(overlaid: string): string;
  /** Runs `bash -e -o pipefail -c <script>` inside the sandbox. */
  run(script: string, options?: RunOptions): Promise<SandboxRun>;
  /** Starts `bash -c <script>` inside the sandbox in its own process group (kill with `stop`). */
  spawn(script: string, options?: Omit<RunOptions, 'input' | 'timeoutMs'>): ChildProcess;
  /** Kills a spawned command's whole process group and waits for it. */
  stop(child: ChildProcess): Promise<void>;
  close(): void;
}

/** A PATH without the user's own tool directories (pyenv's `aws` v1, for one). */
export const systemPath = `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

/** A sandbox whose writes to `overlaid` (absolute directories) land in temporary layers. */
export function createSandbox(overlaid: string[]): Sandbox {
  // Under node_modules/.cache: on the repository's disk (never tmpfs, which the agent refuses for its state).
  const cache = path.join(repoRoot, 'node_modules', '.cache');
  fs.mkdirSync(cache, { recursive: true });
  const dir = fs.mkdtempSync(path.join(cache, 'trb-sandbox-'));
  fs.chmodSync(dir, 0o755);
  const layer = (d: string) => path.join(dir, d.replace(/^\/+/, '').replace(/\//g, '_'));
  const mounts: string[] = [];
  for (const d of overlaid) {
    fs.mkdirSync(`${layer(d)}.upper`, { recursive: true });
    fs.mkdirSync(`${layer(d)}.work`, { recursive: true });
    mounts.push(`mount -t overlay overlay -o lowerdir=${d},upperdir=${layer(d)}.upper,workdir=${layer(d)}.work ${d}`);
  }
  // A fresh user's home: no ~/.bashrc, no ~/.aws/config. (bash reads ~/.bashrc even when not interactive if its
  // standard input is a socket, as Node's pipes are; --norc stops that too.)
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  const prologue = `set -e\n${mounts.join('\n')}\nexec "$@"`;
  const argv = (script: string, strict: boolean) => [
    '--mount', '--propagation', 'private', '--', 'bash', '--norc', '-c', prologue, 'sandbox',
    'bash', '--norc', ...(strict ? ['-e', '-o', 'pipefail'] : []), '-c', script,
  ];
  const envOf = (o: RunOptions) => ({ PATH: systemPath, HOME: home, LANG: 'C.UTF-8', ...o.env });

  return {
    dir,
    upper: (d) => `${layer(d)}.upper`,
    run(script, o = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn('unshare', argv(script, true), { cwd: o.cwd ?? dir, env: envOf(o), stdio: ['pipe', 'pipe', 'pipe'], detached: true });
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
        child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
        child.stdin!.end(o.input ?? '');
        const timer = setTimeout(() => {
          process.kill(-child.pid!, 'SIGKILL');
          reject(new Error(`sandboxed command timed out after ${o.timeoutMs ?? 120_000} ms: ${script}\n${stdout}\n${stderr}`));
        }, o.timeoutMs ?? 120_000);
        child.once('error', reject);
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          resolve({ code: code ?? signal ?? 'unknown', stdout, stderr });
        });
      });
    },
    spawn(script, o = {}) {
      return spawn('unshare', argv(script, false), { cwd: o.cwd ?? dir, env: envOf(o), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    },
    async stop(child) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      try {
        process.kill(-child.pid!, 'SIGINT');
      } catch {
        return; // Already gone.
      }
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    close() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
