// Proves idempotent PutRecords: a batch resent with the same
// X-Tributary-Idempotency-Key gets the same answer and stores nothing twice,
// across a gateway restart too; a reused key with other bytes is refused; a
// malformed key is a clear error; stock clients (no header) are unaffected;
// an answer whose records were lost to a torn tail is not replayed.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { createActiveStream, kinesisClient, tempDir, testGateway, testOperator } from '../helpers/gateway.ts';
import { JsonRpcClient } from '../../sdk/http/json-rpc-client.ts';
import { AwsError } from '../../sdk/protocol/errors.ts';
import { parseStaleBatch } from '../../sdk/protocol/idempotency.ts';

type Gw = Awaited<ReturnType<typeof testGateway>>;
const open: Gw[] = [];
afterEach(async () => {
  for (const g of open.splice(0)) await g.close();
});

async function start(dataDir: string): Promise<{ gw: Gw; c: KinesisClient; rpc: JsonRpcClient }> {
  const gw = await testGateway({ dataDir, createDelayMs: 0, enforceLimits: false });
  open.push(gw);
  const rpc = new JsonRpcClient({ endpoint: gw.url, region: 'us-east-1', service: 'kinesis', targetPrefix: 'Kinesis_20131202', credentials: testOperator });
  return { gw, c: kinesisClient(gw.url), rpc };
}

interface Answer {
  FailedRecordCount: number;
  Records: Array<{ SequenceNumber?: string; ShardId?: string }>;
}

function batch(n: number, tag: string) {
  return Array.from({ length: n }, (_, i) => ({ PartitionKey: `k${i % 7}`, Data: Buffer.from(`${tag}-${i}`).toString('base64') }));
}

async function countRecords(c: KinesisClient, StreamName: string): Promise<string[]> {
  const out: string[] = [];
  const { Shards } = await c.send(new ListShardsCommand({ StreamName }));
  for (const s of Shards!) {
    let { ShardIterator } = await c.send(new GetShardIteratorCommand({ StreamName, ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    for (;;) {
      const r = await c.send(new GetRecordsCommand({ ShardIterator }));
      for (const x of r.Records!) out.push(Buffer.from(x.Data!).toString());
      if (r.Records!.length === 0) break;
      ShardIterator = r.NextShardIterator;
    }
  }
  return out.sort();
}

describe('idempotent PutRecords', () => {
  it('answers a resent batch from memory, and again after a restart, storing each record once', async () => {
    const dir = tempDir('trb-idem-');
    let { gw, c, rpc } = await start(dir);
    await createActiveStream(c, 's', 3);
    const records = batch(50, 'a');
    const key = { 'x-tributary-idempotency-key': 'dev-1/telemetry/41' };
    const first = await rpc.call<Answer>('PutRecords', { StreamName: 's', Records: records }, key);
    expect(first.FailedRecordCount).toBe(0);
    const again = await rpc.call<Answer>('PutRecords', { StreamName: 's', Records: records }, key);
    expect(again).toEqual(first);
    // Concurrent resends of a new batch run it once.
    const key2 = { 'x-tributary-idempotency-key': 'dev-1/telemetry/42' };
    const records2 = batch(20, 'b');
    const [x, y] = await Promise.all([
      rpc.call<Answer>('PutRecords', { StreamName: 's', Records: records2 }, key2),
      rpc.call<Answer>('PutRecords', { StreamName: 's', Records: records2 }, key2),
    ]);
    expect(y).toEqual(x);
    rpc.close();
    await gw.close();
    open.splice(0);

    ({ gw, c, rpc } = await start(dir));
    const afterRestart = await rpc.call<Answer>('PutRecords', { StreamName: 's', Records: records2 }, key2);
    expect(afterRestart).toEqual(x);
    // Each producer's last batch is what is remembered; another producer's keys are its own.
    const other = await rpc.call<Answer>('PutRecords', { StreamName: 's', Records: records2 }, { 'x-tributary-idempotency-key': 'dev-2/telemetry/42' });
    expect(other.Records[0]!.SequenceNumber).not.toBe(x.Records[0]!.SequenceNumber);
    const stored = await countRecords(c, 's');
    expect(stored.length).toBe(50 + 20 + 20);
    expect(new Set(stored.filter((d) => d.startsWith('a-'))).size).toBe(50);
    rpc.close();
  });

  it('refuses a late copy of an older batch (a dead connection delivering it after a resend was answered)', async () => {
    const { c, rpc } = await start(tempDir('trb-idem-'));
    await createActiveStream(c, 's', 1);
    const old = batch(4, 'old');
    await rpc.call('PutRecords', { StreamName: 's', Records: old }, { 'x-tributary-idempotency-key': 'dev-9/t/10' });
    await rpc.call('PutRecords', { StreamName: 's', Records: batch(4, 'new') }, { 'x-tributary-idempotency-key': 'dev-9/t/11' });
    const late = await rpc.call('PutRecords', { StreamName: 's', Records: old }, { 'x-tributary-idempotency-key': 'dev-9/t/10' }).catch((e: unknown) => e);
    expect((late as AwsError).type).toBe('InvalidArgumentException');
    expect(parseStaleBatch((late as AwsError).message)).toBe(11);
    expect((await countRecords(c, 's')).length).toBe(8);
    rpc.close();
  });

  it('refuses a key reused for different records, and a malformed key, with InvalidArgumentException', async () => {
    const { c, rpc } = await start(tempDir('trb-idem-'));
    await createActiveStream(c, 's', 1);
    const key = { 'x-tributary-idempotency-key': 'p/7' };
    await rpc.call('PutRecords', { StreamName: 's', Records: batch(3, 'x') }, key);
    const reused = await rpc.call('PutRecords', { StreamName: 's', Records: batch(3, 'y') }, key).catch((e: unknown) => e);
    expect(reused).toBeInstanceOf(AwsError);
    expect((reused as AwsError).type).toBe('InvalidArgumentException');
    expect((reused as AwsError).message).toMatch(/already used for a different request/);
    const bad = await rpc.call('PutRecords', { StreamName: 's', Records: batch(1, 'z') }, { 'x-tributary-idempotency-key': 'no batch number' }).catch((e: unknown) => e);
    expect((bad as AwsError).type).toBe('InvalidArgumentException');
    expect((bad as AwsError).message).toMatch(/expected <producer>\/<batch number>/);
    // The stock SDK sends no key: every call stores its records.
    await c.send(new PutRecordsCommand({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: Buffer.from('sdk') }] }));
    await c.send(new PutRecordsCommand({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: Buffer.from('sdk') }] }));
    expect((await countRecords(c, 's')).filter((d) => d === 'sdk').length).toBe(2);
    rpc.close();
  });

  it('does not replay an answer whose records a torn tail took, and skips a torn log line', async () => {
    const dir = tempDir('trb-idem-');
    let { gw, c, rpc } = await start(dir);
    await createActiveStream(c, 's', 1);
    const key = { 'x-tributary-idempotency-key': 'p/1' };
    const records = batch(5, 't');
    await rpc.call<Answer>('PutRecords', { StreamName: 's', Records: records }, key);
    rpc.close();
    await gw.close();
    open.splice(0);
    // Simulate the crash window: the answer is in the log, the records are not (truncate the shard's segments).
    let truncated = 0;
    for (const f of fs.readdirSync(path.join(dir, 'streams'), { recursive: true }) as string[]) {
      if (!f.endsWith('.seg')) continue;
      fs.truncateSync(path.join(dir, 'streams', f), 0);
      truncated++;
    }
    expect(truncated).toBe(1);
    fs.appendFileSync(path.join(dir, 'metadata', 'idempotency.log'), 'deadbeef {"torn');
    ({ gw, c, rpc } = await start(dir));
    expect(await countRecords(c, 's')).toEqual([]);
    const again = await rpc.call<Answer>('PutRecords', { StreamName: 's', Records: records }, key);
    expect(again.FailedRecordCount).toBe(0);
    expect((await countRecords(c, 's')).length).toBe(5);
    rpc.close();
  });
});
