/**
 * Data Streams benchmark: our gateway (over plain HTTP and over HTTPS),
 * kinesalite (in memory and on LevelDB) and a do-nothing "ceiling" server,
 * each as a child process on a spare loopback port, one after the other so
 * they never share the CPU, driven by the same load from this process. Prints
 * one JSON line, a table, the target checks and an estimate of the gateway
 * CPU that SigV4 verification takes; writes the JSON to
 * bench/results/streams-latest.json.
 *
 *   npm run bench -- streams [--quick] [--only tributary,ceiling] [--rounds N] [--baseline <git ref>] [--fsync <policy>]
 *   npm run bench -- streams --profile [--https] [--quick] [--read]   (CPU profile of the gateway under 1 KiB PutRecords, or reading them back)
 *   npm run bench -- streams --prepare [--quick]   (the offload worker's CPU per record, in process)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadBundleSourceMap, summarizeCpuProfile, type CpuProfile, type ProfileSummary } from './lib/cpu-profile.ts';
import { anyCredentials, createStreamActive, type Credentials, type Endpoint, type TlsInfo } from './lib/kinesis-http.ts';
import { buildBaseline, type BaselineBuild } from './lib/streams-baseline.ts';
import { buildIfStale, cleanupSync, installCleanupHooks, readMachineBusySeconds, readPeakRssMB, removeTempDir, resetPeakRss, sparePort, spawnServer, tempDir, waitReady, type ServerProcess } from './lib/servers.ts';
import { putRecordBodies, putRecordLatency, putRecordsBodies, putThroughput, readBack, type LatencyResult, type PutBatch, type PutThroughputResult, type ReadBackResult } from './lib/streams-load.ts';
import { measureSigV4, type SigV4CaseResult } from './lib/sigv4-cost.ts';
import { formatPrepare, measurePrepare } from './lib/streams-prepare.ts';
import { checkTargets, estimateSigV4Share, formatChecks, formatProfile, formatRounds, formatSigV4Estimate, formatTable } from './lib/streams-report.ts';
import { sigv4Cases } from './sigv4.ts';

export const description = 'Data Streams: PutRecords/GetRecords throughput, PutRecord latency, RSS — gateway vs kinesalite vs a ceiling server';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = path.join(root, 'bench', 'results');

/** What every server is asked to do; the same numbers for all of them. */
export const settings = Object.freeze({
  streamName: 'bench',
  shardCount: 4,
  putRecordsBatchRecords: 500,
  putRecordsConcurrency: 16,
  recordBytesSmall: 100,
  recordBytesLarge: 1024,
  /** Distinct pre-built request bodies per kind, cycled through. */
  bodiesDistinct: 8,
  getRecordsLimit: 10_000,
  latencyRatePerS: 1000,
  latencyRecordBytes: 100,
  latencySocketsMax: 16,
  /** Untimed PutRecords (100 B) before the first measurement, so each server's JIT is warm. */
  warmupMsFull: 1000,
  warmupMsQuick: 500,
  /** 8 s phases keep a full run of the five servers under 4 minutes (about 3 on a quiet machine, issue #19). */
  phaseMsFull: 8_000,
  phaseMsQuick: 3_000,
  /** The read-back gives up after this long and reports itself incomplete. */
  readBackMsMaxFull: 60_000,
  readBackMsMaxQuick: 20_000,
  readyTimeoutMs: 20_000,
  createStreamTimeoutMs: 10_000,
  /** The in-process verifySigV4 timing behind the SigV4 share estimate (`npm run bench -- sigv4` does the same at length). */
  sigv4Iterations: 400,
  sigv4Rounds: 4,
  sigv4Warmup: 50,
});

export const serverNames = ['tributary', 'tributary-baseline', 'tributary-https', 'kinesalite-memory', 'kinesalite-leveldb', 'ceiling'] as const;
export type ServerName = (typeof serverNames)[number];

interface ServerSpec {
  name: ServerName;
  /** Node arguments; `dir` is a fresh temp dir when `needsDir`. */
  args(port: number, dir: string): string[];
  needsDir: boolean;
  ready: { path: string; statusOk?: number };
  /** The ceiling stores nothing, so there is nothing to read back. */
  readable: boolean;
  /** Credentials to sign with, once the server is ready. */
  credentials(dir: string): Promise<Credentials>;
  /** HTTPS, trusting the CA the gateway writes to <dir>/tls/ca.crt on its first start. */
  tls: boolean;
}

/**
 * The gateway with the default fsync policy (always: every acknowledgement is
 * durable) and limits off (the load is far beyond AWS's per-shard limits).
 * With `tls` false it serves plain HTTP, as the other servers speak; it
 * verifies the signature of every request either way.
 */
const gatewayArgs = (port: number, dir: string, tls: boolean, bundle = 'dist/tributary.mjs') =>
  [bundle, 'gateway', 'start', '--data', dir, '--port', String(port), '--no-limits', ...(tls ? [] : ['--insecure-http']), '--log-level', 'warn', ...gatewayExtraArgs];

/** `--fsync <policy>` (diagnosis): passed to every gateway column; the default policy, always, otherwise. */
let gatewayExtraArgs: string[] = [];
/** `--baseline <ref>`: the bundle the tributary-baseline column runs. */
let baseline: BaselineBuild | undefined;

const specs: Record<ServerName, ServerSpec> = {
  tributary: {
    name: 'tributary',
    args: (port, dir) => gatewayArgs(port, dir, false),
    needsDir: true,
    ready: { path: '/health', statusOk: 200 },
    readable: true,
    credentials: (dir) => operatorCredentials(dir),
    tls: false,
  },
  'tributary-baseline': {
    name: 'tributary-baseline',
    // The same as tributary, from the bundle --baseline built: the code before a change, in the same run.
    args: (port, dir) => gatewayArgs(port, dir, false, baseline!.bundle),
    needsDir: true,
    ready: { path: '/health', statusOk: 200 },
    readable: true,
    credentials: (dir) => operatorCredentials(dir),
    tls: false,
  },
  'tributary-https': {
    name: 'tributary-https',
    // Its default: HTTPS (HTTP/2 and HTTP/1.1 by ALPN; the client offers only http/1.1, like the others' HTTP/1.1).
    args: (port, dir) => gatewayArgs(port, dir, true),
    needsDir: true,
    ready: { path: '/health', statusOk: 200 },
    readable: true,
    credentials: (dir) => operatorCredentials(dir),
    tls: true,
  },
  'kinesalite-memory': {
    name: 'kinesalite-memory',
    args: (port) => ['node_modules/kinesalite/cli.js', '--port', String(port), '--createStreamMs', '0', '--shardLimit', '100'],
    needsDir: false,
    ready: { path: '/' },
    readable: true,
    credentials: async () => anyCredentials,
    tls: false,
  },
  'kinesalite-leveldb': {
    name: 'kinesalite-leveldb',
    args: (port, dir) => ['node_modules/kinesalite/cli.js', '--port', String(port), '--path', dir, '--createStreamMs', '0', '--shardLimit', '100'],
    needsDir: true,
    ready: { path: '/' },
    readable: true,
    credentials: async () => anyCredentials,
    tls: false,
  },
  ceiling: {
    name: 'ceiling',
    args: (port) => ['--import', 'tsx', 'bench/ceiling-server.ts', String(port)],
    needsDir: false,
    ready: { path: '/health', statusOk: 200 },
    readable: false,
    credentials: async () => anyCredentials,
    tls: false,
  },
};

/**
 * The operator credentials the gateway writes to <data>/operator.json on its
 * first start. It writes them just after it starts listening, so wait for them.
 */
async function operatorCredentials(dataDir: string): Promise<Credentials> {
  const file = path.join(dataDir, 'operator.json');
  const deadline = Date.now() + settings.readyTimeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`the gateway wrote no ${file} within ${settings.readyTimeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Credentials>;
  if (!profile.accessKeyId || !profile.secretAccessKey || !profile.region) throw new Error(`${file} lacks accessKeyId, secretAccessKey or region`);
  return { accessKeyId: profile.accessKeyId, secretAccessKey: profile.secretAccessKey, region: profile.region };
}

/** The CA the gateway's certificate chains to, as written on its first start. */
const caFileOf = (dataDir: string) => path.join(dataDir, 'tls', 'ca.crt');

/** Whether operator.json's `caCertificate` is the CA in <data>/tls/ca.crt (the client trusts the file). */
function operatorProfileCaMatches(dataDir: string): boolean {
  const profile = JSON.parse(fs.readFileSync(path.join(dataDir, 'operator.json'), 'utf8')) as { caCertificate?: string };
  return profile.caCertificate?.trim() === fs.readFileSync(caFileOf(dataDir), 'utf8').trim();
}

/** CPU used during a phase, as a percentage of one core over the phase's wall time (the server may exceed 100 with its threads). */
export interface CpuShare {
  serverPct: number;
  benchPct: number;
  /** Everything else on the machine (other people's builds and tests, the kernel's own threads): busy time from /proc/stat minus the two above. */
  otherPct?: number;
  /** The server's peak RSS during this phase alone (VmHWM reset at its start), MB; absent where /proc/<pid>/clear_refs refuses. */
  peakRssMB?: number;
}
type WithCpu<T> = T & { cpu: CpuShare };

export interface ServerResult {
  status: 'ok' | 'crashed' | 'failed';
  error?: string;
  /** What the client's TLS connection negotiated (HTTPS servers only). */
  tls?: TlsInfo & { operatorProfileCaMatches: boolean };
  putRecords100B?: WithCpu<PutThroughputResult>;
  putRecords1KiB?: WithCpu<PutThroughputResult>;
  getRecords?: WithCpu<ReadBackResult & { recordsExpected: number }> | 'n/a';
  putRecordLatency?: WithCpu<LatencyResult>;
  /** VmRSS once the server is up, its stream created, and a second has passed: before any load. */
  idleRssMB?: number;
  peakRssMB?: number;
  exit?: string;
}

interface Bodies {
  small: PutBatch[];
  large: PutBatch[];
  single: Buffer[];
}

class ServerCrashed extends Error {}

const log = (line: string) => void process.stderr.write(line + '\n');
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtCpu = (c: CpuShare) => `CPU server ${c.serverPct}%, bench ${c.benchPct}%${c.otherPct === undefined ? '' : `, other ${c.otherPct}%`}`;

function requireAlive(server: ServerProcess): void {
  if (!server.alive()) throw new ServerCrashed(`${server.name} died (${server.exitDescription() ?? 'exited'}); its output ended with:\n${server.outputTail().slice(-4000)}`);
}

/** Each server's peak RSS over the phases so far (per-phase peaks reset VmHWM, so the run's peak is kept here). */
const runPeakRssMB = new WeakMap<ServerProcess, number>();

/** Runs a phase and notes how busy the server and this process were, to show which side was the bottleneck. */
async function withCpu<T>(server: ServerProcess, phase: () => Promise<T>): Promise<WithCpu<T>> {
  // Peaks per phase: the reset drops the peak so far, so keep it for the run's overall peak first.
  const pid = server.child.pid!;
  runPeakRssMB.set(server, Math.max(runPeakRssMB.get(server) ?? 0, readPeakRssMB(pid) ?? 0));
  const perPhase = resetPeakRss(pid);
  const wall0 = performance.now(), server0 = server.cpuSeconds() ?? 0, bench0 = process.cpuUsage(), machine0 = readMachineBusySeconds();
  const result = await phase();
  const wallS = (performance.now() - wall0) / 1000;
  const bench = process.cpuUsage(bench0);
  const machine1 = readMachineBusySeconds();
  const serverS = (server.cpuSeconds() ?? server0) - server0;
  const benchS = (bench.user + bench.system) / 1e6;
  const cpu: CpuShare = { serverPct: Math.round((100 * serverS) / wallS), benchPct: Math.round((100 * benchS) / wallS) };
  // Tick granularity can make the remainder slightly negative on an idle machine.
  if (machine0 !== undefined && machine1 !== undefined) cpu.otherPct = Math.max(0, Math.round((100 * (machine1 - machine0 - serverS - benchS)) / wallS));
  const phasePeak = readPeakRssMB(pid);
  if (perPhase && phasePeak !== undefined) cpu.peakRssMB = phasePeak;
  runPeakRssMB.set(server, Math.max(runPeakRssMB.get(server) ?? 0, phasePeak ?? 0));
  return { ...result, cpu };
}

async function startServer(spec: ServerSpec, extraNodeArgs: string[] = [], existingDir?: string): Promise<{ server: ServerProcess; endpoint: Endpoint; dir: string | undefined; tls?: ServerResult['tls'] }> {
  const port = await sparePort();
  const dir = existingDir ?? (spec.needsDir ? tempDir(`tributary-bench-${spec.name}-`) : undefined);
  const server = spawnServer(spec.name, [...extraNodeArgs, ...spec.args(port, dir ?? '')], { port, cwd: root });
  try {
    const caFile = spec.tls ? caFileOf(dir!) : undefined;
    await waitReady(server, { ...spec.ready, timeoutMs: settings.readyTimeoutMs, ...(caFile ? { caFile } : {}) });
    const endpoint: Endpoint = { port, credentials: await spec.credentials(dir ?? ''), ...(caFile ? { tls: { ca: fs.readFileSync(caFile) } } : {}) };
    // A restart on an existing data directory (--profile --read) finds its stream there.
    const tlsInfo = existingDir ? undefined : await createStreamActive(endpoint, settings.streamName, settings.shardCount, settings.createStreamTimeoutMs);
    if (existingDir) return { server, endpoint, dir };
    if (!spec.tls) return { server, endpoint, dir };
    if (tlsInfo?.alpnProtocol !== 'http/1.1') throw new Error(`${spec.name}: expected HTTP/1.1 over TLS by ALPN, the connection negotiated ${JSON.stringify(tlsInfo)}`);
    return { server, endpoint, dir, tls: { ...tlsInfo, operatorProfileCaMatches: operatorProfileCaMatches(dir!) } };
  } catch (err) {
    const output = server.outputTail();
    await server.stop('SIGKILL');
    if (dir) removeTempDir(dir);
    throw new Error(`${(err as Error).message}${output ? `\n${spec.name} output:\n${output.slice(-4000)}` : ''}`, { cause: err });
  }
}

interface Timing {
  phaseMs: number;
  warmupMs: number;
  readBackMsMax: number;
}

async function benchServer(spec: ServerSpec, bodies: Bodies, timing: Timing): Promise<ServerResult> {
  const { phaseMs, warmupMs, readBackMsMax } = timing;
  const result: ServerResult = { status: 'ok' };
  let started: Awaited<ReturnType<typeof startServer>>;
  try {
    started = await startServer(spec);
  } catch (err) {
    return { status: 'failed', error: String((err as Error).message) };
  }
  const { server, endpoint, dir } = started;
  if (started.tls) {
    result.tls = started.tls;
    log(`  TLS: ${started.tls.protocol}, ${started.tls.cipher}, ALPN ${started.tls.alpnProtocol}${started.tls.operatorProfileCaMatches ? '' : '; WARNING: operator.json caCertificate differs from tls/ca.crt'}`);
  }
  const alive = () => server.alive();
  const put = { concurrency: settings.putRecordsConcurrency, alive };
  try {
    await new Promise((r) => setTimeout(r, 1000));
    result.idleRssMB = readRssMB(server.child.pid!);
    const warmup = await putThroughput(endpoint, bodies.small, { ...put, durationMs: warmupMs });
    requireAlive(server);
    result.putRecords100B = await withCpu(server, () => putThroughput(endpoint, bodies.small, { ...put, durationMs: phaseMs }));
    log(`  PutRecords 100 B: ${fmt(result.putRecords100B.recordsPerS)} records/s, ${result.putRecords100B.requestsFailed} failed requests, ${fmtCpu(result.putRecords100B.cpu)}`);
    requireAlive(server);
    result.putRecords1KiB = await withCpu(server, () => putThroughput(endpoint, bodies.large, { ...put, durationMs: phaseMs }));
    log(`  PutRecords 1 KiB: ${fmt(result.putRecords1KiB.recordsPerS)} records/s, ${result.putRecords1KiB.requestsFailed} failed requests, ${fmtCpu(result.putRecords1KiB.cpu)}`);
    requireAlive(server);
    if (spec.readable) {
      const recordsExpected = warmup.records + result.putRecords100B.records + result.putRecords1KiB.records;
      const read = await withCpu(server, () => readBack(endpoint, settings.streamName, { limit: settings.getRecordsLimit, timeoutMs: readBackMsMax, alive }));
      result.getRecords = { ...read, recordsExpected };
      log(`  GetRecords: ${fmt(read.recordsPerS)} records/s, ${fmt(read.records)} of ${fmt(recordsExpected)} records read${read.complete ? '' : ' (incomplete)'}, ${fmtCpu(read.cpu)}`);
      requireAlive(server);
    } else result.getRecords = 'n/a';
    result.putRecordLatency = await withCpu(server, () => putRecordLatency(endpoint, bodies.single, {
      ratePerS: settings.latencyRatePerS, durationMs: phaseMs, socketsMax: settings.latencySocketsMax, alive,
    }));
    const lat = result.putRecordLatency;
    log(`  PutRecord at ${settings.latencyRatePerS}/s: p50 ${lat.p50Ms.toFixed(2)} ms, p99 ${lat.p99Ms.toFixed(2)} ms, max ${lat.maxMs.toFixed(2)} ms, ${lat.failed} failed, ${fmtCpu(lat.cpu)}`);
    requireAlive(server);
    result.peakRssMB = Math.max(runPeakRssMB.get(server) ?? 0, server.peakRssMB() ?? 0);
  } catch (err) {
    result.status = err instanceof ServerCrashed || !server.alive() ? 'crashed' : 'failed';
    result.error = err instanceof ServerCrashed ? err.message : `${(err as Error).stack ?? String(err)}\n${spec.name} output:\n${server.outputTail().slice(-4000)}`;
  } finally {
    result.exit = await server.stop('SIGTERM');
    if (dir) removeTempDir(dir);
  }
  return result;
}

function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', memoryMB: Math.round(os.totalmem() / 1e6), node: process.version, os: `${os.type()} ${os.release()}`,
    // Other work on the machine skews every number; a 1-minute load average well above 0 at the start says so.
    loadAverage1mAtStart: Number(os.loadavg()[0]!.toFixed(2)),
  };
}

/** The commit the gateway was built from, and whether its sources had uncommitted changes; unknown outside a git checkout. */
function gatewaySource(): { commit: string; sourcesModified: boolean | 'unknown' } {
  const git = (args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (head.status !== 0) return { commit: 'unknown', sourcesModified: 'unknown' };
  const status = git(['status', '--porcelain', '--', 'bin', 'gateway', 'sdk', 'scripts', 'package.json']);
  return { commit: head.stdout.trim(), sourcesModified: status.stdout.trim() !== '' };
}

function buildBodies(): Bodies {
  const { streamName, bodiesDistinct: count, putRecordsBatchRecords: records } = settings;
  return {
    small: putRecordsBodies(streamName, { count, records, recordBytes: settings.recordBytesSmall }),
    large: putRecordsBodies(streamName, { count, records, recordBytes: settings.recordBytesLarge }),
    single: putRecordBodies(streamName, { count: 64, recordBytes: settings.latencyRecordBytes }),
  };
}

function writeResults(file: string, doc: unknown): void {
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(path.join(resultsDir, file), JSON.stringify(doc, null, 2) + '\n');
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false }, only: { type: 'string' }, profile: { type: 'boolean', default: false }, https: { type: 'boolean', default: false },
      rounds: { type: 'string', default: '1' }, baseline: { type: 'string' }, fsync: { type: 'string' }, prepare: { type: 'boolean', default: false }, read: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.https && !values.profile) throw new Error('--https goes with --profile (the comparison runs tributary-https anyway)');
  if (values.read && !values.profile) throw new Error('--read goes with --profile');
  const listed = values.only?.split(',').map((s) => s.trim());
  for (const name of listed ?? []) if (!(serverNames as readonly string[]).includes(name)) throw new Error(`--only: unknown server "${name}" (known: ${serverNames.join(', ')})`);
  if (listed?.includes('tributary-baseline') && !values.baseline) throw new Error('--only tributary-baseline needs --baseline <git ref>');
  // Without --baseline there is no baseline column; with it, the column runs even when --only leaves it out.
  const only: string[] = values.baseline
    ? (listed && !listed.includes('tributary-baseline') ? [...listed, 'tributary-baseline'] : listed ?? [...serverNames])
    : (listed ?? serverNames.filter((n) => n !== 'tributary-baseline'));
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error(`--rounds: a whole number from 1 to 20, not ${values.rounds}`);
  if (values.fsync) gatewayExtraArgs = ['--fsync', values.fsync];
  if (values.prepare) return prepareOnly(values.quick);
  installCleanupHooks();
  try {
    if (values.profile || only.some((name) => name.startsWith('tributary'))) {
      buildIfStale(root, 'dist/tributary.mjs', ['bin', 'gateway', 'sdk', 'scripts/build.mjs', 'package.json']);
    }
    if (values.baseline && !values.profile) baseline = buildBaseline(root, values.baseline);
    const timing: Timing = values.quick
      ? { phaseMs: settings.phaseMsQuick, warmupMs: settings.warmupMsQuick, readBackMsMax: settings.readBackMsMaxQuick }
      : { phaseMs: settings.phaseMsFull, warmupMs: settings.warmupMsFull, readBackMsMax: settings.readBackMsMaxFull };
    if (values.profile) return await profileGateway(timing, values.https ? specs['tributary-https'] : specs.tributary, values.read ? 'read' : 'put');
    await compare(timing, values.quick, only, rounds);
  } finally {
    cleanupSync();
  }
}

async function compare(timing: Timing, quick: boolean, only: string[], roundCount: number): Promise<void> {
  const { phaseMs } = timing;
  const started = Date.now();
  const host = machine();
  const bodies = buildBodies();
  const sigv4 = only.some((name) => name.startsWith('tributary')) ? timeSigV4(bodies) : undefined;
  // With --rounds N the servers run in the same order N times, so each round compares them under about the same machine load.
  const rounds: Array<Partial<Record<ServerName, ServerResult>>> = [];
  for (let round = 1; round <= roundCount; round++) {
    const servers: Partial<Record<ServerName, ServerResult>> = {};
    for (const name of serverNames) {
      if (!only.includes(name)) continue;
      log(`[${name}${roundCount > 1 ? `, round ${round} of ${roundCount}` : ''}]`);
      const t0 = Date.now();
      servers[name] = await benchServer(specs[name], bodies, timing);
      log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      if (servers[name]!.status !== 'ok') log(`  ${servers[name]!.status.toUpperCase()}: ${servers[name]!.error}`);
    }
    rounds.push(servers);
  }
  const checks = rounds.map((servers) => checkTargets(servers));
  const sigv4Share = sigv4 && estimateSigV4Share(rounds[0]!, sigv4);
  const doc = {
    benchmark: 'streams',
    startedAt: new Date(started).toISOString(),
    wallS: (Date.now() - started) / 1000,
    mode: quick ? 'quick' : 'full',
    phaseS: phaseMs / 1000,
    warmupS: timing.warmupMs / 1000,
    machine: host,
    gatewaySource: gatewaySource(),
    ...(baseline ? { baseline: { ref: baseline.ref, commit: baseline.commit } } : {}),
    settings: {
      ...settings,
      tributary: `fsync ${gatewayExtraArgs[1] ?? 'always (durable acknowledgements)'}; --no-limits (per-shard throughput limits off: this load far exceeds AWS's 1 MiB/s / 1,000 records/s per shard); --insecure-http (plain HTTP like the others; SigV4 still verified)`,
      'tributary-https': 'as tributary, without --insecure-http: HTTPS (its default), client offers ALPN http/1.1 only and trusts <data>/tls/ca.crt; SigV4 verified',
      ...(baseline ? { 'tributary-baseline': `as tributary, the bundle built from ${baseline.ref} (${baseline.commit})` } : {}),
    },
    // The first round's results (the only ones without --rounds); every round's in `rounds`.
    servers: rounds[0]!,
    checks: checks[0]!,
    ...(roundCount > 1 ? { rounds: rounds.map((servers, i) => ({ servers, checks: checks[i]! })) } : {}),
    sigv4: sigv4 && { measuredInBenchProcess: sigv4, estimates: sigv4Share },
    loadAverage1mAtEnd: Number(os.loadavg()[0]!.toFixed(2)),
  };
  writeResults('streams-latest.json', doc);
  process.stdout.write(JSON.stringify(doc) + '\n\n');
  for (const [i, servers] of rounds.entries()) {
    if (roundCount > 1) process.stdout.write(`Round ${i + 1} of ${roundCount}\n`);
    process.stdout.write(formatTable(servers, { phaseS: phaseMs / 1000, latencyRatePerS: settings.latencyRatePerS }) + '\n\n');
  }
  process.stdout.write('Note: tributary runs with --no-limits: this load is far beyond AWS\'s per-shard write limits (1 MiB/s and 1,000 records/s per shard),\n');
  process.stdout.write(`      which the gateway enforces by default; its fsync policy is ${gatewayExtraArgs.length ? `${gatewayExtraArgs[1]} (--fsync)` : 'the default, always (acknowledged = durable)'}.\n`);
  process.stdout.write('      tributary serves plain HTTP (--insecure-http) like the other servers; tributary-https is the same gateway on HTTPS,\n');
  process.stdout.write('      its default (HTTP/1.1 by ALPN, keep-alive). Both verify the SigV4 signature of every request.\n');
  if (baseline) process.stdout.write(`      tributary-baseline is the gateway built from ${baseline.ref} (${baseline.commit}), otherwise run as tributary.\n`);
  process.stdout.write('\n');
  for (const [i, c] of checks.entries()) process.stdout.write((roundCount > 1 ? `Round ${i + 1}: ` : '') + formatChecks(c) + '\n');
  if (roundCount > 1) process.stdout.write('\n' + formatRounds(rounds) + '\n');
  if (sigv4 && sigv4Share) process.stdout.write('\n' + formatSigV4Estimate(sigv4, sigv4Share) + '\n');
  log(`results written to bench/results/streams-latest.json (${doc.wallS.toFixed(0)} s; load average ${host.loadAverage1mAtStart} at the start, ${doc.loadAverage1mAtEnd} at the end)`);
  if (rounds.some((servers) => Object.values(servers).some((r) => r.status !== 'ok'))) process.exitCode = 1;
}

/** --prepare: the offload worker's CPU per record, in this process (bench/lib/streams-prepare.ts); no servers. */
function prepareOnly(quick: boolean): void {
  const bodies = buildBodies();
  const rounds = quick ? 5 : 15;
  log(`[prepare] timing preparePutRecords in process, ${rounds} rounds`);
  const figures = measurePrepare(bodies, { rounds, repeats: quick ? 2 : 5 });
  const doc = { benchmark: 'streams-prepare', startedAt: new Date().toISOString(), machine: machine(), gatewaySource: gatewaySource(), rounds, figures, loadAverage1mAtEnd: Number(os.loadavg()[0]!.toFixed(2)) };
  writeResults('streams-prepare-latest.json', doc);
  process.stdout.write(JSON.stringify(doc) + '\n\n' + formatPrepare(figures, rounds) + '\n');
}

/** VmRSS from /proc/<pid>/status in MB (10^6 bytes); undefined when it cannot be read. */
function readRssMB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? (Number(m[1]) * 1024) / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * verifySigV4 timed in this process on this run's own bodies, before any
 * server starts (about a second): the per-request cost behind the estimate of
 * the gateway CPU that signature checks take.
 */
function timeSigV4(bodies: Bodies): SigV4CaseResult[] {
  log(`[sigv4] timing verifySigV4 in process on this run's bodies (${settings.sigv4Iterations} per case; npm run bench -- sigv4 for more)`);
  const cases = sigv4Cases({ large: bodies.large.map((b) => b.body), small: bodies.small.map((b) => b.body), single: bodies.single }, settings.putRecordsBatchRecords);
  const results = measureSigV4(cases, { iterations: settings.sigv4Iterations, rounds: settings.sigv4Rounds, warmup: settings.sigv4Warmup });
  for (const r of results) log(`  ${r.name}: ${r.verifyUsPerRequest.toFixed(1)} µs per request (JSON.parse ${r.jsonParseUsPerRequest.toFixed(1)} µs)`);
  return results;
}

/** One gateway under the 1 KiB PutRecords load with --cpu-prof; SIGINT makes it exit cleanly and write the profile. */
async function profileGateway(timing: Timing, spec: ServerSpec, phase: 'put' | 'read'): Promise<void> {
  const { phaseMs, warmupMs } = timing;
  const profileDir = tempDir('tributary-bench-profile-');
  const bodies = putRecordsBodies(settings.streamName, { count: settings.bodiesDistinct, records: settings.putRecordsBatchRecords, recordBytes: settings.recordBytesLarge });
  const profiler = ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  let load: WithCpu<PutThroughputResult | ReadBackResult>;
  let filledDir: string | undefined;
  if (phase === 'read') {
    // Fill the stream with one 1 KiB PutRecords phase unprofiled, then restart the gateway on its data under the profiler.
    const { server, endpoint, dir } = await startServer(spec);
    try {
      await putThroughput(endpoint, bodies, { concurrency: settings.putRecordsConcurrency, alive: () => server.alive(), durationMs: phaseMs });
    } finally {
      await server.stop('SIGINT');
    }
    filledDir = dir;
  }
  const { server, endpoint, dir } = await startServer(spec, profiler, filledDir);
  try {
    const put = { concurrency: settings.putRecordsConcurrency, alive: () => server.alive() };
    if (phase === 'put') {
      await putThroughput(endpoint, bodies, { ...put, durationMs: warmupMs });
      load = await withCpu(server, () => putThroughput(endpoint, bodies, { ...put, durationMs: phaseMs }));
    } else {
      load = await withCpu(server, () => readBack(endpoint, settings.streamName, { limit: settings.getRecordsLimit, timeoutMs: timing.readBackMsMax, alive: () => server.alive() }));
    }
    requireAlive(server);
  } finally {
    const exit = await server.stop('SIGINT');
    if (exit !== 'exit code 0') log(`gateway did not exit cleanly on SIGINT: ${exit}\n${server.outputTail()}`);
    if (dir) removeTempDir(dir);
  }
  // One profile per thread: the main thread's (thread id 0 in the file name) and each offload worker's.
  const files = fs.readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).sort((a, b) => threadOf(a) - threadOf(b));
  if (!files.length) throw new Error(`no .cpuprofile written in ${profileDir}`);
  fs.mkdirSync(resultsDir, { recursive: true });
  const sourceMaps = new Map([...loadBundleSourceMap(path.join(root, 'dist/tributary.mjs')), ...loadBundleSourceMap(path.join(root, 'dist/offload-worker.mjs'))]);
  const threads: Array<{ thread: string; file: string; summary: ProfileSummary }> = [];
  for (const [i, file] of files.entries()) {
    const thread = i === 0 ? 'main' : `worker ${i}`;
    const kept = i === 0 ? 'streams-gateway.cpuprofile' : `streams-gateway-worker${i}.cpuprofile`;
    const profile = JSON.parse(fs.readFileSync(path.join(profileDir, file), 'utf8')) as CpuProfile;
    fs.copyFileSync(path.join(profileDir, file), path.join(resultsDir, kept));
    threads.push({ thread, file: kept, summary: summarizeCpuProfile(profile, { top: 15, root, sourceMaps }) });
  }
  removeTempDir(profileDir);
  writeResults('streams-profile.json', { server: spec.name, load, threads });
  const failed = 'requestsFailed' in load ? `${load.requestsFailed} failed requests` : `${fmt(load.records)} records read`;
  process.stdout.write(`${spec.name} under ${phase === 'put' ? 'PutRecords 1 KiB' : 'GetRecords read-back'}: ${fmt(load.recordsPerS)} records/s, ${load.mibPerS.toFixed(1)} MiB/s, ${failed}, ${fmtCpu(load.cpu)}\n`);
  for (const t of threads) process.stdout.write(`\n[${t.thread} thread, bench/results/${t.file}]\n${formatProfile(t.summary)}\n`);
  log('profiles written to bench/results/streams-gateway*.cpuprofile (open in Chrome DevTools), summary in streams-profile.json');
}

/** The thread id in a --cpu-prof file name (CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile); 0 is the main thread. */
function threadOf(file: string): number {
  return Number(file.split('.').at(-3));
}
