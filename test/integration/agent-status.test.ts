// Issue #15, honest status and logs, with the real agent bundle and CLI:
// `tributary-agent status` says whether the agent runs (pid, start time, age
// of the status) and exits 3 when it does not (never run, killed with
// SIGKILL, stopped); the link is `unknown` until the first contact; a lost
// link is logged once when it goes down and once when it comes back, with
// the retries counted, not once per retry; without -c, status reads the
// default config or says how to point at one; a volatile state directory is
// refused by run and pair alike unless asked for; temporary files a kill -9
// left are gone after the next start; SIGTERM with the gateway away exits at
// once instead of waiting out the stop deadline (a quick restart).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createActiveStream, testGateway } from '../helpers/gateway.ts';
import { agentStatus, freePort, pairedState, startAgent, tlsClient, waitFor } from '../helpers/agent-process.ts';
import { repoRoot } from '../helpers/spawn-gateway.ts';
import { agentBundlePath } from '../helpers/bundles.ts';

const exec = promisify(execFile);
type Gw = Awaited<ReturnType<typeof testGateway>>;
let gw: Gw;
beforeAll(async () => {
  gw = await testGateway({ tlsEnabled: true, createDelayMs: 0, enforceLimits: false });
});
afterAll(() => gw?.close());

/** Runs the CLI; resolves with its exit code and output whatever the code. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [agentBundlePath(), ...args], { cwd: repoRoot, env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function writeConfig(state: string, lines: string[]): string {
  const config = path.join(state, 'agent.yaml');
  fs.writeFileSync(config, [
    'gateway:', `  credentials: ${path.join(state, 'credentials.json')}`, ...lines,
    'destinations:', '  main:', '    stream: telemetry-${device}',
    'uplink:', '  retryMaxMs: 200', '  requestTimeoutMs: 2000',
    'metrics:', '  port: 0',
  ].join('\n') + '\n');
  return config;
}

it('status: running or not, with pid, start time and age; exit 3 when not running', async () => {
  const state = await pairedState(gw, 'pi-status');
  await createActiveStream(tlsClient(gw), 'telemetry-pi-status', 1);
  const port = await freePort();
  const config = writeConfig(state, [
    'state:', `  dir: ${state}`,
    'inputs:', '  http:', '    enabled: true', `    port: ${port}`, '    destination: main',
  ]);
  const never = await cli(['status', '-c', config]);
  expect(never.code).toBe(3);
  expect(JSON.parse(never.stdout)).toMatchObject({ running: false, reason: expect.stringContaining('has not run') });

  // Orphans of a killed writer: removed at start.
  fs.mkdirSync(path.join(state, 'uplink'), { recursive: true });
  const orphans = [path.join(state, 'status.json.tmp-4242-0'), path.join(state, 'uplink', 'main.json.tmp-4242-7')];
  for (const f of orphans) fs.writeFileSync(f, 'x');

  let agent = await startAgent(config);
  await waitFor('a status', () => agentStatus(state) !== undefined, 30_000, agent.log);
  for (const f of orphans) expect(fs.existsSync(f), f).toBe(false);
  // No record sent yet: the link is unknown, not up.
  expect(agentStatus(state)!.destinations.main!.link).toBe('unknown');
  const up = await cli(['status', '-c', config]);
  expect(up.code).toBe(0);
  const s = JSON.parse(up.stdout) as { running: boolean; pid: number; startedAt: string; statusAgeMs: number };
  expect(s).toMatchObject({ running: true, pid: agent.proc.pid });
  expect(Date.parse(s.startedAt)).toBeGreaterThan(Date.now() - 60_000);
  expect(s.statusAgeMs).toBeLessThan(15_000);

  agent.proc.kill('SIGKILL');
  await agent.exited;
  const dead = await cli(['status', '-c', config]);
  expect(dead.code).toBe(3);
  expect(JSON.parse(dead.stdout)).toMatchObject({ running: false, pid: agent.proc.pid, reason: expect.stringContaining('is gone') });

  agent = await startAgent(config);
  await waitFor('the new agent to report', () => (agentStatus(state) as { pid?: number } | undefined)?.pid === agent.proc.pid, 30_000, agent.log);
  agent.proc.kill('SIGTERM');
  await agent.exited;
  const stopped = await cli(['status', '-c', config]);
  expect(stopped.code).toBe(3);
  expect(JSON.parse(stopped.stdout)).toMatchObject({ running: false, reason: expect.stringContaining('stopped at') });

  // Without -c: the default config (TRIBUTARY_AGENT_CONFIG stands in for /etc/tributary/agent.yaml), or how to point at one.
  expect((await cli(['status'], { TRIBUTARY_AGENT_CONFIG: config })).code).toBe(3);
  const missing = await cli(['status'], { TRIBUTARY_AGENT_CONFIG: path.join(state, 'nope.yaml') });
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/no config at .*nope\.yaml: point at one with -c <file>.*--state-dir <dir>/);
  expect((await cli(['status', '--state-dir', state])).code).toBe(3);
}, 120_000);

it('logs a lost link once when it goes down and once when it is back, with the retries counted', async () => {
  // The gateway is away at first: the agent starts against a port nobody listens on, then the gateway comes up there.
  const own = await testGateway({ tlsEnabled: true, createDelayMs: 0, enforceLimits: false });
  const gwPort = Number(new URL(own.url).port);
  const state = await pairedState(own, 'pi-link');
  await createActiveStream(tlsClient(own), 'telemetry-pi-link', 1);
  const dataDir = own.dataDir;
  await own.close();
  const port = await freePort();
  const config = writeConfig(state, [
    'state:', `  dir: ${state}`,
    'inputs:', '  http:', '    enabled: true', `    port: ${port}`, '    destination: main',
  ]);
  const agent = await startAgent(config);
  await waitFor('the HTTP input', async () => (await fetch(`http://127.0.0.1:${port}/v1/records?partitionKey=k`, { method: 'POST', body: 'x' }).then((r) => r.status, () => 0)) === 200, 30_000, agent.log);
  const lines = () => agent.log().trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; retries?: number; times?: number });
  // Many retries (200 ms backoff cap) while the gateway is away: none of them is logged on its own.
  const retried = () => (agentStatus(state)?.destinations.main as { retried?: number } | undefined)?.retried ?? 0;
  await waitFor('several retries', () => retried() >= 6, 30_000, agent.log);
  const back = await testGateway({ tlsEnabled: true, createDelayMs: 0, enforceLimits: false, dataDir, port: gwPort });
  try {
    await waitFor('the record delivered', () => agentStatus(state)?.destinations.main?.depthRecords === 0, 60_000, agent.log);
    const downs = lines().filter((l) => l.msg.startsWith('link down'));
    const ups = lines().filter((l) => l.msg === 'link up');
    expect(downs.map((l) => l.level)).toEqual(['warn']);
    expect(ups).toHaveLength(1);
    expect(ups[0]).toMatchObject({ level: 'info' });
    expect(ups[0]!.retries).toBeGreaterThan(3);
    expect(lines().filter((l) => l.msg === 'uplink' && JSON.stringify(l).includes('retry'))).toEqual([]);
  } finally {
    agent.proc.kill('SIGTERM');
    await agent.exited;
    await back.close();
  }
}, 120_000);

it('stops at once on SIGTERM while the gateway is away (the records stay buffered for the next start)', async () => {
  const state = await pairedState(gw, 'pi-quick');
  const port = await freePort();
  const config = writeConfig(state, [
    `  endpoint: https://127.0.0.1:${await freePort()}`,
    'state:', `  dir: ${state}`,
    'inputs:', '  http:', '    enabled: true', `    port: ${port}`, '    destination: main',
  ]);
  const agent = await startAgent(config);
  await waitFor('the HTTP input', async () => (await fetch(`http://127.0.0.1:${port}/v1/records?partitionKey=k`, { method: 'POST', body: 'x' }).then((r) => r.status, () => 0)) === 200, 30_000, agent.log);
  await waitFor('the link to go down', () => agentStatus(state)?.destinations.main?.link === 'down', 30_000, agent.log);
  const t0 = Date.now();
  agent.proc.kill('SIGTERM');
  const exit = await agent.exited;
  expect(exit.code).toBe(0);
  // The stop deadline is 10 s: with nothing sendable, none of it is spent.
  expect(Date.now() - t0).toBeLessThan(5000);
  expect(agentStatus(state)!.destinations.main!.depthRecords).toBe(1);
}, 60_000);

it('refuses a volatile state directory in run and pair alike, unless asked for', async () => {
  const state = fs.mkdtempSync('/tmp/trb-volatile-');
  const config = writeConfig(state, ['state:', `  dir: ${state}`]);
  const refused = await cli(['check-config', '-c', config]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain(`state.dir ${state} is on volatile storage (under /tmp, which does not survive a reboot)`);
  expect(refused.stderr).toContain('set state.volatile: true');
  const { code } = await gw.principals.createPairingCode('pi-volatile', 'device', 60_000);
  const pairRefused = await cli(['pair', gw.url, code, '--ca-fingerprint', gw.caFingerprint!, '--state-dir', state]);
  expect(pairRefused.code).toBe(2);
  expect(pairRefused.stderr).toContain('pass --volatile-state');
  const paired = await cli(['pair', gw.url, code, '--ca-fingerprint', gw.caFingerprint!, '--state-dir', state, '--volatile-state']);
  expect(paired.code, paired.stderr).toBe(0);
  const allowed = writeConfig(state, ['state:', `  dir: ${state}`, '  volatile: true']);
  const agent = await startAgent(allowed);
  try {
    await waitFor('the agent to run', () => /"agent running"/.test(agent.log()), 30_000, agent.log);
    expect(agent.log()).toMatch(/"level":"warn","msg":"state.dir is on volatile storage/);
  } finally {
    agent.proc.kill('SIGTERM');
    await agent.exited;
  }
}, 60_000);
