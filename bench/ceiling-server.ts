/**
 * The benchmark's "ceiling": the least work any Node server speaking the
 * Kinesis JSON protocol must do, with nothing stored. For each POST it reads
 * the body, JSON-parses it, decodes every record's base64 Data, and answers a
 * success-shaped response. No validation, no storage, no fsync; GetRecords
 * always answers empty. Run: node --import tsx bench/ceiling-server.ts <port>
 */
import http from 'node:http';

const contentTypeJson = 'application/x-amz-json-1.1';
/** Any 56-digit sequence number will do; clients only check that there is one. */
const sequenceNumber = '49590338271490256608559692538361571095921575989136588898';
const shardId = 'shardId-000000000000';
const shardCount = 4;
const iterator = 'AAAAAAAAAAE' + 'A'.repeat(140);
const recordEntry = JSON.stringify({ SequenceNumber: sequenceNumber, ShardId: shardId });

type Input = Record<string, unknown>;

const answers: Record<string, (input: Input) => string> = {
  PutRecords(input) {
    const records = input.Records as Array<{ Data: string }>;
    for (const r of records) Buffer.from(r.Data, 'base64');
    return `{"FailedRecordCount":0,"Records":[${new Array<string>(records.length).fill(recordEntry).join(',')}]}`;
  },
  PutRecord(input) {
    Buffer.from(input.Data as string, 'base64');
    return recordEntry;
  },
  CreateStream: () => '',
  DescribeStreamSummary: (input) =>
    JSON.stringify({ StreamDescriptionSummary: { StreamName: input.StreamName, StreamStatus: 'ACTIVE', OpenShardCount: shardCount } }),
  ListShards: () =>
    JSON.stringify({ Shards: Array.from({ length: shardCount }, (_, i) => ({ ShardId: `shardId-${String(i).padStart(12, '0')}` })) }),
  GetShardIterator: () => JSON.stringify({ ShardIterator: iterator }),
  GetRecords: () => JSON.stringify({ Records: [], NextShardIterator: iterator, MillisBehindLatest: 0 }),
};

const server = http.createServer({ keepAlive: true }, (req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return void res.end('{"status":"ok"}');
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const answer = answers[target.slice(target.indexOf('.') + 1)];
    if (req.method !== 'POST' || !answer) {
      res.writeHead(400, { 'Content-Type': contentTypeJson });
      return void res.end(JSON.stringify({ __type: 'UnknownOperationException' }));
    }
    let body: string;
    try {
      body = answer(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Input);
    } catch (err) {
      res.writeHead(400, { 'Content-Type': contentTypeJson });
      return void res.end(JSON.stringify({ __type: 'SerializationException', message: String(err) }));
    }
    res.writeHead(200, { 'Content-Type': contentTypeJson, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
});
// Outlive the client's idle keep-alive sockets, as the gateway does, so reuse never races a close.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: node --import tsx bench/ceiling-server.ts <port>\n');
  process.exit(2);
}
server.listen(port, '127.0.0.1', () => process.stdout.write(`ceiling server listening on http://127.0.0.1:${port}\n`));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
