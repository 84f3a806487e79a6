// Issue #11, item 9 (HTTP endpoint destinations): proves against real
// `tributary gateway start` child processes that the operator's allow-list
// (`firehose.httpEndpointsAllowed`) keeps delivery streams from posting to
// services the gateway can reach but callers should not: a loopback "internal
// service", another path on the allowed host, and the gateway's own port are
// refused by CreateDeliveryStream and UpdateDestination, while the allowed
// collector gets its records. After a restart with a narrower list, the
// delivery stream made before posts nothing more to the collector: its
// records go to the error output as HttpEndpoint.ConnectionFailed.
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateDeliveryStreamCommand, DescribeDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand, UpdateDestinationCommand,
  type CreateDeliveryStreamCommandInput,
} from '@aws-sdk/client-firehose';
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.ts';
import { tempDir } from '../helpers/gateway.ts';

const role = 'arn:aws:iam::000000000000:role/firehose';
const dataDir = tempDir('trb-fhe-');
const backupDir = tempDir('trb-fhe-backup-');
let gw: SpawnedGateway | undefined;
let firehose: FirehoseClient;
/** Requests each local server received: an allowed collector and an internal service. */
const received: Record<'collector' | 'internal', string[]> = { collector: [], internal: [] };
const servers: http.Server[] = [];
let collector: string;
let internal: string;

function serve(name: 'collector' | 'internal'): Promise<string> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received[name].push(req.url!);
      const { requestId } = JSON.parse(body || '{}') as { requestId?: string };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ requestId, timestamp: Date.now() }));
    });
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`)));
}

async function start(allowed: string[]): Promise<void> {
  const config = path.join(tempDir('trb-conf-'), 'gateway.yaml');
  fs.writeFileSync(config, `firehose:\n  buckets:\n    backup: ${backupDir}\n  httpEndpointsAllowed:\n${allowed.map((u) => `    - ${u}\n`).join('')}`);
  gw = await spawnGateway(['--insecure-http', '--data', dataDir, '--no-limits', '--config', config]);
  const profile = JSON.parse(fs.readFileSync(path.join(dataDir, 'operator.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
  firehose?.destroy();
  firehose = new FirehoseClient({ endpoint: gw.url, region: 'us-east-1', credentials: { accessKeyId: profile.accessKeyId, secretAccessKey: profile.secretAccessKey }, maxAttempts: 1 });
}

async function stop(): Promise<void> {
  if (gw && gw.child.exitCode === null && gw.child.signalCode === null) gw.child.kill('SIGTERM');
  await gw?.exited;
}

beforeAll(async () => {
  collector = await serve('collector');
  internal = await serve('internal');
  await start([`${collector}/in/`]);
});
afterAll(async () => {
  firehose?.destroy();
  await stop();
  for (const s of servers) s.close();
});

const stream = (name: string, url: string): CreateDeliveryStreamCommandInput => ({
  DeliveryStreamName: name,
  HttpEndpointDestinationConfiguration: {
    EndpointConfiguration: { Url: url },
    BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
    RetryOptions: { DurationInSeconds: 0 },
    S3Configuration: { RoleARN: role, BucketARN: 'arn:aws:s3:::backup', ErrorOutputPrefix: 'errors/' },
  },
});

async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  throw new Error('expected the call to fail');
}

async function waitFor<T>(what: string, f: () => T | undefined): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const notAllowed = (url: string) => ({ name: 'InvalidArgumentException', message: `EndpointConfiguration.Url ${url} is not allowed by this gateway (firehose.httpEndpointsAllowed).` });
const put = (name: string, data: string) => firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: [{ Data: Buffer.from(data) }] }));

describe('HTTP endpoint destinations and the operator allow-list (issue #11, item 9)', () => {
  it('refuses URLs the list does not name and delivers to the ones it does', async () => {
    const refused = [`${internal}/admin`, `${collector}/admin`, `${gw!.url}/pairing`, 'http://169.254.169.254/latest/meta-data/'];
    for (const [i, url] of refused.entries()) {
      expect(await errorOf(firehose.send(new CreateDeliveryStreamCommand(stream(`bad-${i}`, url))))).toEqual(notAllowed(url));
    }
    await firehose.send(new CreateDeliveryStreamCommand(stream('good', `${collector}/in/good`)));
    for (let i = 0; i < 200; i++) {
      const d = await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'good' }));
      if (d.DeliveryStreamDescription?.DeliveryStreamStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const update = await errorOf(firehose.send(new UpdateDestinationCommand({
      DeliveryStreamName: 'good', CurrentDeliveryStreamVersionId: '1', DestinationId: 'destinationId-000000000001',
      HttpEndpointDestinationUpdate: { EndpointConfiguration: { Url: `${internal}/admin` } },
    })));
    expect(update).toEqual(notAllowed(`${internal}/admin`));
    await put('good', 'to the collector');
    await waitFor('the collector', () => (received.collector.length ? true : undefined));
    expect(received.collector).toEqual(['/in/good']);
    expect(received.internal).toEqual([]);
  });

  it('stops posting to a URL the list no longer names after a restart', async () => {
    await stop();
    await start([`${collector}/elsewhere/`]);
    expect(gw!.logs.some((l) => l.includes('firehose.httpEndpointsAllowed does not allow') && l.includes('"deliveryStream":"good"'))).toBe(true);
    await put('good', 'never posted');
    const errorsDir = path.join(backupDir, 'errors', 'http-endpoint-failed');
    const lines = await waitFor('the error output', () => {
      const files = fs.existsSync(errorsDir) ? fs.readdirSync(errorsDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()) : [];
      return files.length ? files.map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'utf8')).join('') : undefined;
    });
    const line = JSON.parse(lines.trim().split('\n')[0]!) as { rawData: string; errorCode: string; errorMessage: string };
    expect(Buffer.from(line.rawData, 'base64').toString()).toBe('never posted');
    expect(line.errorCode).toBe('HttpEndpoint.ConnectionFailed');
    expect(line.errorMessage).toContain('firehose.httpEndpointsAllowed');
    expect(received.collector).toEqual(['/in/good']); // nothing more was posted
  });
});
