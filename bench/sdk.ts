/**
 * SDK producer benchmark: StreamProducer throughput for 100 B records with
 * and without KPL aggregation, against a real gateway on a 1-shard stream,
 * with the gateway's per-shard limits on (1 MiB/s, 1,000 records/s) and off.
 * Prints one JSON line and a table.
 *
 *   npm run bench -- sdk [--quick]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { StreamProducer } from '../sdk/streams/producer.ts';
import { JsonRpcClient } from '../sdk/http/json-rpc-client.ts';
import { buildIfStale, installCleanupHooks, removeTempDir, sparePort, spawnServer, tempDir, waitReady } from './lib/servers.ts';

export const description = 'SDK: StreamProducer records/s for 100 B records, aggregated vs not, shard limits on and off';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const recordBytes = 100;
const shardBytesPerS = 1024 * 1024;

interface Run { limits: boolean; aggregate: boolean; records: number; seconds: number; recordsPerS: number; mibPerS: number; shareOfByteLimit: number }

async function measure(limits: boolean, aggregate: boolean, seconds: number): Promise<Run> {
  const dir = tempDir('tributary-bench-sdk-');
  const port = await sparePort();
  const args = ['dist/tributary.mjs', 'gateway', 'start', '--data', dir, '--port', String(port), '--insecure-http', '--log-level', 'warn', ...(limits ? [] : ['--no-limits'])];
  const server = spawnServer('tributary', args, { port, cwd: root });
  try {
    await waitReady(server, { path: '/health', statusOk: 200, timeoutMs: 20_000 });
    const op = JSON.parse(fs.readFileSync(path.join(dir, 'operator.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
    const endpoint = `http://127.0.0.1:${port}`;
    const admin = new JsonRpcClient({ endpoint, region: 'us-east-1', service: 'kinesis', targetPrefix: 'Kinesis_20131202', credentials: op });
    await admin.call('CreateStream', { StreamName: 'sdk', ShardCount: 1 });
    for (let i = 0; i < 100; i++) {
      const d = await admin.call<{ StreamDescriptionSummary: { StreamStatus: string } }>('DescribeStreamSummary', { StreamName: 'sdk' });
      if (d.StreamDescriptionSummary.StreamStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    admin.close();
    const producer = new StreamProducer({ endpoint, region: 'us-east-1', stream: 'sdk', credentials: op, aggregate, rateLimit: limits, lingerMs: 20, bufferedBytesMax: 16 * 1024 * 1024 });
    const payload = Buffer.alloc(recordBytes, 0x61);
    let acked = 0;
    let n = 0;
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    // Keep up to `window` records outstanding: a saturated producer, as an application that never waits.
    // Sized so the drain after the clock stops stays short (a limited shard takes 1,000 records/s).
    const window = limits ? (aggregate ? 20_000 : 2_000) : 50_000;
    let outstanding = 0;
    let wake: (() => void) | undefined;
    while (performance.now() < end) {
      if (outstanding >= window) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      const i = n++;
      outstanding++;
      void producer.put(payload, { partitionKey: `key-${i % 1000}` }).then(() => {
        acked++;
        outstanding--;
        wake?.();
        wake = undefined;
      });
      if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
    }
    const s = (performance.now() - t0) / 1000;
    const ackedInTime = acked;
    await producer.close();
    const bytesPerS = (ackedInTime * (recordBytes + 7)) / s;
    return { limits, aggregate, records: ackedInTime, seconds: s, recordsPerS: ackedInTime / s, mibPerS: bytesPerS / 1024 / 1024, shareOfByteLimit: bytesPerS / shardBytesPerS };
  } finally {
    await server.stop();
    removeTempDir(dir);
  }
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { quick: { type: 'boolean', default: false } }, strict: true });
  installCleanupHooks();
  buildIfStale(root, 'dist/tributary.mjs', ['bin', 'gateway', 'sdk', 'scripts', 'package.json']);
  const seconds = values.quick ? 4 : 10;
  const runs: Run[] = [];
  for (const limits of [true, false]) {
    for (const aggregate of [false, true]) {
      process.stderr.write(`measuring limits=${limits ? 'on' : 'off'} aggregate=${aggregate} for ${seconds} s...\n`);
      runs.push(await measure(limits, aggregate, seconds));
    }
  }
  const get = (l: boolean, a: boolean) => runs.find((r) => r.limits === l && r.aggregate === a)!;
  const checks = {
    aggregatedShareOfByteLimitWithLimits: get(true, true).shareOfByteLimit,
    aggregationSpeedupWithLimits: get(true, true).recordsPerS / get(true, false).recordsPerS,
    pass80PercentOfByteLimit: get(true, true).shareOfByteLimit >= 0.8,
  };
  process.stdout.write(JSON.stringify({ benchmark: 'sdk', recordBytes, shards: 1, runs, checks }) + '\n');
  process.stdout.write('\nlimits  aggregate   records/s    MiB/s   share of 1 MiB/s\n');
  for (const r of runs) {
    process.stdout.write(`${(r.limits ? 'on' : 'off').padEnd(8)}${String(r.aggregate).padEnd(10)}${r.recordsPerS.toFixed(0).padStart(11)}${r.mibPerS.toFixed(2).padStart(9)}${(r.shareOfByteLimit * 100).toFixed(0).padStart(10)}%\n`);
  }
  process.stdout.write(`\n${checks.pass80PercentOfByteLimit ? 'PASS' : 'FAIL'}  aggregation with limits on reaches ${(checks.aggregatedShareOfByteLimitWithLimits * 100).toFixed(0)}% of the 1 MiB/s shard byte limit (target 80%), ${checks.aggregationSpeedupWithLimits.toFixed(1)}x unaggregated\n`);
}
