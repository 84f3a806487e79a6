/**
 * Replay benchmark (issue #16): `tributary replay` of a capture file of
 * 1,000,000 records of 1 KiB into a 4-shard stream, against the plain
 * PutRecords client of bench/agent.ts (pre-built bodies of 500 records,
 * 16 requests in flight) putting as many records of the same size into
 * another stream of the same gateway, in the same run. The gateway is the
 * real bundle (dist/tributary.mjs) as its own process, HTTPS, fsync always,
 * per-shard limits off; the replay is the real CLI (the same bundle) as its
 * own process, with its checkpoint, idempotency keys and JSON progress on.
 *
 *   plain    N records, PutRecords of 500 from pre-built bodies, 16 in flight: first send to last answer
 *   replay   the CLI from spawn to exit (start-up, reading and parsing the file, checkpoints included)
 *
 * Both counts are checked at the gateway (tributary_streams_incoming_records_total).
 * Rounds alternate plain and replay (--rounds, default 1) so that a change in
 * machine load hits both. Prints a table and writes bench/results/replay-latest.json.
 *
 *   npm run bench -- replay [--records N] [--rounds R] [--lanes L] [--quick]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatCaptureLine } from '../sdk/protocol/capture.ts';
import { createStreamActive, KinesisHttp, type Credentials, type Endpoint } from './lib/kinesis-http.ts';
import { buildIfStale, cleanupSync, installCleanupHooks, readCpuSeconds, sparePort, spawnServer, tempDir, waitReady, type ServerProcess } from './lib/servers.ts';
import { putRecordsBodies, scanFailedRecordCount } from './lib/streams-load.ts';

export const description = 'Replay: 1 M records of 1 KiB from a capture file into a stream, vs the plain PutRecords client, same gateway, same run';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = path.join(root, 'bench', 'results');

export const settings = Object.freeze({
  shardCount: 4,
  recordBytes: 1024,
  recordsFull: 1_000_000,
  recordsQuick: 100_000,
  /** Distinct partition keys in the capture (the plain client uses a random key per record). */
  partitionKeys: 10_000,
  putRecordsBatchRecords: 500,
  putRecordsConcurrency: 16,
  readyTimeoutMs: 30_000,
  createStreamTimeoutMs: 10_000,
  phaseTimeoutMs: 600_000,
});

export const targets = Object.freeze({ replayShareOfPlainMin: 0.8 });

const log = (line: string) => void process.stderr.write(line + '\n');
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

interface Gw {
  server: ServerProcess;
  port: number;
  endpoint: Endpoint;
  profile: string;
  agent: https.Agent;
  /** GET /metrics needs the gateway's metrics token (issue #11). */
  metricsToken: string;
}

async function startGateway(dataDir: string): Promise<Gw> {
  const port = await sparePort();
  const server = spawnServer('gateway', ['dist/tributary.mjs', 'gateway', 'start', '--data', dataDir, '--port', String(port), '--no-limits', '--log-level', 'warn'], { port, cwd: root });
  const caFile = path.join(dataDir, 'tls', 'ca.crt');
  await waitReady(server, { path: '/health', statusOk: 200, timeoutMs: settings.readyTimeoutMs, caFile });
  const profile = path.join(dataDir, 'operator.json');
  while (!fs.existsSync(profile)) await new Promise((r) => setTimeout(r, 25));
  const p = JSON.parse(fs.readFileSync(profile, 'utf8')) as Credentials;
  const ca = fs.readFileSync(caFile);
  return { server, port, profile, endpoint: { port, credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey, region: p.region }, tls: { ca } }, agent: new https.Agent({ keepAlive: true, ca, maxSockets: 1 }), metricsToken: fs.readFileSync(path.join(dataDir, 'metrics.token'), 'utf8').trim() };
}

async function incoming(gw: Gw, stream: string): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    https.get({ host: '127.0.0.1', port: gw.port, path: '/metrics', agent: gw.agent, headers: { authorization: `Bearer ${gw.metricsToken}` } }, (res) => {
      let s = '';
      res.on('data', (c: Buffer) => (s += c.toString()));
      res.on('end', () => resolve(s));
    }).on('error', reject);
  });
  const line = `tributary_streams_incoming_records_total{stream="${stream}"} `;
  const at = text.indexOf(line);
  return at < 0 ? 0 : Number(text.slice(at + line.length, text.indexOf('\n', at)));
}

/** The capture file: `count` lines of random 1 KiB records, written in large chunks. */
function writeCapture(file: string, count: number): void {
  const fd = fs.openSync(file, 'w');
  const t0 = Date.now();
  let lines: string[] = [];
  for (let i = 0; i < count; i++) {
    lines.push(formatCaptureLine({ data64: randomBytes(settings.recordBytes).toString('base64'), partitionKey: `device-${i % settings.partitionKeys}`, timeMs: t0 + i }));
    if (lines.length === 10_000) {
      fs.writeSync(fd, lines.join('\n') + '\n');
      lines = [];
    }
  }
  if (lines.length) fs.writeSync(fd, lines.join('\n') + '\n');
  fs.closeSync(fd);
}

interface Phase {
  records: number;
  atGateway: number;
  seconds: number;
  recordsPerS: number;
  mibPerS: number;
  cpu: { gatewayPct: number; clientPct: number };
  errors: string[];
}

async function plainPhase(gw: Gw, stream: string, count: number): Promise<Phase> {
  const batches = putRecordsBodies(stream, { count: 8, records: settings.putRecordsBatchRecords, recordBytes: settings.recordBytes });
  const client = new KinesisHttp(gw.endpoint, { socketsMax: settings.putRecordsConcurrency });
  const requests = Math.ceil(count / settings.putRecordsBatchRecords);
  const base = await incoming(gw, stream);
  let next = 0, records = 0;
  const errors: string[] = [];
  const gwCpu0 = readCpuSeconds(gw.server.child.pid!) ?? 0, me0 = process.cpuUsage();
  const started = performance.now();
  const worker = async () => {
    while (next < requests) {
      const batch = batches[next++ % batches.length]!;
      const reply = await client.send('PutRecords', batch.body).catch((err: Error) => err);
      const failed = reply instanceof Error ? batch.records : reply.status === 200 ? scanFailedRecordCount(reply.body) ?? batch.records : batch.records;
      records += batch.records - failed;
      if (failed && errors.length < 5) errors.push(reply instanceof Error ? reply.message : reply.body.toString('utf8', 0, 200));
    }
  };
  await Promise.all(Array.from({ length: settings.putRecordsConcurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  client.close();
  const me = process.cpuUsage(me0);
  return {
    records, atGateway: (await incoming(gw, stream)) - base, seconds: round2(seconds), recordsPerS: Math.round(records / seconds), mibPerS: round2((records * settings.recordBytes) / seconds / 2 ** 20),
    cpu: { gatewayPct: Math.round((100 * ((readCpuSeconds(gw.server.child.pid!) ?? 0) - gwCpu0)) / seconds), clientPct: Math.round((me.user + me.system) / 1e4 / seconds) }, errors,
  };
}

async function replayPhase(gw: Gw, stream: string, capture: string, count: number, lanes: number, dir: string): Promise<Phase & { summary: Record<string, unknown> }> {
  const base = await incoming(gw, stream);
  const gwCpu0 = readCpuSeconds(gw.server.child.pid!) ?? 0;
  const started = performance.now();
  const child = spawn(process.execPath, ['dist/tributary.mjs', 'replay', capture, '--into', `stream:${stream}`, '--lanes', String(lanes), '--checkpoint', path.join(dir, `${stream}.checkpoint.json`), '--progress', 'json', '--profile', gw.profile], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '', cpu = 0;
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const sampler = setInterval(() => (cpu = readCpuSeconds(child.pid!) ?? cpu), 200);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`replay exited ${code}: ${err.slice(-2000)}`);
  const summary = JSON.parse(out.trim().split('\n').pop()!).replay as Record<string, unknown> & { sent: number };
  return {
    records: summary.sent, atGateway: (await incoming(gw, stream)) - base, seconds: round2(seconds), recordsPerS: Math.round(summary.sent / seconds), mibPerS: round2((summary.sent * settings.recordBytes) / seconds / 2 ** 20),
    cpu: { gatewayPct: Math.round((100 * ((readCpuSeconds(gw.server.child.pid!) ?? 0) - gwCpu0)) / seconds), clientPct: Math.round((100 * cpu) / seconds) }, errors: [], summary,
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { records: { type: 'string' }, rounds: { type: 'string' }, lanes: { type: 'string' }, quick: { type: 'boolean' } } });
  const count = Number(values.records ?? (values.quick ? settings.recordsQuick : settings.recordsFull));
  const rounds = Number(values.rounds ?? 1);
  const lanes = Number(values.lanes ?? 16);
  installCleanupHooks();
  buildIfStale(root, 'dist/tributary.mjs', ['bin', 'gateway', 'sdk', 'agent', 'replay', 'scripts/build.mjs', 'package.json']);
  const dir = tempDir('trb-bench-replay-');
  const capture = path.join(dir, 'capture.jsonl');
  let t = Date.now();
  writeCapture(capture, count);
  log(`capture: ${fmt(count)} records of ${settings.recordBytes} bytes, ${fmt(fs.statSync(capture).size / 1e6)} MB, written in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const gw = await startGateway(path.join(dir, 'gw'));
  const results: Array<{ plain: Phase; replay: Phase & { summary: Record<string, unknown> } }> = [];
  const loadAtStart = os.loadavg()[0]!;
  try {
    for (let r = 0; r < rounds; r++) {
      for (const s of [`plain-${r}`, `replay-${r}`]) await createStreamActive(gw.endpoint, s, settings.shardCount, settings.createStreamTimeoutMs);
      t = Date.now();
      const plain = await plainPhase(gw, `plain-${r}`, count);
      log(`  round ${r + 1} plain PutRecords client: ${fmt(plain.recordsPerS)} records/s (${plain.mibPerS} MiB/s), ${fmt(plain.atGateway)} at the gateway in ${plain.seconds} s; CPU gateway ${plain.cpu.gatewayPct}%, client ${plain.cpu.clientPct}%`);
      const replay = await replayPhase(gw, `replay-${r}`, capture, count, lanes, dir);
      log(`  round ${r + 1} tributary replay:         ${fmt(replay.recordsPerS)} records/s (${replay.mibPerS} MiB/s), ${fmt(replay.atGateway)} at the gateway in ${replay.seconds} s (${replay.summary.requests} requests); CPU gateway ${replay.cpu.gatewayPct}%, replay ${replay.cpu.clientPct}%`);
      results.push({ plain, replay });
    }
  } finally {
    await gw.server.stop();
    gw.agent.destroy();
    cleanupSync();
  }
  const plainRate = results.reduce((n, x) => n + x.plain.recordsPerS, 0) / results.length;
  const replayRate = results.reduce((n, x) => n + x.replay.recordsPerS, 0) / results.length;
  const share = Math.round((100 * replayRate) / plainRate);
  const complete = results.every((x) => x.replay.atGateway === count && x.plain.atGateway >= count);
  const cpus = os.cpus();
  const report = {
    benchmark: 'replay', startedAt: new Date().toISOString(), records: count, recordBytes: settings.recordBytes, lanes, rounds,
    machine: { cpus: cpus.length, cpuModel: cpus[0]?.model, node: process.version, loadAverage1mAtStart: round2(loadAtStart), loadAverage1mAtEnd: round2(os.loadavg()[0]!) },
    results, plainRecordsPerS: Math.round(plainRate), replayRecordsPerS: Math.round(replayRate), replayShareOfPlainPct: share, complete,
    target: `>= ${targets.replayShareOfPlainMin * 100}%`, met: complete && share >= targets.replayShareOfPlainMin * 100,
  };
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(path.join(resultsDir, 'replay-latest.json'), JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(JSON.stringify({ plainRecordsPerS: report.plainRecordsPerS, replayRecordsPerS: report.replayRecordsPerS, replayShareOfPlainPct: share, complete, met: report.met }) + '\n');
  log(`\n| figure | value | target |\n| --- | --- | --- |\n| plain PutRecords client | ${fmt(plainRate)} records/s | reference |\n| tributary replay | ${fmt(replayRate)} records/s | |\n| replay / plain | ${share}% | >= ${targets.replayShareOfPlainMin * 100}% ${report.met ? '(met)' : '(NOT met)'} |\n| load average (1 min) at start / end | ${round2(loadAtStart)} / ${round2(os.loadavg()[0]!)} | |`);
}
