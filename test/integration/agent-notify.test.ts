// Proves the real agent process (its bundle) speaks sd_notify as its unit
// file expects (Type=notify, WatchdogSec): READY=1 once running, WATCHDOG=1
// at half the watchdog interval, STOPPING=1 on SIGTERM, on a NOTIFY_SOCKET
// this test listens on (python3: Node has no datagram Unix sockets).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, expect, it } from 'vitest';
import { testGateway } from '../helpers/gateway.ts';
import { agentBundle, pairedState } from '../helpers/agent-process.ts';
import { repoRoot } from '../helpers/spawn-gateway.ts';
import { waitFor } from '../helpers/wait.ts';

const listener = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    data = s.recv(4096)
    print(data.decode().replace("\\n", "|"), flush=True)
`;

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

it('sends READY, WATCHDOG and STOPPING from the running agent to NOTIFY_SOCKET', async () => {
  const gw = await testGateway({ tlsEnabled: true, createDelayMs: 0 });
  cleanups.push(() => gw.close());
  const state = await pairedState(gw, 'pi-notify');
  const sock = path.join(state, 'notify.sock');
  const script = path.join(state, 'listen.py');
  fs.writeFileSync(script, listener);
  const py = spawn('python3', [script, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => py.kill());
  const lines: string[] = [];
  const pings: number[] = [];
  await new Promise<void>((resolve) => {
    readline.createInterface({ input: py.stdout! }).on('line', (l) => {
      if (l === 'listening') resolve();
      else if (l !== 'BARRIER=1') lines.push(l);
      if (l.includes('WATCHDOG=1') && lines.some((x) => x.includes('READY=1'))) pings.push(performance.now());
    });
  });
  const config = path.join(state, 'agent.yaml');
  fs.writeFileSync(config, [
    'gateway:', `  credentials: ${path.join(state, 'credentials.json')}`,
    'state:', `  dir: ${state}`,
    'destinations:', '  main:', '    stream: telemetry-${device}',
    'metrics:', '  port: 0',
  ].join('\n') + '\n');
  const agent = spawn(process.execPath, [await agentBundle(), 'run', '-c', config], {
    cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NOTIFY_SOCKET: sock, WATCHDOG_USEC: '600000' },
  });
  const exited = new Promise<number | null>((r) => agent.once('exit', (code) => r(code)));
  cleanups.push(() => agent.kill('SIGKILL'));
  await waitFor('READY=1', () => lines.some((l) => l.includes('READY=1')), { timeoutMs: 30_000 });
  await waitFor('five watchdog pings after READY', () => pings.length >= 5);
  agent.kill('SIGTERM');
  expect(await exited).toBe(0);
  await waitFor('STOPPING=1', () => lines.some((l) => l.includes('STOPPING=1')));
  const ready = lines.findIndex((l) => l.includes('READY=1'));
  expect(lines[ready]).toMatch(/MAINPID=\d+/);
  // Pings at half of WATCHDOG_USEC (300 ms): the median gap is under the 600 ms systemd allows, whatever a busy machine delays.
  const gaps = pings.slice(1, 5).map((t, i) => t - pings[i]!).sort((a, b) => a - b);
  expect(gaps[2]).toBeLessThan(600);
}, 60_000);
