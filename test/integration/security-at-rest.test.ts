// Issue #11, item 7: proves that with stream encryption on, nothing derived
// from the stream lies in the clear under the gateway's data directory. A real
// `tributary gateway start` child process stores records with marker partition
// keys and marker data (PutRecord, offloaded PutRecords, an idempotent
// PutRecords) in an encrypted stream that a Firehose delivery stream reads;
// the test then reads every file under the data directory and finds neither
// marker, while GetRecords still answers the right partition keys and data,
// and the objects delivered to a bucket outside the data directory hold the
// records.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, PutRecordCommand, PutRecordsCommand, StartStreamEncryptionCommand,
} from '@aws-sdk/client-kinesis';
import { UpdateDestinationCommand } from '@aws-sdk/client-firehose';
import { tempDir, waitActive } from '../helpers/gateway.ts';
import { createActiveDeliveryStream, firehoseClient } from '../helpers/firehose.ts';
import { sdkClient, spawnTestGateway } from '../helpers/attack.ts';
import { idempotencyHeader } from '../../sdk/protocol/idempotency.ts';
import { signRequest } from '../../sdk/protocol/sigv4.ts';

let gw: Awaited<ReturnType<typeof spawnTestGateway>>;
let outside: string;
beforeAll(async () => {
  outside = tempDir('trb-out-');
  const config = path.join(tempDir('trb-conf-'), 'gateway.yaml');
  fs.writeFileSync(config, `firehose:\n  buckets:\n    out: ${outside}\n`);
  gw = await spawnTestGateway(['--config', config]);
});
afterAll(async () => {
  await gw?.kill();
});

/** A counter of the gateway's /metrics (read with its metrics token). */
async function metric(name: string, labels: string): Promise<number> {
  const token = fs.readFileSync(path.join(gw.dataDir, 'metrics.token'), 'utf8').trim();
  const text = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

const pkMarker = 'PKMARKER-c41b7e';
const dataMarker = 'DATAMARKER-9f03aa';

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

async function waitFor<T>(what: string, f: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function putIdempotent(body: string): Promise<number> {
  const url = new URL(gw.url);
  const headers = signRequest({
    method: 'POST', url: new URL('/', url), headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.PutRecords', [idempotencyHeader]: 'producer-1/1' },
    body, ...gw.operator, region: 'us-east-1', service: 'kinesis', now: Date.now(),
  });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/', headers: { ...headers, host: url.host, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('encryption at rest (issue #11, item 7)', () => {
  it('keeps partition keys, data and Firehose staging of an encrypted stream out of every file in the data directory', async () => {
    const k = sdkClient(gw.url, gw.operator);
    await k.send(new CreateStreamCommand({ StreamName: 'secret', ShardCount: 2 }));
    await waitActive(k, 'secret');
    await k.send(new StartStreamEncryptionCommand({ StreamName: 'secret', EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }));
    await waitActive(k, 'secret');
    const f = firehoseClient(gw.url, gw.operator);
    await createActiveDeliveryStream(f, {
      DeliveryStreamName: 'copy', DeliveryStreamType: 'KinesisStreamAsSource',
      KinesisStreamSourceConfiguration: { KinesisStreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/secret', RoleARN: 'arn:aws:iam::000000000000:role/f' },
      ExtendedS3DestinationConfiguration: { RoleARN: 'arn:aws:iam::000000000000:role/f', BucketARN: 'arn:aws:s3:::out', BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 900 } },
    });

    await k.send(new PutRecordCommand({ StreamName: 'secret', PartitionKey: `${pkMarker}-0`, Data: Buffer.from(`${dataMarker}-0`) }));
    await k.send(new PutRecordsCommand({ StreamName: 'secret', Records: [1, 2, 3].map((i) => ({ PartitionKey: `${pkMarker}-${i}`, Data: Buffer.from(`${dataMarker}-${i}`) })) }));
    expect(await putIdempotent(JSON.stringify({ StreamName: 'secret', Records: [{ PartitionKey: `${pkMarker}-4`, Data: Buffer.from(`${dataMarker}-4`).toString('base64') }] }))).toBe(200);

    // The delivery stream has staged all five.
    await waitFor('staging', async () => ((await metric('tributary_firehose_IncomingRecords', 'delivery_stream="copy"')) === 5 ? true : undefined));
    const leaks = filesUnder(gw.dataDir).filter((file) => {
      const bytes = fs.readFileSync(file);
      return bytes.includes(pkMarker) || bytes.includes(dataMarker);
    });
    expect(leaks).toEqual([]);

    // Readers see everything as written.
    const read: Array<[string, string]> = [];
    for (const ShardId of ['shardId-000000000000', 'shardId-000000000001']) {
      const it = await k.send(new GetShardIteratorCommand({ StreamName: 'secret', ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
      const got = await k.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
      for (const r of got.Records ?? []) read.push([r.PartitionKey!, Buffer.from(r.Data!).toString()]);
    }
    expect(read.sort()).toEqual([0, 1, 2, 3, 4].map((i) => [`${pkMarker}-${i}`, `${dataMarker}-${i}`]));

    // Delivered to the bucket (outside the data directory): the destination's own encryption configuration applies there.
    await f.send(new UpdateDestinationCommand({ DeliveryStreamName: 'copy', CurrentDeliveryStreamVersionId: '1', DestinationId: 'destinationId-000000000001', ExtendedS3DestinationUpdate: { BufferingHints: { IntervalInSeconds: 0 } } }));
    const delivered = await waitFor('delivery', () => {
      const text = filesUnder(outside).map((file) => fs.readFileSync(file, 'utf8')).join('');
      return [0, 1, 2, 3, 4].every((i) => text.includes(`${dataMarker}-${i}`)) ? text : undefined;
    });
    expect(delivered).toContain(`${dataMarker}-4`);
    k.destroy();
    f.destroy();
  });
});
