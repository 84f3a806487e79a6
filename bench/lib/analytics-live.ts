/**
 * The live phase of `npm run bench -- analytics`: PutRecords -> row in the
 * output stream, on a real gateway process (plain HTTP, fsync always).
 *
 * A pass-through application (SELECT STREAM ... WHERE true) reads an input
 * stream and writes every row to an output stream. The load generator sends
 * PutRecords batches at a steady rate, each record carrying the time its
 * request left; the latency of a row is the output record's
 * ApproximateArrivalTimestamp (when the output stream took it, durably) minus
 * that send time. Both clocks are this machine's, and the reader's polling
 * adds nothing to the figure. Reported: p50/p90/p99/max over every record,
 * against AWS's sub-second promise and the p99 < 500 ms.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { JsonRpcClient } from '../../sdk/http/json-rpc-client.ts';
import { installCleanupHooks, removeTempDir, sparePort, spawnServer, tempDir, waitReady } from './servers.ts';

export const liveSettings = Object.freeze({
  recordsPerSecond: 1000,
  batchRecords: 50,
  durationMsFull: 30_000,
  durationMsQuick: 8_000,
  p99TargetMs: 500,
  readyTimeoutMs: 60_000,
  drainTimeoutMs: 60_000,
});

export interface LiveResult {
  records: number;
  rowsOut: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  recordsPerSecond: number;
  /** CPU the gateway process used over its whole life (start, load, read-back). */
  gatewayCpuSeconds?: number;
  pass: boolean;
}

const role = 'arn:aws:iam::000000000000:role/bench';
const arn = (s: string) => `arn:aws:kinesis:us-east-1:000000000000:stream/${s}`;

const code = `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("id" INTEGER, "sent" BIGINT);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM "id", "sent" FROM "SOURCE_SQL_STREAM_001" WHERE "id" >= 0;`;

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runLiveLatency(root: string, quick: boolean): Promise<LiveResult> {
  installCleanupHooks();
  const dir = tempDir('trb-bench-kda-');
  const port = await sparePort();
  const profileDir = process.env.TRB_BENCH_CPU_PROF;
  const server = spawnServer('tributary', [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), '--import', 'tsx', 'bin/tributary.ts', 'gateway', 'start', '--data', dir, '--port', String(port), '--insecure-http', '--log-level', 'warn'], { port, cwd: root });
  try {
    await waitReady(server, { path: '/health', statusOk: 200, timeoutMs: liveSettings.readyTimeoutMs });
    // The first start writes the operator profile just after it starts listening.
    const profile = path.join(dir, 'operator.json');
    await waitUntil('operator.json', async () => fs.existsSync(profile), liveSettings.readyTimeoutMs);
    const operator = JSON.parse(fs.readFileSync(profile, 'utf8')) as { accessKeyId: string; secretAccessKey: string };
    const client = (service: string, targetPrefix: string) => new JsonRpcClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', service, targetPrefix, credentials: operator });
    const kinesis = client('kinesis', 'Kinesis_20131202');
    const ka = client('kinesisanalytics', 'KinesisAnalytics_20150814');
    for (const [name, shards] of [['bench-in', 2], ['bench-out', 2]] as const) await kinesis.call('CreateStream', { StreamName: name, ShardCount: shards });
    for (const name of ['bench-in', 'bench-out']) {
      await waitUntil(`${name} ACTIVE`, async () => (await kinesis.call<{ StreamDescriptionSummary: { StreamStatus: string } }>('DescribeStreamSummary', { StreamName: name })).StreamDescriptionSummary.StreamStatus === 'ACTIVE', 30_000);
    }
    await ka.call('CreateApplication', {
      ApplicationName: 'bench',
      Inputs: [{
        NamePrefix: 'SOURCE_SQL_STREAM',
        KinesisStreamsInput: { ResourceARN: arn('bench-in'), RoleARN: role },
        InputSchema: {
          RecordFormat: { RecordFormatType: 'JSON', MappingParameters: { JSONMappingParameters: { RecordRowPath: '$' } } },
          RecordColumns: [{ Name: 'id', Mapping: '$.id', SqlType: 'INTEGER' }, { Name: 'sent', Mapping: '$.sent', SqlType: 'BIGINT' }],
        },
      }],
      Outputs: [{ Name: 'DESTINATION_SQL_STREAM', KinesisStreamsOutput: { ResourceARN: arn('bench-out'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'JSON' } }],
      ApplicationCode: code,
    });
    await ka.call('StartApplication', { ApplicationName: 'bench', InputConfigurations: [{ Id: '1.1', InputStartingPositionConfiguration: { InputStartingPosition: 'NOW' } }] });
    await waitUntil('the application RUNNING', async () => (await ka.call<{ ApplicationDetail: { ApplicationStatus: string } }>('DescribeApplication', { ApplicationName: 'bench' })).ApplicationDetail.ApplicationStatus === 'RUNNING', 30_000);

    // Steady load: one batch every batchRecords/rate seconds, each record stamped when its request leaves.
    const durationMs = quick ? liveSettings.durationMsQuick : liveSettings.durationMsFull;
    const intervalMs = (1000 * liveSettings.batchRecords) / liveSettings.recordsPerSecond;
    let id = 0;
    const started = performance.now();
    const inFlight: Array<Promise<unknown>> = [];
    for (let next = started; performance.now() - started < durationMs; next += intervalMs) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const sent = Date.now();
      const Records = Array.from({ length: liveSettings.batchRecords }, () => {
        const n = id++;
        return { PartitionKey: `k${n % 64}`, Data: Buffer.from(JSON.stringify({ id: n, sent })).toString('base64') };
      });
      inFlight.push(kinesis.call('PutRecords', { StreamName: 'bench-in', Records }));
      if (inFlight.length > 64) await inFlight.shift();
    }
    await Promise.all(inFlight);
    const sentTotal = id;
    const elapsedS = (performance.now() - started) / 1000;

    // Read the output stream back; latency = output arrival - send time.
    const latencies: number[] = [];
    const seen = new Set<number>();
    const shards = (await kinesis.call<{ Shards: Array<{ ShardId: string }> }>('ListShards', { StreamName: 'bench-out' })).Shards;
    const iterators = new Map<string, string>();
    for (const s of shards) iterators.set(s.ShardId, (await kinesis.call<{ ShardIterator: string }>('GetShardIterator', { StreamName: 'bench-out', ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' })).ShardIterator);
    await waitUntil('every row in the output stream', async () => {
      for (const [shard, it] of iterators) {
        const r = await kinesis.call<{ Records: Array<{ Data: string; ApproximateArrivalTimestamp: number }>; NextShardIterator: string }>('GetRecords', { ShardIterator: it, Limit: 10_000 });
        iterators.set(shard, r.NextShardIterator);
        for (const rec of r.Records) {
          const row = JSON.parse(Buffer.from(rec.Data, 'base64').toString()) as { id: number; sent: number };
          if (seen.has(row.id)) continue;
          seen.add(row.id);
          latencies.push(rec.ApproximateArrivalTimestamp * 1000 - row.sent);
        }
      }
      return seen.size >= sentTotal;
    }, liveSettings.drainTimeoutMs);
    const gatewayCpuSeconds = server.cpuSeconds();
    kinesis.close();
    ka.close();
    latencies.sort((a, b) => a - b);
    const p99Ms = pct(latencies, 99);
    return {
      records: sentTotal,
      rowsOut: seen.size,
      p50Ms: pct(latencies, 50),
      p90Ms: pct(latencies, 90),
      p99Ms,
      maxMs: latencies.at(-1)!,
      recordsPerSecond: Math.round(sentTotal / elapsedS),
      ...(gatewayCpuSeconds !== undefined ? { gatewayCpuSeconds: Math.round(gatewayCpuSeconds * 10) / 10 } : {}),
      pass: p99Ms < liveSettings.p99TargetMs,
    };
  } finally {
    await server.stop();
    removeTempDir(dir);
  }
}

/** What bench/analytics.ts calls for `--live`. */
export function runLive(options: { quick?: boolean } = {}): Promise<LiveResult> {
  return runLiveLatency(path.resolve(import.meta.dirname, '../..'), options.quick ?? false);
}
