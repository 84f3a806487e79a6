// Proves the gateway's wire behaviour byte for byte (headers, protocol errors, size cap, CBOR, hostile input) by sending raw HTTP requests to a real gateway on port 0 and checking status, headers and bodies; CBOR is built and read with the independent `cbor` npm package, and fast-check throws random and mutated requests at the front door.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testGateway, testOperator } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/wait.ts';
import { signRequest } from '../../sdk/protocol/sigv4.ts';

type TestGateway = Awaited<ReturnType<typeof testGateway>>;

interface CborModule {
  encode(value: unknown): Buffer;
  decodeFirstSync(input: Buffer, options?: { tags?: Record<number, (v: unknown) => unknown> }): unknown;
  Tagged: new (tag: number, value: unknown) => unknown;
}
const cbor = createRequire(import.meta.url)('cbor') as CborModule;

const ACCOUNT = '000000000000';
const JSON_TYPE = 'application/x-amz-json-1.1';
const CBOR_TYPE = 'application/x-amz-cbor-1.1';
const ACCESS_DENIED_XML = '<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be authorized</Message>\n</AccessDeniedException>\n';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Keep tag 1 as the raw number, to see the unit the gateway wrote. */
const rawTags = { tags: { 1: (v: unknown) => v } };

let gw: TestGateway;
let port: number;

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string | number>;
  body?: Buffer | string;
  /** Send the body with Transfer-Encoding: chunked (no Content-Length). */
  chunked?: boolean;
  /** Leave the request unsigned (every request with a target is SigV4-signed otherwise). */
  unsigned?: boolean;
}

/** One request on its own connection; resolves with the full response, tolerating the server hanging up after answering. */
function send(req: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
    let headers: Record<string, string | number> = { ...req.headers };
    const hasTarget = Object.keys(headers).some((h) => h.toLowerCase() === 'x-amz-target');
    if (hasTarget && !req.unsigned) {
      // Signed as the AWS SDKs sign: the gateway verifies SigV4 before it checks shapes.
      headers = signRequest({
        method: req.method ?? 'POST', url: new URL(`http://127.0.0.1:${port}${req.path ?? '/'}`),
        headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])), body: body ?? Buffer.alloc(0),
        ...testOperator, region: 'us-east-1', service: 'kinesis', now: Date.now(),
      });
      headers.host = `127.0.0.1:${port}`;
    }
    if (body && !req.chunked) headers['Content-Length'] = body.length;
    const r = http.request({ host: '127.0.0.1', port, method: req.method ?? 'POST', path: req.path ?? '/', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    // The server may refuse and close while we are still writing a large body; the response is what matters.
    r.on('error', (err) => reject(err));
    if (body) {
      if (req.chunked) {
        for (let i = 0; i < body.length; i += 1024 * 1024) r.write(body.subarray(i, i + 1024 * 1024));
        r.end();
      } else r.end(body);
    } else r.end();
  });
}

function call(action: string, input: unknown, contentType = JSON_TYPE): Promise<RawResponse> {
  return send({ headers: { 'Content-Type': contentType, 'X-Amz-Target': `Kinesis_20131202.${action}` }, body: JSON.stringify(input) });
}

function callCbor(action: string, input: unknown): Promise<RawResponse> {
  return send({ headers: { 'Content-Type': CBOR_TYPE, 'X-Amz-Target': `Kinesis_20131202.${action}` }, body: cbor.encode(input) });
}

const json = (r: RawResponse) => JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;

/** The SDKs read `message` or `Message`; either spelling is AWS-compatible. */
function expectJsonError(r: RawResponse, type: string, message?: string): void {
  expect(r.status).toBe(400);
  expect(r.headers['content-type']).toBe(JSON_TYPE);
  const b = json(r);
  expect(b.__type).toBe(type);
  if (message === undefined) expect(b).toEqual({ __type: type });
  else expect(b.message ?? b.Message).toBe(message);
}

async function createActiveRaw(name: string, shards: number): Promise<void> {
  expect((await call('CreateStream', { StreamName: name, ShardCount: shards })).status).toBe(200);
  await waitFor(`${name} ACTIVE`, async () => {
    const d = json(await call('DescribeStreamSummary', { StreamName: name }));
    return (d.StreamDescriptionSummary as { StreamStatus: string }).StreamStatus === 'ACTIVE';
  });
}

async function readAllJson(name: string, shardId = 'shardId-000000000000'): Promise<Array<{ Data: string; PartitionKey: string; SequenceNumber: string }>> {
  const it = json(await call('GetShardIterator', { StreamName: name, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
  const r = await call('GetRecords', { ShardIterator: it.ShardIterator });
  expect(r.status).toBe(200);
  return json(r).Records as Array<{ Data: string; PartitionKey: string; SequenceNumber: string }>;
}

beforeAll(async () => {
  gw = await testGateway();
  port = gw.port;
  await createActiveRaw('wire', 1);
});

afterAll(async () => {
  await gw?.close();
});

describe('headers', () => {
  it('puts a fresh x-amzn-RequestId on every response, successes and failures alike', async () => {
    const responses = [
      await call('ListStreams', {}),
      await call('DescribeStreamSummary', { StreamName: 'nope' }),
      await call('NoSuchAction', {}),
      await send({ method: 'GET' }),
      await send({ method: 'GET', path: '/health' }),
      await send({ headers: { 'Content-Type': 'text/plain', 'X-Amz-Target': 'Kinesis_20131202.ListStreams' }, body: '{}' }),
      await send({ headers: { 'Content-Type': JSON_TYPE, 'X-Amz-Target': 'Kinesis_20131202.ListStreams' }, body: '{' }),
      await send({ headers: { 'X-Amz-Target': 'Kinesis_20131202.ListStreams' } }),
    ];
    const ids = responses.map((r) => r.headers['x-amzn-requestid']);
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(ids.length);
    // 72 random bytes: kinesalite's captures put AWS's between 64 and 80.
    for (const r of responses) expect(r.headers['x-amz-id-2']).toMatch(/^[A-Za-z0-9+/]{96}$/);
    expect(responses[1]!.headers['x-amzn-errortype']).toBe('ResourceNotFoundException');
  });

  it('answers over HTTP/2 cleartext with the same headers', async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const res = await new Promise<{ headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const signed = signRequest({
          method: 'POST', url: new URL(`http://127.0.0.1:${port}/`), headers: { 'content-type': JSON_TYPE, 'x-amz-target': 'Kinesis_20131202.ListStreams' },
          body: '{}', ...testOperator, region: 'us-east-1', service: 'kinesis', now: Date.now(),
        });
        // HTTP/2 carries the signed host as :authority.
        const s = session.request({ ':method': 'POST', ':path': '/', ...signed });
        let headers: http2.IncomingHttpHeaders = {};
        let body = '';
        s.on('response', (h) => (headers = h));
        s.setEncoding('utf8');
        s.on('data', (c: string) => (body += c));
        s.on('end', () => resolve({ headers, body }));
        s.on('error', reject);
        s.end('{}');
      });
      expect(res.headers[':status']).toBe(200);
      expect(res.headers['x-amzn-requestid']).toMatch(UUID);
      expect(JSON.parse(res.body)).toMatchObject({ StreamNames: ['wire'], HasMoreStreams: false });
    } finally {
      session.close();
    }
  });

  it('answers a CORS preflight and marks responses to browsers', async () => {
    const pre = await send({ method: 'OPTIONS', headers: { Origin: 'http://example.com', 'Access-Control-Request-Headers': 'x-amz-target,content-type', 'Access-Control-Request-Method': 'POST' } });
    expect(pre.status).toBe(200);
    expect(pre.body.length).toBe(0);
    expect(pre.headers).toMatchObject({
      'access-control-allow-origin': '*',
      'access-control-allow-headers': 'x-amz-target,content-type',
      'access-control-allow-methods': 'POST',
      'access-control-max-age': '172800',
    });
    const r = await send({ headers: { Origin: 'http://example.com', 'Content-Type': JSON_TYPE, 'X-Amz-Target': 'Kinesis_20131202.ListStreams' }, body: '{}' });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('protocol errors', () => {
  it('refuses methods other than POST with an XML AccessDeniedException', async () => {
    for (const method of ['GET', 'PUT', 'PATCH']) {
      const r = await send({ method, headers: { 'Content-Type': JSON_TYPE, 'X-Amz-Target': 'Kinesis_20131202.ListStreams' }, body: method === 'GET' ? undefined : '{}' });
      expect(r.status).toBe(403);
      expect(r.body.toString()).toBe(ACCESS_DENIED_XML);
      expect(r.headers['content-type']).toBeUndefined();
    }
  });

  it('answers unknown targets with a bare UnknownOperationException', async () => {
    for (const target of ['Kinesis_20131202.ListStream', 'Firehose_20150804.ListStreams', 'Kinesis_20131202', 'garbage']) {
      expectJsonError(await send({ headers: { 'Content-Type': JSON_TYPE, 'X-Amz-Target': target }, body: '{}' }), 'UnknownOperationException');
    }
    expectJsonError(await send({ headers: { 'Content-Type': JSON_TYPE }, body: '{}' }), 'UnknownOperationException');
  });

  it('answers malformed JSON and non-object JSON with a bare SerializationException', async () => {
    for (const body of ['hello', '{', '{"StreamName":', '[]', '1', '"x"', 'null', 'true', '\ufeff{}']) {
      expectJsonError(await send({ headers: { 'Content-Type': JSON_TYPE, 'X-Amz-Target': 'Kinesis_20131202.ListStreams' }, body }), 'SerializationException');
    }
    // Syntax is judged before the target, as on AWS.
    expectJsonError(await send({ headers: { 'Content-Type': JSON_TYPE, 'X-Amz-Target': 'Kinesis_20131202.Nope' }, body: 'hello' }), 'SerializationException');
  });

  it('answers an empty body by target, in CBOR when the content type says nothing', async () => {
    expectJsonError(await send({ headers: { 'Content-Type': JSON_TYPE, 'X-Amz-Target': 'Kinesis_20131202.ListStreams' } }), 'SerializationException');
    expectJsonError(await send({ headers: { 'Content-Type': JSON_TYPE, 'X-Amz-Target': 'Kinesis_20131202.Nope' } }), 'UnknownOperationException');
    const r = await send({ headers: { 'X-Amz-Target': 'Kinesis_20131202.ListStreams' } });
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toBe(CBOR_TYPE);
    expect(cbor.decodeFirstSync(r.body)).toEqual({ __type: 'SerializationException' });
  });

  it('treats unknown content types as AWS does', async () => {
    const withTarget = await send({ headers: { 'Content-Type': 'text/plain', 'X-Amz-Target': 'Kinesis_20131202.ListStreams' }, body: '{}' });
    expect(withTarget.status).toBe(404);
    expect(withTarget.body.toString()).toBe('<UnknownOperationException/>\n');
    const noTarget = await send({ headers: { 'Content-Type': 'text/plain' }, body: '{}' });
    expect(noTarget.status).toBe(403);
    expect(noTarget.body.toString()).toBe(ACCESS_DENIED_XML);
    const legacy = await send({ headers: { 'Content-Type': 'application/json', 'X-Amz-Target': 'Kinesis_20131202.ListStreams' }, body: '{}' });
    // AWS's deprecated protocol: a 200 that names the problem (kinesalite's captures; more in streams-aws-fidelity.test.ts).
    expect(legacy.status).toBe(200);
    expect(JSON.parse(legacy.body.toString())).toEqual({ Output: { __type: 'com.amazon.coral.service#UnknownOperationException', message: null }, Version: '1.0' });
    // Parameters and case do not matter.
    const param = await send({ headers: { 'Content-Type': 'Application/X-Amz-Json-1.1; charset=utf-8', 'X-Amz-Target': 'Kinesis_20131202.ListStreams' }, body: '{}' });
    expect(param.status).toBe(200);
    expect(json(param)).toMatchObject({ HasMoreStreams: false });
  });

  it('reports wrong JSON types as SerializationException with the Java-style message', async () => {
    const table: Array<[string, Record<string, unknown>, string]> = [
      ['CreateStream', { StreamName: 'x', ShardCount: '1' }, 'class java.lang.String can not be converted to an Integer'],
      ['CreateStream', { StreamName: 'x', ShardCount: true }, 'class java.lang.Boolean can not be converted to an Integer'],
      ['CreateStream', { StreamName: 'x', ShardCount: [] }, 'Start of list found where not expected'],
      ['CreateStream', { StreamName: 'x', ShardCount: {} }, 'Start of structure or map found where not expected.'],
      ['CreateStream', { StreamName: 12, ShardCount: 1 }, 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String'],
      ['CreateStream', { StreamName: false, ShardCount: 1 }, 'class java.lang.Boolean can not be converted to an String'],
      ['CreateStream', { StreamName: 'x', Tags: 'x' }, 'Expected map or null'],
      ['CreateStream', { StreamName: 'x', Tags: [] }, 'Start of list found where not expected'],
      ['CreateStream', { StreamName: 'x', StreamModeDetails: 'ON_DEMAND' }, 'Expected null'],
      ['PutRecords', { StreamName: 'x', Records: 'x' }, 'Expected list or null'],
      ['PutRecords', { StreamName: 'x', Records: {} }, 'Start of structure or map found where not expected.'],
      ['PutRecords', { StreamName: 'x', Records: [5] }, 'Expected null'],
      ['PutRecord', { StreamName: 'x', PartitionKey: 'k', Data: 5 }, 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob'],
      ['PutRecord', { StreamName: 'x', PartitionKey: 'k', Data: true }, 'class java.lang.Boolean can not be converted to a Blob'],
      ['GetShardIterator', { StreamName: 'x', ShardId: 's', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: 'now' }, 'class java.lang.String can not be converted to milliseconds since epoch'],
      ['GetShardIterator', { StreamName: 'x', ShardId: 's', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: true }, 'class java.lang.Boolean can not be converted to milliseconds since epoch'],
      ['DeleteStream', { StreamName: 'x', EnforceConsumerDeletion: 'yes' }, "'YES' can not be converted to an Boolean"],
      ['DeleteStream', { StreamName: 'x', EnforceConsumerDeletion: 1 }, 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean'],
      ['GetRecords', { ShardIterator: 'x', Limit: '10' }, 'class java.lang.String can not be converted to an Integer'],
    ];
    for (const [action, input, message] of table) expectJsonError(await call(action, input), 'SerializationException', message);
  });

  it('reports bad base64 in Data with the Blob conversion message', async () => {
    const table: Array<[string, string]> = [
      ['abc', "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3"],
      ['ab$=', "'ab$=' can not be converted to a Blob: Invalid Base64 character: '$'"],
      ['a=bc', "'a=bc' can not be converted to a Blob: Invalid Base64 character: '='"],
      ['ab-_', "'ab-_' can not be converted to a Blob: Invalid Base64 character: '-'"],
      ['AB==', "'AB==' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"],
      ['ABC=', "'ABC=' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"],
    ];
    for (const [data, message] of table) expectJsonError(await call('PutRecord', { StreamName: 'wire', PartitionKey: 'k', Data: data }), 'SerializationException', message);
    const ok = await call('PutRecord', { StreamName: 'wire', PartitionKey: 'k', Data: 'AA==' });
    expect(ok.status).toBe(200);
  });

  it('refuses a 9 MiB body with 413 and keeps serving', async () => {
    const big = Buffer.alloc(9 * 1024 * 1024, 0x61);
    // Declared length: refused before the body is read. Chunked: refused once 8 MiB have arrived.
    // The server answers first and hangs up a second later, so the client sees the 413.
    const declared = await send({ headers: { 'Content-Type': JSON_TYPE, 'X-Amz-Target': 'Kinesis_20131202.PutRecord' }, body: big });
    expect(declared.status).toBe(413);
    expect(declared.body.length).toBe(0);
    expect(declared.headers['x-amzn-requestid']).toMatch(UUID);
    const chunked = await send({ headers: { 'Content-Type': JSON_TYPE, 'X-Amz-Target': 'Kinesis_20131202.PutRecord' }, body: big, chunked: true });
    expect(chunked.status).toBe(413);
    const after = await call('PutRecord', { StreamName: 'wire', PartitionKey: 'k', Data: Buffer.from('still here').toString('base64') });
    expect(after.status).toBe(200);
    // Just under the cap is accepted as far as the size check goes (and fails validation instead).
    const nearCap = await call('PutRecord', { StreamName: 'wire', PartitionKey: 'k', Data: Buffer.alloc(1024 * 1024 + 3).toString('base64') });
    expect(json(nearCap).__type).toBe('ValidationException');
  });

  it('hangs up on half a request without disturbing other clients', async () => {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    // Written (to the loopback peer's receive queue) before the hang-up.
    await new Promise((r) => sock.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Type: ${JSON_TYPE}\r\nX-Amz-Target: Kinesis_20131202.PutRecord\r\nContent-Length: 1000\r\n\r\n{"StreamName":"wire",`, r));
    sock.destroy();
    const h2 = net.connect(port, '127.0.0.1');
    await new Promise((r) => h2.once('connect', r));
    await new Promise((r) => h2.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04', r));
    h2.destroy();
    expect((await call('ListStreams', {})).status).toBe(200);
  });
});

describe('CBOR (application/x-amz-cbor-1.1)', () => {
  it('puts and gets records with byte-string Data and tag-1 timestamps', async () => {
    await createActiveRaw('cbor', 1);
    const first = await callCbor('PutRecord', { StreamName: 'cbor', PartitionKey: 'k1', Data: Buffer.from([0, 1, 2, 255]) });
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe(CBOR_TYPE);
    const put1 = cbor.decodeFirstSync(first.body) as Record<string, unknown>;
    expect(put1).toEqual({ ShardId: 'shardId-000000000000', SequenceNumber: expect.stringMatching(/^\d{56}$/), EncryptionType: 'NONE' });
    // A moment strictly after the first record's arrival and strictly before the second's (the clock has milliseconds).
    const answered = Date.now();
    await waitFor('the clock past the first arrival', () => Date.now() > answered);
    const between = Date.now();
    await waitFor('the clock past that moment', () => Date.now() > between);
    const put2 = cbor.decodeFirstSync((await callCbor('PutRecord', { StreamName: 'cbor', PartitionKey: 'k2', Data: Buffer.from('second') })).body) as Record<string, unknown>;

    // The Java SDK writes tag 1 with epoch milliseconds.
    const byMillis = await callCbor('GetShardIterator', { StreamName: 'cbor', ShardId: 'shardId-000000000000', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new cbor.Tagged(1, between) });
    expect(byMillis.status).toBe(200);
    const it = (cbor.decodeFirstSync(byMillis.body) as { ShardIterator: string }).ShardIterator;
    const got = await callCbor('GetRecords', { ShardIterator: it });
    expect(got.status).toBe(200);
    const out = cbor.decodeFirstSync(got.body, rawTags) as { Records: Array<Record<string, unknown>>; MillisBehindLatest: number; NextShardIterator: string };
    expect(out.Records).toHaveLength(1);
    const rec = out.Records[0]!;
    expect(rec.Data).toEqual(Buffer.from('second'));
    expect(rec.PartitionKey).toBe('k2');
    expect(rec.SequenceNumber).toBe(put2.SequenceNumber);
    expect(typeof rec.ApproximateArrivalTimestamp).toBe('number');
    expect(Math.abs((rec.ApproximateArrivalTimestamp as number) - Date.now())).toBeLessThan(10_000);
    expect(out.MillisBehindLatest).toBe(0);
    expect(typeof out.NextShardIterator).toBe('string');

    // RFC 8949's seconds (as a float) are read too.
    const bySeconds = await callCbor('GetShardIterator', { StreamName: 'cbor', ShardId: 'shardId-000000000000', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new cbor.Tagged(1, between / 1000) });
    const it2 = (cbor.decodeFirstSync(bySeconds.body) as { ShardIterator: string }).ShardIterator;
    const got2 = cbor.decodeFirstSync((await callCbor('GetRecords', { ShardIterator: it2 })).body, rawTags) as { Records: Array<{ Data: Buffer }> };
    expect(got2.Records.map((r) => r.Data.toString())).toEqual(['second']);

    // Records written in CBOR read back in JSON, and the other way round.
    expect((await call('PutRecord', { StreamName: 'cbor', PartitionKey: 'k3', Data: Buffer.from('third').toString('base64') })).status).toBe(200);
    const viaJson = await readAllJson('cbor');
    expect(viaJson.map((r) => Buffer.from(r.Data, 'base64'))).toEqual([Buffer.from([0, 1, 2, 255]), Buffer.from('second'), Buffer.from('third')]);
    const trim = cbor.decodeFirstSync((await callCbor('GetShardIterator', { StreamName: 'cbor', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' })).body) as { ShardIterator: string };
    const all = cbor.decodeFirstSync((await callCbor('GetRecords', { ShardIterator: trim.ShardIterator, Limit: 10 })).body, rawTags) as { Records: Array<{ Data: Buffer }> };
    expect(all.Records.map((r) => r.Data.toString('hex'))).toEqual(['000102ff', Buffer.from('second').toString('hex'), Buffer.from('third').toString('hex')]);
    expect(put1.SequenceNumber).toBe(viaJson[0]!.SequenceNumber);

    const batch = cbor.decodeFirstSync((await callCbor('PutRecords', { StreamName: 'cbor', Records: [{ PartitionKey: 'a', Data: Buffer.from('b1') }, { PartitionKey: 'b', Data: Buffer.from('b2') }] })).body) as Record<string, unknown>;
    expect(batch).toMatchObject({ FailedRecordCount: 0, EncryptionType: 'NONE' });
    expect(batch.Records).toHaveLength(2);
  });

  it('answers errors in CBOR', async () => {
    const bad = await callCbor('GetRecords', { ShardIterator: 'AAAA' });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toBe(CBOR_TYPE);
    expect(cbor.decodeFirstSync(bad.body)).toEqual({ __type: 'InvalidArgumentException', message: 'Invalid ShardIterator.' });
    const missing = await callCbor('DescribeStreamSummary', { StreamName: 'nope' });
    expect(cbor.decodeFirstSync(missing.body)).toEqual({ __type: 'ResourceNotFoundException', message: `Stream nope under account ${ACCOUNT} not found.` });
    const typeErr = await callCbor('CreateStream', { StreamName: 'x', ShardCount: 'one' });
    expect(cbor.decodeFirstSync(typeErr.body)).toEqual({ __type: 'SerializationException', Message: 'class java.lang.String can not be converted to an Integer' });
    for (const body of [Buffer.from([0xff]), Buffer.from([0xa1, 0x61]), Buffer.from([0x9f]), Buffer.from([0x83, 0x01]), Buffer.alloc(70, 0x81), Buffer.from([0x01, 0x02])]) {
      const r = await send({ headers: { 'Content-Type': CBOR_TYPE, 'X-Amz-Target': 'Kinesis_20131202.ListStreams' }, body });
      expect(r.status).toBe(400);
      expect(cbor.decodeFirstSync(r.body)).toEqual({ __type: 'SerializationException' });
    }
  });
});

describe('hostile input', () => {
  const actions = [
    'AddTagsToStream', 'CreateStream', 'DecreaseStreamRetentionPeriod', 'DeleteStream', 'DescribeLimits', 'DescribeStream', 'DescribeStreamSummary',
    'DisableEnhancedMonitoring', 'EnableEnhancedMonitoring', 'GetRecords', 'GetShardIterator', 'IncreaseStreamRetentionPeriod', 'ListShards', 'ListStreams',
    'ListTagsForStream', 'MergeShards', 'PutRecord', 'PutRecords', 'RemoveTagsFromStream', 'SplitShard', 'StartStreamEncryption', 'StopStreamEncryption',
    'UpdateShardCount', 'UpdateStreamMode',
  ];
  // Valid-looking requests aimed at a sacrificial stream; the stream checked at the end never appears in fuzz input.
  const templates: Array<[string, Record<string, unknown>]> = [
    ['PutRecord', { StreamName: 'fuzz-target', PartitionKey: 'k', Data: 'aGVsbG8=' }],
    ['PutRecords', { StreamName: 'fuzz-target', Records: [{ PartitionKey: 'a', Data: 'AA==' }, { PartitionKey: 'b', Data: 'AQ==', ExplicitHashKey: '1' }] }],
    ['GetShardIterator', { StreamName: 'fuzz-target', ShardId: 'shardId-000000000000', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: 1.7e9 }],
    ['GetRecords', { ShardIterator: 'AAAA', Limit: 10 }],
    ['ListShards', { StreamName: 'fuzz-target', MaxResults: 1, ShardFilter: { Type: 'AFTER_SHARD_ID', ShardId: 'shardId-000000000000' } }],
    ['ListShards', { NextToken: Buffer.from(JSON.stringify({ v: 1, stream: 'fuzz-target', createdMs: 0, afterIndex: 0, issuedMs: 0, max: 1 })).toString('base64url') }],
    ['CreateStream', { StreamName: 'fuzz-new', ShardCount: 1, Tags: { a: 'b' }, StreamModeDetails: { StreamMode: 'PROVISIONED' } }],
    ['AddTagsToStream', { StreamName: 'fuzz-target', Tags: { k: 'v' } }],
    ['SplitShard', { StreamName: 'fuzz-target', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '170141183460469231731687303715884105728' }],
    ['StartStreamEncryption', { StreamName: 'fuzz-target', EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }],
    ['UpdateStreamMode', { StreamARN: `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/fuzz-target`, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }],
  ];

  /** Replaces, removes or adds one member somewhere in a JSON value. */
  function mutate(value: unknown, path: number[], replacement: unknown, op: number): unknown {
    if (value === null || typeof value !== 'object') return replacement;
    const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    if (keys.length === 0 || path.length === 0) {
      if (op === 0) return replacement;
      (copy as Record<string, unknown>)[`X${op}`] = replacement;
      return copy;
    }
    const key = keys[path[0]! % keys.length]!;
    if (op === 1 && path.length === 1) {
      delete (copy as Record<string, unknown>)[key];
      return copy;
    }
    (copy as Record<string, unknown>)[key] = mutate((copy as Record<string, unknown>)[key], path.slice(1), replacement, op);
    return copy;
  }

  const headerText = fc.stringMatching(/^[\x21-\x7e]{0,40}$/);
  const target = fc.oneof(
    fc.constantFrom(...actions).map((a) => `Kinesis_20131202.${a}`),
    headerText,
    fc.constant(undefined),
  );
  const contentType = fc.oneof(fc.constantFrom(JSON_TYPE, JSON_TYPE, CBOR_TYPE, 'application/json', 'text/plain', `${JSON_TYPE}; charset=utf-8`), headerText, fc.constant(undefined));
  // Nulls and empty containers are where validators slip, so they come up often.
  const replacementValue = fc.oneof(fc.constantFrom(null, [], {}, [null], '', 0, -1), fc.jsonValue({ maxDepth: 3 }));
  const mutatedJson = fc
    .tuple(fc.constantFrom(...templates), fc.array(fc.nat(5), { maxLength: 4 }), replacementValue, fc.nat(2))
    .map(([[, input], p, replacement, op]) => Buffer.from(JSON.stringify(mutate(input, p, replacement, op))));
  const mutatedCbor = fc
    .tuple(fc.constantFrom(...templates), fc.array(fc.nat(5), { maxLength: 4 }), replacementValue, fc.nat(2))
    .map(([[, input], p, replacement, op]) => cbor.encode(mutate(input, p, replacement, op)));
  const truncated = fc.tuple(fc.constantFrom(...templates), fc.double({ min: 0, max: 1, noNaN: true })).map(([[, input], f]) => {
    const b = Buffer.from(JSON.stringify(input));
    return b.subarray(0, Math.floor(b.length * f));
  });
  const flipped = fc.tuple(fc.constantFrom(...templates), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean()).map(([[, input], at, x, asCbor]) => {
    const b = Buffer.from(asCbor ? cbor.encode(input) : Buffer.from(JSON.stringify(input)));
    const i = at % b.length;
    b[i] = b[i]! ^ x;
    return b;
  });
  const body = fc.oneof(
    fc.uint8Array({ maxLength: 512 }).map((u) => Buffer.from(u)),
    mutatedJson,
    mutatedCbor,
    truncated,
    flipped,
    fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s)),
    fc.constant(Buffer.alloc(0)),
  );
  const chaotic = fc.record({
    method: fc.constantFrom('POST', 'POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'OPTIONS'),
    target,
    contentType,
    body,
    origin: fc.boolean(),
  });
  // Requests that pass the front door (right target, encoding and content type) with one member mutated,
  // so the fuzz reaches validation and the actions rather than stopping at the early checks.
  const coherent = fc
    .tuple(fc.constantFrom(...templates), fc.array(fc.nat(5), { maxLength: 4 }), replacementValue, fc.nat(2), fc.boolean())
    .map(([[action, input], p, replacement, op, asCbor]) => {
      const mutated = mutate(input, p, replacement, op);
      return {
        method: 'POST',
        target: `Kinesis_20131202.${action}` as string | undefined,
        contentType: (asCbor ? CBOR_TYPE : JSON_TYPE) as string | undefined,
        body: asCbor ? cbor.encode(mutated) : Buffer.from(JSON.stringify(mutated)),
        origin: false,
      };
    });
  const request = fc.oneof({ weight: 2, arbitrary: coherent }, { weight: 1, arbitrary: chaotic });

  it('survives ~300 random and mutated requests, and keeps earlier records intact', async () => {
    await createActiveRaw('fuzz-keep', 1);
    await createActiveRaw('fuzz-target', 2);
    const kept = ['one', 'two', 'three'].map((s) => Buffer.from(`keep-${s}`).toString('base64'));
    for (const Data of kept) expect((await call('PutRecord', { StreamName: 'fuzz-keep', PartitionKey: 'k', Data })).status).toBe(200);
    const before = await readAllJson('fuzz-keep');

    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (rq) => {
        const headers: Record<string, string> = {};
        if (rq.target !== undefined) headers['X-Amz-Target'] = rq.target;
        if (rq.contentType !== undefined) headers['Content-Type'] = rq.contentType;
        if (rq.origin) headers.Origin = 'http://fuzz.example';
        const r = await send({ method: rq.method, headers, body: rq.method === 'GET' ? undefined : rq.body });
        seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
        expect(r.headers['x-amzn-requestid']).toMatch(UUID);
        // A hostile request is the client's fault: never a 5xx.
        expect(r.status, `${rq.method} ${rq.target} ${rq.contentType} ${rq.body.toString('hex').slice(0, 200)} -> ${r.body.toString().slice(0, 300)}`).toBeLessThan(500);
        // Bodies parse, except the empty body of a void action's success.
        const empty = r.status === 200 && r.body.length === 0;
        if (r.headers['content-type'] === JSON_TYPE && !empty) expect(() => JSON.parse(r.body.toString())).not.toThrow();
        if (r.headers['content-type'] === CBOR_TYPE && !empty) expect(() => cbor.decodeFirstSync(r.body)).not.toThrow();
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: Number(process.env.FUZZ_SEED ?? 5), endOnFailure: true },
    );
    // The fuzz reached past the front door's early checks.
    expect(seen.get(200) ?? 0).toBeGreaterThan(0);
    expect(seen.get(400) ?? 0).toBeGreaterThan(50);

    const put = await call('PutRecord', { StreamName: 'fuzz-keep', PartitionKey: 'k', Data: Buffer.from('after-fuzz').toString('base64') });
    expect(put.status).toBe(200);
    const after = await readAllJson('fuzz-keep');
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.map((r) => Buffer.from(r.Data, 'base64').toString())).toEqual(['keep-one', 'keep-two', 'keep-three', 'after-fuzz']);
  });

  it('reports null list members as constraint errors rather than failing', async () => {
    // Regression: `Records: [null]` reached PutRecords and answered 500 InternalFailure.
    expectJsonError(
      await call('PutRecords', { StreamName: 'wire', Records: [null] }),
      'ValidationException',
      "1 validation error detected: Value null at 'records.1.member' failed to satisfy constraint: Member must not be null",
    );
    expectJsonError(
      await call('PutRecords', { StreamName: 'wire', Records: [{ PartitionKey: 'k', Data: 'AA==' }, null, {}] }),
      'ValidationException',
      "3 validation errors detected: Value null at 'records.2.member' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'records.3.member.partitionKey' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'records.3.member.data' failed to satisfy constraint: Member must not be null",
    );
    expectJsonError(
      await call('RemoveTagsFromStream', { StreamName: 'wire', TagKeys: ['a', null] }),
      'ValidationException',
      "1 validation error detected: Value null at 'tagKeys.2.member' failed to satisfy constraint: Member must not be null",
    );
  });

  it('refuses forged ListShards tokens as invalid rather than failing', async () => {
    const describeRes = json(await call('DescribeStreamSummary', { StreamName: 'wire' }));
    const createdMs = ((describeRes.StreamDescriptionSummary as { StreamCreationTimestamp: number }).StreamCreationTimestamp) * 1000;
    const forge = (t: Record<string, unknown>) => Buffer.from(JSON.stringify({ v: 1, stream: 'wire', createdMs, afterIndex: -1, issuedMs: Date.now(), max: 5, ...t })).toString('base64url');
    // A well-formed token pages as usual.
    expect(json(await call('ListShards', { NextToken: forge({}) })).Shards).toHaveLength(1);
    // Tokens expire after 300 s; forging the issue time is the way to reach that check without waiting.
    const expired = await call('ListShards', { NextToken: forge({ issuedMs: Date.now() - 301_000 }) });
    expectJsonError(expired, 'ExpiredNextTokenException', 'The requested token has expired.');
    for (const t of [{ max: -1 }, { max: 0 }, { max: 'x' }, { filter: { Type: 'AFTER_SHARD_ID' } }, { filter: 'x' }, { afterIndex: 'x' }, { stream: 5 }]) {
      const r = await call('ListShards', { NextToken: forge(t) });
      expect(r.status, JSON.stringify(t)).toBe(400);
      expect(json(r).__type).toBe('InvalidArgumentException');
    }
  });
});

describe('memory bound on buffered requests', () => {
  it('admits requests past the in-flight cap one by one instead of buffering them all, and never deadlocks', async () => {
    const small = await testGateway({ requestBytesInFlightMax: 2 * 1024 * 1024, enforceLimits: false });
    try {
      const { kinesisClient, waitActive } = await import('../helpers/gateway.ts');
      const { CreateStreamCommand, PutRecordsCommand } = await import('@aws-sdk/client-kinesis');
      const c = kinesisClient(small.url);
      await c.send(new CreateStreamCommand({ StreamName: 'cap', ShardCount: 1 }));
      await waitActive(c, 'cap');
      // Twelve concurrent ~1.4 MiB requests against a 2 MiB budget: at most two are read at once, all complete.
      const batch = { StreamName: 'cap', Records: Array.from({ length: 10 }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.alloc(100 * 1024, i) })) };
      const results = await Promise.all(Array.from({ length: 12 }, () => c.send(new PutRecordsCommand(batch))));
      expect(results.every((r) => r.FailedRecordCount === 0)).toBe(true);
    } finally {
      await small.close();
    }
  });
});
