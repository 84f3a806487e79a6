// Issue #15, "Replay after an outage": a tailed log's backlog drains at >= 90% of the per-shard limits in force. The agent
// bundle, paired over HTTPS with a real gateway (per-shard limits on: 1,000 records/s a shard), finds two log files already
// written, as after an outage: one with the default partition key (a hash per line: the lines spread over the stream's four
// shards, 4,000 records/s) and one with `order: per-file` (one key, so one shard: 1,000 records/s, in file order). The drain
// rate comes from the records' arrival times at the gateway, from the 25th to the 90th percentile of them (past the shards' one-second
// burst); every line must arrive exactly once.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { tempDir, testGateway, waitActive } from '../helpers/gateway.ts';
import { agentStatus, pairedState, startAgent, tlsClient, waitFor, type AgentProcess } from '../helpers/agent-process.ts';
import type { Gateway } from '../../gateway/gateway.ts';

/** Per-shard write limit the gateway enforces (AWS: 1,000 records/s a shard). */
const shardRecordsPerS = 1000;
const spread = { stream: 'logs-replay-dev', shards: 4, lines: 60_000 };
const ordered = { stream: 'ordered-replay-dev', shards: 2, lines: 15_000 };

let gw: Gateway & { dataDir: string };
let op: KinesisClient;
beforeAll(async () => {
  gw = await testGateway({ tlsEnabled: true, createDelayMs: 0 }); // per-shard limits on (the default)
  op = tlsClient(gw);
});
afterAll(() => gw.close());

interface Arrival {
  key: string;
  data: string;
  shard: string;
  atMs: number;
}

async function readArrivals(StreamName: string): Promise<Arrival[]> {
  const out: Arrival[] = [];
  const { Shards } = await op.send(new ListShardsCommand({ StreamName }));
  for (const s of Shards!) {
    let { ShardIterator } = await op.send(new GetShardIteratorCommand({ StreamName, ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    for (;;) {
      const r = await readPolitely(ShardIterator!);
      for (const x of r.Records!) out.push({ key: x.PartitionKey!, data: Buffer.from(x.Data!).toString(), shard: s.ShardId!, atMs: x.ApproximateArrivalTimestamp!.getTime() });
      if (r.Records!.length === 0) break;
      ShardIterator = r.NextShardIterator;
    }
  }
  return out;
}

/** GetRecords within the read limit (5 calls/s a shard): a throttled call is tried again a little later. */
async function readPolitely(ShardIterator: string) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op.send(new GetRecordsCommand({ ShardIterator, Limit: 10_000 }));
    } catch (err) {
      if ((err as Error).name !== 'ProvisionedThroughputExceededException' || attempt > 50) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Records per second from the 25th to the 90th percentile of the arrivals (the first ones ride the shards' burst). */
function steadyRate(arrivals: Arrival[]): number {
  const times = arrivals.map((a) => a.atMs).sort((a, b) => a - b);
  const lo = Math.floor(times.length * 0.25);
  const hi = Math.floor(times.length * 0.9);
  return ((hi - lo) * 1000) / Math.max(1, times[hi]! - times[lo]!);
}

function writeLog(file: string, lines: number, tag: string): void {
  const out: string[] = [];
  // About 100 bytes a line, as a chatty application log.
  for (let i = 0; i < lines; i++) out.push(`${tag} ${String(i).padStart(6, '0')} level=info msg="request served" path=/api/v1/items/${i % 977} status=200`);
  fs.writeFileSync(file, out.join('\n') + '\n');
}

it('drains a tailed backlog at >= 90% of the shard limits: spread by line hash by default, one shard in order with order: per-file', async () => {
  const state = await pairedState(gw, 'replay-dev');
  for (const s of [spread, ordered]) {
    await op.send(new CreateStreamCommand({ StreamName: s.stream, ShardCount: s.shards }));
    await waitActive(op, s.stream);
  }
  const logs = tempDir('trb-replay-logs-');
  fs.mkdirSync(path.join(logs, 'spread'));
  fs.mkdirSync(path.join(logs, 'ordered'));
  writeLog(path.join(logs, 'spread', 'app.log'), spread.lines, 'spread');
  writeLog(path.join(logs, 'ordered', 'app.log'), ordered.lines, 'ordered');
  const config = path.join(state, 'agent.yaml');
  fs.writeFileSync(config, [
    'gateway:', `  credentials: ${path.join(state, 'credentials.json')}`,
    'state:', `  dir: ${state}`,
    'destinations:', '  logs:', '    stream: logs-${device}', '  ordered:', '    stream: ordered-${device}',
    'inputs:', '  files:',
    `    - paths: [${logs}/spread/*.log]`, '      destination: logs',
    `    - paths: [${logs}/ordered/*.log]`, '      destination: ordered', '      order: per-file',
    'metrics:', '  port: 0',
  ].join('\n') + '\n');
  let agent: AgentProcess | undefined = await startAgent(config);
  try {
    const drained = () => {
      const d = agentStatus(state)?.destinations;
      return d !== undefined && d.logs?.sent === spread.lines && d.ordered?.sent === ordered.lines && d.logs.depthRecords === 0 && d.ordered.depthRecords === 0;
    };
    // At the limits, 15 s each (both run at once); generous for a loaded machine.
    await waitFor('both backlogs to drain', drained, 180_000, agent.log);
    agent.proc.kill('SIGTERM');
    expect((await agent.exited).code).toBe(0);
    agent = undefined;

    const a = await readArrivals(spread.stream);
    expect(a).toHaveLength(spread.lines);
    expect(new Set(a.map((r) => r.data)).size).toBe(spread.lines);
    // The line hash spreads: every shard carries about a quarter.
    const perShard = new Map<string, number>();
    for (const r of a) perShard.set(r.shard, (perShard.get(r.shard) ?? 0) + 1);
    expect(perShard.size).toBe(spread.shards);
    for (const n of perShard.values()) expect(n).toBeGreaterThan(spread.lines / spread.shards / 2);
    expect(a.every((r) => /^[0-9a-f]{8}$/.test(r.key))).toBe(true);
    const spreadRate = steadyRate(a);

    const b = await readArrivals(ordered.stream);
    expect(b).toHaveLength(ordered.lines);
    expect(new Set(b.map((r) => r.key))).toEqual(new Set(['app.log']));
    // One key, one shard, in file order, exactly once.
    expect(b.map((r) => Number(r.data.split(' ')[1]))).toEqual(Array.from({ length: ordered.lines }, (_, i) => i));
    const orderedRate = steadyRate(b);

    const limits = { spread: spread.shards * shardRecordsPerS, ordered: shardRecordsPerS };
    console.log(`drain rates: line hash ${Math.round(spreadRate)} records/s of ${limits.spread} (4 shards); order: per-file ${Math.round(orderedRate)} of ${limits.ordered} (1 shard)`);
    expect(spreadRate).toBeGreaterThanOrEqual(0.9 * limits.spread);
    expect(orderedRate).toBeGreaterThanOrEqual(0.9 * limits.ordered);
  } finally {
    agent?.proc.kill('SIGKILL');
    fs.rmSync(state, { recursive: true, force: true });
  }
}, 300_000);
