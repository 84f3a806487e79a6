// Proves the agent uplink against a real gateway (limits on): buffered records arrive in per-key order, exactly once when nothing fails,
// through a link outage, throttling and connection resets (duplicates only within the documented bound), refused records are
// dead-lettered, and a stop with a deadline leaves the rest in the buffer for the next uplink; outages and resets come from a TCP proxy.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { createActiveStream, kinesisClient, tempDir, testGateway, testOperator } from '../helpers/gateway.ts';
import { waitFor as waitForAsync } from '../helpers/wait.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { DiskBuffer, readDeadLetters } from '../../agent/buffer/index.ts';
import { Uplink, type UplinkEvent, type UplinkOptions } from '../../agent/uplink/index.ts';
import { JsonRpcClient } from '../../sdk/http/json-rpc-client.ts';
import { deaggregate } from '../../sdk/protocol/kpl-aggregation.ts';

let gw: Gateway;
let c: KinesisClient;
beforeAll(async () => {
  gw = await testGateway({ createDelayMs: 0 }); // per-shard limits on (the default)
  c = kinesisClient(gw.url);
});
afterAll(() => gw.close());

const stream = (name: string, shards: number) => createActiveStream(c, name, shards);

/** Every user record in the stream, shard by shard, deaggregated; `data` is the text the test appended. */
async function readAll(name: string, client: KinesisClient = c): Promise<Array<{ partitionKey: string; data: string }>> {
  const c = client;
  const out: Array<{ partitionKey: string; data: string }> = [];
  const { Shards } = await c.send(new ListShardsCommand({ StreamName: name }));
  for (const s of Shards!) {
    let { ShardIterator } = await c.send(new GetShardIteratorCommand({ StreamName: name, ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    for (;;) {
      await sleep(210); // the read limit: 5 calls/s per shard
      const r = await c.send(new GetRecordsCommand({ ShardIterator }));
      for (const x of r.Records!) {
        const users = deaggregate(x.Data!) ?? [{ partitionKey: x.PartitionKey!, data: x.Data! }];
        for (const u of users) out.push({ partitionKey: u.partitionKey, data: Buffer.from(u.data).toString() });
      }
      if (!r.Records!.length || !r.NextShardIterator) break;
      ShardIterator = r.NextShardIterator;
    }
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lanes in the uplink's written-down send state (0 while none is written). */
function intentLanes(file: string): number {
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { lanes?: unknown[] }).lanes?.length ?? 0;
  } catch {
    return 0;
  }
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  await waitForAsync(what, cond, { timeoutMs });
}

async function openBuffer(dir = tempDir('trb-uplink-')): Promise<DiskBuffer> {
  return DiskBuffer.open(dir, { fsync: 'never' });
}

/** Appends `count` records over `keys` keys; record i of key k carries the text `k<k>:<i>` (padded to `pad` bytes). */
async function appendRecords(buffer: DiskBuffer, count: number, keys: number, pad = 0, from = 0): Promise<void> {
  for (let start = from; start < from + count; start += 1000) {
    const n = Math.min(1000, from + count - start);
    await buffer.append(Array.from({ length: n }, (_, j) => {
      const i = start + j;
      return { source: 'test', partitionKey: `k${i % keys}`, data: Buffer.from(`k${i % keys}:${Math.floor(i / keys)}`.padEnd(pad, '.')) };
    }));
  }
}

/** Checks per-key order of first arrival and completeness; returns how many copies were duplicates. */
function checkArrivals(got: Array<{ partitionKey: string; data: string }>, count: number, keys: number): number {
  const seen = new Set<string>();
  const next = new Map<string, number>();
  let duplicates = 0;
  for (const r of got) {
    const text = r.data.replace(/\.+$/, '');
    if (seen.has(text)) {
      duplicates++;
      continue;
    }
    seen.add(text);
    const [k, n] = text.split(':') as [string, string];
    expect(r.partitionKey).toBe(k);
    expect(Number(n), `order of ${k}`).toBe(next.get(k) ?? 0);
    next.set(k, Number(n) + 1);
  }
  expect(seen.size).toBe(count);
  expect([...next.values()].reduce((a, b) => a + b, 0)).toBe(count);
  expect(next.size).toBe(Math.min(keys, count));
  return duplicates;
}

function uplink(buffer: DiskBuffer, o: Partial<UplinkOptions> & { stream: string }, events: UplinkEvent[] = []): Uplink {
  return new Uplink({
    buffer, endpoint: gw.url, region: 'us-east-1', credentials: testOperator, retryBaseMs: 20, retryMaxMs: 500,
    requestTimeoutMs: 5000, idlePollMs: 20, onEvent: (e) => events.push(e), ...o,
  });
}

/**
 * A TCP proxy in front of the gateway that can refuse every connection
 * (link down) and reset connections mid-request or mid-response.
 */
class FaultyProxy {
  refusing = false;
  /** Reset every n-th chunk going to the gateway (after forwarding half of it) / coming back from it (0: never). */
  requestResetEvery = 0;
  responseResetEvery = 0;
  /** Swallow the gateway's answers (a link that accepts and then goes silent). */
  holdResponses = false;
  readonly counts = { connections: 0, refused: 0, requestResets: 0, responseResets: 0, busyMax: 0 };
  /** Connections with a request sent and its answer not yet begun. */
  private busy = 0;
  private requestChunks = 0;
  private responseChunks = 0;
  private readonly sockets = new Set<net.Socket>();
  private constructor(readonly server: net.Server, private readonly targetPort: number) {}

  static async start(targetPort: number): Promise<FaultyProxy> {
    const server = net.createServer();
    const proxy = new FaultyProxy(server, targetPort);
    server.on('connection', (s) => proxy.accept(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  private accept(client: net.Socket): void {
    client.on('error', () => {});
    if (this.refusing) {
      this.counts.refused++;
      client.resetAndDestroy();
      return;
    }
    this.counts.connections++;
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    upstream.on('error', () => {});
    this.sockets.add(client).add(upstream);
    const cut = () => {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    };
    let waiting = false;
    const answerBegins = () => {
      if (waiting) this.busy--;
      waiting = false;
    };
    client.on('data', (chunk: Buffer) => {
      if (!waiting) {
        waiting = true;
        this.counts.busyMax = Math.max(this.counts.busyMax, ++this.busy);
      }
      if (this.requestResetEvery && ++this.requestChunks % this.requestResetEvery === 0) {
        // Half a request reaches the gateway, which therefore never runs it.
        this.counts.requestResets++;
        upstream.write(chunk.subarray(0, chunk.length >> 1), cut);
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      answerBegins();
      if (this.holdResponses) return;
      if (this.responseResetEvery && ++this.responseChunks % this.responseResetEvery === 0) {
        // The gateway ran the request, but its answer is lost: the uplink must send it again.
        this.counts.responseResets++;
        cut();
        return;
      }
      client.write(chunk);
    });
    const closed = () => {
      answerBegins();
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', closed);
    upstream.on('close', closed);
  }

  /** Link down: open connections are reset, new ones refused. */
  pause(): void {
    this.refusing = true;
    for (const s of this.sockets) s.resetAndDestroy();
  }

  resume(): void {
    this.refusing = false;
  }

  async close(): Promise<void> {
    this.pause();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('Uplink', () => {
  it.each([false, true])('delivers buffered records in per-key order, exactly once, and acks them all (aggregate: %s)', async (aggregate) => {
    const name = `u-basic-${aggregate}`;
    await stream(name, 3);
    const buffer = await openBuffer();
    const events: UplinkEvent[] = [];
    const u = uplink(buffer, { stream: name, aggregate }, events);
    u.start();
    // Appends while the uplink runs, in four steps, each once the uplink has sent part of the one before.
    for (let step = 0; step < 4; step++) {
      const requests = u.stats().requests;
      await appendRecords(buffer, 300, 12, 0, step * 300);
      u.wake();
      await waitFor('a request for this step', () => u.stats().requests > requests);
    }
    await waitFor('the buffer to drain', () => buffer.stats().depthRecords === 0);
    await u.stop({ deadlineMs: 1000 });
    const s = u.stats();
    expect(s.sentRecords).toBe(1200);
    expect(s.deadLetteredRecords).toBe(0);
    expect(s.link).toBe('up');
    expect(s.oldestUnsentAgeMs).toBeUndefined();
    // The link is `unknown` until the first answer (issue #15): one event, no flapping.
    expect(events.filter((e) => e.type === 'link')).toEqual([{ type: 'link', state: 'up' }]);
    if (aggregate) expect(s.requests).toBeLessThan(20);
    await buffer.close();
    const got = await readAll(name);
    expect(checkArrivals(got, 1200, 12)).toBe(0);
    expect(got).toHaveLength(1200);
  });

  it('sends over HTTPS to a gateway whose CA it pins', async () => {
    const tls = await testGateway({ tlsEnabled: true, createDelayMs: 0 });
    try {
      const ca = fs.readFileSync(path.join(tls.dataDir, 'tls', 'ca.crt'), 'utf8');
      const admin = new JsonRpcClient({ endpoint: tls.url, region: 'us-east-1', service: 'kinesis', targetPrefix: 'Kinesis_20131202', credentials: testOperator, ca });
      await admin.call('CreateStream', { StreamName: 'u-tls', ShardCount: 1 });
      await waitForAsync('u-tls ACTIVE', async () =>
        (await admin.call<{ StreamDescriptionSummary: { StreamStatus: string } }>('DescribeStreamSummary', { StreamName: 'u-tls' })).StreamDescriptionSummary.StreamStatus === 'ACTIVE');
      admin.close();
      const buffer = await openBuffer();
      await appendRecords(buffer, 50, 5);
      const u = uplink(buffer, { stream: 'u-tls', endpoint: tls.url, ca, aggregate: true });
      u.start();
      await waitFor('the buffer to drain', () => buffer.stats().depthRecords === 0);
      await u.stop({ deadlineMs: 1000 });
      expect(u.stats().sentRecords).toBe(50);
      expect(u.stats().requests).toBe(1);
      await buffer.close();
    } finally {
      await tls.close();
    }
  });

  it('keeps buffering while the link is down and replays everything in order once it is back', async () => {
    await stream('u-outage', 2);
    const proxy = await FaultyProxy.start(gw.port);
    proxy.pause();
    const buffer = await openBuffer();
    const events: UplinkEvent[] = [];
    const u = uplink(buffer, { stream: 'u-outage', endpoint: proxy.url, retryMaxMs: 200 }, events);
    u.start();
    await appendRecords(buffer, 400, 8);
    u.wake();
    await waitFor('the link to go down', () => u.stats().link === 'down');
    await waitFor('several probes refused', () => proxy.counts.refused >= 3);
    expect(buffer.stats().depthRecords).toBe(400);
    expect(u.stats().sentRecords).toBe(0);
    expect(u.stats().lastError?.failure).toBe('unreachable');
    expect(u.stats().oldestUnsentAgeMs).toBeGreaterThan(0);
    expect(proxy.counts.refused).toBeGreaterThan(1);
    await appendRecords(buffer, 200, 8, 0, 400); // more arrive during the outage
    proxy.resume();
    await waitFor('the buffer to drain', () => buffer.stats().depthRecords === 0);
    await u.stop({ deadlineMs: 1000 });
    expect(events.filter((e) => e.type === 'link').map((e) => (e as { state: string }).state)).toEqual(['down', 'up']);
    expect(u.stats().link).toBe('up');
    expect(u.stats().sentRecords).toBe(600);
    await buffer.close();
    await proxy.close();
    const got = await readAll('u-outage');
    // Refused connections never reach the gateway: nothing is duplicated.
    expect(checkArrivals(got, 600, 8)).toBe(0);
  });

  it('slows down under throttling and loses nothing: 5,000 records into one shard', async () => {
    await stream('u-throttle', 1);
    const buffer = await openBuffer();
    const events: UplinkEvent[] = [];
    await appendRecords(buffer, 5000, 20, 100);
    const u = uplink(buffer, { stream: 'u-throttle' }, events);
    const t0 = Date.now();
    u.start();
    await waitFor('the buffer to drain', () => buffer.stats().depthRecords === 0, 40_000);
    const elapsedMs = Date.now() - t0;
    await u.stop({ deadlineMs: 1000 });
    const s = u.stats();
    expect(s.throttledRecords).toBeGreaterThan(0);
    expect(events.some((e) => e.type === 'throttled')).toBe(true);
    expect(s.sentRecords).toBe(5000);
    // One shard takes 1,000 records/s with a one-second burst.
    expect(elapsedMs).toBeGreaterThan(3000);
    expect(s.link).toBe('up');
    await buffer.close();
    const got = await readAll('u-throttle');
    // Only refused records are resent, and a shard refuses a request's records from its first throttled one on.
    expect(checkArrivals(got, 5000, 20)).toBe(0);
  });

  it.each([false, true])('survives connections reset mid-request and mid-response: with idempotency keys (%s) exactly once, else at most one request per lost answer', async (idempotent) => {
    const name = `u-resets-${idempotent}`;
    await stream(name, 2);
    const proxy = await FaultyProxy.start(gw.port);
    proxy.requestResetEvery = 7;
    proxy.responseResetEvery = 5;
    const buffer = await openBuffer();
    const batchRecordsMax = 50;
    await appendRecords(buffer, 1500, 10, 200);
    const keys = idempotent ? { producerId: `test/${name}`, intentFile: path.join(tempDir('trb-intent-'), 'intent.json') } : {};
    const u = uplink(buffer, { stream: name, endpoint: proxy.url, batchRecordsMax, retryMaxMs: 100, ...keys });
    u.start();
    await waitFor('the buffer to drain', () => buffer.stats().depthRecords === 0, 40_000);
    await u.stop({ deadlineMs: 1000 });
    await buffer.close();
    await proxy.close();
    expect(proxy.counts.requestResets).toBeGreaterThan(0);
    expect(proxy.counts.responseResets).toBeGreaterThan(0);
    const s = u.stats();
    expect(s.sentRecords).toBe(1500);
    const got = await readAll(name);
    const duplicates = checkArrivals(got, 1500, 10);
    // Without keys, the documented bound: a lost answer duplicates at most its request.
    expect(duplicates).toBeLessThanOrEqual(idempotent ? 0 : proxy.counts.responseResets * batchRecordsMax);
    expect(got.length).toBe(1500 + duplicates);
  });

  it('opens a lane per shard for a backlog: requests side by side, each lane under its own idempotency sequence, exactly once through lost answers (issue #15)', async () => {
    const name = 'u-lanes';
    // Limits off: the lanes run flat out, so their requests overlap.
    const free = await testGateway({ createDelayMs: 0, enforceLimits: false });
    await createActiveStream(kinesisClient(free.url), name, 4);
    const proxy = await FaultyProxy.start(free.port);
    proxy.responseResetEvery = 13;
    const buffer = await openBuffer();
    const count = 6000;
    await appendRecords(buffer, count, 64);
    const intentFile = path.join(tempDir('trb-intent-'), 'intent.json');
    const events: UplinkEvent[] = [];
    const u = uplink(buffer, { stream: name, endpoint: proxy.url, batchRecordsMax: 100, producerId: `test/${name}`, intentFile }, events);
    u.start();
    await waitFor('lanes to open', () => events.some((e) => e.type === 'lanes' && e.lanes === 4), 30_000);
    // They open for the backlog, not after it.
    expect(buffer.stats().depthRecords).toBeGreaterThan(count / 2);
    await waitFor('the buffer to drain', () => buffer.stats().depthRecords === 0, 60_000);
    await u.stop({ deadlineMs: 1000 });
    await buffer.close();
    await proxy.close();
    expect(intentLanes(intentFile)).toBe(4);
    expect(proxy.counts.busyMax).toBeGreaterThan(1);
    expect(proxy.counts.busyMax).toBeLessThanOrEqual(4);
    expect(proxy.counts.responseResets).toBeGreaterThan(0);
    expect(u.stats().sentRecords).toBe(count);
    const got = await readAll(name, kinesisClient(free.url));
    await free.close();
    expect(checkArrivals(got, count, 64)).toBe(0);
    expect(got).toHaveLength(count);
  });

  it('finishes a send window an agent before lanes wrote down under its old key, then sends the rest in lanes (upgrade, issue #15)', async () => {
    const name = 'u-upgrade';
    await stream(name, 2);
    const buffer = await openBuffer();
    await appendRecords(buffer, 3000, 8);
    // The old agent planned a window of the first 40 records, sent it and died before the answer.
    const window = await buffer.peek(40, 1 << 20);
    const producerId = `test/${name}`;
    const client = new JsonRpcClient({ endpoint: gw.url, region: 'us-east-1', service: 'kinesis', targetPrefix: 'Kinesis_20131202', credentials: testOperator });
    const Records = window.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data.toString('base64') }));
    await client.call('PutRecords', { StreamName: name, Records }, { 'x-tributary-idempotency-key': `${producerId}/7000` });
    client.close();
    const intentFile = path.join(tempDir('trb-intent-'), 'intent.json');
    fs.writeFileSync(intentFile, JSON.stringify({
      v: 1, lastBatch: 7000,
      window: { batch: 7000, idRuns: [['test', 0, 40]], doneRuns: [[false, 40]], aggregate: false, batchRecordsMax: 500, batchBytesMax: 5 * 1024 * 1024 },
    }));
    const u = uplink(buffer, { stream: name, producerId, intentFile, batchRecordsMax: 100 });
    u.start();
    await waitFor('the buffer to drain', () => buffer.stats().depthRecords === 0, 60_000);
    await u.stop({ deadlineMs: 1000 });
    await buffer.close();
    // The window went again under its old key and was answered from the gateway's memory: nothing twice.
    expect(checkArrivals(await readAll(name), 3000, 8)).toBe(0);
    expect((JSON.parse(fs.readFileSync(intentFile, 'utf8')) as { v: number; lastBatch: number }).v).toBe(2);
  });

  it('continues above the gateway\'s last batch number when its own numbering was lost (a new state directory)', async () => {
    const name = 'u-renumber';
    await stream(name, 1);
    const producerId = `test/${name}`;
    const first = await openBuffer();
    await appendRecords(first, 20, 2);
    const intentFile = path.join(tempDir('trb-intent-'), 'intent.json');
    const u1 = uplink(first, { stream: name, producerId, intentFile });
    u1.start();
    await waitFor('the first records', () => first.stats().depthRecords === 0);
    await u1.stop({ deadlineMs: 1000 });
    await first.close();
    const used = (JSON.parse(fs.readFileSync(intentFile, 'utf8')) as { lastBatch: number }).lastBatch;
    // A lost state directory: a fresh buffer, and an intent file whose numbering is far below the gateway's.
    const second = await openBuffer();
    await appendRecords(second, 30, 2, 0, 20);
    const lowIntent = path.join(tempDir('trb-intent-'), 'intent.json');
    fs.writeFileSync(lowIntent, JSON.stringify({ v: 1, lastBatch: Math.max(0, used - 1000), window: undefined }));
    const events: UplinkEvent[] = [];
    const u2 = uplink(second, { stream: name, producerId, intentFile: lowIntent }, events);
    u2.start();
    await waitFor('the second records', () => second.stats().depthRecords === 0);
    await u2.stop({ deadlineMs: 1000 });
    await second.close();
    expect(events.some((e) => e.type === 'retry' && /Stale idempotency key/.test(e.error))).toBe(true);
    expect((JSON.parse(fs.readFileSync(lowIntent, 'utf8')) as { lastBatch: number }).lastBatch).toBeGreaterThan(used);
    expect(checkArrivals(await readAll(name), 50, 2)).toBe(0);
  });

  it('dead-letters records the gateway keeps refusing once they are older than maxRecordAgeMs, and drains the buffer', async () => {
    const buffer = await openBuffer();
    const events: UplinkEvent[] = [];
    const maxRecordAgeMs = 300;
    const u = uplink(buffer, { stream: 'u-missing', maxRecordAgeMs, retryBaseMs: 10, retryMaxMs: 50 }, events);
    await appendRecords(buffer, 120, 4);
    const t0 = Date.now();
    u.start();
    await waitFor('the buffer to drain', () => buffer.stats().depthRecords === 0);
    const s = u.stats();
    await u.stop({ deadlineMs: 1000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(maxRecordAgeMs);
    expect(s.deadLetteredRecords).toBe(120);
    expect(s.sentRecords).toBe(0);
    expect(s.lastError?.message).toMatch(/ResourceNotFoundException/);
    expect(buffer.stats().deadLetteredRecords).toBe(120);
    expect(events.some((e) => e.type === 'retry' && e.failure === 'refused')).toBe(true);
    const letters = readDeadLetters(buffer.dir);
    expect(letters).toHaveLength(120);
    expect(letters.map((l) => Buffer.from(l.data as string, 'base64').toString())).toEqual(
      Array.from({ length: 120 }, (_, i) => `k${i % 4}:${Math.floor(i / 4)}`),
    );
    expect(String(letters[0]!.reason)).toMatch(/ResourceNotFoundException/);
    await buffer.close();
  });

  it('keeps retrying refused records until the operator creates the stream, then delivers them', async () => {
    const buffer = await openBuffer();
    const events: UplinkEvent[] = [];
    const u = uplink(buffer, { stream: 'u-late', retryBaseMs: 10, retryMaxMs: 100 }, events);
    await appendRecords(buffer, 60, 3);
    u.start();
    await waitFor('a few refusals', () => events.filter((e) => e.type === 'retry' && e.failure === 'refused').length >= 3);
    expect(u.stats().link).toBe('up'); // the gateway answers; it is the stream that is missing
    await stream('u-late', 1);
    await waitFor('the buffer to drain', () => buffer.stats().depthRecords === 0);
    await u.stop({ deadlineMs: 1000 });
    expect(u.stats().sentRecords).toBe(60);
    expect(u.stats().deadLetteredRecords).toBe(0);
    await buffer.close();
    expect(checkArrivals(await readAll('u-late'), 60, 3)).toBe(0);
  });

  it('treats a silent gateway as a lost link and abandons the request in flight at the stop deadline', async () => {
    await stream('u-silent', 1);
    const proxy = await FaultyProxy.start(gw.port);
    proxy.holdResponses = true;
    const buffer = await openBuffer();
    await appendRecords(buffer, 30, 3);
    const events: UplinkEvent[] = [];
    const u = uplink(buffer, { stream: 'u-silent', endpoint: proxy.url, requestTimeoutMs: 200 }, events);
    u.start();
    await waitFor('the link to go down', () => u.stats().link === 'down');
    expect(u.stats().lastError?.failure).toBe('unreachable');
    expect(u.stats().sentRecords).toBe(0);
    await waitFor('a probe to be in flight', () => u.stats().requests >= 2);
    const t0 = Date.now();
    await u.stop({ deadlineMs: 50 });
    expect(Date.now() - t0).toBeLessThan(500);
    expect(events.at(-1)).toEqual({ type: 'stopped', unsentRecords: 30 });
    // The gateway stored what it was sent; the buffer still holds all of it, to be sent again (at-least-once).
    expect(buffer.stats().depthRecords).toBe(30);
    await buffer.close();
    await proxy.close();
  });

  it('stops at the deadline with the rest still buffered, and a new uplink on the reopened buffer sends it', async () => {
    await stream('u-stop', 2);
    const dir = tempDir('trb-uplink-');
    let buffer = await openBuffer(dir);
    await appendRecords(buffer, 200, 5, 1000);
    // About 28 KB per request at 56 KB/s: two requests a second.
    const batchRecordsMax = 20;
    const keys = { producerId: 'test/u-stop', intentFile: path.join(tempDir('trb-intent-'), 'intent.json') };
    const first = uplink(buffer, { stream: 'u-stop', batchRecordsMax, bandwidthBytesPerSecondMax: 56_000, ...keys });
    const started = Date.now();
    first.start();
    await waitFor('a first request sent', () => first.stats().sentRecords > 0);
    const t0 = Date.now();
    await first.stop({ deadlineMs: 500 });
    expect(Date.now() - t0).toBeLessThan(1500);
    const sent = first.stats().sentRecords;
    // The bandwidth cap: unpaced, all 200 would go in a few tens of milliseconds; capped, two requests a second, plus
    // the one the cap lets go at once, over however long this ran on this machine.
    const ranS = (Date.now() - started) / 1000;
    expect(sent).toBeLessThanOrEqual((1 + Math.ceil(2 * ranS)) * batchRecordsMax);
    expect(sent).toBeLessThan(200);
    // Acked in order: records accepted in one lane past an unsettled one of another stay (settled in the intent file).
    const left = buffer.stats().depthRecords;
    expect(left).toBeGreaterThanOrEqual(200 - sent);
    expect(left).toBeLessThan(200);
    await buffer.close();

    buffer = await openBuffer(dir);
    expect(buffer.stats().depthRecords).toBe(left);
    const second = uplink(buffer, { stream: 'u-stop', batchRecordsMax, ...keys });
    second.start();
    await waitFor('the buffer to drain', () => buffer.stats().depthRecords === 0);
    await second.stop({ deadlineMs: 1000 });
    expect(second.stats().sentRecords).toBe(200 - sent);
    await buffer.close();
    const got = await readAll('u-stop');
    // A request abandoned at the deadline may have reached the gateway: it goes again under its key, answered from memory.
    expect(checkArrivals(got, 200, 5)).toBe(0);
  });
});
