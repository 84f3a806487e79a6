// Issue #20: control-plane changes made through one gateway process on `storage.backend: nats` are seen by another at once (a KV watch on the metadata document). Two shipped gateway processes on one throwaway 3-node JetStream cluster, driven with the stock AWS SDK: a stream created, tagged, resharded and deleted through A is described, written and read through B within a second (measured and printed), and B never writes past the end of a shard A closed (the parent's log is sealed, so every record B had acknowledged is read back).
import fs from 'node:fs';
import path from 'node:path';
import {
  AddTagsToStreamCommand, CreateStreamCommand, DeleteStreamCommand, DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand,
  ListShardsCommand, ListTagsForStreamCommand, PutRecordsCommand, UpdateShardCountCommand, type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinesisClient, tempDir, waitActive } from '../helpers/gateway.ts';
import { startNatsCluster, type NatsCluster } from '../helpers/nats.ts';
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.ts';
import { waitFor } from '../helpers/wait.ts';

let cluster: NatsCluster;
const gateways: SpawnedGateway[] = [];
let a: KinesisClient;
let b: KinesisClient;

async function startProcess(): Promise<SpawnedGateway & { dataDir: string }> {
  const dir = tempDir('trb-gw-meta-');
  const config = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(config, `storage:\n  backend: nats\n  nats:\n    servers: [${cluster.servers.join(', ')}]\n    prefix: META\n`);
  const gw = await spawnGateway(['--config', config, '--data', path.join(dir, 'data'), '--insecure-http', '--no-limits']);
  gateways.push(gw);
  return { ...gw, dataDir: path.join(dir, 'data') };
}

beforeAll(async () => {
  cluster = await startNatsCluster();
  const first = await startProcess();
  // The first process made the operator and stored it in KV, where the second one loaded it at its start.
  const operator = JSON.parse(fs.readFileSync(path.join(first.dataDir, 'operator.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
  a = kinesisClient(first.url, operator);
  b = kinesisClient((await startProcess()).url, operator);
}, 120_000);

afterAll(async () => {
  for (const gw of gateways) {
    if (gw.child.exitCode === null) {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
  }
  await cluster?.stop();
});

/** How long until `check` holds on B, polled every 5 ms (at most 2 s: "at once" on a busy machine). */
async function seenWithin(what: string, check: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  await waitFor(what, check, { timeoutMs: 2_000, intervalMs: 5 });
  return performance.now() - start;
}

async function readAll(client: KinesisClient, StreamName: string): Promise<string[]> {
  const out: string[] = [];
  const { Shards } = await client.send(new ListShardsCommand({ StreamName }));
  for (const s of Shards!) {
    let it = (await client.send(new GetShardIteratorCommand({ StreamName, ShardId: s.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    for (;;) {
      const r = await client.send(new GetRecordsCommand({ ShardIterator: it!, Limit: 10_000 }));
      for (const rec of r.Records!) out.push(Buffer.from(rec.Data!).toString());
      if (r.Records!.length === 0 || !r.NextShardIterator) break;
      it = r.NextShardIterator;
    }
  }
  return out.sort();
}

describe('live metadata across gateway processes on NATS', () => {
  it('shows B a stream A created, tagged, resharded and deleted, at once, and B writes into it without losing a record', async () => {
    const delays: Record<string, number> = {};
    const summary = (c: KinesisClient) => c.send(new DescribeStreamSummaryCommand({ StreamName: 'live' })).then((r) => r.StreamDescriptionSummary!);

    await a.send(new CreateStreamCommand({ StreamName: 'live', ShardCount: 2 }));
    delays.create = await seenWithin('B to describe the new stream', async () => (await summary(b).catch(() => undefined)) !== undefined);
    // B refuses a second stream of that name: it knows the first.
    await expect(b.send(new CreateStreamCommand({ StreamName: 'live', ShardCount: 1 }))).rejects.toMatchObject({ name: 'ResourceInUseException' });
    await waitActive(a, 'live');
    delays.active = await seenWithin('B to see the stream ACTIVE', async () => (await summary(b)).StreamStatus === 'ACTIVE');

    await a.send(new AddTagsToStreamCommand({ StreamName: 'live', Tags: { team: 'edge' } }));
    delays.tags = await seenWithin('B to list the tag', async () =>
      (await b.send(new ListTagsForStreamCommand({ StreamName: 'live' }))).Tags!.some((t) => t.Key === 'team' && t.Value === 'edge'));

    // B writes while A reshards 2 -> 4: records B had acknowledged are all read back, none twice.
    const acked: string[] = [];
    let stop = false;
    let batch = 0;
    let refused = 0;
    const writer = (async () => {
      while (!stop) {
        const texts = Array.from({ length: 20 }, (_, i) => `b-${batch}-${i}`);
        batch++;
        const r = await b.send(new PutRecordsCommand({ StreamName: 'live', Records: texts.map((t) => ({ PartitionKey: t, Data: Buffer.from(t) })) }));
        r.Records!.forEach((rec, i) => {
          if (rec.SequenceNumber) acked.push(texts[i]!);
        });
        refused += r.FailedRecordCount!;
      }
    })();
    await waitFor('B to acknowledge records before the reshard', () => acked.length >= 200);
    await a.send(new UpdateShardCountCommand({ StreamName: 'live', TargetShardCount: 4, ScalingType: 'UNIFORM_SCALING' }));
    delays.reshard = await seenWithin('B to list four open shards', async () =>
      (await b.send(new ListShardsCommand({ StreamName: 'live' }))).Shards!.filter((s) => !s.SequenceNumberRange!.EndingSequenceNumber).length === 4);
    const atReshard = acked.length;
    await waitFor('B to acknowledge records into the new shards', () => acked.length >= atReshard + 200);
    stop = true;
    await writer;
    await waitActive(a, 'live');
    expect(await readAll(a, 'live')).toEqual([...acked].sort());
    expect(await readAll(b, 'live')).toEqual([...acked].sort());

    await a.send(new DeleteStreamCommand({ StreamName: 'live' }));
    delays.delete = await seenWithin('B to answer ResourceNotFoundException', async () =>
      summary(b).then(() => false, (err: Error) => err.name === 'ResourceNotFoundException'));
    console.log(`control-plane changes through A seen by B after (ms): ${JSON.stringify(Object.fromEntries(Object.entries(delays).map(([k, v]) => [k, Math.round(v)])))}; B's records acknowledged ${acked.length}, answered InternalFailure (retryable) ${refused}`);
    // Neither process logged an error (a failed watch, a failed delete of the sealed parents).
    await waitFor('A to log the deletion', () => gateways[0]!.logs.some((l) => l.includes('"stream deleted"')));
    expect(gateways.flatMap((gw) => gw.logs.filter((l) => l.includes('"level":"error"')))).toEqual([]);
  }, 120_000);
});
