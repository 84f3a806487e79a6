// Proves the agent's MQTT input against a real Mosquitto (its own, on a spare port, with the shipped
// configs/mosquitto/tributary.conf): mapped topics land in the right destination buffers with the right partition keys, a QoS 1 message is acknowledged only after its append resolves, a failed append (a fake one, and a real reject-newest buffer at its cap) leaves it unacknowledged until the broker redelivers it, and the input reconnects after its connection drops or the broker restarts, and (issue #15) messages published while the agent is away, far more than Mosquitto's default queue of 1,000, all arrive once it is back.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DiskBuffer, type AppendRecord, type BufferedRecord } from '../../agent/buffer/index.ts';
import type { RecordSink } from '../../agent/inputs/common.ts';
import { MqttInput, parseMqttInputConfig } from '../../agent/inputs/mqtt.ts';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import { startMosquitto as startBroker, type Mosquitto } from '../helpers/mosquitto.ts';

let broker: Mosquitto;
let brokerUrl: string;
beforeAll(async () => {
  broker = await startBroker();
  brokerUrl = broker.url;
});
afterAll(() => broker?.stop());
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function unique(): string {
  return `tributary-test-${randomBytes(6).toString('hex')}`;
}

async function openBuffers(names: string[]): Promise<Map<string, DiskBuffer>> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-input-mqtt-'));
  const m = new Map<string, DiskBuffer>();
  for (const n of names) m.set(n, await DiskBuffer.openDestination(root, n, { fsync: 'always' }));
  cleanups.push(async () => {
    for (const b of m.values()) await b.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  return m;
}

async function publisher(url = brokerUrl): Promise<MqttClient> {
  const c = connect(url, { clientId: unique(), protocolVersion: 5, reconnectPeriod: 200 });
  cleanups.push(() => c.endAsync(true));
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

function startInput(raw: Record<string, unknown>, sinks: ReadonlyMap<string, RecordSink>): MqttInput {
  const config = parseMqttInputConfig({ url: brokerUrl, clientId: unique(), sessionExpirySec: 60, reconnectMinMs: 50, reconnectMaxMs: 500, ...raw });
  const input = new MqttInput(config, sinks);
  input.start();
  cleanups.push(() => input.stop());
  return input;
}

async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function readAll(b: DiskBuffer): Promise<BufferedRecord[]> {
  return b.peek(10_000, 64 << 20);
}

async function waitForRecords(b: DiskBuffer, n: number): Promise<BufferedRecord[]> {
  return waitFor(`${n} records`, async () => {
    const r = await readAll(b);
    return r.length >= n ? r : undefined;
  });
}

/** A sink whose appends wait for the test to release them, then go to the real buffer. */
function gatedSink(inner: RecordSink) {
  const calls: AppendRecord[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const sink: RecordSink = {
    async append(records) {
      calls.push(records);
      await gate;
      return inner.append(records);
    },
  };
  return { sink, calls, release };
}

function publishAsync(c: MqttClient, topic: string, payload: string) {
  return { p: c.publishAsync(topic, payload, { qos: 1 }).then(() => undefined) };
}

describe('agent MQTT input (real Mosquitto)', () => {
  it('routes mapped topics to their destination buffers with topic-level and JSON-field partition keys', async () => {
    const prefix = unique();
    const buffers = await openBuffers(['telemetry', 'events']);
    const input = startInput({
      rules: [
        { filter: `${prefix}/sensors/+/temp`, destination: 'telemetry', partitionKey: { topicLevel: 2 } },
        { filter: `${prefix}/events/#`, destination: 'events', partitionKey: { jsonField: 'device.id' } },
      ],
    }, buffers);
    await input.ready();
    const pub = await publisher();
    const before = Date.now();
    await pub.publishAsync(`${prefix}/sensors/dev-7/temp`, '21.5', { qos: 1 });
    await pub.publishAsync(`${prefix}/sensors/dev-8/temp`, '22.0', { qos: 1 });
    await pub.publishAsync(`${prefix}/events/boot`, JSON.stringify({ device: { id: 'pi-42' }, ok: true }), { qos: 1 });
    await pub.publishAsync(`${prefix}/events/odd`, 'not json', { qos: 1 });
    await pub.publishAsync(`${prefix}/other`, 'unmapped', { qos: 1 });

    const tel = await waitForRecords(buffers.get('telemetry')!, 2);
    expect(tel.map((r) => [r.source, r.partitionKey, r.data.toString()])).toEqual([
      [`mqtt:${prefix}/sensors/+/temp`, 'dev-7', '21.5'],
      [`mqtt:${prefix}/sensors/+/temp`, 'dev-8', '22.0'],
    ]);
    expect(tel[0]!.capturedAtMs).toBeGreaterThanOrEqual(before);
    const ev = await waitForRecords(buffers.get('events')!, 2);
    expect(ev.map((r) => [r.source, r.partitionKey])).toEqual([
      [`mqtt:${prefix}/events/#`, 'pi-42'],
      [`mqtt:${prefix}/events/#`, `${prefix}/events/odd`], // Not JSON: the topic is the fallback key.
    ]);
    // A reader sees a record as soon as it is written; the counter moves when the append (its fsync) resolves.
    await waitFor('the appends to resolve', () => input.counters().buffered === 4);
    expect(input.counters()).toMatchObject({ received: 4, buffered: 4, failed: 0, partitionKeyFallbacks: 1, unmatched: 0 });
  });

  // QoS 1 is acknowledged hop by hop: the publisher's callback completes when the broker has the message, whatever the
  // subscriber does. So the subscriber's PUBACK is observed where it leaves (the client's packetsend), and the broker's
  // view is proved by redelivery: a message whose PUBACK was never sent comes back on the next connection.
  it('sends PUBACK only after the append resolves', async () => {
    const prefix = unique();
    const buffers = await openBuffers(['telemetry']);
    const gated = gatedSink(buffers.get('telemetry')!);
    const input = startInput({ rules: [{ filter: `${prefix}/#`, destination: 'telemetry', partitionKey: { fixed: 'k' } }] },
      new Map([['telemetry', gated.sink]]));
    await input.ready();
    const pubacks: string[] = [];
    input.client!.on('packetsend', (p) => { if (p.cmd === 'puback') pubacks.push(`${p.messageId}`); });
    const pub = await publisher();
    await pub.publishAsync(`${prefix}/a`, 'held', { qos: 1 });
    await waitFor('the append to start', () => gated.calls.length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(pubacks).toEqual([]);
    expect(await readAll(buffers.get('telemetry')!)).toEqual([]);
    gated.release();
    await waitFor('the PUBACK', () => pubacks.length === 1);
    expect((await readAll(buffers.get('telemetry')!)).map((r) => r.data.toString())).toEqual(['held']);
    expect(input.counters()).toMatchObject({ received: 1, buffered: 1 });
  });

  it('is redelivered by the broker when the connection drops before the append resolves', async () => {
    const prefix = unique();
    const buffers = await openBuffers(['telemetry']);
    const gated = gatedSink(buffers.get('telemetry')!);
    const input = startInput({ rules: [{ filter: `${prefix}/#`, destination: 'telemetry', partitionKey: { fixed: 'k' } }] },
      new Map([['telemetry', gated.sink]]));
    await input.ready();
    const pub = await publisher();
    await pub.publishAsync(`${prefix}/a`, 'held', { qos: 1 });
    await waitFor('the append to start', () => gated.calls.length === 1);
    input.client!.stream.destroy();
    // The broker never saw a PUBACK, so it sends the message again on the resumed session.
    await waitFor('the redelivery', () => gated.calls.length === 2);
    gated.release();
    const got = await waitForRecords(buffers.get('telemetry')!, 2);
    expect(got.map((r) => r.data.toString())).toEqual(['held', 'held']); // At-least-once: a duplicate, never a loss.
  });

  it('leaves a message unacked when the append fails, and buffers it when the broker redelivers', async () => {
    const prefix = unique();
    const buffers = await openBuffers(['telemetry']);
    const real = buffers.get('telemetry')!;
    let failures = 2;
    const flaky: RecordSink = {
      append(records) {
        if (failures-- > 0) return Promise.reject(new TributaryError('BUFFER_FULL', 'buffer full (test)'));
        return real.append(records);
      },
    };
    const input = startInput({ rules: [{ filter: `${prefix}/#`, destination: 'telemetry', partitionKey: { topicLevel: 1 } }] },
      new Map([['telemetry', flaky]]));
    await input.ready();
    const pub = await publisher();
    const first = publishAsync(pub, `${prefix}/a`, 'one');
    const second = publishAsync(pub, `${prefix}/b`, 'two');
    await Promise.all([first.p, second.p]);
    const got = await waitForRecords(real, 2);
    await waitFor('the appends to resolve', () => input.counters().buffered === 2);
    // Redelivery keeps the order and the record; a message may be stored twice (at-least-once), never zero times.
    expect(got.map((r) => r.data.toString())).toEqual(['one', 'two']);
    const c = input.counters();
    expect(c.failed).toBe(2);
    expect(c.buffered).toBe(2);
    expect(c.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('holds messages at the broker while a reject-newest buffer is full, and takes them once it drains', async () => {
    const prefix = unique();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-input-mqtt-full-'));
    const buffer = await DiskBuffer.openDestination(root, 'telemetry', {
      fsync: 'always', segmentBytes: 64 * 1024, capBytes: 1024 * 1024, capPolicy: 'reject-newest',
    });
    cleanups.push(async () => {
      await buffer.close();
      fs.rmSync(root, { recursive: true, force: true });
    });
    const input = startInput({ rules: [{ filter: `${prefix}/#`, destination: 'telemetry', partitionKey: { fixed: 'k' } }] },
      new Map([['telemetry', buffer]]));
    await input.ready();
    const pub = await publisher();
    const payload = (i: number) => Buffer.concat([Buffer.from(`msg ${i} `), Buffer.alloc(60 * 1024, 0x61)]);
    for (let i = 0; i < 24; i++) await pub.publishAsync(`${prefix}/m`, payload(i), { qos: 1 });
    await waitFor('the buffer to refuse', () => input.counters().failed >= 1);
    const seen: string[] = [];
    await waitFor('all 24 messages', async () => {
      const batch = await buffer.peek(100, 8 << 20);
      if (batch.length > 0) {
        seen.push(...batch.map((r) => /^msg \d+/.exec(r.data.subarray(0, 16).toString())![0]));
        await buffer.ack(batch.at(-1)!.position);
      }
      return new Set(seen).size === 24 ? true : undefined;
    }, 20_000);
    expect([...new Set(seen)]).toEqual(Array.from({ length: 24 }, (_, i) => `msg ${i}`));
    expect(input.counters().reconnects).toBeGreaterThanOrEqual(1);
  });

  it('reconnects and resumes after its connection is cut', async () => {
    const prefix = unique();
    const buffers = await openBuffers(['telemetry']);
    const input = startInput({ rules: [{ filter: `${prefix}/#`, destination: 'telemetry', partitionKey: { fixed: 'k' } }] }, buffers);
    await input.ready();
    let pubacks = 0;
    input.client!.on('packetsend', (p) => { if (p.cmd === 'puback') pubacks++; });
    const pub = await publisher();
    await pub.publishAsync(`${prefix}/x`, 'before', { qos: 1 });
    // Cut only after the PUBACK left; cutting between append and PUBACK would (rightly) bring a duplicate.
    await waitFor('the PUBACK', () => pubacks === 1);
    input.client!.stream.destroy();
    // Published while the input is away: the persistent session queues it.
    await pub.publishAsync(`${prefix}/x`, 'while-away', { qos: 1 });
    await waitFor('a reconnect', () => input.counters().reconnects >= 1);
    await input.ready();
    await pub.publishAsync(`${prefix}/x`, 'after', { qos: 1 });
    const got = await waitForRecords(buffers.get('telemetry')!, 3);
    expect(got.map((r) => r.data.toString())).toEqual(['before', 'while-away', 'after']);
  });

  it.each([true, false])('keeps what was published while the agent was away (shipped config: %s)', async (shipped) => {
    // Mosquitto's defaults keep 1,000 queued messages per session (plus 20 in flight) and drop the rest.
    const own = shipped ? broker : await startBroker({ shipped: false });
    if (!shipped) cleanups.push(() => own.stop());
    const clientId = unique();
    const buffers = await openBuffers(['telemetry']);
    const rules = [{ filter: 'away/#', destination: 'telemetry', partitionKey: { topicLevel: 1 } }];
    const first = new MqttInput(parseMqttInputConfig({ url: own.url, clientId, sessionExpirySec: 600, rules }), buffers);
    first.start();
    await first.ready();
    await first.stop();
    const pub = await publisher(own.url);
    const n = 3000;
    for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: 100 }, (_, k) => pub.publishAsync(`away/${(i + k) % 7}`, String(i + k), { qos: 1 })));
    const second = new MqttInput(parseMqttInputConfig({ url: own.url, clientId, sessionExpirySec: 600, rules }), buffers);
    second.start();
    cleanups.push(() => second.stop());
    if (shipped) {
      const got = await waitForRecords(buffers.get('telemetry')!, n);
      expect(got.map((r) => Number(r.data.toString()))).toEqual(Array.from({ length: n }, (_, i) => i));
    } else {
      // A marker published now arrives after whatever the broker still had queued (one session, in order).
      await second.ready();
      await pub.publishAsync('away/marker', 'marker', { qos: 1 });
      const got = await waitFor('the marker', async () => {
        const r = await readAll(buffers.get('telemetry')!);
        return r.at(-1)?.data.toString() === 'marker' ? r : undefined;
      });
      expect(got.length - 1).toBeGreaterThanOrEqual(1000);
      expect(got.length - 1).toBeLessThan(n);
    }
  }, 60_000);

  it('reconnects with backoff after its own broker restarts, and subscribes again', async () => {
    const port = await sparePort();
    const conf = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'agent-input-mosq-')), 'mosquitto.conf');
    fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    let broker = await startMosquitto(conf, port);
    cleanups.push(() => void broker.kill('SIGKILL'));
    const url = `mqtt://127.0.0.1:${port}`;
    const buffers = await openBuffers(['telemetry']);
    const input = startInput({ url, rules: [{ filter: 'r/#', destination: 'telemetry', partitionKey: { topicLevel: 1 } }] }, buffers);
    await input.ready();
    const pub = await publisher(url);
    await pub.publishAsync('r/a', 'one', { qos: 1 });
    await waitForRecords(buffers.get('telemetry')!, 1);

    let attempts = 0;
    input.client!.on('reconnect', () => attempts++);
    broker.kill('SIGKILL');
    await new Promise((r) => broker.once('exit', r));
    await waitFor('several failed attempts, so the backoff grows', () => attempts >= 3);
    broker = await startMosquitto(conf, port);
    // The restarted broker lost the session (no persistence): the input must subscribe again.
    await waitFor('a reconnect', () => input.counters().reconnects >= 1);
    await input.ready();
    await waitFor('the publisher to reconnect', () => pub.connected);
    await pub.publishAsync('r/b', 'two', { qos: 1 });
    const got = await waitForRecords(buffers.get('telemetry')!, 2);
    expect(got.map((r) => [r.partitionKey, r.data.toString()])).toEqual([['a', 'one'], ['b', 'two']]);
  });
});

async function sparePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function startMosquitto(conf: string, port: number): Promise<ChildProcess> {
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  await waitFor('mosquitto to listen', () => new Promise<boolean | undefined>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(undefined));
  }));
  return child;
}
