/**
 * Agent benchmark (issue #4): the real agent bundle (dist/tributary-agent.mjs)
 * as its own process, paired over HTTPS with the real gateway bundle
 * (dist/tributary.mjs, per-shard limits off), also its own process. Records
 * are counted where they land, from the gateway's
 * tributary_streams_incoming_records_total, and every rate runs from the
 * first record sent to the last one counted there.
 *
 *   low rate   per round, a fresh agent (one destination, MQTT and socket inputs, as a device runs it):
 *              spawn to READY=1 on a NOTIFY_SOCKET, then 100 QoS 1 MQTT messages/s from a separate
 *              publisher through a private Mosquitto for 15 s: agent RSS, CPU, memory breakdown
 *   socket     N records as fast as one AgentProducer gets them into the agent, delivered to the gateway
 *   plain      the same N records, PutRecords of 500, 16 requests in flight, straight to the gateway
 *   aws-sdk    the same N records through the stock AWS SDK v3 KinesisClient, PutRecords of 500, 16 in flight
 *              (socket, plain and aws-sdk alternate, once per round)
 *   mqtt       QoS 1 messages from a separate publisher process through the private Mosquitto
 *   replay     gateway stopped, 200,000 records buffered through the socket, gateway restarted: drain rate
 *   peak       the throughput agent's VmHWM over all of the above: its peak under any input rate
 *
 * The agent runs with the systemd unit's Node flags and its WatchdogSec. Its
 * buffer is durable throughout (fsync: always, its default), as is the
 * gateway's. Figures measured once per round are reported as ranges (min-max).
 * Prints one JSON line per figure, a table with the targets, and writes
 * bench/results/agent-latest.json.
 *
 *   npm run bench -- agent [--quick] [--rounds N] [--records N] [--replay-records N] [--profile]
 *   npm run bench -- agent --agent-fsync never|interval:<ms>   (diagnosis: what the durable buffer costs)
 *   npm run bench -- agent --agent-node-args=--lite-mode       (Node flags added to the unit's, e.g. V8's lite mode for small devices)
 *
 * --profile runs both agents under `node --cpu-prof` and prints where their
 * CPU went (bench/results/agent-low-rate.cpuprofile, agent-throughput.cpuprofile).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AgentProducer } from '../sdk/streams/agent-producer.ts';
import { pairDevice } from '../sdk/devices/pairing.ts';
import { JsonRpcClient } from '../sdk/http/json-rpc-client.ts';
import { loadBundleSourceMap, summarizeCpuProfile, type CpuProfile } from './lib/cpu-profile.ts';
import { createStreamActive, KinesisHttp, type Credentials, type Endpoint } from './lib/kinesis-http.ts';
import {
  buildIfStale, cleanupSync, installCleanupHooks, readCpuSeconds, readMachineBusySeconds, readPeakRssMB, removeTempDir, sparePort, spawnServer,
  tempDir, waitReady, type ServerProcess,
} from './lib/servers.ts';
import { putRecordsBodies, scanFailedRecordCount } from './lib/streams-load.ts';
import { formatProfile } from './lib/streams-report.ts';

export const description = 'Agent: records/s from MQTT and the local socket, replay after 1 M buffered offline, RSS/CPU, startup, vs a plain PutRecords client';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = path.join(root, 'bench', 'results');

export const settings = Object.freeze({
  device: 'bench',
  shardCount: 4,
  recordBytes: 100,
  /** Distinct partition keys (and MQTT topics), spread over the shards. */
  partitionKeys: 64,
  putRecordsBatchRecords: 500,
  putRecordsConcurrency: 16,
  lowRatePerS: 100,
  lowRateMsFull: 15_000,
  lowRateMsQuick: 8_000,
  /** Low-rate rounds (a fresh agent each) and throughput rounds (socket, plain, aws-sdk each). */
  roundsFull: 3,
  roundsQuick: 1,
  /** Untimed, before the low-rate phase: startup work (JIT, first connections) is not steady state. */
  lowRateSettleMs: 2_000,
  /** Records per throughput phase (socket, plain client, AWS SDK); MQTT gets half. */
  recordsFull: 200_000,
  recordsQuick: 100_000,
  replayRecordsFull: 200_000,
  replayRecordsQuick: 100_000,
  /** Records the bench process keeps handed to the AgentProducer but unacknowledged. */
  socketWindowRecords: 20_000,
  /** PUBACKs the publisher waits for at once. */
  mqttInFlight: 500,
  /**
   * How far the publisher may run ahead of what the agent has taken (buffered
   * or delivered): Mosquitto drops QoS 1 messages for a subscriber past
   * max_queued_messages (1000 by default) beyond its 20 in flight.
   */
  mqttAheadRecordsMax: 4000,
  mqttAllowanceIntervalMs: 20,
  /** The MQTT phase stops publishing after this long even if not all its records are out. */
  mqttPublishMsMaxFull: 15_000,
  mqttPublishMsMaxQuick: 10_000,
  /** How often the gateway's counter and the processes' /proc entries are read. */
  pollIntervalMs: 50,
  /** A phase ends early when the gateway's count has not moved for this long after the senders finished. */
  stallMs: 5_000,
  phaseTimeoutMs: 240_000,
  readyTimeoutMs: 30_000,
  createStreamTimeoutMs: 10_000,
  /** The uplink's backoff cap (default 60 s): the replay starts within a second of the gateway's return. */
  uplinkRetryMaxMs: 1_000,
  agentStopDeadlineMs: 10_000,
});

export const targets = Object.freeze({
  sustainedRecordsPerSMin: 20_000,
  replayRecordsPerSMin: 50_000,
  lowRateRssMBMax: 60,
  lowRateCpuPctMax: 2,
  /** RSS at any input rate (the throughput agent's VmHWM); the unit's MemoryMax is 128M. */
  peakRssMBMax: 100,
  /** Spawn to READY=1 on the NOTIFY_SOCKET. */
  readyMsMax: 500,
  /** The agent (buffer durable) against a plain PutRecords client on the same gateway. */
  agentShareOfPlainMin: 0.7,
});

const adminTargetPrefix = 'Tributary_20261125';
const log = (line: string) => void process.stderr.write(line + '\n');
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- processes

/** VmRSS from /proc/<pid>/status, in MB (10^6 bytes). */
function readRssMB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? (Number(m[1]) * 1024) / 1e6 : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export interface CpuShares {
  /** Percent of one core over the phase's wall time, per process (may exceed 100 with threads). */
  agentPct?: number;
  gatewayPct: number;
  benchPct: number;
  publisherPct?: number;
  /** Busy time on the whole machine not spent by the processes above: other people's work. */
  otherPct?: number;
}

export interface AgentMemory {
  rssMBMax: number;
  rssMBEnd: number;
  /** VmHWM: the peak over the agent's life so far. */
  peakRssMB: number;
}

/** CPU seconds of the processes in a phase, /proc-sampled RSS of the agent. */
class PhaseMeter {
  readonly #t0 = Date.now();
  readonly #cpu0: Map<string, number>;
  readonly #bench0 = process.cpuUsage();
  readonly #machine0 = readMachineBusySeconds();
  /** CPU seconds last read per process, for one that has exited by the end of the phase. */
  readonly #last = new Map<string, number>();
  #rssMBMax = 0;
  #timer: NodeJS.Timeout;

  constructor(private readonly pids: Record<string, number | undefined>, private readonly agentPid: number | undefined) {
    this.#cpu0 = new Map(Object.entries(pids).map(([k, pid]) => [k, pid === undefined ? 0 : readCpuSeconds(pid) ?? 0]));
    this.#timer = setInterval(() => this.#sample(), 200);
    this.#sample();
  }

  #sample(): void {
    if (this.agentPid !== undefined) this.#rssMBMax = Math.max(this.#rssMBMax, readRssMB(this.agentPid) ?? 0);
  }

  /** Adds a process that started after the phase did (its CPU counts from zero). */
  add(name: string, pid: number): void {
    this.pids[name] = pid;
    this.#cpu0.set(name, 0);
  }

  /** Reads a process's CPU now (before it exits). */
  snapshot(name: string): void {
    const pid = this.pids[name];
    if (pid !== undefined) this.#last.set(name, readCpuSeconds(pid) ?? this.#last.get(name) ?? 0);
  }

  stop(): { wallS: number; cpu: CpuShares; memory?: AgentMemory } {
    clearInterval(this.#timer);
    this.#sample();
    const wallS = (Date.now() - this.#t0) / 1000;
    const used = (name: string) => {
      const pid = this.pids[name];
      const now = (pid === undefined ? undefined : readCpuSeconds(pid)) ?? this.#last.get(name);
      return now === undefined ? undefined : now - (this.#cpu0.get(name) ?? 0);
    };
    const pct = (s: number | undefined) => (s === undefined ? undefined : Math.round((1000 * s) / wallS) / 10);
    const bench = process.cpuUsage(this.#bench0);
    const benchS = (bench.user + bench.system) / 1e6;
    const agentS = used('agent'), gatewayS = used('gateway') ?? 0, publisherS = used('publisher');
    const cpu: CpuShares = { gatewayPct: pct(gatewayS)!, benchPct: pct(benchS)! };
    if (agentS !== undefined) cpu.agentPct = pct(agentS)!;
    if (publisherS !== undefined) cpu.publisherPct = pct(publisherS)!;
    const machine1 = readMachineBusySeconds();
    if (this.#machine0 !== undefined && machine1 !== undefined) {
      cpu.otherPct = Math.max(0, pct(machine1 - this.#machine0 - benchS - gatewayS - (agentS ?? 0) - (publisherS ?? 0))!);
    }
    if (this.agentPid === undefined) return { wallS, cpu };
    const rssMBEnd = readRssMB(this.agentPid) ?? 0;
    return { wallS, cpu, memory: { rssMBMax: round1(this.#rssMBMax), rssMBEnd: round1(rssMBEnd), peakRssMB: round1(readPeakRssMB(this.agentPid) ?? 0) } };
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;

// ---------------------------------------------------------------- gateway

interface GatewayHandle {
  server: ServerProcess;
  port: number;
  dataDir: string;
  ca: Buffer;
  endpoint: Endpoint;
  metricsAgent: https.Agent;
  /** GET /metrics needs the gateway's metrics token (issue #11). */
  metricsAuth: Record<string, string>;
}

async function startGateway(dataDir: string, port: number): Promise<GatewayHandle> {
  // HTTPS, the default (pairing needs it); fsync always, the default; per-shard limits off.
  const server = spawnServer('gateway', ['dist/tributary.mjs', 'gateway', 'start', '--data', dataDir, '--port', String(port), '--no-limits', '--log-level', 'warn'], { port, cwd: root });
  const caFile = path.join(dataDir, 'tls', 'ca.crt');
  await waitReady(server, { path: '/health', statusOk: 200, timeoutMs: settings.readyTimeoutMs, caFile });
  const ca = fs.readFileSync(caFile);
  const credentials = await operatorCredentials(dataDir);
  const metricsAuth = { authorization: `Bearer ${fs.readFileSync(path.join(dataDir, 'metrics.token'), 'utf8').trim()}` };
  return { server, port, dataDir, ca, endpoint: { port, credentials, tls: { ca } }, metricsAgent: new https.Agent({ keepAlive: true, ca, maxSockets: 1 }), metricsAuth };
}

async function operatorCredentials(dataDir: string): Promise<Credentials> {
  const file = path.join(dataDir, 'operator.json');
  const deadline = Date.now() + settings.readyTimeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`the gateway wrote no ${file} within ${settings.readyTimeoutMs} ms`);
    await sleep(25);
  }
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Credentials>;
  if (!p.accessKeyId || !p.secretAccessKey || !p.region) throw new Error(`${file} lacks accessKeyId, secretAccessKey or region`);
  return { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey, region: p.region };
}

function getText(port: number, urlPath: string, agent: https.Agent | undefined, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const onAnswer = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`GET ${urlPath}: HTTP ${res.statusCode}`))));
      res.on('error', reject);
    };
    const o = { host: '127.0.0.1', port, path: urlPath, timeout: 5_000, headers };
    const req = agent ? https.get({ ...o, agent }, onAnswer) : http.get(o, onAnswer);
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

function metricValue(text: string, name: string, label: string, value: string): number {
  const line = `${name}{${label}="${value}"} `;
  const at = text.indexOf(line);
  return at < 0 ? 0 : Number(text.slice(at + line.length, text.indexOf('\n', at)));
}

/** Records the gateway has accepted into `stream` since it started. */
async function gatewayCount(gw: GatewayHandle, stream: string): Promise<number> {
  return metricValue(await getText(gw.port, '/metrics', gw.metricsAgent, gw.metricsAuth), 'tributary_streams_incoming_records_total', 'stream', stream);
}

/** PutRecords requests the gateway has answered 200 since it started (all streams). */
async function gatewayPutRecordsRequests(gw: GatewayHandle): Promise<number> {
  let n = 0;
  for (const line of (await getText(gw.port, '/metrics', gw.metricsAgent, gw.metricsAuth)).split('\n')) {
    if (line.startsWith('tributary_requests_total{') && line.includes('action="PutRecords"') && line.includes('outcome="ok"')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

interface Delivery {
  /** Records counted at the gateway in this phase. */
  records: number;
  expected: number;
  complete: boolean;
  /** Wall-clock ms when the count first moved and when it last moved. */
  firstAtMs: number | undefined;
  lastAtMs: number | undefined;
}

/**
 * Polls the gateway's count for `stream` until it has grown by `expected`, or
 * has not moved for `stallMs` once `sendersDone()`, or the phase times out.
 */
async function awaitDelivery(gw: GatewayHandle, stream: string, base: number, expectedOrNow: number | (() => number), sendersDone: () => boolean): Promise<Delivery> {
  const expectedNow = typeof expectedOrNow === 'number' ? () => expectedOrNow : expectedOrNow;
  const deadline = Date.now() + settings.phaseTimeoutMs;
  let records = 0, firstAtMs: number | undefined, lastAtMs: number | undefined, movedAtMs = Date.now();
  for (;;) {
    const n = (await gatewayCount(gw, stream).catch(() => base + records)) - base;
    const now = Date.now();
    if (n > records) {
      firstAtMs ??= now;
      lastAtMs = now;
      movedAtMs = now;
      records = n;
    }
    const expected = expectedNow();
    if (records >= expected) return { records, expected, complete: true, firstAtMs, lastAtMs };
    if ((sendersDone() && now - movedAtMs > settings.stallMs) || now > deadline) return { records, expected, complete: false, firstAtMs, lastAtMs };
    await sleep(settings.pollIntervalMs);
  }
}

// ---------------------------------------------------------------- agent

interface AgentHandle {
  server: ServerProcess;
  stateDir: string;
  socketPath: string;
  metricsPort: number;
  /** Spawn to the 'agent running' log line. */
  startupMs: number;
  /** Spawn to READY=1 on the NOTIFY_SOCKET (undefined without python3 to listen). */
  readyMs: number | undefined;
}

/**
 * systemd's side of sd_notify: a Unix datagram socket the agents are given
 * as NOTIFY_SOCKET (python3 listens: Node has no datagram Unix sockets), so
 * READY=1 is timed where systemd would see it. Each message names the
 * agent's MAINPID.
 */
class NotifyListener {
  readonly path: string;
  readonly #child: ReturnType<typeof spawn>;
  readonly #waiters = new Map<number, (atMs: number) => void>();
  readonly #readyAt = new Map<number, number>();

  private constructor(path: string, child: ReturnType<typeof spawn>) {
    this.path = path;
    this.#child = child;
    let pending = '';
    child.stdout!.on('data', (c: Buffer) => {
      const now = performance.now();
      const lines = (pending + c.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) {
        const pid = Number(/MAINPID=(\d+)/.exec(l)?.[1]);
        if (!l.includes('READY=1') || !pid || this.#readyAt.has(pid)) continue;
        this.#readyAt.set(pid, now);
        this.#waiters.get(pid)?.(now);
      }
    });
  }

  static async start(dir: string): Promise<NotifyListener | undefined> {
    const sock = path.join(dir, 'notify.sock');
    const script = 'import socket, sys\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("listening", flush=True)\nwhile True:\n    print(s.recv(4096).decode().replace("\\n", "|"), flush=True)\n';
    const child = spawn('python3', ['-c', script, sock], { stdio: ['ignore', 'pipe', 'ignore'] });
    const up = await new Promise<boolean>((resolve) => {
      child.once('error', () => resolve(false));
      child.once('exit', () => resolve(false));
      child.stdout!.once('data', () => resolve(true));
    });
    if (!up) {
      log('python3 is not available: READY=1 is not timed (startup is timed to the agent\'s log line instead)');
      return undefined;
    }
    return new NotifyListener(sock, child);
  }

  /** When READY=1 came from `pid` (performance.now()), waiting up to `timeoutMs`. */
  readyAt(pid: number, timeoutMs: number): Promise<number | undefined> {
    const at = this.#readyAt.get(pid);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.#waiters.set(pid, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
    });
  }

  stop(): void {
    this.#child.kill('SIGTERM');
  }
}

let notify: NotifyListener | undefined;

interface AgentSetup {
  stateDir: string;
  credentialsFile: string;
  /** Destination name → stream template. */
  destinations: Record<string, string>;
  socketDestination: string;
  mqtt?: { filter: string; destination: string; clientId: string };
  /** buffer.fsync; `always` (the default) unless --agent-fsync says otherwise. */
  fsync: string;
  /** Destinations that send KPL-aggregated records. */
  aggregated?: string[];
}

function agentConfigText(s: AgentSetup, socketPath: string, metricsPort: number): string {
  const lines = [
    'gateway:', `  credentials: ${s.credentialsFile}`,
    'state:', `  dir: ${s.stateDir}`,
    'buffer:', `  fsync: ${s.fsync}`,
    'destinations:',
    ...Object.entries(s.destinations).flatMap(([name, stream]) => [`  ${name}:`, `    stream: ${stream}`, ...(s.aggregated?.includes(name) ? ['    aggregate: true'] : [])]),
    'inputs:',
    ...(s.mqtt ? [
      '  mqtt:', `    url: ${mqttUrl}`, `    clientId: ${s.mqtt.clientId}`, '    rules:',
      `      - filter: ${s.mqtt.filter}`, `        destination: ${s.mqtt.destination}`, '        partitionKey: { topicLevel: 1 }',
    ] : []),
    '  socket:', '    enabled: true', `    path: ${socketPath}`, `    destination: ${s.socketDestination}`,
    'uplink:', `  retryMaxMs: ${settings.uplinkRetryMaxMs}`,
    'metrics:', `  port: ${metricsPort}`,
    'log:', '  level: info',
  ];
  return lines.join('\n') + '\n';
}

/**
 * Node's flags as the systemd unit runs the agent (configs/systemd/tributary-agent.service,
 * ExecStart=/usr/bin/node <flags> .../tributary-agent.mjs ...): the benchmark runs it the same way.
 */
function unitNodeArgs(): string[] {
  const unit = fs.readFileSync(path.join(root, 'configs/systemd/tributary-agent.service'), 'utf8');
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.trim().split(/\s+/) ?? [];
  const script = exec.findIndex((t) => t.endsWith('tributary-agent.mjs'));
  return script > 1 ? exec.slice(1, script) : [];
}

/** The unit's `Environment=` assignments (KEY=VALUE, space-separated, optionally in double quotes), as systemd sets them. */
function unitEnvironment(): Record<string, string> {
  const unit = fs.readFileSync(path.join(root, 'configs/systemd/tributary-agent.service'), 'utf8');
  const env: Record<string, string> = {};
  for (const m of unit.matchAll(/^Environment=(.*)$/gm)) {
    for (const a of m[1]!.match(/"[^"]*"|\S+/g) ?? []) {
      const kv = a.replace(/^"|"$/g, '');
      const eq = kv.indexOf('=');
      if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
  }
  return env;
}

/** WatchdogSec of the unit, in µs as systemd passes it (WATCHDOG_USEC): the agent pings at half of it. */
function unitWatchdogUsec(): number | undefined {
  const unit = fs.readFileSync(path.join(root, 'configs/systemd/tributary-agent.service'), 'utf8');
  const s = Number(/^WatchdogSec=(\d+)\s*$/m.exec(unit)?.[1]);
  return Number.isFinite(s) && s > 0 ? s * 1e6 : undefined;
}

/** Node flags `--agent-node-args` adds to the unit's (empty: the agent exactly as its unit runs it). */
let agentNodeArgs: string[] = [];

async function startAgent(s: AgentSetup, extraNodeArgs: string[] = []): Promise<AgentHandle> {
  const nodeArgs = [...unitNodeArgs(), ...agentNodeArgs, ...extraNodeArgs];
  const metricsPort = await sparePort();
  const socketPath = path.join(s.stateDir, 'agent.sock');
  const config = path.join(s.stateDir, 'agent.yaml');
  fs.writeFileSync(config, agentConfigText(s, socketPath, metricsPort));
  const watchdogUsec = unitWatchdogUsec();
  const env = { ...unitEnvironment(), ...(notify ? { NOTIFY_SOCKET: notify.path } : {}), ...(watchdogUsec ? { WATCHDOG_USEC: String(watchdogUsec) } : {}) };
  const t0 = performance.now();
  const server = spawnServer('agent', [...nodeArgs, 'dist/tributary-agent.mjs', 'run', '-c', config], { port: metricsPort, cwd: root, env });
  // The agent's own log (JSON lines), for a phase that goes wrong: bench/results/agent-<state dir>.log.
  fs.mkdirSync(resultsDir, { recursive: true });
  const logFile = fs.createWriteStream(path.join(resultsDir, `agent-${path.basename(s.stateDir)}.log`));
  server.child.stdout!.pipe(logFile);
  const startupMs = await new Promise<number>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`the agent did not log 'agent running' within ${settings.readyTimeoutMs} ms:\n${server.outputTail()}`)), settings.readyTimeoutMs);
    const onData = (chunk: Buffer) => {
      seen = (seen + chunk.toString('utf8')).slice(-4096);
      if (seen.includes('agent running')) {
        clearTimeout(timer);
        server.child.stdout!.off('data', onData);
        server.child.stderr!.off('data', onData);
        resolve(performance.now() - t0);
      }
    };
    server.child.stdout!.on('data', onData);
    server.child.stderr!.on('data', onData);
    server.child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`the agent exited before it was running:\n${server.outputTail()}`));
    });
  });
  const readyAt = notify && server.child.pid !== undefined ? await notify.readyAt(server.child.pid, settings.readyTimeoutMs) : undefined;
  return { server, stateDir: s.stateDir, socketPath, metricsPort, startupMs, readyMs: readyAt === undefined ? undefined : readyAt - t0 };
}

async function agentDepth(a: AgentHandle, destination: string): Promise<number> {
  return metricValue(await getText(a.metricsPort, '/metrics', undefined), 'tributary_agent_buffer_records', 'destination', destination);
}

async function stopAgent(a: AgentHandle, signal: NodeJS.Signals = 'SIGTERM'): Promise<string> {
  const exit = await a.server.stop(signal);
  if (exit !== 'exit code 0') log(`  agent stopped with ${exit}; its output ended with:\n${a.server.outputTail().slice(-2000)}`);
  return exit;
}

// ---------------------------------------------------------------- load

const payloads = Array.from({ length: 16 }, (_, i) => Buffer.alloc(settings.recordBytes, 97 + i));
const keyOf = (i: number) => `dev-${i % settings.partitionKeys}`;

interface Feed {
  records: number;
  failed: number;
  startedAtMs: number;
  endedAtMs: number;
  errors: string[];
}

/** `count` records through the AgentProducer (its destination) as fast as the agent acknowledges them, at most `socketWindowRecords` unacknowledged. */
async function feedSocket(producer: AgentProducer, count: number): Promise<Feed> {
  let pending = 0, failed = 0, wake: (() => void) | undefined;
  const errors: string[] = [];
  const startedAtMs = Date.now();
  const settle = () => {
    pending--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  for (let i = 0; i < count; i++) {
    while (pending >= settings.socketWindowRecords) await new Promise<void>((r) => (wake = r));
    pending++;
    producer.put(payloads[i % payloads.length]!, { partitionKey: keyOf(i) }).then(settle, (err: Error) => {
      failed++;
      if (errors.length < 5) errors.push(err.message);
      settle();
    });
  }
  while (pending > 0) await new Promise<void>((r) => (wake = r));
  return { records: count - failed, failed, startedAtMs, endedAtMs: Date.now(), errors };
}

/** `ratePerS` records a second for `durationMs`, each sent on its schedule (open loop). */
async function feedSocketPaced(producer: AgentProducer, ratePerS: number, durationMs: number): Promise<Feed> {
  const count = Math.round((ratePerS * durationMs) / 1000);
  const startedAtMs = Date.now();
  const puts: Array<Promise<unknown>> = [];
  let failed = 0;
  const errors: string[] = [];
  for (let i = 0; i < count; i++) {
    const due = startedAtMs + (i * 1000) / ratePerS;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    puts.push(producer.put(payloads[i % payloads.length]!, { partitionKey: keyOf(i) }).catch((err: Error) => {
      failed++;
      if (errors.length < 5) errors.push(err.message);
    }));
  }
  await Promise.all(puts);
  return { records: count - failed, failed, startedAtMs, endedAtMs: Date.now(), errors };
}

/** `count` records in PutRecords of 500, `concurrency` requests in flight. */
async function feedPlain(endpoint: Endpoint, stream: string, count: number): Promise<Feed> {
  const batches = putRecordsBodies(stream, { count: 8, records: settings.putRecordsBatchRecords, recordBytes: settings.recordBytes });
  const client = new KinesisHttp(endpoint, { socketsMax: settings.putRecordsConcurrency });
  const requests = Math.ceil(count / settings.putRecordsBatchRecords);
  let next = 0, records = 0, failed = 0;
  const errors: string[] = [];
  const startedAtMs = Date.now();
  const worker = async () => {
    while (next < requests) {
      const batch = batches[next++ % batches.length]!;
      try {
        const reply = await client.send('PutRecords', batch.body);
        const f = reply.status === 200 ? scanFailedRecordCount(reply.body) : undefined;
        if (f === undefined) {
          failed += batch.records;
          if (errors.length < 5) errors.push(`HTTP ${reply.status}: ${reply.body.toString('utf8', 0, 200)}`);
        } else {
          records += batch.records - f;
          failed += f;
        }
      } catch (err) {
        failed += batch.records;
        if (errors.length < 5) errors.push((err as Error).message);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: settings.putRecordsConcurrency }, worker));
  } finally {
    client.close();
  }
  return { records, failed, startedAtMs, endedAtMs: Date.now(), errors };
}

/**
 * `count` records through the stock AWS SDK v3 KinesisClient: PutRecords of
 * 500 built per request (as an application would), `concurrency` requests in
 * flight, over the same HTTPS. The SDK's own retries are off: a failure counts.
 */
async function feedAwsSdk(gw: GatewayHandle, stream: string, count: number): Promise<Feed> {
  const { KinesisClient, PutRecordsCommand } = await import('@aws-sdk/client-kinesis');
  const { NodeHttpHandler } = await import('@smithy/node-http-handler');
  const httpsAgent = new https.Agent({ keepAlive: true, ca: gw.ca, maxSockets: settings.putRecordsConcurrency });
  const c = gw.endpoint.credentials;
  const client = new KinesisClient({
    endpoint: `https://127.0.0.1:${gw.port}`, region: c.region, credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    maxAttempts: 1, requestHandler: new NodeHttpHandler({ httpsAgent }),
  });
  const requests = Math.ceil(count / settings.putRecordsBatchRecords);
  let next = 0, records = 0, failed = 0;
  const errors: string[] = [];
  const startedAtMs = Date.now();
  const worker = async () => {
    while (next < requests) {
      const first = next++ * settings.putRecordsBatchRecords;
      const Records = Array.from({ length: settings.putRecordsBatchRecords }, (_, k) => ({ Data: payloads[(first + k) % payloads.length]!, PartitionKey: keyOf(first + k) }));
      try {
        const out = await client.send(new PutRecordsCommand({ StreamName: stream, Records }));
        const f = out.FailedRecordCount ?? 0;
        records += Records.length - f;
        failed += f;
      } catch (err) {
        failed += Records.length;
        if (errors.length < 5) errors.push((err as Error).message);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: settings.putRecordsConcurrency }, worker));
  } finally {
    client.destroy();
    httpsAgent.destroy();
  }
  return { records, failed, startedAtMs, endedAtMs: Date.now(), errors };
}

interface Publish {
  published: number;
  failed: number;
  startedAtMs: number;
  endedAtMs: number;
  errors: string[];
}

function spawnPublisher(topicPrefix: string, count: number, ratePerS = 0): { pid: number | undefined; done: Promise<Publish>; finished: () => boolean; allow: (n: number | 'stop') => void } {
  const args = [mqttUrl, topicPrefix, String(count), String(settings.recordBytes), String(settings.mqttInFlight), String(settings.partitionKeys), ...(ratePerS > 0 ? [String(ratePerS)] : [])];
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/lib/mqtt-publisher.ts', ...args], {
    cwd: root, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '', err = '', finished = false;
  child.stdin.on('error', () => {}); // it closes stdin when done; a late allowance is moot
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const done = new Promise<Publish>((resolve, reject) => {
    child.once('exit', (code) => {
      finished = true;
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) return reject(new Error(`the MQTT publisher exited with ${code}: ${err.slice(-2000)}`));
      resolve(JSON.parse(line) as Publish);
    });
  });
  return { pid: child.pid, done, finished: () => finished, allow: (n) => void (finished || child.stdin.write(`${n}\n`)) };
}

/** Removes the agent's persistent session from the broker (the agent keeps it for a day otherwise). */
async function clearMqttSession(clientId: string): Promise<void> {
  const mqtt = (await import('mqtt')).default;
  const c = await mqtt.connectAsync(mqttUrl, { protocolVersion: 5, clean: true, clientId, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 });
  await c.endAsync();
}

// ---------------------------------------------------------------- phases

export interface Throughput {
  records: number;
  expected: number;
  complete: boolean;
  seconds: number;
  recordsPerS: number;
  failedAtSender: number;
  /** PutRecords requests the gateway answered in the phase, and records per request. */
  requests: number;
  recordsPerRequest: number;
  cpu: CpuShares;
  agentMemory?: AgentMemory;
  errors: string[];
}

function throughput(feed: { startedAtMs: number; failed: number; errors: string[] }, d: Delivery, m: ReturnType<PhaseMeter['stop']>, requests: number): Throughput {
  const seconds = ((d.lastAtMs ?? Date.now()) - feed.startedAtMs) / 1000;
  return {
    records: d.records, expected: d.expected, complete: d.complete, seconds: Math.round(seconds * 100) / 100, recordsPerS: Math.round(d.records / seconds),
    failedAtSender: feed.failed, requests, recordsPerRequest: Math.round((10 * d.records) / Math.max(1, requests)) / 10, cpu: m.cpu, ...(m.memory ? { agentMemory: m.memory } : {}), errors: feed.errors,
  };
}

const cpuText = (c: CpuShares) =>
  `CPU ${c.agentPct === undefined ? '' : `agent ${c.agentPct}%, `}gateway ${c.gatewayPct}%, bench ${c.benchPct}%${c.publisherPct === undefined ? '' : `, publisher ${c.publisherPct}%`}${c.otherPct === undefined ? '' : `, other ${c.otherPct}%`}`;

function logThroughput(name: string, t: Throughput): void {
  log(`  ${name}: ${fmt(t.recordsPerS)} records/s, ${fmt(t.records)} of ${fmt(t.expected)} records at the gateway in ${t.seconds} s${t.complete ? '' : ' (INCOMPLETE)'}, ${fmt(t.requests)} PutRecords (${t.recordsPerRequest} records each); ${cpuText(t.cpu)}` +
    `${t.agentMemory ? `; agent RSS max ${t.agentMemory.rssMBMax} MB` : ''}${t.errors.length ? `; errors: ${t.errors.join(' | ')}` : ''}`);
}

export interface Replay {
  records: number;
  /** Buffering them with the gateway down: socket to durable buffer. */
  bufferedPerS: number;
  /** Gateway restart to ready. */
  gatewayRestartS: number;
  /** First to last record counted at the gateway. */
  drainS: number;
  recordsPerS: number;
  /** Gateway ready to the last record counted (includes the uplink's reconnect). */
  readyToDrainedS: number;
  complete: boolean;
  agentDepthAfter: number;
  requests: number;
  recordsPerRequest: number;
  cpu: CpuShares;
  agentMemory?: AgentMemory;
}

export interface LowRate {
  input: 'mqtt';
  ratePerS: number;
  seconds: number;
  delivered: number;
  published: number;
  requests: number;
  requestsPerS: number;
  cpuPct: number;
  rssMBMax: number;
  rssMBEnd: number;
  peakRssMB: number;
  /** The agent's own account (its /metrics) at the end of the phase, MB: RSS, V8 heap reserved and used, outside the heap. */
  memoryMB?: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number; rssFile?: number; rssAnon?: number };
  cpu: CpuShares;
}

export interface Results {
  benchmark: 'agent';
  startedAt: string;
  mode: 'quick' | 'full';
  /** The agent's buffer.fsync: `always` unless --agent-fsync (a diagnosis, not the benchmark). */
  agentFsync: string;
  /** Node flags the agent ran with: the unit's, plus any --agent-node-args. */
  agentNodeArgs: string[];
  machine: Record<string, unknown>;
  /** Spawn to READY=1 (NOTIFY_SOCKET) and to the 'agent running' log line: the low-rate agents, then the throughput one. */
  startup: Array<{ config: string; readyMs: number | undefined; runningMs: number }>;
  lowRate: LowRate[];
  /** One entry per round. */
  socket: Throughput[];
  plain: Throughput[];
  awsSdk: Throughput[];
  /** The socket into a KPL-aggregated destination: user records per second. */
  aggregated?: Throughput;
  /** The throughput agent's VmHWM when it stops: its peak RSS under every input rate above. */
  peakRssMB?: number;
  mqtt?: Throughput & { published: number; publishFailed: number };
  replay?: Replay;
  profile?: { text: string; summary: unknown };
  profileLowRate?: { text: string; summary: unknown };
  wallS?: number;
  loadAverage1mAtEnd?: number;
}

/** The agent's memory as it reports it on /metrics (process.memoryUsage()), in MB. */
async function agentMemory(a: AgentHandle): Promise<LowRate['memoryMB']> {
  const text = await getText(a.metricsPort, '/metrics', undefined);
  const v = (name: string) => round1(Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN) / 1e6);
  // The kernel's split: pages of files (the node binary and its libraries, shared) and anonymous ones (heaps, stacks).
  const status = a.server.child.pid === undefined ? '' : fs.readFileSync(`/proc/${a.server.child.pid}/status`, 'utf8');
  const kB = (name: string) => round1((Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN) * 1024) / 1e6);
  return {
    rss: v('process_resident_memory_bytes'), heapTotal: v('nodejs_heap_size_total_bytes'), heapUsed: v('nodejs_heap_size_used_bytes'), external: v('nodejs_external_memory_bytes'), arrayBuffers: v('nodejs_array_buffers_bytes'),
    rssFile: kB('RssFile'), rssAnon: kB('RssAnon'),
  };
}

/**
 * A fresh agent as a device runs it (one destination, MQTT and socket
 * inputs), timed to READY=1; after it settles, a separate publisher sends
 * 100 QoS 1 messages a second through the private Mosquitto for `durationMs`.
 */
async function lowRatePhase(gw: GatewayHandle, setup: AgentSetup, durationMs: number, results: Results, profileDir: string | undefined): Promise<void> {
  const agent = await startAgent(setup, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  results.startup.push({ config: 'one destination, MQTT and socket inputs', readyMs: agent.readyMs, runningMs: agent.startupMs });
  log(`  startup (one destination, MQTT and socket inputs): READY=1 after ${agent.readyMs === undefined ? 'n/a' : Math.round(agent.readyMs)} ms, 'agent running' after ${Math.round(agent.startupMs)} ms`);
  try {
    // Untimed: the MQTT input connects and subscribes after READY, and start-up work (JIT, first connections) is not steady state.
    await sleep(settings.lowRateSettleMs);
    const stream = `low-${settings.device}`;
    const base = await gatewayCount(gw, stream), requests0 = await gatewayPutRecordsRequests(gw);
    const count = Math.round((settings.lowRatePerS * durationMs) / 1000);
    const meter = new PhaseMeter({ agent: agent.server.child.pid, gateway: gw.server.child.pid }, agent.server.child.pid);
    const pub = spawnPublisher(setup.mqtt!.filter.replace('/+/reading', ''), count, settings.lowRatePerS);
    if (pub.pid !== undefined) meter.add('publisher', pub.pid);
    const snap = setInterval(() => meter.snapshot('publisher'), 100);
    let published: Publish;
    try {
      published = await pub.done;
    } finally {
      clearInterval(snap);
    }
    const memoryMB = await agentMemory(agent).catch(() => undefined);
    const m = meter.stop();
    const d = await awaitDelivery(gw, stream, base, published.published, () => true);
    const requests = (await gatewayPutRecordsRequests(gw)) - requests0;
    const r: LowRate = {
      input: 'mqtt', ratePerS: settings.lowRatePerS, seconds: m.wallS, delivered: d.records, published: published.published,
      requests, requestsPerS: round1(requests / m.wallS), cpuPct: m.cpu.agentPct ?? NaN, rssMBMax: m.memory!.rssMBMax, rssMBEnd: m.memory!.rssMBEnd, peakRssMB: m.memory!.peakRssMB,
      ...(memoryMB ? { memoryMB } : {}), cpu: m.cpu,
    };
    results.lowRate.push(r);
    log(`  ${settings.lowRatePerS} MQTT messages/s for ${m.wallS.toFixed(1)} s: agent CPU ${m.cpu.agentPct}% of a core, RSS max ${r.rssMBMax} MB (peak over its life ${r.peakRssMB} MB)` +
      `${memoryMB ? `; at the end RSS ${memoryMB.rss} (files ${memoryMB.rssFile}, anonymous ${memoryMB.rssAnon}), V8 heap ${memoryMB.heapUsed} used of ${memoryMB.heapTotal}, outside the heap ${memoryMB.external} (Buffers ${memoryMB.arrayBuffers}) MB` : ''}; ` +
      `${fmt(d.records)} of ${fmt(published.published)} at the gateway in ${fmt(requests)} PutRecords (${round1(requests / m.wallS)} a second); ${cpuText(m.cpu)}`);
  } finally {
    const exit = await stopAgent(agent, profileDir ? 'SIGINT' : 'SIGTERM');
    await clearMqttSession(setup.mqtt!.clientId).catch((err: Error) => log(`could not clear the agent's MQTT session ${setup.mqtt!.clientId}: ${err.message}`));
    if (profileDir) results.profileLowRate = summarizeProfile(profileDir, exit, 'agent-low-rate', `agent CPU profile, ${settings.lowRatePerS} MQTT messages/s phase (with its startup and settling)`);
  }
}

async function socketPhase(gw: GatewayHandle, agent: AgentHandle, producer: AgentProducer, count: number): Promise<Throughput> {
  const stream = `socket-${settings.device}`;
  const base = await gatewayCount(gw, stream), requests0 = await gatewayPutRecordsRequests(gw);
  const meter = new PhaseMeter({ agent: agent.server.child.pid, gateway: gw.server.child.pid }, agent.server.child.pid);
  let fed: Feed | undefined;
  const feeding = feedSocket(producer, count).then((f) => (fed = f));
  const d = await awaitDelivery(gw, stream, base, count, () => fed !== undefined);
  const feed = await feeding;
  const m = meter.stop();
  return throughput(feed, d, m, (await gatewayPutRecordsRequests(gw)) - requests0);
}

/**
 * The socket into a destination with KPL aggregation on: the gateway stores
 * one Kinesis record per key and request, so user records are counted where
 * they are acknowledged, at the agent (its buffer depth reaching 0 means the
 * gateway accepted every one), from the first put to that moment.
 */
async function aggregatedPhase(gw: GatewayHandle, agent: AgentHandle, producer: AgentProducer, count: number): Promise<Throughput> {
  const requests0 = await gatewayPutRecordsRequests(gw);
  const meter = new PhaseMeter({ agent: agent.server.child.pid, gateway: gw.server.child.pid }, agent.server.child.pid);
  let fed: Feed | undefined;
  const feeding = feedSocket(producer, count).then((f) => (fed = f));
  let lastAtMs: number | undefined;
  const until = Date.now() + settings.phaseTimeoutMs;
  for (;;) {
    const depth = await agentDepth(agent, 'agg').catch(() => Infinity);
    if (fed !== undefined && depth === 0) {
      lastAtMs = Date.now();
      break;
    }
    if (Date.now() > until) break;
    await sleep(settings.pollIntervalMs);
  }
  const feed = await feeding;
  const m = meter.stop();
  const delivered = lastAtMs !== undefined ? count - feed.failed : 0;
  return throughput(feed, { records: delivered, expected: count, complete: lastAtMs !== undefined, firstAtMs: undefined, lastAtMs }, m, (await gatewayPutRecordsRequests(gw)) - requests0);
}

async function plainPhase(gw: GatewayHandle, count: number, client: 'plain' | 'aws-sdk'): Promise<Throughput> {
  const stream = `${client === 'plain' ? 'plain' : 'sdk'}-${settings.device}`;
  const base = await gatewayCount(gw, stream), requests0 = await gatewayPutRecordsRequests(gw);
  const meter = new PhaseMeter({ gateway: gw.server.child.pid }, undefined);
  let fed: Feed | undefined;
  const feeding = (client === 'plain' ? feedPlain(gw.endpoint, stream, count) : feedAwsSdk(gw, stream, count)).then((f) => (fed = f));
  const d = await awaitDelivery(gw, stream, base, Math.ceil(count / settings.putRecordsBatchRecords) * settings.putRecordsBatchRecords, () => fed !== undefined);
  const feed = await feeding;
  const m = meter.stop();
  return throughput(feed, d, m, (await gatewayPutRecordsRequests(gw)) - requests0);
}

async function mqttPhase(gw: GatewayHandle, agent: AgentHandle, topicPrefix: string, count: number, publishMsMax: number): Promise<NonNullable<Results['mqtt']>> {
  const stream = `mqtt-${settings.device}`;
  const base = await gatewayCount(gw, stream), requests0 = await gatewayPutRecordsRequests(gw);
  const meter = new PhaseMeter({ agent: agent.server.child.pid, gateway: gw.server.child.pid }, agent.server.child.pid);
  const pub = spawnPublisher(topicPrefix, count);
  if (pub.pid !== undefined) meter.add('publisher', pub.pid);
  // The publisher's CPU must be read before it exits and its /proc entry goes.
  const snap = setInterval(() => meter.snapshot('publisher'), 100);
  let d: Delivery, published: Publish;
  // Closed loop: the publisher may run mqttAheadRecordsMax past what the agent has taken (at the gateway or in its buffer).
  let allowing = true, expected = count;
  void pub.done.then((p) => (expected = p.published), () => undefined);
  const stopAt = Date.now() + publishMsMax;
  const allowLoop = (async () => {
    while (allowing && !pub.finished()) {
      if (Date.now() > stopAt) {
        pub.allow('stop');
        break;
      }
      const taken = await Promise.all([gatewayCount(gw, stream), agentDepth(agent, 'mqtt')]).then(([n, depth]) => n - base + depth, () => undefined);
      if (taken !== undefined) pub.allow(Math.min(count, taken + settings.mqttAheadRecordsMax));
      await sleep(settings.mqttAllowanceIntervalMs);
    }
  })();
  try {
    d = await awaitDelivery(gw, stream, base, () => expected, pub.finished);
    published = await pub.done;
  } finally {
    allowing = false;
    clearInterval(snap);
    await allowLoop;
  }
  const m = meter.stop();
  const t = throughput({ startedAtMs: published.startedAtMs, failed: published.failed, errors: published.errors }, d, m, (await gatewayPutRecordsRequests(gw)) - requests0);
  return { ...t, published: published.published, publishFailed: published.failed };
}

async function replayPhase(gwRef: { gw: GatewayHandle }, agent: AgentHandle, producer: AgentProducer, count: number): Promise<Replay> {
  const stream = `replay-${settings.device}`;
  const { port, dataDir } = gwRef.gw;
  log(`  stopping the gateway; buffering ${fmt(count)} records through the socket`);
  const gwExit = await gwRef.gw.server.stop('SIGTERM');
  if (gwExit !== 'exit code 0') log(`  gateway stopped with ${gwExit}`);
  gwRef.gw.metricsAgent.destroy();
  const buffered = await feedSocket(producer, count);
  const bufferedPerS = Math.round(buffered.records / ((buffered.endedAtMs - buffered.startedAtMs) / 1000));
  const depth = await agentDepth(agent, 'replay');
  log(`  buffered ${fmt(buffered.records)} (${fmt(bufferedPerS)} records/s into the durable buffer), agent reports depth ${fmt(depth)}${buffered.errors.length ? `; errors: ${buffered.errors.join(' | ')}` : ''}`);
  const restartAt = Date.now();
  const gw = await startGateway(dataDir, port);
  gwRef.gw = gw;
  const readyAt = Date.now();
  const meter = new PhaseMeter({ agent: agent.server.child.pid, gateway: gw.server.child.pid }, agent.server.child.pid);
  const d = await awaitDelivery(gw, stream, 0, buffered.records, () => true);
  const m = meter.stop();
  const requests = await gatewayPutRecordsRequests(gw);
  // The buffer acks a settled prefix: give it a moment to catch up with what the gateway counted.
  let depthAfter = await agentDepth(agent, 'replay');
  for (let i = 0; i < 20 && depthAfter > 0; i++) {
    await sleep(100);
    depthAfter = await agentDepth(agent, 'replay');
  }
  const drainS = ((d.lastAtMs ?? Date.now()) - (d.firstAtMs ?? readyAt)) / 1000;
  return {
    records: d.records, bufferedPerS, gatewayRestartS: round1((readyAt - restartAt) / 1000), drainS: Math.round(drainS * 100) / 100,
    recordsPerS: Math.round(d.records / Math.max(drainS, settings.pollIntervalMs / 1000)),
    readyToDrainedS: Math.round(((d.lastAtMs ?? Date.now()) - readyAt) / 10) / 100, complete: d.complete, agentDepthAfter: depthAfter,
    requests, recordsPerRequest: Math.round((10 * d.records) / Math.max(1, requests)) / 10, cpu: m.cpu, ...(m.memory ? { agentMemory: m.memory } : {}),
  };
}

// ---------------------------------------------------------------- report

interface Check {
  figure: string;
  value: number | undefined;
  /** Min and max over the rounds, when measured more than once. */
  range?: [number, number];
  unit: string;
  target: string;
  met: boolean | undefined;
}

const rangeOf = (vs: Array<number | undefined>): [number, number] | undefined => {
  const xs = vs.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return xs.length ? [Math.min(...xs), Math.max(...xs)] : undefined;
};

export function checks(r: Results): Check[] {
  const rounds = Math.min(r.socket.length, r.plain.length);
  const pct = (a: number | undefined, b: number | undefined) => (a === undefined || !b ? undefined : Math.round((100 * a) / b));
  const perRound = (f: (i: number) => number | undefined) => Array.from({ length: rounds }, (_, i) => f(i));
  const socketShare = perRound((i) => pct(r.socket[i]?.recordsPerS, r.plain[i]?.recordsPerS));
  const socketSdkShare = perRound((i) => pct(r.socket[i]?.recordsPerS, r.awsSdk[i]?.recordsPerS));
  const lastPlain = r.plain.at(-1)?.recordsPerS, lastSdk = r.awsSdk.at(-1)?.recordsPerS;
  const mqttShare = pct(r.mqtt?.recordsPerS, lastPlain);
  const aggShare = pct(r.aggregated?.recordsPerS, lastPlain);
  /** A ranged figure: its worst round decides. */
  const ranged = (figure: string, vs: Array<number | undefined>, unit: string, target: string, ok?: (worst: [number, number]) => boolean): Check => {
    const range = rangeOf(vs);
    return { figure, value: range?.[1], ...(range && range[0] !== range[1] ? { range } : {}), unit, target, met: ok && range ? ok(range) : undefined };
  };
  const low = r.lowRate;
  return [
    ranged(`RSS at ${settings.lowRatePerS} MQTT messages/s`, low.map((l) => l.rssMBMax), 'MB', `< ${targets.lowRateRssMBMax}`, ([, max]) => max < targets.lowRateRssMBMax),
    ranged(`CPU at ${settings.lowRatePerS} MQTT messages/s`, low.map((l) => l.cpuPct), '% of a core', `< ${targets.lowRateCpuPctMax}`, ([, max]) => max < targets.lowRateCpuPctMax),
    ranged('startup to READY=1', r.startup.map((s) => s.readyMs), 'ms', `< ${targets.readyMsMax}`, ([, max]) => max < targets.readyMsMax),
    { figure: 'peak RSS, any input rate (VmHWM)', value: r.peakRssMB, unit: 'MB', target: `< ${targets.peakRssMBMax}`, met: r.peakRssMB === undefined ? undefined : r.peakRssMB < targets.peakRssMBMax },
    ranged('socket sustained', r.socket.map((t) => t.recordsPerS), 'records/s', `>= ${fmt(targets.sustainedRecordsPerSMin)}`, ([min]) => r.socket.every((t) => t.complete) && min >= targets.sustainedRecordsPerSMin),
    ranged('plain PutRecords client', r.plain.map((t) => t.recordsPerS), 'records/s', 'reference'),
    ranged('AWS SDK v3 PutRecords client', r.awsSdk.map((t) => t.recordsPerS), 'records/s', 'reference'),
    ranged('socket / plain client (same round)', socketShare, '%', `>= ${targets.agentShareOfPlainMin * 100}`, ([min]) => min >= targets.agentShareOfPlainMin * 100),
    ranged('socket / AWS SDK client (same round)', socketSdkShare, '%', `>= ${targets.agentShareOfPlainMin * 100}`, ([min]) => min >= targets.agentShareOfPlainMin * 100),
    { figure: 'socket, aggregated (user records/s)', value: r.aggregated?.recordsPerS, unit: 'records/s', target: 'info', met: undefined },
    { figure: 'socket aggregated / plain client', value: aggShare, unit: '%', target: `>= ${targets.agentShareOfPlainMin * 100}`, met: r.aggregated?.complete === false ? false : aggShare === undefined ? undefined : aggShare >= targets.agentShareOfPlainMin * 100 },
    { figure: 'mqtt sustained', value: r.mqtt?.recordsPerS, unit: 'records/s', target: `>= ${fmt(targets.sustainedRecordsPerSMin)}`, met: r.mqtt ? r.mqtt.recordsPerS >= targets.sustainedRecordsPerSMin : undefined },
    { figure: 'mqtt / plain client (last round)', value: mqttShare, unit: '%', target: 'info', met: undefined },
    { figure: 'mqtt / AWS SDK client (last round)', value: pct(r.mqtt?.recordsPerS, lastSdk), unit: '%', target: 'info', met: undefined },
    { figure: `replay after ${fmt(r.replay?.records ?? 0)} buffered`, value: r.replay?.recordsPerS, unit: 'records/s', target: `>= ${fmt(targets.replayRecordsPerSMin)}`, met: r.replay ? r.replay.complete && r.replay.recordsPerS >= targets.replayRecordsPerSMin : undefined },
    { figure: 'buffering with the gateway down', value: r.replay?.bufferedPerS, unit: 'records/s', target: 'info', met: undefined },
    ranged('RSS at max rate (socket)', r.socket.map((t) => t.agentMemory?.rssMBMax), 'MB', 'info'),
    ranged('CPU at max rate (socket)', r.socket.map((t) => t.cpu.agentPct), '% of a core', 'info'),
    { figure: 'RSS at max rate (mqtt)', value: r.mqtt?.agentMemory?.rssMBMax, unit: 'MB', target: 'info', met: undefined },
    { figure: 'CPU at max rate (mqtt)', value: r.mqtt?.cpu.agentPct, unit: '% of a core', target: 'info', met: undefined },
    ranged('startup to the \'agent running\' log line', r.startup.map((s) => s.runningMs), 'ms', 'info'),
  ];
}

function formatTable(list: Check[]): string {
  const num = (v: number) => (Math.abs(v) < 100 && !Number.isInteger(v) ? v.toFixed(1) : fmt(v));
  const rows = list.map((c) => [c.figure, c.range ? `${num(c.range[0])}-${num(c.range[1])}` : c.value === undefined ? 'n/a' : num(c.value), c.unit, c.target, c.met === undefined ? '' : c.met ? 'met' : 'MISSED']);
  const head = ['figure', 'value', 'unit', 'target', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return { cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', memoryMB: Math.round(os.totalmem() / 1e6), node: process.version, loadAverage1mAtStart: Number(os.loadavg()[0]!.toFixed(2)) };
}

// ---------------------------------------------------------------- run

/** The broker the MQTT phase uses: a private Mosquitto (startBroker). */
let mqttUrl = '';

/**
 * A private Mosquitto on a spare port (never 1883, which the machine's own
 * broker may hold), configured as the agent's devices are: the shipped
 * configs/mosquitto/tributary.conf (its in-flight window of 1,000 lets one
 * fsync acknowledge many QoS 1 messages; Mosquitto's default of 20 bounds
 * the rate by the fsync time), persisting into the bench's directory.
 */
async function startBroker(dir: string): Promise<{ url: string; stop(): void }> {
  const port = await sparePort();
  const conf = path.join(dir, 'mosquitto.conf');
  const shipped = fs.readFileSync(path.join(root, 'configs/mosquitto/tributary.conf'), 'utf8').split('\n').filter((l) => !/^\s*listener\b/.test(l));
  fs.writeFileSync(conf, [...shipped, `listener ${port} 127.0.0.1`, `persistence_location ${dir}/`, ''].join('\n'));
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  const until = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      }).once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > until) throw new Error('the private Mosquitto did not start');
    await sleep(50);
  }
  return { url: `mqtt://127.0.0.1:${port}`, stop: () => void child.kill('SIGTERM') };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false }, records: { type: 'string' }, 'replay-records': { type: 'string' }, rounds: { type: 'string' }, profile: { type: 'boolean', default: false },
      'agent-fsync': { type: 'string', default: 'always' },
      'low-rate-only': { type: 'boolean', default: false }, 'agent-node-args': { type: 'string', default: '' },
    },
    strict: true,
  });
  const quick = values.quick;
  const count = values.records ? Number(values.records) : quick ? settings.recordsQuick : settings.recordsFull;
  const replayCount = values['replay-records'] ? Number(values['replay-records']) : quick ? settings.replayRecordsQuick : settings.replayRecordsFull;
  if (!Number.isSafeInteger(count) || count < settings.putRecordsBatchRecords) throw new Error(`--records must be an integer of at least ${settings.putRecordsBatchRecords}`);
  if (!Number.isSafeInteger(replayCount) || replayCount < 1) throw new Error('--replay-records must be a positive integer');
  const rounds = values.rounds ? Number(values.rounds) : quick ? settings.roundsQuick : settings.roundsFull;
  if (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > 20) throw new Error('--rounds must be an integer from 1 to 20');
  const fsyncPolicy = values['agent-fsync'];
  if (!/^(always|never|interval:\d+)$/.test(fsyncPolicy)) throw new Error(`--agent-fsync must be always, never or interval:<ms> (got ${fsyncPolicy})`);
  agentNodeArgs = values['agent-node-args'].split(/\s+/).filter(Boolean);
  installCleanupHooks();
  const brokerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trb-bench-broker-'));
  const broker = await startBroker(brokerDir);
  notify = await NotifyListener.start(brokerDir);
  mqttUrl = broker.url;
  buildIfStale(root, 'dist/tributary-agent.mjs', ['bin', 'agent', 'gateway', 'sdk', 'scripts/build.mjs', 'package.json']);
  buildIfStale(root, 'dist/tributary.mjs', ['bin', 'gateway', 'sdk', 'scripts/build.mjs', 'package.json']);
  const started = Date.now();
  const results: Results = { benchmark: 'agent', startedAt: new Date(started).toISOString(), mode: quick ? 'quick' : 'full', agentFsync: fsyncPolicy, agentNodeArgs: [...unitNodeArgs(), ...agentNodeArgs], machine: machine(), startup: [], lowRate: [], socket: [], plain: [], awsSdk: [] };
  // The agent refuses volatile storage (/tmp) for its state: /var/tmp survives a reboot.
  const stateRoot = fs.mkdtempSync('/var/tmp/trb-bench-agent-');
  const gwDir = tempDir('trb-bench-agent-gw-');
  const mqttClientId = `trb-bench-agent-${process.pid}-${Date.now()}`;
  const uptimeAtStart = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const profileDir = values.profile ? tempDir('trb-bench-agent-prof-') : undefined;
  const profileLowDir = values.profile ? tempDir('trb-bench-agent-prof-low-') : undefined;
  let agent: AgentHandle | undefined;
  const gwRef: { gw: GatewayHandle } = { gw: undefined! };
  try {
    log('[setup] gateway (HTTPS, fsync always, --no-limits), pairing, streams');
    gwRef.gw = await startGateway(gwDir, await sparePort());
    const gw = gwRef.gw;
    const credentialsDir = path.join(stateRoot, 'device');
    fs.mkdirSync(credentialsDir, { mode: 0o700 });
    const admin = new JsonRpcClient({ endpoint: `https://127.0.0.1:${gw.port}`, region: gw.endpoint.credentials.region, service: 'tributary', targetPrefix: adminTargetPrefix, credentials: gw.endpoint.credentials, ca: gw.ca.toString('utf8') });
    try {
      const pairing = await admin.call<{ Code: string; CaFingerprint: string }>('CreatePairingCode', { DeviceName: settings.device, Policy: 'device', TtlSeconds: 600 });
      await pairDevice({ endpoint: `https://127.0.0.1:${gw.port}`, code: pairing.Code, caFingerprint: pairing.CaFingerprint, directory: credentialsDir });
    } finally {
      admin.close();
    }
    // The default device policy lets the device write streams named *-<device>.
    for (const s of ['low', 'socket', 'mqtt', 'replay', 'plain', 'sdk', 'agg']) await createStreamActive(gw.endpoint, `${s}-${settings.device}`, settings.shardCount, settings.createStreamTimeoutMs);
    const credentialsFile = path.join(credentialsDir, 'credentials.json');

    for (let round = 1; round <= rounds; round++) {
      log(`[low rate ${round}/${rounds}] ${settings.lowRatePerS} MQTT messages/s, a fresh agent with one destination, MQTT and socket inputs`);
      const lowDir = path.join(stateRoot, `low-${round}`);
      fs.mkdirSync(lowDir, { mode: 0o700 });
      const prefix = `trb-bench-low-${process.pid}-${round}`;
      await lowRatePhase(gw, {
        stateDir: lowDir, credentialsFile, destinations: { low: 'low-${device}' }, socketDestination: 'low', fsync: fsyncPolicy,
        mqtt: { filter: `${prefix}/+/reading`, destination: 'low', clientId: `${mqttClientId}-low-${round}` },
      }, quick ? settings.lowRateMsQuick : settings.lowRateMsFull, results, round === 1 ? profileLowDir : undefined);
    }

    throughput: {
    if (values['low-rate-only']) break throughput;
    const topicPrefix = `trb-bench-${process.pid}-${Date.now()}`;
    const mainDir = path.join(stateRoot, 'main');
    fs.mkdirSync(mainDir, { mode: 0o700 });
    agent = await startAgent({
      stateDir: mainDir, credentialsFile, socketDestination: 'socket', fsync: fsyncPolicy,
      destinations: { socket: 'socket-${device}', mqtt: 'mqtt-${device}', replay: 'replay-${device}', agg: 'agg-${device}' }, aggregated: ['agg'],
      mqtt: { filter: `${topicPrefix}/+/reading`, destination: 'mqtt', clientId: mqttClientId },
    }, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
    results.startup.push({ config: 'four destinations, MQTT and socket inputs', readyMs: agent.readyMs, runningMs: agent.startupMs });
    log(`[throughput] agent with four destinations, MQTT and socket inputs: READY=1 after ${agent.readyMs === undefined ? 'n/a' : Math.round(agent.readyMs)} ms, 'agent running' after ${Math.round(agent.startupMs)} ms`);
    // The MQTT input subscribes after 'agent running': let it, so the first messages have a subscriber.
    await sleep(1000);
    const producer = new AgentProducer({ socketPath: agent.socketPath, destination: 'socket', clientName: 'bench' });
    const replayProducer = new AgentProducer({ socketPath: agent.socketPath, destination: 'replay', clientName: 'bench-replay' });
    const aggProducer = new AgentProducer({ socketPath: agent.socketPath, destination: 'agg', clientName: 'bench-agg' });
    try {
      for (let round = 1; round <= rounds; round++) {
        log(`[throughput ${round}/${rounds}] ${fmt(count)} records each: the agent's socket, the plain client, the AWS SDK client`);
        const socket = await socketPhase(gw, agent, producer, count);
        results.socket.push(socket);
        logThroughput('socket', socket);
        const plain = await plainPhase(gw, count, 'plain');
        results.plain.push(plain);
        logThroughput('plain PutRecords client', plain);
        const sdk = await plainPhase(gw, count, 'aws-sdk');
        results.awsSdk.push(sdk);
        logThroughput('AWS SDK v3 PutRecords client', sdk);
      }
      results.aggregated = await aggregatedPhase(gw, agent, aggProducer, count);
      logThroughput('socket, KPL-aggregated destination (user records, counted at the agent)', results.aggregated);
      results.mqtt = await mqttPhase(gw, agent, topicPrefix, Math.round(count / 2), quick ? settings.mqttPublishMsMaxQuick : settings.mqttPublishMsMaxFull);
      logThroughput('mqtt', results.mqtt);
      if (results.mqtt.published > results.mqtt.records) log(`  (${fmt(results.mqtt.published - results.mqtt.records)} published messages never reached the gateway: the broker drops QoS 1 messages past its queue for a slow subscriber, max_queued_messages)`);
      log('[replay]');
      results.replay = await replayPhase(gwRef, agent, replayProducer, replayCount);
      const rp = results.replay;
      log(`  replay: ${fmt(rp.recordsPerS)} records/s, ${fmt(rp.records)} records drained in ${rp.drainS} s (${rp.readyToDrainedS} s from the gateway being ready; restart took ${rp.gatewayRestartS} s)${rp.complete ? '' : ' (INCOMPLETE)'}, ${fmt(rp.requests)} PutRecords (${rp.recordsPerRequest} records each); agent depth after ${rp.agentDepthAfter}; ${cpuText(rp.cpu)}`);
    } finally {
      await producer.close();
      await replayProducer.close();
      await aggProducer.close();
      if (agent.server.child.pid !== undefined) {
        const peak = readPeakRssMB(agent.server.child.pid);
        if (peak !== undefined) results.peakRssMB = round1(peak);
      }
      const exit = await stopAgent(agent, profileDir ? 'SIGINT' : 'SIGTERM');
      agent = undefined;
      if (profileDir) results.profile = summarizeProfile(profileDir, exit, 'agent-throughput', 'agent CPU profile over the whole throughput run (socket, MQTT, replay)');
    }
    }
  } finally {
    if (agent) await stopAgent(agent, 'SIGKILL');
    if (gwRef.gw) {
      gwRef.gw.metricsAgent.destroy();
      await gwRef.gw.server.stop('SIGTERM');
    }
    await clearMqttSession(mqttClientId).catch((err: Error) => log(`could not clear the agent's MQTT session ${mqttClientId}: ${err.message}`));
    fs.rmSync(stateRoot, { recursive: true, force: true });
    removeTempDir(gwDir);
    broker.stop();
    notify?.stop();
    fs.rmSync(brokerDir, { recursive: true, force: true });
    cleanupSync();
  }
  results.wallS = Math.round((Date.now() - started) / 100) / 10;
  results.loadAverage1mAtEnd = Number(os.loadavg()[0]!.toFixed(2));
  const list = checks(results);
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(path.join(resultsDir, 'agent-latest.json'), JSON.stringify({ ...results, checks: list, settings, targets }, null, 2) + '\n');
  for (const c of list) process.stdout.write(JSON.stringify({ benchmark: 'agent', mode: results.mode, agentFsync: fsyncPolicy, agentNodeArgs: results.agentNodeArgs, ...c }) + '\n');
  process.stdout.write('\n' + formatTable(list) + '\n\n');
  process.stdout.write(`The agent and the gateway are separate processes (the bundles in dist/), paired over HTTPS; the gateway fsyncs every acknowledged write, the agent's buffer.fsync is ${fsyncPolicy}${fsyncPolicy === 'always' ? ' (its default)' : ' (NOT the benchmark setting: a diagnosis run)'}.\n`);
  process.stdout.write('Rates count from the first record sent to the last one counted by the gateway (tributary_streams_incoming_records_total).\n');
  process.stdout.write(`Other work on the machine skews every figure: load averages (1, 5, 15 min) ${uptimeAtStart} at the start, ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} at the end.\n`);
  for (const p of [results.profileLowRate, results.profile]) if (p) process.stdout.write('\n' + p.text + '\n');
  log(`results written to bench/results/agent-latest.json (${results.wallS} s)`);
}

function summarizeProfile(profileDir: string, exit: string, name: string, title: string): { text: string; summary: unknown } | undefined {
  const file = fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    log(`no .cpuprofile written (agent ${exit})`);
    return undefined;
  }
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.copyFileSync(path.join(profileDir, file), path.join(resultsDir, `${name}.cpuprofile`));
  const profile = JSON.parse(fs.readFileSync(path.join(profileDir, file), 'utf8')) as CpuProfile;
  const summary = summarizeCpuProfile(profile, { top: 20, root, sourceMaps: loadBundleSourceMap(path.join(root, 'dist/tributary-agent.mjs')) });
  log(`profile written to bench/results/${name}.cpuprofile (open in Chrome DevTools)`);
  return { text: `${title}:\n${formatProfile(summary)}`, summary };
}
