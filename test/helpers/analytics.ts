/** The stock Kinesis Data Analytics (SQL) client for a test gateway, and waiting for an application's status. */
import https from 'node:https';
import { DescribeApplicationCommand, KinesisAnalyticsClient } from '@aws-sdk/client-kinesis-analytics';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { testOperator } from './gateway.ts';

export function analyticsClient(url: string, credentials: { accessKeyId: string; secretAccessKey: string } = testOperator, ca?: string): KinesisAnalyticsClient {
  // A copy: the SDK annotates the object it is given.
  return new KinesisAnalyticsClient({
    endpoint: url, region: 'us-east-1', credentials: { ...credentials }, maxAttempts: 1,
    ...(ca ? { requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca }) }) } : {}),
  });
}

/** Polls DescribeApplication until the status is `status` (or throws after `timeoutMs`). */
export async function waitStatus(client: KinesisAnalyticsClient, ApplicationName: string, status: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  while (Date.now() < deadline) {
    last = (await client.send(new DescribeApplicationCommand({ ApplicationName }))).ApplicationDetail?.ApplicationStatus;
    if (last === status) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`application ${ApplicationName} never became ${status} (last ${last})`);
}

/** The usual input: a JSON stream with ticker records, as the KDA getting-started exercise has. */
export function tickerInput(streamArn: string, NamePrefix = 'SOURCE_SQL_STREAM') {
  return {
    NamePrefix,
    KinesisStreamsInput: { ResourceARN: streamArn, RoleARN: 'arn:aws:iam::000000000000:role/kda' },
    InputSchema: {
      RecordFormat: { RecordFormatType: 'JSON' as const, MappingParameters: { JSONMappingParameters: { RecordRowPath: '$' } } },
      RecordColumns: [
        { Name: 'TICKER_SYMBOL', Mapping: '$.TICKER_SYMBOL', SqlType: 'VARCHAR(4)' },
        { Name: 'PRICE', Mapping: '$.PRICE', SqlType: 'DOUBLE' },
      ],
    },
  };
}

export const role = 'arn:aws:iam::000000000000:role/kda';
export const streamArn = (name: string) => `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`;
export const deliveryStreamArn = (name: string) => `arn:aws:firehose:us-east-1:000000000000:deliverystream/${name}`;
export const functionArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

/** Starts Mosquitto on a spare port (never the system broker's 1883); returns its URL and a stop function. */
export async function startMosquitto(port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const fs = await import('node:fs');
  const net = await import('node:net');
  const os = await import('node:os');
  const path = await import('node:path');
  const conf = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'trb-mosq-')), 'mosquitto.conf');
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error('mosquitto did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `mqtt://127.0.0.1:${port}`, stop: async () => { child.kill('SIGTERM'); await exited; } };
}

/** A webhook speaking KDA's Lambda output contract; `fail` decides (per record) to answer DeliveryFailed. */
export async function startOutputWebhook(fail: (data: string, retryHint: number) => boolean = () => false) {
  const http = await import('node:http');
  const received: Array<{ data: string; retryHint: number }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const event = JSON.parse(body) as { records: Array<{ recordId: string; data: string; lambdaDeliveryRecordMetadata: { retryHint: number } }> };
      const records = event.records.map((r) => {
        const data = Buffer.from(r.data, 'base64').toString();
        const retryHint = r.lambdaDeliveryRecordMetadata.retryHint;
        const failed = fail(data, retryHint);
        if (!failed) received.push({ data, retryHint });
        return { recordId: r.recordId, result: failed ? 'DeliveryFailed' : 'Ok' };
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ records }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/`, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}
