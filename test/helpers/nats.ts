/**
 * A throwaway NATS JetStream cluster for a test: three (or `nodes`) Debian
 * nats-server processes on spare ports of 127.0.0.1 (never 4222, which a
 * machine's own server may hold), routed to each other, storing JetStream
 * data in a temporary directory. `start` returns once every node reports the
 * same meta leader on its monitoring endpoint (a condition, not a sleep);
 * `kill(i)` sends SIGKILL to one node, `restart(i)` brings it back on the same
 * ports and data, `stop()` ends them all and removes the directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from './wait.ts';

export const natsServerBinary = '/usr/sbin/nats-server';

export interface NatsNode {
  name: string;
  port: number;
  clusterPort: number;
  monitorPort: number;
  child: ChildProcess | undefined;
}

export interface NatsCluster {
  /** Client URLs of every node, `nats://127.0.0.1:<port>`. */
  servers: string[];
  nodes: NatsNode[];
  /** SIGKILL of node `i`; resolves once the process is gone. */
  kill(i: number): Promise<void>;
  /** Starts node `i` again on its ports and data. */
  restart(i: number): Promise<void>;
  /** Resolves once every running node names the same JetStream meta leader. */
  waitForLeader(): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    if (port !== 4222) return port;
  }
}

async function metaLeader(node: NatsNode): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${node.monitorPort}/jsz`);
  const jsz = (await res.json()) as { meta_cluster?: { leader?: string; cluster_size?: number } };
  return jsz.meta_cluster?.leader || undefined;
}

export async function startNatsCluster(o: { nodes?: number; maxPayload?: number } = {}): Promise<NatsCluster> {
  const count = o.nodes ?? 3;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trb-nats-'));
  const nodes: NatsNode[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push({ name: `n${i + 1}`, port: await freePort(), clusterPort: await freePort(), monitorPort: await freePort(), child: undefined });
  }
  const logs = new Map<string, string>();
  const confOf = (n: NatsNode) => {
    const file = path.join(dir, `${n.name}.conf`);
    const routes = nodes.filter((m) => m !== n).map((m) => `nats-route://127.0.0.1:${m.clusterPort}`);
    fs.writeFileSync(file, [
      `server_name: ${n.name}`,
      `listen: 127.0.0.1:${n.port}`,
      `http: 127.0.0.1:${n.monitorPort}`,
      // Kinesis records reach 10 MiB (UpdateMaxRecordSize); one record is one message.
      `max_payload: ${o.maxPayload ?? 12 * 1024 * 1024}`,
      `jetstream { store_dir: "${path.join(dir, n.name)}", max_memory_store: 64MB, max_file_store: 2GB }`,
      ...(count > 1 ? [`cluster { name: trb, listen: 127.0.0.1:${n.clusterPort}, routes: [${routes.join(', ')}] }`] : []),
    ].join('\n') + '\n');
    return file;
  };
  const launch = (n: NatsNode) => {
    const child = spawn(natsServerBinary, ['-c', confOf(n)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => logs.set(n.name, ((logs.get(n.name) ?? '') + d.toString()).slice(-4000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    n.child = child;
  };
  const running = () => nodes.filter((n) => n.child && n.child.exitCode === null && n.child.signalCode === null);
  const waitForLeader = () =>
    waitFor('a JetStream meta leader every node agrees on', async () => {
      for (const n of nodes) if (n.child?.exitCode !== null && n.child?.exitCode !== undefined) throw new Error(`${n.name} exited: ${logs.get(n.name)}`);
      const leaders = await Promise.all(running().map(metaLeader));
      return leaders.every((l) => l && l === leaders[0]) ? leaders[0] : undefined;
    }, { timeoutMs: 60_000, intervalMs: 50 });
  const halt = async (n: NatsNode, signal: NodeJS.Signals) => {
    const child = n.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };
  for (const n of nodes) launch(n);
  await waitForLeader();
  return {
    servers: nodes.map((n) => `nats://127.0.0.1:${n.port}`),
    nodes,
    kill: (i) => halt(nodes[i]!, 'SIGKILL'),
    async restart(i) {
      await halt(nodes[i]!, 'SIGTERM');
      launch(nodes[i]!);
      await waitFor(`${nodes[i]!.name} to listen again`, () => metaLeader(nodes[i]!), { timeoutMs: 60_000, intervalMs: 50 });
    },
    waitForLeader,
    async stop() {
      await Promise.all(nodes.map((n) => halt(n, 'SIGTERM')));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
