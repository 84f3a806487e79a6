// Proves that records handed to the agent through the SDK's AgentProducer over the Unix socket are durable in the real DiskBuffer when put resolves, in order per producer, across an agent killed with SIGKILL and restarted, and that garbage, oversize frames and a full buffer get clear errors without harming other connections.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskBuffer, type BufferOptions, type BufferedRecord } from '../../agent/buffer/index.ts';
import { parseAgentConfig } from '../../agent/config.ts';
import { SocketInput, parseSocketInputConfig, type SocketInputEvent } from '../../agent/inputs/socket.ts';
import { AgentFrameDecoder, encodeFrame, type AgentFrame } from '../../sdk/protocol/agent-socket.ts';
import { AgentProducer, type AgentPutResult } from '../../sdk/streams/agent-producer.ts';
import { waitFor } from '../helpers/wait.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tmpRoot(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-sock-'));
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

async function startAgent(root: string, options: BufferOptions = { fsync: 'always' }, extra: Record<string, unknown> = {}) {
  const buffer = await DiskBuffer.openDestination(path.join(root, 'buffer'), 'telemetry', options);
  const events: SocketInputEvent[] = [];
  const input = new SocketInput(
    parseSocketInputConfig({ path: path.join(root, 'run', 'agent.sock'), destination: 'telemetry', ...extra }),
    new Map([['telemetry', buffer]]),
    { onEvent: (e) => events.push(e) },
  );
  await input.start();
  const stop = async () => {
    await input.stop();
    await buffer.close();
  };
  cleanups.push(stop);
  return { buffer, input, events, socketPath: path.join(root, 'run', 'agent.sock'), stop };
}

function producer(socketPath: string, o: Partial<ConstructorParameters<typeof AgentProducer>[0]> = {}): AgentProducer {
  const p = new AgentProducer({ socketPath, reconnectMinMs: 20, reconnectMaxMs: 200, ...o });
  cleanups.push(() => p.close());
  return p;
}

async function readAll(buffer: DiskBuffer): Promise<BufferedRecord[]> {
  const out: BufferedRecord[] = [];
  for (;;) {
    const got = await buffer.peek(10_000, 64 * 1024 * 1024);
    if (got.length === 0) return out;
    out.push(...got);
    await buffer.ack(got.at(-1)!.position);
  }
}

/** A raw client that records the frames the agent sends and when it closes. */
function rawClient(socketPath: string) {
  const socket = net.createConnection({ path: socketPath });
  const frames: AgentFrame[] = [];
  const decoder = new AgentFrameDecoder({ frameBytesMax: 1 << 24 });
  socket.on('data', (c: Buffer) => frames.push(...decoder.push(c)));
  socket.on('error', () => {});
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  return { socket, frames, closed, connected: new Promise<void>((r) => socket.once('connect', () => r())) };
}

const hello = (name: string) => encodeFrame({ type: 'hello', versionMin: 1, versionMax: 1, pid: 1, clientName: name });

describe('agent socket: AgentProducer → SocketInput → DiskBuffer', () => {
  it('makes 10,000 records from each of two producers durable, in order per producer', async () => {
    const root = tmpRoot();
    const agent = await startAgent(root);
    const st = fs.statSync(agent.socketPath);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
    const n = 10_000;
    const run = async (name: string) => {
      const p = producer(agent.socketPath, { clientName: name, batchRecordsMax: 500 });
      const puts: Array<Promise<AgentPutResult>> = [];
      for (let i = 0; i < n; i++) puts.push(p.put(JSON.stringify({ name, i }), { partitionKey: `${name}-${i % 13}` }));
      return Promise.all(puts);
    };
    const [a, b] = await Promise.all([run('app-a'), run('app-b')]);
    expect(a[0]).toEqual({ destination: 'telemetry', source: 'socket:app-a', bufferSequence: 0 });
    const records = await readAll(agent.buffer);
    expect(records).toHaveLength(2 * n);
    for (const [name, results] of [['app-a', a], ['app-b', b]] as const) {
      const mine = records.filter((r) => r.source === `socket:${name}`);
      expect(mine.map((r) => (JSON.parse(r.data.toString()) as { i: number }).i)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(mine.map((r) => r.seq)).toEqual(results.map((r) => r.bufferSequence));
      expect(mine[5]!.partitionKey).toBe(`${name}-5`);
    }
    expect(agent.input.counters()).toMatchObject({ buffered: 2 * n, refused: 0, protocolErrors: 0 });
  }, 60_000);

  it('measures throughput (printed) with fsync always and never', async () => {
    for (const fsync of ['always', 'never']) {
      const root = tmpRoot();
      const agent = await startAgent(root, { fsync, segmentBytes: 64 * 1024 * 1024, capBytes: 1024 * 1024 * 1024 });
      const p = producer(agent.socketPath, { clientName: 'bench' });
      const n = 100_000;
      const data = Buffer.alloc(100, 7);
      await p.put(data, { partitionKey: 'warm' });
      const t0 = performance.now();
      const puts: Array<Promise<AgentPutResult>> = [];
      for (let i = 0; i < n; i++) {
        const put = p.put(data, { partitionKey: `k${i & 63}` });
        // Waiting on every thousandth put keeps the producer's in-flight bound honest without serializing.
        if (i % 1000 === 999) await put;
        else puts.push(put);
      }
      await Promise.all(puts);
      const rate = Math.round(n / ((performance.now() - t0) / 1000));
      console.log(`agent socket throughput, fsync ${fsync}: ${rate} records/s (100-byte records)`);
      expect(agent.buffer.stats().depthRecords).toBe(n + 1);
      expect(rate).toBeGreaterThan(2000);
      await agent.stop();
    }
  }, 120_000);

  it('reconnects after a graceful agent restart; every resolved put is in the buffer', async () => {
    const root = tmpRoot();
    let agent = await startAgent(root);
    const p = producer(agent.socketPath, { clientName: 'app', batchRecordsMax: 100 });
    const resolved = new Map<number, AgentPutResult>();
    const puts: Array<Promise<void>> = [];
    for (let i = 0; i < 5000; i++) {
      puts.push(p.put(String(i), { partitionKey: 'k' }).then((r) => void resolved.set(i, r)));
      if (i === 2000) {
        await puts.at(-1);
        await agent.stop();
        agent = await startAgent(root);
      }
    }
    await Promise.all(puts);
    await p.flush();
    const records = await readAll(agent.buffer);
    const ids = records.map((r) => Number(r.data.toString()));
    expect(new Set(ids).size).toBe(5000);
    expect(firstOccurrences(ids)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  }, 60_000);

  it('survives kill -9 of the agent mid-stream: every put that resolved is in the buffer after restart', async () => {
    const root = tmpRoot();
    const socketPath = path.join(root, 'run', 'agent.sock');
    let child = await spawnAgent(root, socketPath);
    const p = producer(socketPath, { clientName: 'crashy', batchRecordsMax: 200, inFlightRecordsMax: 4000 });
    const n = 20_000;
    const resolved = new Map<number, AgentPutResult>();
    const puts: Array<Promise<void>> = [];
    let killed = false;
    for (let i = 0; i < n; i++) {
      puts.push(p.put(String(i), { partitionKey: `k${i % 5}` }).then((r) => {
        resolved.set(i, r);
        if (!killed && resolved.size >= 6000) {
          killed = true;
          child.kill('SIGKILL');
        }
      }));
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    await waitFor('the kill', () => killed);
    await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
    const resolvedAtKill = new Map(resolved);
    child = await spawnAgent(root, socketPath);
    await Promise.all(puts);
    child.kill('SIGKILL');
    await new Promise<void>((r) => child.once('exit', () => r()));
    const buffer = await DiskBuffer.openDestination(path.join(root, 'buffer'), 'telemetry', { fsync: 'always' });
    cleanups.push(() => buffer.close());
    const records = await readAll(buffer);
    const bySeq = new Map(records.map((r) => [r.seq, Number(r.data.toString())]));
    for (const [i, r] of resolved) expect(bySeq.get(r.bufferSequence)).toBe(i);
    const ids = records.map((r) => Number(r.data.toString()));
    expect(firstOccurrences(ids)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(resolvedAtKill.size).toBeGreaterThanOrEqual(6000);
    expect(resolvedAtKill.size).toBeLessThan(n);
  }, 120_000);
});

describe('agent socket: exactly once', () => {
  // Issue #15: batches the agent made durable but had not acknowledged when it died are sent again by the producer;
  // the agent recognizes them by producer session and request id (persisted in its state directory) and stores them once.
  it('stores every put exactly once across repeated kill -9s of the agent', async () => {
    const root = tmpRoot();
    const socketPath = path.join(root, 'run', 'agent.sock');
    let child = await spawnAgent(root, socketPath);
    const p = producer(socketPath, { clientName: 'once', batchRecordsMax: 100, inFlightRecordsMax: 4000 });
    const n = 20_000;
    const resolved = new Set<number>();
    const puts: Array<Promise<void>> = [];
    const kills = [3000, 8000, 13000];
    for (let i = 0; i < n; i++) {
      puts.push(p.put(String(i), { partitionKey: `k${i % 5}` }).then(() => void resolved.add(i)));
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    // Kill while puts are in flight (the producer is ahead of the agent), then restart at once.
    while (kills.length > 0) {
      await new Promise((r) => setTimeout(r, 5));
      if (resolved.size < kills[0]!) continue;
      kills.shift();
      child.kill('SIGKILL');
      await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
      child = await spawnAgent(root, socketPath);
    }
    await Promise.all(puts);
    child.kill('SIGKILL');
    await new Promise<void>((r) => child.once('exit', () => r()));
    const buffer = await DiskBuffer.openDestination(path.join(root, 'buffer'), 'telemetry', { fsync: 'always' });
    cleanups.push(() => buffer.close());
    const ids = (await readAll(buffer)).map((r) => Number(r.data.toString()));
    expect(kills, 'all three kills happened').toEqual([]);
    expect(ids.length - new Set(ids).size, 'records stored twice').toBe(0);
    expect([...ids].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(firstOccurrences(ids)).toEqual(Array.from({ length: n }, (_, i) => i));
  }, 120_000);
});

describe('agent socket: backpressure', () => {
  it('stops reading a connection whose appends are not answered; the producer waits, then everything lands', async () => {
    const root = tmpRoot();
    const buffer = await DiskBuffer.openDestination(path.join(root, 'buffer'), 'telemetry', { fsync: 'never' });
    cleanups.push(() => buffer.close());
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const held = { append: async (records: Parameters<DiskBuffer['append']>[0]) => {
      calls++;
      await gate;
      return buffer.append(records);
    } };
    const sock = path.join(root, 'agent.sock');
    const input = new SocketInput(parseSocketInputConfig({ path: sock, destination: 'telemetry', batchesInFlightMax: 4 }), new Map([['telemetry', held]]));
    await input.start();
    cleanups.push(() => input.stop());
    cleanups.push(() => release());
    const p = producer(sock, { batchRecordsMax: 10, inFlightRecordsMax: 1000, lingerMs: 1 });
    let resolved = 0;
    const puts = Array.from({ length: 3000 }, (_, i) => p.put(Buffer.alloc(100, i), { partitionKey: 'k' }).then(() => void resolved++));
    await waitFor('appends up to the bound', () => calls >= 4);
    // Room for a fifth call, which must not come: the kernel's socket buffers hold some frames, but the input calls
    // append only up to its bound.
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(4);
    expect(resolved).toBe(0);
    release();
    await Promise.all(puts);
    expect(buffer.stats().depthRecords).toBe(3000);
  }, 30_000);
});

describe('agent socket: errors', () => {
  it('closes a connection that sends garbage with an error frame; other connections carry on', async () => {
    const agent = await startAgent(tmpRoot());
    const p = producer(agent.socketPath, { clientName: 'good' });
    await p.put('before', { partitionKey: 'k' });
    const bad = rawClient(agent.socketPath);
    await bad.connected;
    bad.socket.write(Buffer.from('\x00\x00\x00\x09\x09garbage!'));
    await bad.closed;
    expect(bad.frames).toEqual([{ type: 'error', code: 'AGENT_PROTOCOL_INVALID', message: expect.stringContaining('unknown frame type 9') }]);
    const http = rawClient(agent.socketPath);
    await http.connected;
    http.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await http.closed;
    expect(http.frames[0]).toMatchObject({ type: 'error', code: 'AGENT_FRAME_TOO_LARGE' });
    expect((await p.put('after', { partitionKey: 'k' })).bufferSequence).toBe(1);
    expect(agent.input.counters().protocolErrors).toBe(2);
    expect(agent.events.filter((e) => e.kind === 'protocol-error')).toHaveLength(2);
  }, 30_000);

  it('answers frames read before garbage, then closes with an error', async () => {
    const agent = await startAgent(tmpRoot(), { fsync: 'always' }, { frameBytesMax: 2 * 1024 * 1024 });
    const c = rawClient(agent.socketPath);
    await c.connected;
    c.socket.write(Buffer.concat([
      hello('raw'),
      encodeFrame({ type: 'put', requestId: 1, destination: '', records: [{ partitionKey: 'k', data: Buffer.from('one') }] }),
      Buffer.from([0, 0x40, 0, 0, 3]),
    ]));
    await c.closed;
    expect(c.frames.map((f) => f.type)).toEqual(['welcome', 'ack', 'error']);
    // A version 1 client (hello offers 1 to 1) is still spoken to in version 1.
    expect(c.frames[0]).toMatchObject({ version: 1 });
    expect(c.frames[2]).toMatchObject({ code: 'AGENT_FRAME_TOO_LARGE' });
    expect(agent.buffer.stats().depthRecords).toBe(1);
  }, 30_000);

  it('rejects puts with BUFFER_FULL when the buffer is full under reject-newest', async () => {
    const agent = await startAgent(tmpRoot(), { fsync: 'never', segmentBytes: 64 * 1024, capBytes: 1024 * 1024, capPolicy: 'reject-newest' });
    const p = producer(agent.socketPath, { clientName: 'filler' });
    const data = Buffer.alloc(16 * 1024, 1);
    let err: unknown;
    for (let i = 0; i < 200 && !err; i++) {
      await p.put(data, { partitionKey: 'k' }).catch((e: unknown) => (err = e));
    }
    expect(err).toMatchObject({ code: 'BUFFER_FULL', message: expect.stringContaining('is full') });
    expect(agent.input.counters().refused).toBeGreaterThan(0);
    await expect(p.put(data, { partitionKey: 'k' })).rejects.toMatchObject({ code: 'BUFFER_FULL' });
  }, 30_000);

  it('rejects puts for an unknown destination, and puts past the in-flight bound with onFull: reject', async () => {
    const agent = await startAgent(tmpRoot());
    const lost = producer(agent.socketPath, { destination: 'nowhere' });
    await expect(lost.put('x', { partitionKey: 'k' })).rejects.toMatchObject({ code: 'AGENT_DESTINATION_UNKNOWN', message: expect.stringContaining('nowhere') });
    const tight = producer(agent.socketPath, { onFull: 'reject', batchRecordsMax: 10, inFlightRecordsMax: 10 });
    const ok = Array.from({ length: 10 }, (_, i) => tight.put(String(i), { partitionKey: 'k' }));
    await expect(tight.put('11', { partitionKey: 'k' })).rejects.toMatchObject({ code: 'PRODUCER_FULL' });
    await Promise.all(ok);
    await expect(tight.put('x', { partitionKey: '' })).rejects.toMatchObject({ code: 'PRODUCER_INVALID' });
  }, 30_000);

  it('replaces a stale socket file but refuses to start over a live agent', async () => {
    const root = tmpRoot();
    const sock = path.join(root, 'run', 'agent.sock');
    fs.mkdirSync(path.dirname(sock), { recursive: true });
    // A socket file nobody listens on, as a killed agent leaves behind.
    const stale = net.createServer().listen(sock);
    await new Promise((r) => stale.once('listening', r));
    const fd = (stale as unknown as { _handle: { fd: number } })._handle.fd;
    expect(fd).toBeGreaterThanOrEqual(0);
    // Closing a Node server removes its file; a hard link keeps one to stand in for a dead agent's leftover.
    fs.linkSync(sock, sock + '.keep');
    await new Promise((r) => stale.close(r));
    fs.renameSync(sock + '.keep', sock);
    const agent = await startAgent(root);
    const p = producer(agent.socketPath);
    expect((await p.put('x', { partitionKey: 'k' })).bufferSequence).toBe(0);
    const second = new SocketInput(parseSocketInputConfig({ path: sock, destination: 'telemetry' }), new Map([['telemetry', agent.buffer]]));
    await expect(second.start()).rejects.toMatchObject({ code: 'INPUT_CONFIG_INVALID', message: expect.stringContaining('another process') });
  }, 30_000);
});

describe('agent socket: config', () => {
  const yaml = (socket: string) => [
    'gateway:', '  credentials: /var/lib/tributary/credentials.json', 'destinations:', '  telemetry:', '    stream: t', 'inputs:', socket,
  ].join('\n');

  it('reads inputs.socket from the agent config into the input config', () => {
    const c = parseAgentConfig(yaml('  socket:\n    path: /run/x/agent.sock\n    mode: "0600"\n    destination: telemetry'), 'agent.yaml');
    expect(parseSocketInputConfig(c.inputs.socket)).toMatchObject({ path: '/run/x/agent.sock', mode: 0o600, destination: 'telemetry' });
    const d = parseAgentConfig(yaml('  http: { enabled: false }'), 'agent.yaml');
    expect(parseSocketInputConfig(d.inputs.socket)).toMatchObject({ path: '/run/tributary/agent.sock', mode: 0o660, destination: undefined });
  });

  it('names the field for a bad mode, a relative path or an unknown destination', () => {
    // YAML 1.2 reads an unquoted 0660 as the number 660; its digits still mean the octal mode.
    expect(parseSocketInputConfig(parseAgentConfig(yaml('  socket:\n    mode: 0660'), 'agent.yaml').inputs.socket).mode).toBe(0o660);
    expect(() => parseAgentConfig(yaml('  socket:\n    mode: "0968"'), 'agent.yaml')).toThrow(/inputs\.socket\.mode/);
    expect(() => parseAgentConfig(yaml('  socket:\n    path: run/agent.sock'), 'agent.yaml')).toThrow(/inputs\.socket\.path/);
    expect(() => parseAgentConfig(yaml('  socket:\n    destination: nowhere'), 'agent.yaml')).toThrow(/inputs\.socket\.destination names destination "nowhere"/);
    expect(() => parseSocketInputConfig({ path: '/x', extra: 1 })).toThrow(/unknown key extra/);
  });
});

function firstOccurrences(ids: number[]): number[] {
  const seen = new Set<number>();
  return ids.filter((i) => !seen.has(i) && seen.add(i));
}

/** The agent's socket path in a child process, so that SIGKILL is a real crash. */
async function spawnAgent(root: string, socketPath: string): Promise<ChildProcess> {
  const script = `
    const { DiskBuffer } = await import(${JSON.stringify(path.join(repo, 'agent/buffer/index.ts'))});
    const { SocketInput, parseSocketInputConfig } = await import(${JSON.stringify(path.join(repo, 'agent/inputs/socket.ts'))});
    const buffer = await DiskBuffer.openDestination(process.env.ROOT + '/buffer', 'telemetry', { fsync: 'always' });
    const input = new SocketInput(parseSocketInputConfig({ path: process.env.SOCK, destination: 'telemetry', stateDir: process.env.ROOT + '/inputs' }), new Map([['telemetry', buffer]]));
    await input.start();
    process.stdout.write('ready\\n');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repo, env: { ...process.env, ROOT: root, SOCK: socketPath }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`agent child exited ${code}: ${err}`)));
  });
  return child;
}
