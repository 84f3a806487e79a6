// Proves the agent through a bad network, as a real process (its bundle)
// fed by a device app through the SDK's AgentProducer over the local socket:
// - the gateway stopped for a while and started again;
// - the link cut: the agent in a network namespace this test makes, joined
//   to the gateway by a veth pair whose host end goes down and up again;
// - the link degraded by a fault-injecting TCP proxy: latency, a stall,
//   connections reset mid-request and mid-response, a bandwidth cap.
// Every record whose put resolved arrives exactly once, in per-key order.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { testGateway, waitActive } from '../helpers/gateway.ts';
import { agentStatus, pairedState, readStream, startAgent, tlsClient, waitFor, type AgentProcess } from '../helpers/agent-process.ts';
import { LinkProxy } from '../helpers/link-proxy.ts';
import { AgentProducer } from '../../sdk/streams/agent-producer.ts';

type Gw = Awaited<ReturnType<typeof testGateway>>;
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const keys = 5;

function writeConfig(state: string, stream: string, extra: { endpoint?: string } = {}): { config: string; socket: string } {
  const socket = path.join(state, 'agent.sock');
  const config = path.join(state, 'agent.yaml');
  fs.writeFileSync(config, [
    'gateway:', `  credentials: ${path.join(state, 'credentials.json')}`, ...(extra.endpoint ? [`  endpoint: ${extra.endpoint}`] : []),
    'state:', `  dir: ${state}`,
    'destinations:', '  main:', `    stream: ${stream}`,
    // Short timeouts and backoff: the test waits seconds, not minutes, for a lost link to show.
    'uplink:', '  batchRecordsMax: 100', '  requestTimeoutMs: 2000', '  retryMaxMs: 500',
    'inputs:', '  socket:', '    enabled: true', `    path: ${socket}`, '    destination: main',
    'metrics:', '  port: 0',
  ].join('\n') + '\n');
  return { config, socket };
}

/** Puts `count` records `{ id }` with keys k0..k<keys-1>; resolves once the agent has them all durable. */
async function put(producer: AgentProducer, from: number, count: number): Promise<void> {
  const puts: Promise<unknown>[] = [];
  for (let id = from; id < from + count; id++) puts.push(producer.put(Buffer.from(JSON.stringify({ id })), { partitionKey: `k${id % keys}` }));
  await Promise.all(puts);
}

/** Ids of marker records, put after the records under test: far above theirs. */
const markerIdMin = 1_000_000;
let markers = 0;

/**
 * Waits for `total` records, then puts a marker record and waits for it: the agent sends in order and a request is
 * settled (sent again if need be) before the next, so a record stored twice is in the stream by then.
 */
async function expectExactlyOnce(c: KinesisClient, stream: string, total: number, agent: AgentProcess, producer: AgentProducer): Promise<void> {
  await waitFor(`${total} records in ${stream}`, async () => (await readStream(c, stream)).length >= total, 60_000, agent.log);
  const marker = markerIdMin + markers++;
  await put(producer, marker, 1);
  let got: Awaited<ReturnType<typeof readStream>> = [];
  await waitFor(`the marker record ${marker}`, async () => (got = await readStream(c, stream)).some((r) => JSON.parse(r.data).id === marker), 60_000, agent.log);
  got = got.filter((r) => (JSON.parse(r.data).id as number) < markerIdMin);
  const ids = got.map((r) => JSON.parse(r.data).id as number);
  expect(new Set(ids).size, 'a record arrived twice').toBe(ids.length);
  expect([...ids].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
  for (let k = 0; k < keys; k++) {
    const ofKey = got.filter((r) => r.key === `k${k}`).map((r) => JSON.parse(r.data).id as number);
    expect(ofKey).toEqual([...ofKey].sort((a, b) => a - b));
  }
}

async function stopAgent(agent: AgentProcess): Promise<void> {
  agent.proc.kill('SIGTERM');
  const { code } = await agent.exited;
  expect(code, agent.log().slice(-2000)).toBe(0);
}

async function createStream(c: KinesisClient, name: string): Promise<void> {
  await c.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
  await waitActive(c, name);
}

describe('agent over a bad link', () => {
  it('keeps buffering while the gateway is stopped and delivers everything once it is back', async () => {
    let gw: Gw = await testGateway({ tlsEnabled: true, createDelayMs: 0, enforceLimits: false });
    const port = Number(new URL(gw.url).port);
    cleanups.push(() => gw.close());
    const c = tlsClient(gw);
    const stream = 'stopped-pi-l1';
    await createStream(c, stream);
    const state = await pairedState(gw, 'pi-l1');
    const { config, socket } = writeConfig(state, stream);
    const agent = await startAgent(config);
    cleanups.push(() => void agent.proc.kill('SIGKILL'));
    await waitFor('the agent socket', () => fs.existsSync(socket), 20_000, agent.log);
    const producer = new AgentProducer({ socketPath: socket, destination: 'main', clientName: 'link-test' });
    await put(producer, 0, 300);
    await expectExactlyOnce(c, stream, 300, agent, producer);

    await gw.close();
    await put(producer, 300, 600); // durable in the agent while the gateway is away
    await waitFor('the agent to notice', () => /"msg":"link down/.test(agent.log()), 20_000, agent.log);
    await new Promise((r) => setTimeout(r, 1500)); // The outage goes on a while (probes fail meanwhile): a scenario, not a wait.
    gw = await testGateway({ tlsEnabled: true, createDelayMs: 0, enforceLimits: false, dataDir: gw.dataDir, port });
    const c2 = tlsClient(gw);
    await put(producer, 900, 100);
    await expectExactlyOnce(c2, stream, 1000, agent, producer);
    await producer.close();
    await stopAgent(agent);
    expect(agentStatus(state)?.destinations.main?.depthRecords).toBe(0);
  }, 120_000);

  it('survives the link cut in a network namespace (veth down, then up) and delivers everything exactly once', async () => {
    const tag = (process.pid % 10000).toString();
    const ns = `trb-agent-${tag}`;
    const host = `trbh${tag}`;
    const peer = `trba${tag}`;
    const octet = 1 + (process.pid % 250);
    const gwAddr = `10.213.${octet}.1`;
    const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
    // Leftovers of an interrupted run with the same pid would make `add` fail.
    for (const args of [['netns', 'del', ns], ['link', 'del', host]]) {
      try {
        ip(...args);
      } catch {
        // not there: the usual case
      }
    }
    ip('netns', 'add', ns);
    cleanups.push(() => {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    });
    ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
    ip('link', 'set', peer, 'netns', ns);
    ip('addr', 'add', `${gwAddr}/30`, 'dev', host);
    ip('link', 'set', host, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `10.213.${octet}.2/30`, 'dev', peer);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', peer, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');

    const gw = await testGateway({ tlsEnabled: true, createDelayMs: 0, enforceLimits: false, host: gwAddr });
    cleanups.push(() => gw.close());
    const c = tlsClient(gw);
    const stream = 'cut-pi-l2';
    await createStream(c, stream);
    const state = await pairedState(gw, 'pi-l2');
    const { config, socket } = writeConfig(state, stream);
    const agent = await startAgent(config, ['ip', 'netns', 'exec', ns]);
    cleanups.push(() => void agent.proc.kill('SIGKILL'));
    await waitFor('the agent socket', () => fs.existsSync(socket), 20_000, agent.log);
    // The Unix socket is a file: the app in the host namespace reaches the agent in its own.
    const producer = new AgentProducer({ socketPath: socket, destination: 'main', clientName: 'link-test' });
    await put(producer, 0, 200);
    await expectExactlyOnce(c, stream, 200, agent, producer);

    ip('link', 'set', host, 'down');
    const cutAt = Date.now();
    await put(producer, 200, 800);
    await waitFor('the agent to see the link down', () => /"msg":"link down/.test(agent.log()), 20_000, agent.log);
    expect((await readStream(c, stream)).length).toBeLessThan(1000);
    // The cut lasts 3 s in all, past the request timeout (2 s): a scenario, not a wait.
    await new Promise((r) => setTimeout(r, Math.max(0, 3000 - (Date.now() - cutAt))));
    ip('link', 'set', host, 'up');
    await put(producer, 1000, 100);
    await expectExactlyOnce(c, stream, 1100, agent, producer);
    await producer.close();
    await stopAgent(agent);
  }, 120_000);

  it('delivers exactly once through latency, a stall, resets mid-request and mid-response, and a bandwidth cap', async () => {
    const gw = await testGateway({ tlsEnabled: true, createDelayMs: 0, enforceLimits: false });
    cleanups.push(() => gw.close());
    const c = tlsClient(gw);
    const stream = 'degraded-pi-l3';
    await createStream(c, stream);
    const proxy = await LinkProxy.start({ host: '127.0.0.1', port: Number(new URL(gw.url).port) });
    cleanups.push(() => proxy.close());
    proxy.faults = { latencyMs: 20, bandwidthBytesPerSecond: 256 * 1024, requestResetEvery: 13, responseResetEvery: 11 };
    const state = await pairedState(gw, 'pi-l3');
    const { config, socket } = writeConfig(state, stream, { endpoint: `https://127.0.0.1:${proxy.port}` });
    const agent = await startAgent(config);
    cleanups.push(() => void agent.proc.kill('SIGKILL'));
    await waitFor('the agent socket', () => fs.existsSync(socket), 20_000, agent.log);
    const producer = new AgentProducer({ socketPath: socket, destination: 'main', clientName: 'link-test' });
    await put(producer, 0, 1500);
    await waitFor('some records through', async () => (await readStream(c, stream)).length > 100, 60_000, agent.log);
    proxy.stall(3000); // longer than the agent's request timeout: the request in flight is sent again
    await put(producer, 1500, 1500);
    await expectExactlyOnce(c, stream, 3000, agent, producer);
    expect(proxy.counts.requestResets + proxy.counts.responseResets).toBeGreaterThan(2);
    await producer.close();
    await stopAgent(agent);
  }, 120_000);
});
