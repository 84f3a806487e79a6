// Issue #20: background jobs run in exactly one gateway process on `storage.backend: nats`, under a lease in KV, and move to another process when their holder is killed. Two shipped gateway processes (lease 2 s) share a Firehose delivery stream reading a Kinesis stream (KinesisStreamAsSource) into one bucket directory: before the kill only the lease holder reads the source (every record delivered exactly once); after kill -9 of the holder the other takes the reader over within the lease time (measured and printed) and continues from the positions in KV; once the killed process is back (its staged records delivered), every acknowledged record is in the bucket, and the duplicates are at most the records the dead holder had staged but not yet recorded as read. The same for an analytics application (a SQL copy from one stream to another): one process runs it, the other takes it over from the checkpoint in KV after kill -9 of the holder, and every input record reaches the output, duplicates only from after the last checkpoint.
import fs from 'node:fs';
import path from 'node:path';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { CreateApplicationCommand, StartApplicationCommand } from '@aws-sdk/client-kinesis-analytics';
import { analyticsClient, waitStatus } from '../helpers/analytics.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActiveDeliveryStream, firehoseClient } from '../helpers/firehose.ts';
import { createActiveStream, kinesisClient, tempDir } from '../helpers/gateway.ts';
import { startNatsCluster, type NatsCluster } from '../helpers/nats.ts';
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.ts';
import { waitFor } from '../helpers/wait.ts';

const leaseMs = 2_000;
const role = 'arn:aws:iam::000000000000:role/firehose';
let cluster: NatsCluster;
let bucket: string;
const running: SpawnedGateway[] = [];
let operator: { accessKeyId: string; secretAccessKey: string };

function configFile(dir: string, prefix: string): string {
  const file = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(file, [
    'storage:', '  backend: nats', '  nats:', `    servers: [${cluster.servers.join(', ')}]`, `    prefix: ${prefix}`, `    leaseMs: ${leaseMs}`,
    'firehose:', '  buckets:', `    shared: ${bucket}`, '',
  ].join('\n'));
  return file;
}

async function start(dir: string, prefix = 'LEASE'): Promise<SpawnedGateway> {
  const gw = await spawnGateway(['--config', configFile(dir, prefix), '--data', path.join(dir, 'data'), '--insecure-http', '--no-limits', '--log-level', 'info']);
  running.push(gw);
  return gw;
}

beforeAll(async () => {
  cluster = await startNatsCluster();
  bucket = tempDir('trb-lease-bucket-');
}, 90_000);

afterAll(async () => {
  for (const gw of running) {
    if (gw.child.exitCode === null && gw.child.signalCode === null) {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
  }
  await cluster?.stop();
});

/** Every record line in the bucket's objects (records are newline-delimited). */
function delivered(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else out.push(...fs.readFileSync(path.join(dir, e.name), 'utf8').split('\n').filter(Boolean));
    }
  };
  walk(bucket);
  return out;
}

const holds = (gw: SpawnedGateway) => gw.logs.some((l) => l.includes('job lease acquired') && l.includes('firehose-source.'));

describe('background job leases on NATS', () => {
  it('runs a Firehose Kinesis source in one process, and moves it to the other within the lease time when its holder is killed', async () => {
    const dirA = tempDir('trb-lease-a-');
    const dirB = tempDir('trb-lease-b-');
    let a = await start(dirA);
    operator = JSON.parse(fs.readFileSync(path.join(dirA, 'data', 'operator.json'), 'utf8')) as typeof operator;
    await createActiveStream(kinesisClient(a.url, operator), 'src', 2);
    await createActiveDeliveryStream(firehoseClient(a.url, operator), {
      DeliveryStreamName: 'fh', DeliveryStreamType: 'KinesisStreamAsSource',
      KinesisStreamSourceConfiguration: { KinesisStreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/src', RoleARN: role },
      ExtendedS3DestinationConfiguration: {
        RoleARN: role, BucketARN: 'arn:aws:s3:::shared', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
        ProcessingConfiguration: { Enabled: true, Processors: [{ Type: 'AppendDelimiterToRecord' }] },
      },
    });
    // B starts after the delivery stream exists (Firehose metadata is read at start: docs/scaling.md).
    let b = await start(dirB);
    await waitFor('A to hold the source lease', () => holds(a), { timeoutMs: 10_000 });

    const acked: string[] = [];
    let n = 0;
    const put = async (client: KinesisClient, count: number) => {
      const texts = Array.from({ length: count }, () => `r-${n++}`);
      const r = await client.send(new PutRecordsCommand({ StreamName: 'src', Records: texts.map((t) => ({ PartitionKey: t, Data: Buffer.from(t) })) }));
      r.Records!.forEach((rec, i) => {
        if (rec.SequenceNumber) acked.push(texts[i]!);
      });
    };
    // Written through both processes; read (once) by the holder only.
    for (let i = 0; i < 10; i++) await put(kinesisClient(i % 2 ? b.url : a.url, operator), 50);
    await waitFor('the records delivered once', () => delivered().length >= acked.length, { timeoutMs: 30_000 });
    expect(delivered().sort()).toEqual([...acked].sort());
    expect(holds(b)).toBe(false);

    // kill -9 of the holder while records keep coming through B.
    await put(kinesisClient(b.url, operator), 100);
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await a.exited;
    await waitFor('B to take the source over', () => holds(b), { timeoutMs: leaseMs * 4 });
    const takeoverMs = Date.now() - killedAt;
    for (let i = 0; i < 5; i++) await put(kinesisClient(b.url, operator), 50);

    // A back on its data: its staging delivers what it had staged before the kill.
    a = await start(dirA);
    const want = new Set(acked);
    const got = await waitFor('every acknowledged record delivered', () => {
      const d = delivered();
      return [...want].every((t) => d.includes(t)) && d;
    }, { timeoutMs: 60_000 });
    const counts = new Map<string, number>();
    for (const t of got) counts.set(t, (counts.get(t) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((c) => c > 1).length;
    expect([...counts.keys()].filter((t) => !want.has(t))).toEqual([]);
    expect([...counts.values()].every((c) => c <= 2)).toBe(true);
    // Only records A read after the positions it last stored can come twice: at most the 100 written just before the kill.
    expect(duplicates).toBeLessThanOrEqual(100);
    expect(takeoverMs).toBeLessThan(leaseMs * 2 + 1_000);
    console.log(`lease ${leaseMs} ms: B took the Firehose source over ${takeoverMs} ms after kill -9 of A; ${acked.length} records acknowledged, ${got.length} delivered, ${duplicates} twice`);
    b.child.kill('SIGTERM');
    await b.exited;
    // B gave the lease up on a clean stop: A takes it at its next look, not a lease later.
    await waitFor('A to take the lease after B stopped', () => a.logs.filter((l) => l.includes('job lease acquired')).length > 0, { timeoutMs: leaseMs });
  }, 180_000);

  it('runs an analytics application in one process, and resumes it in the other from the checkpoint in KV when its holder is killed', async () => {
    const dirA = tempDir('trb-lease-ka-a-');
    const dirB = tempDir('trb-lease-ka-b-');
    // A cluster prefix of its own: a fresh deployment, whose first process makes the operator.
    const a = await start(dirA, 'LEASEKA');
    operator = JSON.parse(fs.readFileSync(path.join(dirA, 'data', 'operator.json'), 'utf8')) as typeof operator;
    const k = kinesisClient(a.url, operator);
    await createActiveStream(k, 'ka-in', 2);
    await createActiveStream(k, 'ka-out', 1);
    const arn = (name: string) => `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`;
    const ka = analyticsClient(a.url, operator);
    await ka.send(new CreateApplicationCommand({
      ApplicationName: 'copy',
      Inputs: [{
        NamePrefix: 'SOURCE_SQL_STREAM', KinesisStreamsInput: { ResourceARN: arn('ka-in'), RoleARN: role },
        InputSchema: {
          RecordFormat: { RecordFormatType: 'JSON', MappingParameters: { JSONMappingParameters: { RecordRowPath: '$' } } },
          RecordColumns: [{ Name: 'id', Mapping: '$.id', SqlType: 'INTEGER' }],
        },
      }],
      Outputs: [{ Name: 'DESTINATION_SQL_STREAM', KinesisStreamsOutput: { ResourceARN: arn('ka-out'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'JSON' } }],
      ApplicationCode: 'CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("id" INTEGER);\nCREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM "id" FROM "SOURCE_SQL_STREAM_001";',
    }));
    await ka.send(new StartApplicationCommand({ ApplicationName: 'copy', InputConfigurations: [{ Id: '1.1', InputStartingPositionConfiguration: { InputStartingPosition: 'TRIM_HORIZON' } }] }));
    await waitStatus(ka, 'copy', 'RUNNING');
    // B starts with the application RUNNING in the metadata: it asks for the application's lease, A holds it.
    const b = await start(dirB, 'LEASEKA');
    const runsHere = (gw: SpawnedGateway) => gw.logs.some((l) => l.includes('job lease acquired') && l.includes('analytics.'));
    await waitFor('A to hold the application\'s lease', () => runsHere(a), { timeoutMs: 10_000 });

    let id = 0;
    const acked: number[] = [];
    const put = async (client: KinesisClient) => {
      const ids = Array.from({ length: 50 }, () => id++);
      const r = await client.send(new PutRecordsCommand({ StreamName: 'ka-in', Records: ids.map((i) => ({ PartitionKey: `k${i % 8}`, Data: Buffer.from(JSON.stringify({ id: i })) })) }));
      r.Records!.forEach((rec, i) => rec.SequenceNumber && acked.push(ids[i]!));
    };
    const output = async (): Promise<number[]> => {
      const kb = kinesisClient(b.url, operator);
      const out: number[] = [];
      const { Shards } = await kb.send(new ListShardsCommand({ StreamName: 'ka-out' }));
      for (const sh of Shards!) {
        let it = (await kb.send(new GetShardIteratorCommand({ StreamName: 'ka-out', ShardId: sh.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
        for (;;) {
          const r = await kb.send(new GetRecordsCommand({ ShardIterator: it!, Limit: 10_000 }));
          for (const rec of r.Records!) out.push((JSON.parse(Buffer.from(rec.Data!).toString()) as { id: number }).id);
          if (r.Records!.length === 0) break;
          it = r.NextShardIterator;
        }
      }
      return out;
    };
    for (let i = 0; i < 6; i++) await put(kinesisClient(i % 2 ? b.url : a.url, operator));
    await waitFor('the rows copied once', async () => (await output()).length >= acked.length, { timeoutMs: 30_000 });
    expect((await output()).sort((x, y) => x - y)).toEqual([...acked].sort((x, y) => x - y));
    expect(runsHere(b)).toBe(false);

    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await a.exited;
    await waitFor('B to take the application over', () => runsHere(b), { timeoutMs: leaseMs * 4 });
    const takeoverMs = Date.now() - killedAt;
    for (let i = 0; i < 4; i++) await put(kinesisClient(b.url, operator));
    const want = new Set(acked);
    const rows = await waitFor('every input record copied', async () => {
      const out = await output();
      return [...want].every((x) => out.includes(x)) && out;
    }, { timeoutMs: 30_000 });
    const counts = new Map<number, number>();
    for (const x of rows) counts.set(x, (counts.get(x) ?? 0) + 1);
    const twice = [...counts.values()].filter((c) => c > 1).length;
    expect([...counts.keys()].filter((x) => !want.has(x))).toEqual([]);
    expect([...counts.values()].every((c) => c <= 2)).toBe(true);
    console.log(`lease ${leaseMs} ms: B took the analytics application over ${takeoverMs} ms after kill -9 of A; ${acked.length} input records, ${rows.length} output rows, ${twice} twice`);
  }, 180_000);
});
