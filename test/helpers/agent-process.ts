/**
 * The agent as devices run it: its single-file bundle, built once per test
 * file, started as a real process with a YAML config, paired with a real
 * gateway over HTTPS. State lives under /var/tmp (the agent refuses /tmp).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { testOperator } from './gateway.ts';
import { agentBundlePath, repoRoot } from './bundles.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { pairDevice } from '../../sdk/devices/pairing.ts';

/** The agent's single-file bundle, as devices run it (built once per test run: test/helpers/bundles.ts). */
export async function agentBundle(): Promise<string> {
  return agentBundlePath();
}

/** An operator client for a TLS gateway, trusting its CA. */
export function tlsClient(gw: Gateway & { dataDir: string }, endpoint = gw.url): KinesisClient {
  const ca = fs.readFileSync(path.join(gw.dataDir, 'tls', 'ca.crt'), 'utf8');
  return new KinesisClient({ endpoint, region: 'us-east-1', credentials: { ...testOperator }, maxAttempts: 1, requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca }) }) });
}

/** A fresh state directory with the device paired to `gw`; returns the directory. */
export async function pairedState(gw: Gateway, device: string, endpoint = gw.url): Promise<string> {
  const state = fs.mkdtempSync('/var/tmp/trb-agent-');
  const { code } = await gw.principals.createPairingCode(device, 'device', 60_000);
  await pairDevice({ endpoint, code, caFingerprint: gw.caFingerprint!, directory: state });
  return state;
}

export interface AgentProcess {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The agent's log so far (JSON lines). */
  log(): string;
}

/** Starts the agent bundle with `config`; `wrap` prefixes the command (e.g. `ip netns exec <ns>`). */
export async function startAgent(config: string, wrap: string[] = []): Promise<AgentProcess> {
  const bundle = await agentBundle();
  const logFile = path.join(path.dirname(config), 'agent.log');
  const fd = fs.openSync(logFile, 'a');
  const argv = [...wrap, process.execPath, bundle, 'run', '-c', config];
  const proc = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return { proc, exited, log: () => fs.readFileSync(logFile, 'utf8') };
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, log?: () => string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${log ? `\n--- agent log ---\n${log().slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The agent's status.json (rewritten every few seconds and at stop). */
export function agentStatus(state: string): { destinations: Record<string, { depthRecords: number; link: string; sent: number }> } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(state, 'status.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Every record of a stream, shard by shard, in stream order within each shard. */
export async function readStream(c: KinesisClient, StreamName: string): Promise<Array<{ key: string; data: string; shard: string }>> {
  const out: Array<{ key: string; data: string; shard: string }> = [];
  const { Shards } = await c.send(new ListShardsCommand({ StreamName }));
  for (const s of Shards!) {
    let { ShardIterator } = await c.send(new GetShardIteratorCommand({ StreamName, ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    for (;;) {
      const r = await c.send(new GetRecordsCommand({ ShardIterator, Limit: 10_000 }));
      for (const x of r.Records!) out.push({ key: x.PartitionKey!, data: Buffer.from(x.Data!).toString(), shard: s.ShardId! });
      if (r.Records!.length === 0) break;
      ShardIterator = r.NextShardIterator;
    }
  }
  return out;
}
