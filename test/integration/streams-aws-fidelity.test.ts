// Proves the gateway answers as recorded AWS answers (issue #17): each case sends raw HTTP to a real gateway and compares status, headers and body byte for byte with the answer kinesalite's test-suite captured from the real Kinesis service (mhart/kinesalite test/*.js, the newest captures where versions differ).
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testGateway } from '../helpers/gateway.ts';
import { callJson, rawRequest, type RawResponse } from '../helpers/raw-http.ts';

/** The independent `cbor` package (kinesalite's), to build and read CBOR bodies. */
const cbor = createRequire(import.meta.url)('cbor') as { encode(v: unknown): Buffer; decodeFirstSync(b: Buffer): unknown };

type TestGateway = Awaited<ReturnType<typeof testGateway>>;

const ACCOUNT = '000000000000';
const JSON_TYPE = 'application/x-amz-json-1.1';
const CBOR_TYPE = 'application/x-amz-cbor-1.1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let gw: TestGateway;
let port: number;
/** A stream of 3 shards, like kinesalite's test stream: shards 0, 1, 2 split 2^128 evenly. */
const testStream = 'fidelity-3';

const call = (action: string, input: unknown, extra = {}) => callJson(port, action, input, extra);
const bodyOf = (r: RawResponse) => JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
let names = 0;
const randomName = () => `fidelity_${process.pid}_${++names}`;

/** Asserts a JSON error answer, comparing the whole body as kinesalite's helpers do. */
function expectError(r: RawResponse, body: Record<string, unknown>, status = 400): void {
  expect({ status: r.status, body: bodyOf(r) }).toEqual({ status, body });
  expect(r.headers['content-type']).toBe(JSON_TYPE);
  expect(r.headers['content-length']).toBe(String(r.body.length));
}

async function waitActive(name: string): Promise<void> {
  for (;;) {
    const d = bodyOf(await call('DescribeStreamSummary', { StreamName: name }));
    if ((d.StreamDescriptionSummary as { StreamStatus: string }).StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setImmediate(r));
  }
}

beforeAll(async () => {
  gw = await testGateway({ createDelayMs: 20, updateDelayMs: 20, deleteDelayMs: 20 });
  port = gw.port;
  expect((await call('CreateStream', { StreamName: testStream, ShardCount: 3 })).status).toBe(200);
  await waitActive(testStream);
});

afterAll(async () => {
  await gw?.close();
});

describe('Message and message', () => {
  it('words type errors as SerializationException with Message, and the rest with message', async () => {
    expectError(await call('CreateStream', { StreamName: 'x', ShardCount: '1' }), {
      __type: 'SerializationException', Message: 'class java.lang.String can not be converted to an Integer',
    });
    expectError(await call('ListStreams', { Limit: {} }), { __type: 'SerializationException', Message: 'Start of structure or map found where not expected.' });
    expectError(await call('DescribeStream', { StreamName: '' }), {
      __type: 'ValidationException',
      message: "2 validation errors detected: Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
        "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
    });
    expectError(await call('DescribeStream', { StreamName: 'absent' }), { __type: 'ResourceNotFoundException', message: `Stream absent under account ${ACCOUNT} not found.` });
    // A body that is no JSON at all gets a bare SerializationException.
    expectError(await rawRequest(port, { headers: { 'Content-Type': JSON_TYPE, 'X-Amz-Target': 'Kinesis_20131202.ListStreams' }, body: 'hello', unsigned: true }), { __type: 'SerializationException' });
  });

  it('words authentication errors with message and IAM denials with Message', async () => {
    expectError(await call('ListStreams', {}, { credentials: { accessKeyId: 'AKIDUNKNOWN0000000', secretAccessKey: 'x' } }), {
      __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.',
    });
    const reader = { accessKeyId: 'AKIDFIDELITYREADER', secretAccessKey: randomBytes(30).toString('base64') };
    await gw.principals.importOperator('fidelity-reader', reader.accessKeyId, reader.secretAccessKey, 'reader');
    const denied = await call('PutRecord', { StreamName: testStream, PartitionKey: 'a', Data: '' }, { credentials: reader });
    expect(denied.status).toBe(400);
    expect(Object.keys(bodyOf(denied))).toEqual(['__type', 'Message']);
    expect(bodyOf(denied).Message).toMatch(/^User: arn:aws:iam::000000000000:user\/fidelity-reader is not authorized to perform: kinesis:PutRecord on resource: /);
  });
});

describe('check order and shard ids', () => {
  const wellFormed = () => ['2147483647', `${randomName()}-2147483647`, 'a-00002147483647', '-00002147483647'];
  const malformed = ['2147483648', 'shardId-002147483648', 'ABKLFD8', '2.14E4'];

  it('GetShardIterator: a malformed id first (as written), then an unknown stream worded as a missing shard', async () => {
    for (const shard of wellFormed()) {
      const name = randomName();
      expectError(await call('GetShardIterator', { StreamName: name, ShardId: shard, ShardIteratorType: 'LATEST' }), {
        __type: 'ResourceNotFoundException', message: `Shard shardId-002147483647 in stream ${name} under account ${ACCOUNT} does not exist`,
      });
    }
    for (const shard of malformed) {
      const name = randomName();
      expectError(await call('GetShardIterator', { StreamName: name, ShardId: shard, ShardIteratorType: 'LATEST' }), {
        __type: 'ResourceNotFoundException', message: `Could not find shard ${shard} in stream ${name} under account ${ACCOUNT}.`,
      });
    }
    expectError(await call('GetShardIterator', { StreamName: testStream, ShardId: 'shardId-5', ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: '5' }), {
      __type: 'ResourceNotFoundException', message: `Shard shardId-000000000005 in stream ${testStream} under account ${ACCOUNT} does not exist`,
    });
    for (const type of ['LATEST', 'TRIM_HORIZON']) {
      const ok = await call('GetShardIterator', { StreamName: testStream, ShardId: `${randomName()}-0`, ShardIteratorType: type });
      expect(ok.status).toBe(200);
    }
  });

  it('SplitShard: a malformed id first (as written), then the stream, then the shard (normalised)', async () => {
    for (const shard of wellFormed()) {
      const name = randomName();
      expectError(await call('SplitShard', { StreamName: name, ShardToSplit: shard, NewStartingHashKey: '0' }), {
        __type: 'ResourceNotFoundException', message: `Stream ${name} under account ${ACCOUNT} not found.`,
      });
    }
    for (const shard of malformed) {
      const name = randomName();
      expectError(await call('SplitShard', { StreamName: name, ShardToSplit: shard, NewStartingHashKey: '0' }), {
        __type: 'ResourceNotFoundException', message: `Could not find shard ${shard} in stream ${name} under account ${ACCOUNT}.`,
      });
    }
    expectError(await call('SplitShard', { StreamName: testStream, ShardToSplit: 'shardId-5', NewStartingHashKey: '0' }), {
      __type: 'ResourceNotFoundException', message: `Could not find shard shardId-000000000005 in stream ${testStream} under account ${ACCOUNT}.`,
    });
    expectError(await call('SplitShard', { StreamName: testStream, ShardToSplit: 'shard-0', NewStartingHashKey: '1' }), {
      __type: 'InvalidArgumentException',
      message: `NewStartingHashKey 1 used in SplitShard() on shard shardId-000000000000 in stream ${testStream} under account ${ACCOUNT} ` +
        "is not both greater than one plus the shard's StartingHashKey 0 and less than the shard's EndingHashKey 113427455640312821154458202477256070484.",
    });
  });

  it('MergeShards: the same order for either shard, and adjacency in the order given', async () => {
    for (const shard of wellFormed()) {
      for (const input of [{ ShardToMerge: shard, AdjacentShardToMerge: `${randomName()}-0` }, { ShardToMerge: `${randomName()}-0`, AdjacentShardToMerge: shard }]) {
        const name = randomName();
        expectError(await call('MergeShards', { StreamName: name, ...input }), { __type: 'ResourceNotFoundException', message: `Stream ${name} under account ${ACCOUNT} not found.` });
      }
    }
    for (const shard of malformed) {
      for (const input of [{ ShardToMerge: shard, AdjacentShardToMerge: `${randomName()}-0` }, { ShardToMerge: `${randomName()}-0`, AdjacentShardToMerge: shard }]) {
        const name = randomName();
        expectError(await call('MergeShards', { StreamName: name, ...input }), {
          __type: 'ResourceNotFoundException', message: `Could not find shard ${shard} in stream ${name} under account ${ACCOUNT}.`,
        });
      }
    }
    expectError(await call('MergeShards', { StreamName: testStream, ShardToMerge: 'shardId-5', AdjacentShardToMerge: `${randomName()}-0` }), {
      __type: 'ResourceNotFoundException', message: `Could not find shard shardId-000000000005 in stream ${testStream} under account ${ACCOUNT}.`,
    });
    expectError(await call('MergeShards', { StreamName: testStream, ShardToMerge: `${randomName()}-0`, AdjacentShardToMerge: `${randomName()}-2` }), {
      __type: 'InvalidArgumentException',
      message: `Shards shardId-000000000000 and shardId-000000000002 in stream ${testStream} under account ${ACCOUNT} are not an adjacent pair of shards eligible for merging`,
    });
    expectError(await call('MergeShards', { StreamName: testStream, ShardToMerge: `${randomName()}-1`, AdjacentShardToMerge: `${randomName()}-0` }), {
      __type: 'InvalidArgumentException',
      message: `Shards shardId-000000000001 and shardId-000000000000 in stream ${testStream} under account ${ACCOUNT} are not an adjacent pair of shards eligible for merging`,
    });
  });

  it('ListShards: an unknown stream before a malformed ExclusiveStartShardId', async () => {
    const name = randomName();
    expectError(await call('ListShards', { StreamName: name, ExclusiveStartShardId: 'ABKLFD8' }), {
      __type: 'ResourceNotFoundException', message: `Stream ${name} under account ${ACCOUNT} not found.`,
    });
  });
});

describe('void actions', () => {
  /** kinesalite's captures: `res.body.should.equal('')` with status 200; the content type is still the request's. */
  function expectEmpty(r: RawResponse, contentType = JSON_TYPE): void {
    expect({ status: r.status, body: r.body.toString(), length: r.headers['content-length'], type: r.headers['content-type'] }).toEqual({
      status: 200, body: '', length: '0', type: contentType,
    });
  }

  it('answer 200 with an empty body, in JSON and in CBOR', async () => {
    const name = randomName();
    expectEmpty(await call('CreateStream', { StreamName: name, ShardCount: 2 }));
    await waitActive(name);
    expectEmpty(await call('AddTagsToStream', { StreamName: name, Tags: { a: 'b' } }));
    expectEmpty(await call('RemoveTagsFromStream', { StreamName: name, TagKeys: ['a'] }));
    expectEmpty(await call('IncreaseStreamRetentionPeriod', { StreamName: name, RetentionPeriodHours: 48 }));
    expectEmpty(await call('DecreaseStreamRetentionPeriod', { StreamName: name, RetentionPeriodHours: 24 }));
    expectEmpty(await call('SplitShard', { StreamName: name, ShardToSplit: 'shard-0', NewStartingHashKey: '2' }));
    await waitActive(name);
    // Shards 2 ([0, 1]) and 3 ([2, ...]) are the adjacent children.
    expectEmpty(await call('MergeShards', { StreamName: name, ShardToMerge: 'shardId-2', AdjacentShardToMerge: 'shardId-3' }));
    await waitActive(name);
    expectEmpty(await rawRequest(port, { headers: { 'Content-Type': CBOR_TYPE, 'X-Amz-Target': 'Kinesis_20131202.AddTagsToStream' }, body: cbor.encode({ StreamName: name, Tags: { c: 'd' } }) }), CBOR_TYPE);
    expectEmpty(await call('DeleteStream', { StreamName: name }));
  });

  it('merges in the order given and keeps it in the lineage', async () => {
    const name = randomName();
    await call('CreateStream', { StreamName: name, ShardCount: 2 });
    await waitActive(name);
    expectError(await call('MergeShards', { StreamName: name, ShardToMerge: 'shardId-1', AdjacentShardToMerge: 'shardId-0' }), {
      __type: 'InvalidArgumentException',
      message: `Shards shardId-000000000001 and shardId-000000000000 in stream ${name} under account ${ACCOUNT} are not an adjacent pair of shards eligible for merging`,
    });
    expect((await call('MergeShards', { StreamName: name, ShardToMerge: 'shardId-0', AdjacentShardToMerge: 'shardId-1' })).status).toBe(200);
    await waitActive(name);
    const shards = bodyOf(await call('ListShards', { StreamName: name })).Shards as Array<Record<string, unknown>>;
    expect(shards[2]).toMatchObject({
      ShardId: 'shardId-000000000002', ParentShardId: 'shardId-000000000000', AdjacentParentShardId: 'shardId-000000000001',
      HashKeyRange: { StartingHashKey: '0', EndingHashKey: '340282366920938463463374607431768211455' },
    });
  });
});

describe('SequenceNumberForOrdering', () => {
  const dec = (hex: string) => BigInt('0x' + hex).toString(10);
  const invalid = (seq: string) => ({
    __type: 'InvalidArgumentException', message: `ExclusiveMinimumSequenceNumber ${seq} used in PutRecord on stream ${testStream} under account ${ACCOUNT} is invalid.`,
  });
  const put = (seq: string) => call('PutRecord', { StreamName: testStream, PartitionKey: 'a', Data: '', SequenceNumberForOrdering: seq });

  it('refuses what AWS refused', async () => {
    const nowHex = (offsetSeconds: number) => Math.floor(Date.now() / 1000 + offsetSeconds).toString(16);
    for (const seq of [
      dec('20000000000000000000000000000000000000000000000'), // version 0 in the current range
      dec('20000000000000000000000000000000000000000000004'), // version 4
      dec('30000000000000000000000000000000000000000000001'), // initial 3
      dec('1ffffffffff7fffffffffffffff000000000007fffffff2'), // initial 1
      dec('20000000000800000000000000000000000000000000002'), // 8 in the counter's top nibble
      dec('200000000000000000000000000000' + nowHex(2) + '000000002'), // a record time in the future
      dec('13bb2cc3d80000000000000000000000'), // an old-format number with a large date
    ]) expectError(await put(seq), invalid(seq));
    // Version 3 made AWS fail outright.
    expectError(await put(dec('20000000000000000000000000000000000000000000003')), { __type: 'InternalFailure' }, 500);
  });

  it('accepts what AWS accepted, older formats included', async () => {
    const nowHex = Math.floor(Date.now() / 1000 - 2).toString(16);
    for (const seq of [
      dec('2ffffffffff7fffffffffffffff000000000007fffffff2'), // all f
      dec('20000000000000000000000000000000000000000000002'), // all 0
      dec('20000000000000000000000000000000000000000000001'), // all 0, version 1
      dec('2ffffffffff7fffffff7fffffff000' + nowHex + '7fffffff2'), // record time now
      dec('20000000000000000000000000000000000000800000002'), // 8 near the end
      '0', '123',
    ]) {
      const r = await put(seq);
      expect(r.status, seq).toBe(200);
      expect(bodyOf(r).ShardId).toBe('shardId-000000000000');
    }
  });
});

describe('tag characters', () => {
  const invalidChars = { __type: 'InvalidArgumentException', message: 'Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.' };
  const percent = (verb: 'add' | 'remove') => ({
    __type: 'InvalidArgumentException',
    message: `Failed to ${verb} tags ${verb === 'add' ? 'to' : 'from'} stream ${testStream} under account ${ACCOUNT} because some tags contained illegal characters. ` +
      "The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'.",
  });

  it('refuses ; tab newline and comma in keys and values, and % with its own message', async () => {
    for (const bad of ['abc;def', 'abc\tdef', 'abc\ndef', 'abc,def']) {
      expectError(await call('AddTagsToStream', { StreamName: testStream, Tags: { [bad]: '1' } }), invalidChars);
      expectError(await call('AddTagsToStream', { StreamName: testStream, Tags: { a: bad } }), invalidChars);
      expectError(await call('RemoveTagsFromStream', { StreamName: testStream, TagKeys: [bad] }), invalidChars);
    }
    expectError(await call('AddTagsToStream', { StreamName: testStream, Tags: { 'abc%def': '1' } }), percent('add'));
    expectError(await call('AddTagsToStream', { StreamName: testStream, Tags: { a: 'abc%def' } }), percent('add'));
    expectError(await call('RemoveTagsFromStream', { StreamName: testStream, TagKeys: ['abc%def'] }), percent('remove'));
  });

  it('keeps letters, digits, space and _ . / = + - @', async () => {
    const tags = { a: 'a', 'ü0 _.': 'a', '/=+-@': 'a', b: 'ü0 _./=+-@', c: '' };
    expect((await call('AddTagsToStream', { StreamName: testStream, Tags: tags })).status).toBe(200);
    const listed = bodyOf(await call('ListTagsForStream', { StreamName: testStream })).Tags as Array<{ Key: string; Value: string }>;
    for (const [Key, Value] of Object.entries(tags)) expect(listed).toContainEqual({ Key, Value });
    expect((await call('RemoveTagsFromStream', { StreamName: testStream, TagKeys: Object.keys(tags) })).status).toBe(200);
  });
});

describe('malformed Authorization headers', () => {
  const send = (authorization: string, extra: Record<string, string> = {}) => rawRequest(port, {
    unsigned: true, body: '{}',
    headers: { 'Content-Type': JSON_TYPE, 'X-Amz-Target': 'Kinesis_20131202.ListStreams', Authorization: authorization, ...extra },
  });

  it('lists every missing part before judging the algorithm', async () => {
    expectError(await send('X'), {
      __type: 'IncompleteSignatureException',
      message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
        "Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=X",
    });
    for (const header of ['AWS4- Signature=b Credential=a', 'AWS4- Signature=b,Credential=a', 'AWS4- Signature=b, Credential=a']) {
      expectError(await send(header, { Date: 'a' }), {
        __type: 'IncompleteSignatureException', message: `Authorization header requires 'SignedHeaders' parameter. Authorization=${header}`,
      });
    }
    expectError(await rawRequest(port, {
      unsigned: true, body: '{}', path: '/?X-Amz-Algorithm',
      headers: { 'Content-Type': JSON_TYPE, 'X-Amz-Target': 'Kinesis_20131202.ListStreams', Authorization: 'X' },
    }), { __type: 'InvalidSignatureException', message: "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header." });
  });
});

describe('plain application/json', () => {
  const legacy = (body: string | undefined, target = 'Kinesis_20131202.ListStreams', contentType = 'application/json') =>
    rawRequest(port, { unsigned: true, ...(body === undefined ? {} : { body }), headers: { 'Content-Type': contentType, 'X-Amz-Target': target } });

  it('answers a body that is not JSON with 200 and a deprecated-protocol SerializationException', async () => {
    for (const r of [await legacy('hello'), await legacy('hello', 'Kinesis_20131202.ListStreams', '     application/json     ;')]) {
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.body.toString()).toBe('{"Output":{"__type":"com.amazon.coral.service#SerializationException","Message":null},"Version":"1.0"}');
    }
  });

  it('answers a JSON object with 200 and a deprecated-protocol UnknownOperationException, running nothing', async () => {
    const r = await legacy('{}');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body.toString()).toBe('{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException","message":null},"Version":"1.0"}');
  });

  it('answers an empty body in CBOR, by target', async () => {
    const withTarget = await legacy(undefined);
    expect([withTarget.status, withTarget.headers['content-type'], cbor.decodeFirstSync(withTarget.body)]).toEqual([400, CBOR_TYPE, { __type: 'SerializationException' }]);
    const noTarget = await legacy(undefined, '');
    expect([noTarget.status, noTarget.headers['content-type'], cbor.decodeFirstSync(noTarget.body)]).toEqual([400, CBOR_TYPE, { __type: 'UnknownOperationException' }]);
  });
});

describe('headers', () => {
  it('sends an x-amz-id-2 of 64-80 bytes and a UUID request id on every answer but a CORS preflight', async () => {
    const answers = [
      await call('ListStreams', {}),
      await call('DescribeStream', { StreamName: 'absent' }),
      await rawRequest(port, { method: 'GET', unsigned: true }),
      await rawRequest(port, { unsigned: true, headers: { 'Content-Type': 'application/json' }, body: '{}' }),
      await rawRequest(port, { unsigned: true, headers: { Origin: 'whatever' } }),
    ];
    for (const r of answers) {
      expect(r.headers['x-amzn-requestid']).toMatch(UUID);
      expect(Buffer.from(String(r.headers['x-amz-id-2']), 'base64').length).toBeGreaterThanOrEqual(64);
      expect(Buffer.from(String(r.headers['x-amz-id-2']), 'base64').length).toBeLessThanOrEqual(80);
    }
  });

  it('answers a CORS preflight with an empty 200 and AWS headers only', async () => {
    for (const [extra, echoed] of [
      [{}, {}],
      [{ 'Access-Control-Request-Headers': 'a, b, c' }, { 'access-control-allow-headers': 'a, b, c' }],
      [{ 'Access-Control-Request-Headers': 'a, b, c', 'Access-Control-Request-Method': 'd' }, { 'access-control-allow-headers': 'a, b, c', 'access-control-allow-methods': 'd' }],
    ] as Array<[Record<string, string>, Record<string, string>]>) {
      for (const unsigned of [true, false]) {
        const r = await rawRequest(port, { method: 'OPTIONS', unsigned, headers: { Origin: 'whatever', ...extra } });
        expect(r.status).toBe(200);
        expect(r.body.length).toBe(0);
        expect(r.headers['x-amzn-requestid']).toMatch(UUID);
        expect(r.headers).toMatchObject({ 'access-control-allow-origin': '*', 'access-control-max-age': '172800', 'content-length': '0', ...echoed });
        expect(r.headers['x-amz-id-2']).toBeUndefined();
        expect(r.headers['content-type']).toBeUndefined();
        if (!echoed['access-control-allow-methods']) expect(r.headers['access-control-allow-methods']).toBeUndefined();
      }
    }
  });

  it('marks answers to a browser with the headers AWS exposes', async () => {
    const r = await rawRequest(port, { headers: { Origin: 'whatever' } });
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['access-control-expose-headers']).toBe('x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date');
    expect([r.status, r.headers['content-type'], cbor.decodeFirstSync(r.body)]).toEqual([400, CBOR_TYPE, { __type: 'UnknownOperationException' }]);
  });
});
