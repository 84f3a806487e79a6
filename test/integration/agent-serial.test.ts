// Proves the agent's serial input (issue #7) end to end: a simulated MCU process on one side of a socat pty pair sends frames with
// noise, torn frames, CRC failures, lost acks, a reset mid-frame and a burst; the input on the other side decodes them into a real
// DiskBuffer drained by a real Uplink into a real gateway stream, where every valid frame is read back exactly once and no garbage.
// Killing socat (the ptys vanish) and starting it again with the same link names shows the reconnect; a sink that holds or fails
// its appends shows that acks follow durability and nacks follow failures.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { createActiveStream, kinesisClient, tempDir, testGateway, testOperator } from '../helpers/gateway.ts';
import { McuSim } from '../helpers/mcu-sim.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { DiskBuffer, type AppendRecord } from '../../agent/buffer/index.ts';
import { Uplink } from '../../agent/uplink/index.ts';
import type { RecordSink } from '../../agent/inputs/common.ts';
import { loadSerialState, parseSerialPortConfig, SerialInput, serialStateFile, type SerialInputEvent } from '../../agent/inputs/serial.ts';
import { NackReason } from '../../firmware-bridge/index.ts';
import { parseAgentConfig } from '../../agent/config.ts';
import { runAgent } from '../../agent/daemon.ts';
import { createNotifier } from '../../agent/systemd-notify.ts';

const socat = fs.existsSync('/usr/bin/socat') ? '/usr/bin/socat' : 'socat';
const root = path.resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A pty pair: `<dir>/mcu` for the simulated MCU, `<dir>/dev` for the agent. */
async function startSocat(dir: string): Promise<ChildProcess> {
  const p = spawn(socat, ['-d', '-d', `pty,raw,echo=0,link=${dir}/mcu`, `pty,raw,echo=0,link=${dir}/dev`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr += String(d)));
  await waitFor(`socat links (${stderr})`, () => fs.existsSync(`${dir}/mcu`) && fs.existsSync(`${dir}/dev`) && stderr.includes('starting data transfer loop'), 10_000);
  return p;
}

async function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}

interface SimProcess {
  child: ChildProcess;
  events: Array<Record<string, unknown>>;
  done: Promise<{ valid: number[]; garbage: number[]; stats: Record<string, number> }>;
}

function startSim(args: Record<string, unknown>): SimProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/mcu-sim.ts', JSON.stringify(args)], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  const events: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const done = new Promise<{ valid: number[]; garbage: number[]; stats: Record<string, number> }>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = JSON.parse(line) as Record<string, unknown>;
      events.push(e);
      if (e.event === 'done') resolve(e as never);
    });
    child.on('exit', (code) => reject(new Error(`mcu-sim exited with ${code}: ${stderr}`)));
  });
  return { child, events, done };
}

let gw: Gateway;
let c: KinesisClient;
beforeAll(async () => {
  gw = await testGateway({ createDelayMs: 0 });
  c = kinesisClient(gw.url);
});
afterAll(() => gw.close());

interface StreamRecord { partitionKey: string; body: Record<string, unknown> }

async function readAll(name: string): Promise<StreamRecord[]> {
  const out: StreamRecord[] = [];
  const { Shards } = await c.send(new ListShardsCommand({ StreamName: name }));
  for (const s of Shards!) {
    let { ShardIterator } = await c.send(new GetShardIteratorCommand({ StreamName: name, ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    for (;;) {
      await sleep(210); // The read limit: 5 calls/s per shard.
      const r = await c.send(new GetRecordsCommand({ ShardIterator }));
      for (const x of r.Records!) out.push({ partitionKey: x.PartitionKey!, body: JSON.parse(Buffer.from(x.Data!).toString()) as Record<string, unknown> });
      if (!r.Records!.length || !r.NextShardIterator) break;
      ShardIterator = r.NextShardIterator;
    }
  }
  return out;
}

/** The id the simulated MCU put in a record: the first telemetry value, or the number in a log line. */
function idOf(r: StreamRecord): number {
  if (r.body.kind === 'log') return Number(String(r.body.text).replace(/^log-/, ''));
  return (r.body.values as number[])[0]!;
}

function expectExactlyOnce(records: StreamRecord[], valid: number[], garbage: number[]): void {
  const ids = records.map(idOf);
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  const missing = valid.filter((id) => !counts.has(id));
  const bad = garbage.filter((id) => counts.has(id));
  expect({ twice, missing: missing.slice(0, 20), missingCount: missing.length, garbageFound: bad }).toEqual({ twice: [], missing: [], missingCount: 0, garbageFound: [] });
  expect(ids.length).toBe(valid.length);
}

/** A buffer and an uplink into a fresh stream, as the daemon builds them. */
async function pipeline(stream: string): Promise<{ buffer: DiskBuffer; uplink: Uplink; close(): Promise<void> }> {
  await createActiveStream(c, stream, 2);
  const buffer = await DiskBuffer.open(tempDir('trb-serial-buf-'), { fsync: 'always' });
  const uplink = new Uplink({
    buffer, stream, endpoint: gw.url, region: 'us-east-1', credentials: testOperator, retryBaseMs: 20, retryMaxMs: 500,
    requestTimeoutMs: 5000, idlePollMs: 20,
  });
  uplink.start();
  return {
    buffer, uplink,
    async close() {
      await uplink.stop({ deadlineMs: 2000 });
      await buffer.close();
    },
  };
}

describe('serial input', () => {
  it('brings every valid frame of a noisy line, a mid-frame reset and a burst to the stream exactly once, and no garbage', async () => {
    const dir = tempDir('trb-serial-');
    const link = await startSocat(dir);
    const p = await pipeline('serial-e2e');
    const events: SerialInputEvent[] = [];
    const input = new SerialInput([parseSerialPortConfig({
      name: 'node-1', path: `${dir}/dev`, baud: 921600, destination: 'telemetry', sensors: { 1: { name: 'air' }, 3: { partitionKey: 'burst' } },
      stateDir: tempDir('trb-serial-state-'),
    })], new Map([['telemetry', p.buffer]]), { onEvent: (e) => events.push(e) });
    try {
      input.start();
      await input.ready();
      const sim = startSim({ path: `${dir}/mcu`, scenario: 'full', bootId: 0x1000, ignoreFirstAckEvery: 7, burst: 1000 });
      const { valid, garbage, stats } = await sim.done;
      expect(stats.retransmits).toBeGreaterThan(0);
      await waitFor('all records sent', () => p.buffer.stats().depthRecords === 0 && p.uplink.stats().sentRecords >= valid.length, 120_000);
      const records = await readAll('serial-e2e');
      expectExactlyOnce(records, valid, garbage);

      const counters = input.counters()['node-1']!;
      expect(counters.records).toBe(valid.length);
      expect(counters.crcErrors + counters.badCobs + counters.tooShort).toBeGreaterThan(0);
      expect(counters.resyncs).toBeGreaterThan(0);
      expect(counters.duplicates).toBeGreaterThan(0);
      expect(counters.sessions).toBe(2);
      expect(counters.bootId).toBe(0x1001);
      expect(counters.connected).toBe(true);
      expect(counters.clockSynced).toBe(true);
      expect(counters.lastSeenMs).toBeGreaterThan(Date.now() - 60_000);
      expect(events.filter((e) => e.kind === 'hello' && e.newSession)).toHaveLength(2);

      const air = records.find((r) => r.body.sensor === 'air')!;
      expect(air.partitionKey).toBe('node-1/air');
      expect(air.body).toMatchObject({ kind: 'telemetry', device: 'node-1', sensorId: 1, encoding: 'compact', kinds: ['u32', 'f32', 'i16'] });
      expect((air.body.values as number[]).slice(1)).toEqual([21.5, -40]);
      expect(records.filter((r) => r.body.sensorId === 3).every((r) => r.partitionKey === 'burst')).toBe(true);
      expect(records.filter((r) => r.body.sensorId === 2).every((r) => r.partitionKey === 'node-1/2')).toBe(true);
      const log = records.find((r) => r.body.kind === 'log')!;
      expect(log).toMatchObject({ partitionKey: 'node-1/log', body: { level: 'warn' } });
      // Once synced, uptimes become wall-clock times near now.
      const synced = records.filter((r) => r.body.timeSource === 'uptime-synced');
      expect(synced.length).toBeGreaterThan(valid.length / 2);
      for (const r of synced) expect(Math.abs((r.body.timeMs as number) - Date.now())).toBeLessThan(300_000);
    } finally {
      await input.stop();
      await p.close();
      await stopProcess(link);
    }
  }, 240_000);

  it('reconnects after the pty vanishes and comes back under the same name, and data continues exactly once', async () => {
    const dir = tempDir('trb-serial-');
    let link = await startSocat(dir);
    const p = await pipeline('serial-unplug');
    const input = new SerialInput([parseSerialPortConfig({
      path: `${dir}/d*`, name: 'glob-port', destination: 'telemetry', reopenMinMs: 50, reopenMaxMs: 400, pathCheckMs: 200,
      stateDir: tempDir('trb-serial-state-'),
    })], new Map([['telemetry', p.buffer]]));
    const sim = startSim({ path: `${dir}/mcu`, scenario: 'stream', intervalMs: 10, ignoreFirstAckEvery: 0 });
    try {
      input.start();
      await input.ready();
      const acked = () => sim.events.filter((e) => e.event === 'acked').length;
      await waitFor('first acks', () => acked() >= 30);
      await stopProcess(link);
      await waitFor('port closed', () => !input.counters()['glob-port']!.connected, 10_000);
      await sleep(500);
      const before = acked();
      link = await startSocat(dir);
      await waitFor('reopened', () => input.counters()['glob-port']!.opens === 2, 20_000);
      await waitFor('acks after the reconnect', () => acked() >= before + 50, 30_000);
      sim.child.stdin!.write('finish\n');
      const { valid } = await sim.done;
      await waitFor('all records sent', () => p.buffer.stats().depthRecords === 0 && p.uplink.stats().sentRecords >= valid.length, 120_000);
      expectExactlyOnce(await readAll('serial-unplug'), valid, []);
      const counters = input.counters()['glob-port']!;
      expect(counters.sessions).toBe(1);
      expect(counters.device).toBe(fs.realpathSync(`${dir}/dev`));
    } finally {
      await stopProcess(sim.child);
      await input.stop();
      await p.close();
      await stopProcess(link);
    }
  }, 240_000);

  it('acks a frame only after its append resolved, and nacks "not durable" when the append fails', async () => {
    const dir = tempDir('trb-serial-');
    const link = await startSocat(dir);
    const sink = new HeldSink();
    const input = new SerialInput([parseSerialPortConfig({ path: `${dir}/dev`, destination: 'telemetry', stateDir: tempDir('trb-serial-state-') })], new Map([['telemetry', sink]]));
    const sim = new McuSim({ path: `${dir}/mcu`, bootId: 7, ackTimeoutMs: 60_000 });
    try {
      input.start();
      await input.ready();
      await sim.open();
      await sim.boot();

      sink.hold();
      const first = sim.telemetry(1);
      await waitFor('append called', () => sink.calls === 1, 10_000);
      await sleep(700);
      expect(sim.received.filter((r) => r.seq === first.seq)).toEqual([]);
      const releasedAt = Date.now();
      sink.release();
      await first.acked;
      const ack = sim.received.find((r) => r.seq === first.seq)!;
      expect(ack.type).toBe('ack');
      expect(ack.atMs).toBeGreaterThanOrEqual(releasedAt);
      expect(sink.records).toHaveLength(1);

      sink.failNext = true;
      const second = sim.telemetry(2);
      await waitFor('nack', () => sim.received.some((r) => r.seq === second.seq), 10_000);
      expect(sim.received.find((r) => r.seq === second.seq)).toMatchObject({ type: 'nack', reason: NackReason.notDurable });
      // The MCU retries with the same seq: admitted again (not a duplicate), made durable, acked.
      await sleep(200);
      sim.retransmitNow(second.seq);
      await second.acked;
      expect(sink.records).toHaveLength(2);
      expect(input.counters()[path.basename(`${dir}/dev`)]).toMatchObject({ appendFailures: 1, records: 2, nacks: 1 });
    } finally {
      await sim.close();
      await input.stop();
      await stopProcess(link);
    }
  }, 60_000);
});

/**
 * The agent side in a child process, so that it can be SIGKILLed: a DiskBuffer (fsync always) and a SerialInput on one
 * port. Prints {"event":"ready"} once the port is open.
 */
function startAgentSide(config: Record<string, unknown>, bufferDir: string): { child: ChildProcess; ready: Promise<void> } {
  const url = (f: string) => JSON.stringify(pathToFileURL(path.join(root, f)).href);
  const code = `
    const { DiskBuffer } = await import(${url('agent/buffer/index.ts')});
    const { parseSerialPortConfig, SerialInput } = await import(${url('agent/inputs/serial.ts')});
    const [config, bufferDir] = JSON.parse(process.argv[1]);
    const buffer = await DiskBuffer.open(bufferDir, { fsync: 'always' });
    const input = new SerialInput([parseSerialPortConfig(config)], new Map([['telemetry', buffer]]));
    input.start();
    await input.ready();
    process.stdout.write(JSON.stringify({ event: 'ready' }) + '\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, JSON.stringify([config, bufferDir])], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const ready = new Promise<void>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if ((JSON.parse(line) as { event: string }).event === 'ready') resolve();
    });
    child.on('exit', (code, signal) => reject(new Error(`agent side exited with ${code ?? signal}: ${stderr}`)));
  });
  ready.catch(() => {});
  return { child, ready };
}

/** Every record in a buffer, unacked ones (nothing drains it here), by the id the simulated MCU put in them. */
async function bufferedIds(buffer: DiskBuffer): Promise<number[]> {
  const records = await buffer.peek(100_000, 1 << 30);
  return records.map((r) => (JSON.parse(Buffer.from(r.data).toString()) as { values: number[] }).values[0]!);
}

describe('serial input across an agent restart', () => {
  it.each(['stop', 'SIGKILL'] as const)(
    'restores the dedup state after a %s between the appends and the acks reaching the MCU: the retransmits are not stored again',
    async (how) => {
      const dir = tempDir('trb-serial-');
      let link = await startSocat(dir);
      const stateDir = tempDir('trb-serial-state-');
      const bufferDir = tempDir('trb-serial-buf-');
      const raw = { name: 'node-r', path: `${dir}/dev`, destination: 'telemetry', stateDir, reopenMinMs: 50, reopenMaxMs: 200 };
      const sim = new McuSim({ path: `${dir}/mcu`, bootId: 0x77, ackTimeoutMs: 60_000 });
      const frames = 40;
      let second: SerialInput | undefined;
      let buffer: DiskBuffer | undefined;
      let child: ChildProcess | undefined;
      try {
        // First run: every frame appended, its state stored, its ack sent; the MCU loses every ack (it keeps them all unacked).
        let stopFirst: () => Promise<void>;
        if (how === 'stop') {
          const b = await DiskBuffer.open(bufferDir, { fsync: 'always' });
          const first = new SerialInput([parseSerialPortConfig(raw)], new Map([['telemetry', b]]));
          first.start();
          await first.ready();
          stopFirst = async () => {
            await first.stop();
            await b.close();
          };
        } else {
          const side = startAgentSide(raw, bufferDir);
          child = side.child;
          await side.ready;
          stopFirst = async () => {
            const exited = new Promise((r) => side.child.once('exit', r));
            side.child.kill('SIGKILL');
            await exited;
          };
        }
        await sim.open();
        await sim.boot();
        sim.o.ignoreFirstAckEvery = 1;
        const sent = Array.from({ length: frames }, (_, i) => sim.telemetry(i + 1));
        await waitFor('every frame acked by the agent (and the ack lost)', () => sent.every((f) => sim.received.some((r) => r.type === 'ack' && r.seq === f.seq)), 30_000);
        expect(sim.pendingAcks).toBe(frames);
        await stopFirst();
        // A closed or killed reader may take socat with it: the MCU then sees its port vanish and come back.
        if (link.exitCode !== null || link.signalCode !== null) link = await startSocat(dir);

        // Second run, on the same buffer and state: the MCU repeats every unacked frame.
        buffer = await DiskBuffer.open(bufferDir, { fsync: 'always' });
        expect((await bufferedIds(buffer)).sort((a, b) => a - b)).toEqual(Array.from({ length: frames }, (_, i) => i + 1));
        const events: SerialInputEvent[] = [];
        second = new SerialInput([parseSerialPortConfig(raw)], new Map([['telemetry', buffer]]), { onEvent: (e) => events.push(e) });
        second.start();
        await second.ready();
        await sim.waitOpen();
        sim.o.ignoreFirstAckEvery = 0;
        // The reopened port's decoder hunts for a delimiter first (the bytes before it may be the tail of a frame).
        await sim.writeRaw(Uint8Array.of(0));
        for (const f of sent) sim.retransmitNow(f.seq);
        await Promise.all(sent.map((f) => f.acked));
        // The session continues: new frames are stored, no hello needed.
        await Promise.all(Array.from({ length: 5 }, (_, i) => sim.telemetry(frames + i + 1).acked));
        const ids = await bufferedIds(buffer);
        expect(ids.length).toBe(frames + 5);
        expect(new Set(ids).size).toBe(frames + 5);
        expect(second.counters()['node-r']).toMatchObject({ records: 5, noSession: 0, sessions: 0, bootId: 0x77 });
        expect(second.counters()['node-r']!.duplicates).toBeGreaterThanOrEqual(frames);
        expect(events).toContainEqual({ port: 'node-r', kind: 'state-restored', bootId: 0x77, highestSeq: sent.at(-1)!.seq });
      } finally {
        await sim.close();
        await second?.stop();
        await buffer?.close();
        if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await stopProcess(link);
      }
    },
    120_000,
  );

  it('stores a new boot before acking its hello, and refuses a state file it cannot read', async () => {
    const dir = tempDir('trb-serial-');
    const link = await startSocat(dir);
    const stateDir = tempDir('trb-serial-state-');
    const sink = new HeldSink();
    const raw = { name: 'node-h', path: `${dir}/dev`, destination: 'telemetry', stateDir };
    const input = new SerialInput([parseSerialPortConfig(raw)], new Map([['telemetry', sink]]));
    const sim = new McuSim({ path: `${dir}/mcu`, bootId: 5 });
    const file = serialStateFile(stateDir, 'node-h');
    try {
      input.start();
      await input.ready();
      await sim.open();
      await sim.boot();
      // Acked, so stored: a restart now restores boot 5 rather than an older boot whose window could swallow boot 5's seqs.
      expect(loadSerialState(file)).toMatchObject({ bootId: 5, highest: 0 });
      const one = sim.telemetry(1);
      await one.acked;
      expect(loadSerialState(file)).toMatchObject({ bootId: 5, highest: one.seq });
      await sim.boot(6);
      expect(loadSerialState(file)).toMatchObject({ bootId: 6, highest: 0 });
      // A frame whose append has not resolved is not in the stored state.
      sink.hold();
      const held = sim.telemetry(2);
      await waitFor('append called', () => sink.calls === 2, 10_000);
      expect(loadSerialState(file)).toMatchObject({ bootId: 6, highest: 0 });
      sink.release();
      await held.acked;
      expect(loadSerialState(file)).toMatchObject({ bootId: 6, highest: held.seq });
    } finally {
      await sim.close();
      await input.stop();
      await stopProcess(link);
    }
    fs.writeFileSync(file, '{"version":1,"bootId":6');
    expect(() => new SerialInput([parseSerialPortConfig(raw)], new Map([['telemetry', sink]])).start()).toThrow(/serial-node-h\.dedup\.json: not JSON; move it aside/);
  }, 60_000);
});

describe('serial config', () => {
  it.each([
    [{ path: 'dev/ttyUSB0', destination: 't' }, 'inputs.serial[0].path: must be an absolute path (got dev/ttyUSB0)'],
    [{ path: '/dev/ttyUSB0', destination: 't', baud: 1234 }, 'inputs.serial[0].baud: must be one of 1200,'],
    [{ path: '/dev/ttyUSB*', destination: 't' }, 'inputs.serial[0].name: is required when path has wildcards'],
    [{ path: '/dev/ttyUSB0', destination: 't', ackMode: 'always' }, 'inputs.serial[0].ackMode: must be reliable, immediate or off (got always)'],
    [{ path: '/dev/ttyUSB0', destination: 't', sensors: { x: {} } }, 'inputs.serial[0].sensors.x: sensor ids are integers from 0 to 65535'],
    [{ path: '/dev/ttyUSB0', destination: 't', sensors: { 70000: {} } }, 'inputs.serial[0].sensors.70000: sensor ids are integers from 0 to 65535'],
    [{ path: '/dev/ttyUSB0', destination: 't', sensors: { 1: { unit: 'C' } } }, 'inputs.serial[0].sensors.1: unknown key unit'],
    [{ path: '/dev/ttyUSB0', destination: 't', baudrate: 9600 }, 'inputs.serial[0]: unknown key baudrate'],
    [{ path: '/dev/ttyUSB0', destination: 'bad name' }, 'inputs.serial[0].destination: must match'],
    [{ path: '/dev/ttyUSB0', destination: 't' }, 'inputs.serial[0].stateDir: must be a non-empty string'],
  ])('refuses %j', (raw, message) => {
    expect(() => parseSerialPortConfig(raw)).toThrow(message);
  });

  it('fills defaults and maps sensors', () => {
    const c = parseSerialPortConfig({ path: '/dev/serial/by-id/usb-x-if00', destination: 't', sensors: { 3: { name: 'air', destination: 'u' } }, stateDir: '/s' });
    expect(c).toMatchObject({ name: 'usb-x-if00', baud: 115200, logDestination: 't', ackMode: 'reliable', glob: undefined, timeSyncIntervalMs: 60_000, stateDir: '/s' });
    expect(c.sensors.get(3)).toEqual({ name: 'air', destination: 'u', partitionKey: undefined });
    expect(() => new SerialInput([c], new Map([['t', new HeldSink()]]))).toThrow('no buffer for destination u');
  });
});

describe('serial input in the daemon', () => {
  it('is configured from agent.yaml, appends to the destination buffer, and shows its counters in status and metrics', async () => {
    const dir = tempDir('trb-serial-');
    const link = await startSocat(dir);
    // Not under /tmp: the agent refuses volatile storage for its state.
    const state = fs.mkdtempSync('/var/tmp/trb-serial-agent-');
    fs.writeFileSync(path.join(state, 'credentials.json'), JSON.stringify({
      endpoint: gw.url, region: 'us-east-1', deviceId: 'd-1', name: 'pi-serial', policy: 'test', ...testOperator,
      caCertificate: '', clientCertificate: '', clientKey: '',
    }), { mode: 0o600 });
    await createActiveStream(c, 'serial-daemon-pi-serial', 1);
    const file = path.join(state, 'agent.yaml');
    const text = [
      'gateway:', `  credentials: ${path.join(state, 'credentials.json')}`,
      'state:', `  dir: ${state}`,
      'destinations:', '  telemetry:', '    stream: serial-daemon-${device}',
      'inputs:', '  serial:', `    - path: ${dir}/dev`, '      name: mcu0', '      baud: 115200', '      destination: telemetry',
      '      sensors:', '        1: { name: air }',
      'metrics:', `  port: ${await freePort()}`,
    ].join('\n') + '\n';
    const quiet = { info() {}, warn() {}, error() {} };
    const agent = await runAgent(parseAgentConfig(text, file), { log: quiet, notifier: createNotifier({}) });
    const sim = new McuSim({ path: `${dir}/mcu`, bootId: 42 });
    try {
      await waitFor('port open', () => agent.status().serial?.mcu0?.connected === true, 20_000);
      await sim.open();
      await sim.boot();
      const sent = Array.from({ length: 20 }, (_, i) => sim.telemetry(i + 1));
      await Promise.all(sent.map((f) => f.acked));
      expect(agent.status().serial!.mcu0).toMatchObject({ records: 20, sessions: 1, bootId: 42, duplicates: 0 });
      const metrics = await (await fetch(`http://127.0.0.1:${agent.metricsPort}/metrics`)).text();
      expect(metrics).toContain('tributary_agent_serial_records_total{port="mcu0"} 20');
      expect(metrics).toContain('tributary_agent_serial_connected{port="mcu0"} 1');
      let got: StreamRecord[] = [];
      await waitFor('records in the stream', () => agent.status().destinations.telemetry!.sent >= 20, 60_000);
      got = await readAll('serial-daemon-pi-serial');
      expectExactlyOnce(got, Array.from({ length: 20 }, (_, i) => i + 1), []);
      expect(got[0]!.partitionKey).toBe('mcu0/air');
      // The daemon gives the input <state>/inputs for its dedup state.
      expect(loadSerialState(serialStateFile(path.join(state, 'inputs'), 'mcu0'))).toMatchObject({ bootId: 42, highest: sent.at(-1)!.seq });
    } finally {
      await sim.close();
      await agent.stop(2000);
      await stopProcess(link);
      fs.rmSync(state, { recursive: true, force: true });
    }
  }, 120_000);
});

/** A port nobody listens on now (the daemon's metrics port 0 means "off"). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** A sink that can hold appends until released, or fail the next one as a full buffer would. */
class HeldSink implements RecordSink {
  calls = 0;
  failNext = false;
  readonly records: AppendRecord[] = [];
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => {};

  hold(): void {
    this.gate = new Promise((r) => (this.open = r));
  }

  release(): void {
    this.open();
  }

  async append(records: AppendRecord[]): Promise<void> {
    this.calls++;
    await this.gate;
    if (this.failNext) {
      this.failNext = false;
      throw Object.assign(new Error('buffer full'), { code: 'BUFFER_FULL' });
    }
    this.records.push(...records);
  }
}
