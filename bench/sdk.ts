/**
 * SDK benchmark, against a real gateway run as a separate process.
 *
 * Producer: StreamProducer throughput for 100 B records with and without KPL
 * aggregation on a 1-shard stream, with the gateway's per-shard limits on
 * (1 MiB/s, 1,000 records/s) and off.
 *
 * Consumer: StreamConsumer records/s draining a pre-filled 4-shard stream
 * (100 B plain records, limits off) with polling and with enhanced fan-out;
 * and end-to-end latency, from `producer.put()` to the record handler, while
 * a producer puts 500 records/s (limits on), for polling at its default
 * interval, polling at the 200 ms floor (AWS's 5 GetRecords/s per shard) and
 * fan-out (target p99 < 200 ms).
 *
 * Prints one JSON line per part and a table.
 *
 *   npm run bench -- sdk [--quick] [--only producer|consumer]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { StreamProducer } from '../sdk/streams/producer.ts';
import { StreamConsumer, type StreamConsumerOptions } from '../sdk/streams/consumer.ts';
import { FileLeaseStore } from '../sdk/streams/leases/file-store.ts';
import { pollIntervalMsDefault, readIntervalMsMin } from '../sdk/streams/polling-source.ts';
import { JsonRpcClient } from '../sdk/http/json-rpc-client.ts';
import { buildIfStale, installCleanupHooks, removeTempDir, sparePort, spawnServer, tempDir, waitReady } from './lib/servers.ts';

export const description = 'SDK: StreamProducer records/s (aggregated vs not, limits on/off); StreamConsumer records/s and put-to-handler latency, polling vs fan-out';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const recordBytes = 100;
const shardBytesPerS = 1024 * 1024;

interface Run { limits: boolean; aggregate: boolean; records: number; seconds: number; recordsPerS: number; mibPerS: number; shareOfByteLimit: number }

interface Gateway { endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } }

/** Runs `f` against a fresh gateway process (its own data directory), limits on or off. */
async function withGateway<T>(limits: boolean, f: (g: Gateway) => Promise<T>): Promise<T> {
  const dir = tempDir('tributary-bench-sdk-');
  const port = await sparePort();
  const args = ['dist/tributary.mjs', 'gateway', 'start', '--data', dir, '--port', String(port), '--insecure-http', '--log-level', 'warn', ...(limits ? [] : ['--no-limits'])];
  const server = spawnServer('tributary', args, { port, cwd: root });
  try {
    await waitReady(server, { path: '/health', statusOk: 200, timeoutMs: 20_000 });
    // The gateway writes its operator credentials just after it starts listening.
    const file = path.join(dir, 'operator.json');
    for (let i = 0; !fs.existsSync(file); i++) {
      if (i >= 400) throw new Error(`the gateway wrote no ${file} within 10 s`);
      await sleep(25);
    }
    const credentials = JSON.parse(fs.readFileSync(file, 'utf8')) as { accessKeyId: string; secretAccessKey: string };
    return await f({ endpoint: `http://127.0.0.1:${port}`, credentials });
  } finally {
    await server.stop();
    removeTempDir(dir);
  }
}

async function createStream(g: Gateway, name: string, shards: number): Promise<void> {
  const admin = new JsonRpcClient({ endpoint: g.endpoint, region: 'us-east-1', service: 'kinesis', targetPrefix: 'Kinesis_20131202', credentials: g.credentials });
  try {
    await admin.call('CreateStream', { StreamName: name, ShardCount: shards });
    for (let i = 0; i < 200; i++) {
      const d = await admin.call<{ StreamDescriptionSummary: { StreamStatus: string } }>('DescribeStreamSummary', { StreamName: name });
      if (d.StreamDescriptionSummary.StreamStatus === 'ACTIVE') return;
      await sleep(50);
    }
    throw new Error(`stream ${name} never became ACTIVE`);
  } finally {
    admin.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(limits: boolean, aggregate: boolean, seconds: number): Promise<Run> {
  return withGateway(limits, async ({ endpoint, credentials: op }) => {
    await createStream({ endpoint, credentials: op }, 'sdk', 1);
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
  });
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } }, strict: true });
  if (values.only !== undefined && values.only !== 'producer' && values.only !== 'consumer') throw new Error(`--only must be producer or consumer (got ${values.only})`);
  installCleanupHooks();
  buildIfStale(root, 'dist/tributary.mjs', ['bin', 'gateway', 'sdk', 'scripts', 'package.json']);
  if (values.only !== 'consumer') await measureProducer(values.quick);
  if (values.only !== 'producer') await measureConsumer(values.quick);
}

async function measureProducer(quick: boolean): Promise<void> {
  const seconds = quick ? 4 : 10;
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
    aggregatedRecordsPerSWithoutLimits: get(false, true).recordsPerS,
    pass200kAggregatedWithoutLimits: get(false, true).recordsPerS >= 200_000,
  };
  process.stdout.write(JSON.stringify({ benchmark: 'sdk', recordBytes, shards: 1, runs, checks }) + '\n');
  process.stdout.write('\nlimits  aggregate   records/s    MiB/s   share of 1 MiB/s\n');
  for (const r of runs) {
    process.stdout.write(`${(r.limits ? 'on' : 'off').padEnd(8)}${String(r.aggregate).padEnd(10)}${r.recordsPerS.toFixed(0).padStart(11)}${r.mibPerS.toFixed(2).padStart(9)}${(r.shareOfByteLimit * 100).toFixed(0).padStart(10)}%\n`);
  }
  process.stdout.write(`\n${checks.pass80PercentOfByteLimit ? 'PASS' : 'FAIL'}  aggregation with limits on reaches ${(checks.aggregatedShareOfByteLimitWithLimits * 100).toFixed(0)}% of the 1 MiB/s shard byte limit (target 80%), ${checks.aggregationSpeedupWithLimits.toFixed(1)}x unaggregated\n`);
  process.stdout.write(`${checks.pass200kAggregatedWithoutLimits ? 'PASS' : 'FAIL'}  aggregated with limits off: ${checks.aggregatedRecordsPerSWithoutLimits.toFixed(0)} records/s (target 200,000)\n`);
}

// ---- Consumer ----

const consumerShards = 4;
/** Put rate of the latency runs: steady, well under 4 shards' limits. */
const latencyRecordsPerS = 500;
/** Linger of the latency runs' producer: part of put-to-handler, kept short. */
const latencyLingerMs = 5;
const latencyP99TargetMs = 200;

type ReadMode = 'polling' | 'polling-200ms' | 'fan-out';

interface DrainRun { mode: ReadMode; records: number; seconds: number; recordsPerS: number; startupSeconds: number; drained: boolean }
interface LatencyRun { mode: ReadMode; pollIntervalMs?: number; sent: number; received: number; p50Ms: number; p99Ms: number; maxMs: number }

/** Consumer options for a mode: polling at the default interval or the 200 ms floor, or fan-out as `consumerName`. */
function sourceOptions(mode: ReadMode, consumerName: string): Partial<StreamConsumerOptions> {
  if (mode === 'fan-out') return { fanOut: { consumerName } };
  if (mode === 'polling-200ms') return { pollIntervalMs: readIntervalMsMin };
  return {};
}

/** Puts `n` records as fast as the producer takes them (up to 50,000 outstanding). */
async function prefill(g: Gateway, stream: string, n: number): Promise<void> {
  const producer = new StreamProducer({ endpoint: g.endpoint, region: 'us-east-1', stream, credentials: g.credentials, aggregate: false, rateLimit: false, lingerMs: 20, bufferedBytesMax: 64 * 1024 * 1024 });
  const payload = Buffer.alloc(recordBytes, 0x62);
  let outstanding = 0;
  let wake: (() => void) | undefined;
  let failed: Error | undefined;
  for (let i = 0; i < n; i++) {
    while (outstanding >= 50_000) await new Promise<void>((r) => (wake = r));
    outstanding++;
    void producer.put(payload, { partitionKey: `key-${i % 1000}` }).then(
      () => {
        outstanding--;
        wake?.();
        wake = undefined;
      },
      (err: Error) => (failed ??= err),
    );
    if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
  }
  await producer.close();
  if (failed) throw failed;
}

/** A StreamConsumer (one worker, its own lease file) reads the whole stream from TRIM_HORIZON; records/s from its first record to its last. */
async function drain(g: Gateway, stream: string, total: number, mode: ReadMode, timeoutMs: number): Promise<DrainRun> {
  const dir = tempDir('tributary-bench-sdk-leases-');
  let count = 0;
  let firstMs: number | undefined;
  let lastMs = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const consumer = new StreamConsumer({
    endpoint: g.endpoint, region: 'us-east-1', credentials: g.credentials, stream,
    leases: new FileLeaseStore(path.join(dir, 'leases.json')),
    ...sourceOptions(mode, `drain-${mode}`),
    handler: (records) => {
      const now = performance.now();
      firstMs ??= now;
      lastMs = now;
      count += records.length;
      if (count >= total) done();
    },
    onEvent: (e) => {
      if (e.type === 'error') process.stderr.write(`consumer error (${mode}, ${e.shardId ?? '-'}): ${e.error.message}\n`);
    },
  });
  const t0 = performance.now();
  try {
    await consumer.start();
    const timer = setTimeout(done, timeoutMs);
    await all;
    clearTimeout(timer);
  } finally {
    await consumer.stop();
    removeTempDir(dir);
  }
  const seconds = firstMs === undefined ? 0 : (lastMs - firstMs) / 1000;
  return { mode, records: count, seconds, recordsPerS: seconds > 0 ? count / seconds : 0, startupSeconds: ((firstMs ?? performance.now()) - t0) / 1000, drained: count >= total };
}

/**
 * A consumer starts at LATEST; then a producer puts `latencyRecordsPerS`
 * records/s for `seconds`, each carrying the moment of its `put()` call; the
 * handler notes how long each took to arrive (same process, same clock).
 */
async function latency(g: Gateway, mode: ReadMode, seconds: number): Promise<LatencyRun> {
  const stream = `latency-${mode}`;
  await createStream(g, stream, consumerShards);
  const dir = tempDir('tributary-bench-sdk-leases-');
  const latencies: number[] = [];
  const consumer = new StreamConsumer({
    endpoint: g.endpoint, region: 'us-east-1', credentials: g.credentials, stream,
    leases: new FileLeaseStore(path.join(dir, 'leases.json')),
    initialPosition: 'LATEST',
    ...sourceOptions(mode, 'latency'),
    handler: (records) => {
      const now = performance.now();
      for (const r of records) latencies.push(now - Number(Buffer.from(r.data).toString('latin1', 0, 20).trimEnd()));
    },
    onEvent: (e) => {
      if (e.type === 'error') process.stderr.write(`consumer error (${mode}, ${e.shardId ?? '-'}): ${e.error.message}\n`);
    },
  });
  const producer = new StreamProducer({ endpoint: g.endpoint, region: 'us-east-1', stream, credentials: g.credentials, lingerMs: latencyLingerMs });
  let sent = 0;
  try {
    await consumer.start();
    // Every shard's first read (iterator at LATEST, or subscription) in place before the first put.
    await sleep(3000);
    const t0 = performance.now();
    const puts: Promise<unknown>[] = [];
    while (performance.now() - t0 < seconds * 1000) {
      const due = Math.floor(((performance.now() - t0) / 1000) * latencyRecordsPerS);
      for (; sent < due; sent++) {
        const data = Buffer.alloc(recordBytes, 0x20);
        data.write(performance.now().toFixed(3), 'latin1');
        puts.push(producer.put(data, { partitionKey: `device-${sent % 100}` }));
      }
      await sleep(2);
    }
    await Promise.all(puts);
    const end = performance.now() + 5000;
    while (latencies.length < sent && performance.now() < end) await sleep(20);
  } finally {
    await producer.close();
    await consumer.stop();
    removeTempDir(dir);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
  return {
    mode, ...(mode === 'fan-out' ? {} : { pollIntervalMs: mode === 'polling' ? pollIntervalMsDefault : readIntervalMsMin }),
    sent, received: latencies.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted.at(-1) ?? NaN,
  };
}

async function measureConsumer(quick: boolean): Promise<void> {
  const total = quick ? 40_000 : 200_000;
  const latencySeconds = quick ? 4 : 15;
  const modes: ReadMode[] = ['polling', 'fan-out'];
  const drains: DrainRun[] = [];
  await withGateway(false, async (g) => {
    await createStream(g, 'drain', consumerShards);
    process.stderr.write(`pre-filling ${total} records of ${recordBytes} B over ${consumerShards} shards (limits off)...\n`);
    await prefill(g, 'drain', total);
    for (const mode of modes) {
      process.stderr.write(`draining with ${mode}...\n`);
      drains.push(await drain(g, 'drain', total, mode, quick ? 60_000 : 180_000));
    }
  });
  const latencies: LatencyRun[] = [];
  await withGateway(true, async (g) => {
    for (const mode of ['polling', 'polling-200ms', 'fan-out'] as const) {
      process.stderr.write(`latency with ${mode}: ${latencyRecordsPerS} records/s for ${latencySeconds} s (limits on)...\n`);
      latencies.push(await latency(g, mode, latencySeconds));
    }
  });
  const fanOut = latencies.find((l) => l.mode === 'fan-out')!;
  const checks = { fanOutP99Ms: fanOut.p99Ms, passFanOutP99: fanOut.p99Ms < latencyP99TargetMs && fanOut.received >= fanOut.sent };
  process.stdout.write(JSON.stringify({ benchmark: 'sdk-consumer', recordBytes, shards: consumerShards, latencyRecordsPerS, latencyLingerMs, drains, latencies, checks }) + '\n');
  process.stdout.write(`\nconsumer: drain ${total} records of ${recordBytes} B, ${consumerShards} shards, limits off\nsource          records/s   seconds   first record after\n`);
  for (const d of drains) {
    process.stdout.write(`${d.mode.padEnd(14)}${d.recordsPerS.toFixed(0).padStart(11)}${d.seconds.toFixed(2).padStart(10)}${`${d.startupSeconds.toFixed(2)} s`.padStart(20)}${d.drained ? '' : `  (only ${d.records} in time)`}\n`);
  }
  process.stdout.write(`\nconsumer: put-to-handler latency, ${latencyRecordsPerS} records/s over ${consumerShards} shards, limits on, producer linger ${latencyLingerMs} ms\nsource          received     p50 ms    p99 ms    max ms\n`);
  for (const l of latencies) {
    process.stdout.write(`${l.mode.padEnd(14)}${`${l.received}/${l.sent}`.padStart(12)}${l.p50Ms.toFixed(1).padStart(10)}${l.p99Ms.toFixed(1).padStart(10)}${l.maxMs.toFixed(1).padStart(10)}\n`);
  }
  process.stdout.write(`\n${checks.passFanOutP99 ? 'PASS' : 'FAIL'}  fan-out put-to-handler p99 ${fanOut.p99Ms.toFixed(1)} ms (target < ${latencyP99TargetMs} ms), ${fanOut.received}/${fanOut.sent} records\n`);
}
