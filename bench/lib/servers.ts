/**
 * Child server processes for benchmarks: spare loopback ports, spawning with
 * captured output, readiness polling, peak memory from /proc, and cleanup
 * that also runs when the benchmark is interrupted or crashes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Ports other services on a developer or CI machine may hold (see DESIGN.md); never ours. */
export const portsReserved: readonly number[] = [1883, 4222, 5432, 5672, 6379, 3306];
/** Bytes of a child's stdout and stderr kept for error reports. */
const outputTailBytesMax = 64 * 1024;
const readyPollIntervalMs = 50;
const stopGraceMs = 5_000;

const liveChildren = new Set<ChildProcess>();
const liveTempDirs = new Set<string>();

/** Kills every child still running and removes every temp dir; safe to call more than once. */
export function cleanupSync(): void {
  for (const child of liveChildren) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  liveChildren.clear();
  for (const dir of liveTempDirs) fs.rmSync(dir, { recursive: true, force: true });
  liveTempDirs.clear();
}

let hooksInstalled = false;
/** Cleanup on exit and on Ctrl-C, where `finally` blocks never run. */
export function installCleanupHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping servers and removing temp dirs\n`);
      cleanupSync();
      process.exit(130);
    });
  }
}

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  liveTempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  liveTempDirs.delete(dir);
}

/** A free loopback port outside the reserved list, found by binding port 0 and letting go. */
export async function sparePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    if (!portsReserved.includes(port)) return port;
  }
  throw new Error('no spare loopback port found in 20 attempts');
}

export interface ServerProcess {
  name: string;
  port: number;
  child: ChildProcess;
  /** Whether the process is still running. */
  alive(): boolean;
  /** How it ended, for reports ("exit code 1", "signal SIGSEGV"); undefined while running. */
  exitDescription(): string | undefined;
  /** The last bytes it wrote to stdout and stderr. */
  outputTail(): string;
  /** Peak resident set size (VmHWM) in MB (10^6 bytes), read from /proc; undefined once it has exited. */
  peakRssMB(): number | undefined;
  /** CPU time (user + system, all threads) used so far, in seconds; undefined once it has exited. */
  cpuSeconds(): number | undefined;
  /** Sends `signal`, waits for the exit, and kills after a grace period. */
  stop(signal?: NodeJS.Signals): Promise<string>;
}

export function spawnServer(name: string, args: string[], options: { port: number; cwd: string; env?: Record<string, string> }): ServerProcess {
  const child = spawn(process.execPath, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], ...(options.env ? { env: { ...process.env, ...options.env } } : {}) });
  liveChildren.add(child);
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail += chunk.toString('utf8');
    if (tail.length > outputTailBytesMax) tail = tail.slice(-outputTailBytesMax);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      resolve(signal ? `signal ${signal}` : `exit code ${code}`);
    });
  });
  let exitDescription: string | undefined;
  void exited.then((d) => (exitDescription = d));
  return {
    name,
    port: options.port,
    child,
    alive: () => child.exitCode === null && child.signalCode === null,
    exitDescription: () => exitDescription,
    outputTail: () => tail,
    peakRssMB: () => (child.pid === undefined ? undefined : readPeakRssMB(child.pid)),
    cpuSeconds: () => (child.pid === undefined ? undefined : readCpuSeconds(child.pid)),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
        const d = await exited;
        clearTimeout(timer);
        return d;
      }
      return exited;
    },
  };
}

/**
 * Resets the process's VmHWM to its current RSS (`5` to /proc/<pid>/clear_refs, Linux 4.0+), so
 * that the next reading is the peak of one phase; false when the kernel or permissions refuse.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false; // No per-phase peaks then: the whole run's peak is still read.
  }
}

/** VmHWM ("high water mark") from /proc/<pid>/status: the peak RSS over the process's life (or since resetPeakRss), in MB. */
export function readPeakRssMB(pid: number): number | undefined {
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  // The kernel's "kB" here is KiB.
  return m ? (Number(m[1]) * 1024) / 1e6 : undefined;
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat times; 100 on every mainstream architecture. */
const clockTicksPerS = 100;

/**
 * CPU time the whole machine has spent busy since boot (user, nice, system,
 * irq, softirq over all cores; idle, iowait and steal left out), in seconds,
 * from the first line of /proc/stat; undefined where there is none.
 */
export function readMachineBusySeconds(): number | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const f = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...
  return ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0)) / clockTicksPerS;
}

/** utime + stime from /proc/<pid>/stat, in seconds. */
export function readCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // Fields after the command name, which sits in parentheses and may itself hold spaces; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerS;
}

/**
 * Polls GET `path` until the server answers. With `statusOk` only that status
 * counts; without it any HTTP answer does (kinesalite has no health route and
 * answers a GET with 403). With `caFile` the probe speaks HTTPS (HTTP/1.1 by
 * ALPN) to 127.0.0.1 and trusts only that CA, read on every attempt since the
 * server may still be writing it.
 */
export async function waitReady(server: ServerProcess, options: { path: string; statusOk?: number; timeoutMs: number; caFile?: string }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (!server.alive()) {
      throw new Error(`${server.name} exited before it was ready (${server.exitDescription() ?? 'exited'}):\n${server.outputTail()}`);
    }
    const status = await probe(server.port, options.path, options.caFile).catch((err: Error) => {
      last = err.message;
      return undefined;
    });
    if (status !== undefined && (options.statusOk === undefined || status === options.statusOk)) return;
    if (status !== undefined) last = `status ${status}`;
    await new Promise((r) => setTimeout(r, readyPollIntervalMs));
  }
  throw new Error(`${server.name} not ready after ${options.timeoutMs} ms (${last}):\n${server.outputTail()}`);
}

function probe(port: number, urlPath: string, caFile: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const onAnswer = (res: http.IncomingMessage) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    };
    const common = { host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 1000 } as const;
    let req: http.ClientRequest;
    if (caFile === undefined) req = http.get(common, onAnswer);
    else {
      if (!fs.existsSync(caFile)) return reject(new Error(`no CA certificate at ${caFile} yet`));
      // A one-off agent, as `agent: false` would give, but one that takes the TLS options.
      const agent = new https.Agent({ ca: fs.readFileSync(caFile), ALPNProtocols: ['http/1.1'], maxSockets: 1 });
      req = https.get({ ...common, agent }, onAnswer);
      req.on('close', () => agent.destroy());
    }
    req.on('timeout', () => req.destroy(new Error('probe timed out')));
    req.on('error', reject);
  });
}

/** Newest modification time of any file under `dirs` (recursively) or of the given files. */
export function newestMtimeMs(root: string, entries: string[]): number {
  let newest = 0;
  const visit = (p: string) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p)) if (e !== 'node_modules') visit(path.join(p, e));
    } else newest = Math.max(newest, st.mtimeMs);
  };
  for (const e of entries) {
    const p = path.join(root, e);
    if (fs.existsSync(p)) visit(p);
  }
  return newest;
}

/** Runs `npm run build` when `output` is missing or older than any of `sources`. Output goes to stderr. */
export function buildIfStale(root: string, output: string, sources: string[]): boolean {
  const out = path.join(root, output);
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= newestMtimeMs(root, sources)) return false;
  process.stderr.write(`${output} is missing or older than its sources: npm run build\n`);
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new Error(`npm run build failed (${r.error?.message ?? `exit code ${r.status}`})`);
  return true;
}
