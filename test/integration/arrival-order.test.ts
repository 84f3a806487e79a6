// Issue #19: writes are applied in the order their requests arrived, whichever thread prepared
// them first. Requests pipelined on one connection arrive in a known order: a large PutRecords
// (seconds of base64 for one worker), then a one-record PutRecords (another worker, done at
// once), then a PutRecord (parsed on the main thread at once), all for one partition key. Every
// record must read back in that order; without the arrival order the small ones overtake.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { createActiveStream, kinesisClient, testGateway, testOperator } from '../helpers/gateway.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { signRequest } from '../../sdk/protocol/sigv4.ts';

let gw: Gateway;
let c: KinesisClient;
beforeAll(async () => {
  // Two workers and no inline preparation: the large and the small request go to different workers.
  gw = await testGateway({ offloadWorkers: 2, offloadInlineBusyPercentMax: 0, enforceLimits: false, createDelayMs: 0 });
  c = kinesisClient(gw.url);
  expect(await gw.startOffloadWorkers()).toBe(true);
});
afterAll(() => gw.close());

/** One signed request as bytes on the wire (HTTP/1.1, keep-alive). */
function requestBytes(port: number, action: string, input: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(input));
  const headers = signRequest({
    method: 'POST', url: new URL(`http://127.0.0.1:${port}/`), headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `Kinesis_20131202.${action}` },
    body, ...testOperator, region: 'us-east-1', service: 'kinesis', now: Date.now(),
  });
  const lines = [`POST / HTTP/1.1`, `host: 127.0.0.1:${port}`, `content-length: ${body.length}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), body]);
}

/** Writes all requests in one go on one connection and collects the status of each pipelined response. */
function pipeline(port: number, requests: Buffer[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let pending = Buffer.alloc(0);
    const statuses: number[] = [];
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = pending.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
        if (!Number.isFinite(length)) return reject(new Error(`a response without Content-Length: ${head}`));
        if (pending.length < end + 4 + length) return;
        statuses.push(Number(head.split(' ')[1]));
        pending = pending.subarray(end + 4 + length);
        if (statuses.length === requests.length) {
          socket.end();
          return resolve(statuses);
        }
      }
    });
    socket.on('error', reject);
    socket.write(Buffer.concat(requests));
  });
}

async function readShard(stream: string): Promise<string[]> {
  const out: string[] = [];
  let { ShardIterator } = await c.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
  for (;;) {
    const r = await c.send(new GetRecordsCommand({ ShardIterator, Limit: 10_000 }));
    for (const x of r.Records!) out.push(Buffer.from(x.Data!).toString('latin1').split(';')[0]!);
    if (!r.Records!.length && r.MillisBehindLatest === 0) return out;
    ShardIterator = r.NextShardIterator;
  }
}

describe('arrival order', () => {
  it('stores one key\'s records in the order their requests arrived, whichever thread prepared them first', async () => {
    await createActiveStream(c, 'arrivals', 1);
    const port = Number(new URL(gw.url).port);
    const filler = 'x'.repeat(8000);
    const requests: Buffer[] = [];
    const expected: string[] = [];
    for (let round = 0; round < 4; round++) {
      const big = Array.from({ length: 500 }, (_, i) => `${round}-a-${i}`);
      requests.push(requestBytes(port, 'PutRecords', { StreamName: 'arrivals', Records: big.map((v) => ({ PartitionKey: 'k', Data: Buffer.from(`${v};${filler}`).toString('base64') })) }));
      requests.push(requestBytes(port, 'PutRecords', { StreamName: 'arrivals', Records: [{ PartitionKey: 'k', Data: Buffer.from(`${round}-b;`).toString('base64') }] }));
      requests.push(requestBytes(port, 'PutRecord', { StreamName: 'arrivals', PartitionKey: 'k', Data: Buffer.from(`${round}-c;`).toString('base64') }));
      expected.push(...big, `${round}-b`, `${round}-c`);
    }
    const statuses = await pipeline(port, requests);
    expect(statuses).toEqual(requests.map(() => 200));
    const got = await readShard('arrivals');
    expect(got.length).toBe(expected.length);
    // Compared as a whole only when they differ somewhere: the first difference says which request overtook.
    const first = got.findIndex((v, i) => v !== expected[i]);
    expect(first === -1 ? 'in order' : `record ${first}: ${got[first]} where ${expected[first]} was expected`).toBe('in order');
  }, 60_000);
});
