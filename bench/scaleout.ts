/**
 * Scale-out benchmark (issue #20): PutRecords of 1 KiB records through one
 * gateway process (the shipped bundle, plain HTTP, limits off) on `local`
 * (fsync always), on `nats` at R1 and on `nats` at R3, in the same run, one
 * after the other, the NATS columns on a throwaway 3-node JetStream cluster
 * of Debian's nats-server on this machine (test/helpers/nats.ts). Reports
 * records/s, MB/s, and CPU per record of the gateway and of the NATS servers
 * together, so docs/scaling.md can say where the time goes. Writes the JSON
 * to bench/results/scaleout-latest.json.
 *
 *   npm run bench -- scaleout [--quick] [--only local,nats-r1,nats-r3]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startNatsCluster, type NatsCluster } from '../test/helpers/nats.ts';
import { createStreamActive, type Credentials, type Endpoint } from './lib/kinesis-http.ts';
import { buildIfStale, cleanupSync, installCleanupHooks, readCpuSeconds, readMachineBusySeconds, removeTempDir, sparePort, spawnServer, tempDir, waitReady } from './lib/servers.ts';
import { putRecordsBodies, putThroughput, type PutThroughputResult } from './lib/streams-load.ts';

export const description = 'Scale-out: PutRecords 1 KiB on nats R1 and R3 (3-node JetStream cluster) vs local, CPU per record of gateway and NATS';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const settings = Object.freeze({
  streamName: 'bench',
  shardCount: 4,
  batchRecords: 500,
  concurrency: 16,
  recordBytes: 1024,
  bodiesDistinct: 8,
  warmupMsFull: 2000,
  warmupMsQuick: 1000,
  phaseMsFull: 10_000,
  phaseMsQuick: 3_000,
  readyTimeoutMs: 30_000,
});

const columns = ['local', 'nats-r1', 'nats-r3'] as const;
type Column = (typeof columns)[number];

interface ColumnResult {
  status: 'ok' | 'failed';
  error?: string;
  put?: PutThroughputResult;
  /** CPU seconds per 1,000 acknowledged records. */
  gatewayCpuMsPerKRecords?: number;
  natsCpuMsPerKRecords?: number;
  /** Percent of one core over the phase. */
  gatewayCpuPct?: number;
  natsCpuPct?: number;
  machineBusyPct?: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

async function operatorCredentials(dataDir: string): Promise<Credentials> {
  const file = path.join(dataDir, 'operator.json');
  const deadline = Date.now() + settings.readyTimeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`the gateway wrote no ${file}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Credentials;
  return { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey, region: p.region };
}

const natsCpu = (cluster: NatsCluster | undefined) =>
  cluster ? cluster.nodes.reduce((sum, n) => sum + (readCpuSeconds(n.child!.pid!) ?? 0), 0) : 0;

async function benchColumn(column: Column, timing: { phaseMs: number; warmupMs: number }, cluster: NatsCluster | undefined): Promise<ColumnResult> {
  const dir = tempDir(`tributary-bench-scaleout-${column}-`);
  const port = await sparePort();
  const args = ['dist/tributary.mjs', 'gateway', 'start', '--data', path.join(dir, 'data'), '--port', String(port), '--no-limits', '--insecure-http', '--log-level', 'warn'];
  if (column !== 'local') {
    const config = path.join(dir, 'gateway.yaml');
    // A fresh prefix per column: the R1 and R3 runs never share streams.
    fs.writeFileSync(config, `storage:\n  backend: nats\n  nats:\n    servers: [${cluster!.servers.join(', ')}]\n    replicas: ${column === 'nats-r1' ? 1 : 3}\n    prefix: B${column === 'nats-r1' ? 'R1' : 'R3'}\n`);
    args.push('--config', config);
  }
  const server = spawnServer(`tributary-${column}`, args, { port, cwd: root });
  try {
    await waitReady(server, { path: '/health', statusOk: 200, timeoutMs: settings.readyTimeoutMs });
    const endpoint: Endpoint = { port, credentials: await operatorCredentials(path.join(dir, 'data')) };
    await createStreamActive(endpoint, settings.streamName, settings.shardCount, settings.readyTimeoutMs);
    const bodies = putRecordsBodies(settings.streamName, { count: settings.bodiesDistinct, records: settings.batchRecords, recordBytes: settings.recordBytes });
    const put = { concurrency: settings.concurrency, alive: () => server.alive() };
    await putThroughput(endpoint, bodies, { ...put, durationMs: timing.warmupMs });
    const wall0 = performance.now(), gw0 = server.cpuSeconds() ?? 0, nats0 = natsCpu(cluster), machine0 = readMachineBusySeconds();
    const r = await putThroughput(endpoint, bodies, { ...put, durationMs: timing.phaseMs });
    const wallS = (performance.now() - wall0) / 1000;
    const gwS = (server.cpuSeconds() ?? gw0) - gw0, natsS = natsCpu(cluster) - nats0, machine1 = readMachineBusySeconds();
    const perK = (s: number) => Math.round((1000 * s * 1000) / Math.max(1, r.records) * 100) / 100;
    return {
      status: 'ok', put: r,
      gatewayCpuMsPerKRecords: perK(gwS), natsCpuMsPerKRecords: perK(natsS),
      gatewayCpuPct: Math.round((100 * gwS) / wallS), natsCpuPct: Math.round((100 * natsS) / wallS),
      ...(machine0 !== undefined && machine1 !== undefined ? { machineBusyPct: Math.round((100 * (machine1 - machine0)) / wallS) } : {}),
    };
  } catch (err) {
    return { status: 'failed', error: `${(err as Error).message}\n${server.outputTail().slice(-3000)}` };
  } finally {
    await server.stop('SIGTERM');
    removeTempDir(dir);
  }
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { quick: { type: 'boolean' }, only: { type: 'string' } } });
  const only = values.only ? (values.only.split(',') as Column[]) : [...columns];
  for (const c of only) if (!columns.includes(c)) throw new Error(`unknown column ${c} (${columns.join(', ')})`);
  installCleanupHooks();
  buildIfStale(root, 'dist/tributary.mjs', ['bin', 'gateway', 'sdk', 'scripts/build.mjs', 'package.json']);
  const timing = values.quick ? { phaseMs: settings.phaseMsQuick, warmupMs: settings.warmupMsQuick } : { phaseMs: settings.phaseMsFull, warmupMs: settings.warmupMsFull };
  const cluster = only.some((c) => c !== 'local') ? await startNatsCluster() : undefined;
  const results: Partial<Record<Column, ColumnResult>> = {};
  try {
    for (const c of only) {
      log(`${c}:`);
      const r = await benchColumn(c, timing, c === 'local' ? undefined : cluster);
      results[c] = r;
      if (r.status === 'ok') {
        log(`  PutRecords 1 KiB: ${Math.round(r.put!.recordsPerS)} records/s (${r.put!.mibPerS.toFixed(1)} MiB/s), ${r.put!.requestsFailed} failed requests; ` +
          `CPU per 1,000 records: gateway ${r.gatewayCpuMsPerKRecords} ms, NATS ${r.natsCpuMsPerKRecords} ms; gateway ${r.gatewayCpuPct}% NATS ${r.natsCpuPct}% machine ${r.machineBusyPct ?? '?'}% of one core`);
      } else log(`  failed: ${r.error}`);
    }
  } finally {
    await cluster?.stop();
    cleanupSync();
  }
  const doc = {
    benchmark: 'scaleout', at: new Date().toISOString(), settings, quick: Boolean(values.quick),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, natsServer: '/usr/sbin/nats-server (Debian)' },
    results,
  };
  const out = path.join(root, 'bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'scaleout-latest.json'), JSON.stringify(doc, null, 1) + '\n');
  process.stdout.write(JSON.stringify(doc) + '\n');
  log('');
  log('| column | records/s | MiB/s | gateway CPU ms / 1k records | NATS CPU ms / 1k records | failed requests |');
  log('| --- | --- | --- | --- | --- | --- |');
  for (const c of only) {
    const r = results[c]!;
    log(r.status === 'ok'
      ? `| ${c} | ${Math.round(r.put!.recordsPerS)} | ${r.put!.mibPerS.toFixed(1)} | ${r.gatewayCpuMsPerKRecords} | ${r.natsCpuMsPerKRecords} | ${r.put!.requestsFailed} |`
      : `| ${c} | failed | | | | |`);
  }
}
