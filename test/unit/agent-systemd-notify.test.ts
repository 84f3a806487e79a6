// Proves the agent's sd_notify messages reach a NOTIFY_SOCKET: a Unix
// datagram socket the test listens on (with python3, since Node has no
// datagram Unix sockets), fed by Debian's real systemd-notify.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, expect, it } from 'vitest';
import { createNotifier } from '../../agent/systemd-notify.ts';
import { tempDir } from '../helpers/gateway.ts';
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

const children: Array<{ kill(): void }> = [];
afterEach(() => children.splice(0).forEach((c) => c.kill()));

it('sends READY, STATUS, WATCHDOG and STOPPING to the notify socket', async () => {
  const dir = tempDir('trb-notify-');
  const sock = path.join(dir, 'notify.sock');
  const script = path.join(dir, 'listen.py');
  fs.writeFileSync(script, listener);
  const py = spawn('python3', [script, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(py);
  const lines: string[] = [];
  const pings: number[] = [];
  await new Promise<void>((resolve) => {
    readline.createInterface({ input: py.stdout }).on('line', (l) => {
      if (l === 'listening') resolve();
      else if (l !== 'BARRIER=1') lines.push(l); // systemd-notify's own synchronisation message
      if (l.includes('WATCHDOG=1')) pings.push(performance.now());
    });
  });
  const n = createNotifier({ ...process.env, NOTIFY_SOCKET: sock, WATCHDOG_USEC: '400000' });
  await n.ready('buffering 0 records');
  n.startWatchdog(() => true);
  await waitFor('five watchdog pings', () => pings.length >= 5);
  n.stopWatchdog();
  await n.stopping();
  await waitFor('STOPPING=1', () => lines.some((l) => l.includes('STOPPING=1')));
  expect(lines[0]).toMatch(/^MAINPID=\d+\|READY=1\|STATUS=buffering 0 records$/);
  // Pings at half of WATCHDOG_USEC (200 ms): the median gap is under the 400 ms systemd allows, whatever a busy machine delays.
  const gaps = pings.slice(1, 5).map((t, i) => t - pings[i]!).sort((a, b) => a - b);
  expect(gaps[2]).toBeLessThan(400);
  // A ping already on its way may land after it; nothing else does.
  expect(lines.filter((l) => !l.includes('WATCHDOG=1')).at(-1)).toMatch(/STOPPING=1$/);
});

it('is silent outside systemd', async () => {
  const n = createNotifier({}, '/nonexistent/systemd-notify');
  await n.ready();
  n.startWatchdog(() => true);
  n.stopWatchdog();
  await n.stopping();
});
