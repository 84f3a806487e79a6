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
  await new Promise<void>((resolve) => {
    readline.createInterface({ input: py.stdout! }).on('line', (l) => {
      if (l === 'listening') resolve();
      else if (l !== 'BARRIER=1') lines.push(l);
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
  for (let i = 0; i < 200 && !lines.some((l) => l.includes('READY=1')); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1000)); // at least three watchdog periods of 300 ms
  agent.kill('SIGTERM');
  expect(await exited).toBe(0);
  await new Promise((r) => setTimeout(r, 300));
  const ready = lines.findIndex((l) => l.includes('READY=1'));
  expect(ready, lines.join('\n')).toBeGreaterThanOrEqual(0);
  expect(lines[ready]).toMatch(/MAINPID=\d+/);
  expect(lines.slice(ready).filter((l) => l.includes('WATCHDOG=1')).length).toBeGreaterThanOrEqual(2);
  expect(lines.some((l) => l.includes('STOPPING=1'))).toBe(true);
}, 60_000);
