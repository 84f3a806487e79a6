// Issue #15: a full disk must never stop the agent. On a real 16 MiB ext4
// (loop-mounted; skipped with the reason where this machine cannot mount),
// the real agent bundle buffers records from its HTTP input while the
// gateway is down until the disk is full, outlives a status write on the full
// disk, is killed with SIGKILL, starts again on the still-full disk (read-only:
// appends refused), and drains everything it accepted, exactly once, when the
// gateway returns; then it takes records again. A second agent, with no
// capBytes configured, caps its buffer at half the free space, so drop-oldest
// engages long before the disk fills.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createActiveStream, testGateway } from '../helpers/gateway.ts';
import { agentStatus, freePort, readStream, startAgent, tlsClient, waitFor, type AgentProcess } from '../helpers/agent-process.ts';
import { mountSmallFs, type SmallFs } from '../helpers/small-fs.ts';
import { pairDevice } from '../../sdk/devices/pairing.ts';

type Gw = Awaited<ReturnType<typeof testGateway>>;
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

let gw: Gw;
beforeAll(async () => {
  gw = await testGateway({ tlsEnabled: true, createDelayMs: 0, enforceLimits: false });
});
afterAll(() => gw?.close());

const recordBytes = 1024;
const payload = (id: number) => JSON.stringify({ id, pad: 'x'.repeat(recordBytes - 30) });

/** Pairs `device` into `<fs>/state` and writes a config; returns the state directory, config file and HTTP port. */
async function setUp(small: SmallFs, device: string, lines: { buffer: string[]; endpoint?: string }, on: Gw = gw): Promise<{ state: string; config: string; port: number }> {
  const state = path.join(small.dir, 'state');
  const { code } = await on.principals.createPairingCode(device, 'device', 60_000);
  await pairDevice({ endpoint: on.url, code, caFingerprint: on.caFingerprint!, directory: state });
  const port = await freePort();
  // The config and the agent's log live off the small disk: the test must see the log whatever happens there.
  const side = fs.mkdtempSync('/var/tmp/trb-fulldisk-');
  cleanups.push(() => fs.rmSync(side, { recursive: true, force: true }));
  const config = path.join(side, 'agent.yaml');
  fs.writeFileSync(config, [
    'gateway:', `  credentials: ${path.join(state, 'credentials.json')}`, ...(lines.endpoint ? [`  endpoint: ${lines.endpoint}`] : []),
    'state:', `  dir: ${state}`,
    'buffer:', ...lines.buffer.map((l) => `  ${l}`),
    'destinations:', '  main:', `    stream: telemetry-${device}`,
    'uplink:', '  retryMaxMs: 300', '  requestTimeoutMs: 2000',
    'inputs:', '  http:', '    enabled: true', `    port: ${port}`, '    destination: main',
    'metrics:', '  port: 0',
  ].join('\n') + '\n');
  return { state, config, port };
}

/** Posts records `ids` as one NDJSON request; the HTTP status, or 0 when the agent is not answering. */
async function post(port: number, ids: number[]): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/records?partitionKey=k${ids[0]! % 7}`, {
      method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: ids.map(payload).join('\n') + '\n',
    });
    await res.text();
    return res.status;
  } catch {
    return 0;
  }
}

async function running(agent: AgentProcess, port: number): Promise<void> {
  const exited = agent.exited.then((e) => {
    throw new Error(`the agent exited (${e.code ?? e.signal}) instead of starting:\n${agent.log().slice(-3000)}`);
  });
  const started = waitFor('the agent to answer on its HTTP input', async () => (await post(port, [])) !== 0, 30_000, agent.log);
  await Promise.race([started, exited]);
}

it('outlives a full disk: refuses what does not fit, survives kill -9 and a restart on it, drains when the gateway is back', async (ctx) => {
  const small = mountSmallFs(16);
  if (typeof small === 'string') return ctx.skip(small);
  cleanups.push(() => small.unmount());
  // A gateway of its own: it goes away while the disk fills.
  let own: Gw = await testGateway({ tlsEnabled: true, createDelayMs: 0, enforceLimits: false });
  cleanups.push(() => own.close());
  let ownClient = tlsClient(own);
  const stream = 'telemetry-pi-full';
  await createActiveStream(ownClient, stream, 2);
  // A cap far above what the disk holds (the agent warns), reject-newest so the refusals show.
  const { state, config, port } = await setUp(small, 'pi-full', { buffer: ['capBytes: 1073741824', 'capPolicy: reject-newest', 'segmentBytes: 262144'] }, own);
  const gwPort = Number(new URL(own.url).port);
  const gwDir = own.dataDir;
  await own.close();

  let agent = await startAgent(config);
  cleanups.push(() => void agent.proc.kill('SIGKILL'));
  await running(agent, port);
  expect(agent.log()).toMatch(/"level":"warn".*capBytes/);

  const accepted: number[] = [];
  let refused = 0;
  let next = 0;
  // Fill the disk: stop after a run of refusals (the disk is full), never past twice its size.
  while (refused < 5 && next * recordBytes < 2 * small.sizeBytes()) {
    // Large requests while there is room, small ones near the end, so that little is refused for want of a few KiB.
    const ids = Array.from({ length: small.freeBytes() > 2 << 20 ? 256 : 16 }, () => next++);
    const status = await post(port, ids);
    if (status === 200) {
      accepted.push(...ids);
      refused = 0;
    } else {
      expect(status, 'a refusal, not a dead agent').toBe(503);
      refused++;
    }
  }
  expect(refused, 'the disk filled up').toBe(5);
  expect(small.freeBytes()).toBeLessThan(512 * 1024);
  // Another program takes the last bytes: now even status.json cannot be written.
  small.fillUp();
  // The status file is rewritten every few seconds: the agent outlives that on the full disk.
  await Promise.race([
    waitFor('a status write on the full disk', () => /cannot write status\.json/.test(agent.log()), 15_000, agent.log),
    agent.exited.then(() => {
      throw new Error(`the agent died on the full disk:\n${agent.log().slice(-3000)}`);
    }),
  ]);
  expect(agent.proc.exitCode).toBeNull();

  agent.proc.kill('SIGKILL');
  await agent.exited;
  agent = await startAgent(config);
  await running(agent, port);
  // Read-only until space returns: new records are refused, nothing breaks.
  expect(await post(port, [next++])).toBe(503);

  own = await testGateway({ tlsEnabled: true, createDelayMs: 0, enforceLimits: false, dataDir: gwDir, port: gwPort });
  ownClient = tlsClient(own);
  await waitFor('the buffer to drain', () => agentStatus(state)?.destinations.main?.depthRecords === 0, 90_000, agent.log);
  const got = await readStream(ownClient, stream);
  const ids = got.map((r) => JSON.parse(r.data).id as number);
  expect(new Set(ids).size, 'a record arrived twice').toBe(ids.length);
  expect(ids.filter((id) => !accepted.includes(id)), 'records that were refused').toEqual([]);
  expect(ids.length).toBe(accepted.length);
  // The drain freed the disk: records are taken again.
  await waitFor('the agent to take records again', async () => (await post(port, [next++])) === 200, 30_000, agent.log);
  expect(fs.readdirSync(state).filter((n) => n.includes('.tmp'))).toEqual([]);
  agent.proc.kill('SIGTERM');
  await agent.exited;
}, 180_000);

it('caps the buffer at half the free space by default, so drop-oldest engages before the disk is full', async (ctx) => {
  const small = mountSmallFs(8);
  if (typeof small === 'string') return ctx.skip(small);
  cleanups.push(() => small.unmount());
  // The gateway is unreachable (nothing listens there): everything stays buffered.
  const { config, port } = await setUp(small, 'pi-cap', { buffer: [], endpoint: `https://127.0.0.1:${await freePort()}` });
  const agent = await startAgent(config);
  cleanups.push(() => void agent.proc.kill('SIGKILL'));
  await running(agent, port);
  const size = small.sizeBytes();
  let next = 0;
  while (next * recordBytes < 1.5 * size) {
    const ids = Array.from({ length: 256 }, () => next++);
    expect(await post(port, ids), 'drop-oldest takes every record').toBe(200);
  }
  expect(small.freeBytes(), 'at least 40% of the disk stays free').toBeGreaterThan(0.4 * size);
  expect(agent.log()).toMatch(/"dropped"/);
  expect(agent.log()).not.toMatch(/ENOSPC/);
  agent.proc.kill('SIGTERM');
  await agent.exited;
}, 120_000);
