/** Runs the real `tributary gateway start` (the shipped bundle) as a child process (for crash and CLI tests). */
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';

import { repoRoot, tributaryBundle } from './bundles.ts';

export { repoRoot };

export interface SpawnedGateway {
  child: ChildProcess;
  url: string;
  logs: string[];
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

export interface SpawnOptions {
  /** Run under `prlimit --nofile=N:N` (a low descriptor limit, for connection-exhaustion tests). */
  prlimitNofile?: number;
  /** Working directory (default the repository); the default data directory ./data is under it. */
  cwd?: string;
}

export async function spawnGateway(args: string[], o: SpawnOptions = {}): Promise<SpawnedGateway> {
  const argv = [process.execPath, tributaryBundle(), 'gateway', 'start', '--port', '0', ...args];
  if (o.prlimitNofile) argv.unshift('prlimit', `--nofile=${o.prlimitNofile}:${o.prlimitNofile}`);
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: o.cwd ?? repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${logs.join('\n')}`)), 30_000);
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'gateway listening' && entry.url) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // Not a log line; kept in `logs` for diagnosis.
      }
    });
    readline.createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code}) before listening: ${logs.join('\n')}`));
    });
  });
  return { child, url, logs, exited };
}
