/**
 * A private Mosquitto for a test: the shipped configs/mosquitto/tributary.conf
 * (or Mosquitto's defaults), listening on a spare port on 127.0.0.1 (never
 * 1883, which a machine's own broker may hold), persisting into a temporary
 * directory. Stopped and removed by `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './spawn-gateway.ts';

export const mosquittoBinary = '/usr/sbin/mosquitto';
export const shippedMosquittoConf = path.join(repoRoot, 'configs/mosquitto/tributary.conf');

export interface Mosquitto {
  url: string;
  port: number;
  /** Stops the broker (SIGTERM: it saves its persistence file) and starts it again on the same port and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function listening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited (${child.exitCode}): ${log()}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      }).once('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > until) throw new Error(`mosquitto did not listen on ${port}: ${log()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Starts Mosquitto with the shipped config (`shipped: false`: its defaults) plus `extra` lines. */
export async function startMosquitto(o: { shipped?: boolean; extra?: string[] } = {}): Promise<Mosquitto> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trb-mosquitto-'));
  const port = await freePort();
  const base = o.shipped === false ? ['allow_anonymous true'] : fs.readFileSync(shippedMosquittoConf, 'utf8').split('\n').filter((l) => !/^\s*listener\b/.test(l));
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, [...base, `listener ${port} 127.0.0.1`, `persistence_location ${dir}/`, ...(o.extra ?? [])].join('\n') + '\n');
  let child: ChildProcess;
  let out = '';
  const launch = async () => {
    child = spawn(mosquittoBinary, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await listening(port, child, () => out.slice(-2000));
  };
  const halt = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  await launch();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async restart() {
      await halt();
      await launch();
    },
    async stop() {
      await halt();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
