// Proves the agent end to end as a real process: paired over HTTPS with a
// real gateway, it takes MQTT messages from a real Mosquitto (its own, on a
// spare port, with the shipped configs/mosquitto/tributary.conf) and lines from
// a tailed file into its durable buffers and delivers them to the streams;
// `status` reports, and SIGTERM exits cleanly.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import https from 'node:https';
import { KinesisClient as Client } from '@aws-sdk/client-kinesis';
import { tempDir, testGateway, testOperator, waitActive } from '../helpers/gateway.ts';
import { repoRoot } from '../helpers/spawn-gateway.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { pairDevice } from '../../sdk/devices/pairing.ts';
import { agentBundlePath } from '../helpers/bundles.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait.ts';

let gw: Gateway & { dataDir: string };
let op: KinesisClient;
let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto();
  gw = await testGateway({ tlsEnabled: true, createDelayMs: 0 });
  const ca = fs.readFileSync(path.join(gw.dataDir, 'tls', 'ca.crt'), 'utf8');
  op = new Client({ endpoint: gw.url, region: 'us-east-1', credentials: { ...testOperator }, maxAttempts: 1, requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca }) }) });
});
afterAll(async () => {
  await gw.close();
  await broker.stop();
});

async function records(stream: string): Promise<string[]> {
  const { ShardIterator } = await op.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
  const r = await op.send(new GetRecordsCommand({ ShardIterator }));
  return r.Records!.map((x) => Buffer.from(x.Data!).toString());
}

it('delivers MQTT messages and file lines to the gateway', async () => {
  // Not under /tmp: the agent refuses volatile storage for its state (buffers, checkpoints).
  const state = fs.mkdtempSync('/var/tmp/trb-agent-');
  const { code } = await gw.principals.createPairingCode('pi-07', 'device', 60_000);
  await pairDevice({ endpoint: gw.url, code, caFingerprint: gw.caFingerprint!, directory: state });
  for (const s of ['telemetry-pi-07', 'logs-pi-07']) {
    await op.send(new CreateStreamCommand({ StreamName: s, ShardCount: 1 }));
    await waitActive(op, s);
  }
  const logDir = tempDir('trb-agent-logs-');
  const logFile = path.join(logDir, 'app.log');
  fs.writeFileSync(logFile, 'first line\n');
  const topic = `trb-test-${process.pid}-${Date.now()}`;
  const config = path.join(state, 'agent.yaml');
  fs.writeFileSync(config, [
    'gateway:', `  credentials: ${path.join(state, 'credentials.json')}`,
    'state:', `  dir: ${state}`,
    'destinations:', '  telemetry:', '    stream: telemetry-${device}', '  logs:', '    stream: logs-${device}',
    'inputs:', '  mqtt:', `    url: ${broker.url}`, '    rules:', `      - filter: ${topic}/+/reading`, '        destination: telemetry', '        partitionKey: { topicLevel: 1 }',
    '  files:', `    - paths: [${logDir}/*.log]`, '      destination: logs',
    'metrics:', '  port: 0',
  ].join('\n') + '\n');
  const agent = spawn(process.execPath, [agentBundlePath(), 'run', '-c', config], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  readline.createInterface({ input: agent.stdout! }).on('line', (l) => logs.push(l));
  readline.createInterface({ input: agent.stderr! }).on('line', (l) => logs.push(l));
  const exited = new Promise<number | null>((r) => agent.once('exit', (c) => r(c)));
  try {
    await waitFor('the agent running', () => logs.some((l) => l.includes('agent running')), { timeoutMs: 30_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${logs.join('\n')}`);
    });

    const pub = await mqtt.connectAsync(broker.url);
    for (let i = 0; i < 20; i++) await pub.publishAsync(`${topic}/dev-${i % 2}/reading`, JSON.stringify({ i }), { qos: 1 });
    await pub.endAsync();
    fs.appendFileSync(logFile, 'second line\nthird line\n');

    let telemetry: string[] = [];
    let logLines: string[] = [];
    await waitFor('20 readings and 3 log lines', async () => {
      telemetry = await records('telemetry-pi-07');
      logLines = await records('logs-pi-07');
      return telemetry.length >= 20 && logLines.length >= 3;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    expect(telemetry.map((t) => JSON.parse(t).i).sort((a: number, b: number) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(logLines).toEqual(['first line', 'second line', 'third line']);

    const status = JSON.parse(fs.readFileSync(path.join(state, 'status.json'), 'utf8'));
    expect(status.device).toBe('pi-07');
    expect(Object.keys(status.destinations).sort()).toEqual(['logs', 'telemetry']);
  } finally {
    agent.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
}, 60_000);
