// Proves the Kinesis Video Streams control plane through the stock
// @aws-sdk/client-kinesis-video against a real gateway: every action, the
// StreamInfo and ARN shapes, paging, versions, retention, both tag APIs,
// GetDataEndpoint for every APIName, AWS's error types and statuses
// (ResourceNotFound 404, ResourceInUse, VersionMismatch, InvalidArgument,
// TagsPerResourceExceededLimit), the SigV4 and policy checks (a device may
// use only its own `*-<device>` streams), and that metadata survives a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateStreamCommand, DeleteStreamCommand, DescribeStreamCommand, GetDataEndpointCommand, ListStreamsCommand, ListTagsForResourceCommand,
  ListTagsForStreamCommand, TagResourceCommand, TagStreamCommand, UntagResourceCommand, UntagStreamCommand, UpdateDataRetentionCommand,
  UpdateStreamCommand, type KinesisVideoClient,
} from '@aws-sdk/client-kinesis-video';
import { startGateway, gatewayDefaults, type Gateway } from '../../gateway/gateway.ts';
import { silentLogger } from '../../gateway/log.ts';
import { testGateway, testOperator } from '../helpers/gateway.ts';
import { awsErrorOf, videoClient } from '../helpers/video.ts';

let gw: Gateway & { dataDir: string };
let kv: KinesisVideoClient;

beforeAll(async () => {
  gw = await testGateway();
  kv = videoClient(gw.url);
});
afterAll(async () => {
  kv?.destroy();
  await gw?.close();
});

describe('streams', () => {
  it('creates and describes a stream by name and by ARN', async () => {
    const before = Date.now();
    const { StreamARN } = await kv.send(new CreateStreamCommand({ StreamName: 'cam-1', DeviceName: 'pi-1', MediaType: 'video/h264', DataRetentionInHours: 24, Tags: { site: 'north' } }));
    expect(StreamARN).toMatch(/^arn:aws:kinesisvideo:us-east-1:000000000000:stream\/cam-1\/\d{13}$/);
    const byName = await kv.send(new DescribeStreamCommand({ StreamName: 'cam-1' }));
    const byArn = await kv.send(new DescribeStreamCommand({ StreamARN }));
    expect(byArn.StreamInfo).toEqual(byName.StreamInfo);
    const info = byName.StreamInfo!;
    expect(info).toMatchObject({
      StreamName: 'cam-1', StreamARN, DeviceName: 'pi-1', MediaType: 'video/h264', Status: 'ACTIVE', DataRetentionInHours: 24,
      KmsKeyId: 'arn:aws:kms:us-east-1:000000000000:alias/aws/kinesisvideo',
    });
    expect(info.Version).toMatch(/^[a-zA-Z0-9]{1,64}$/);
    expect(info.CreationTime).toBeInstanceOf(Date);
    expect(info.CreationTime!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect((await kv.send(new ListTagsForStreamCommand({ StreamName: 'cam-1' }))).Tags).toEqual({ site: 'north' });
  });

  it('refuses a second stream of the same name, and answers 404 for a missing one', async () => {
    await kv.send(new CreateStreamCommand({ StreamName: 'dup' }));
    expect(await awsErrorOf(kv.send(new CreateStreamCommand({ StreamName: 'dup' })))).toMatchObject({ name: 'ResourceInUseException', status: 400 });
    expect(await awsErrorOf(kv.send(new DescribeStreamCommand({ StreamName: 'nope' })))).toEqual({
      name: 'ResourceNotFoundException', status: 404, message: 'The requested stream is not found or not active.',
    });
  });

  it('validates input with InvalidArgumentException', async () => {
    const bad = await awsErrorOf(kv.send(new CreateStreamCommand({ StreamName: 'no spaces' })));
    expect(bad).toMatchObject({ name: 'InvalidArgumentException', status: 400 });
    expect(bad.message).toBe("1 validation error detected: Value 'no spaces' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
    expect(await awsErrorOf(kv.send(new CreateStreamCommand({ StreamName: 'x', DataRetentionInHours: -1 })))).toMatchObject({ name: 'InvalidArgumentException' });
    expect(await awsErrorOf(kv.send(new DescribeStreamCommand({})))).toMatchObject({ name: 'InvalidArgumentException', message: 'Either StreamName or StreamARN must be specified, but not both.' });
    expect(await awsErrorOf(kv.send(new GetDataEndpointCommand({ StreamName: 'cam-1', APIName: 'NOPE' as 'GET_MEDIA' })))).toMatchObject({ name: 'InvalidArgumentException' });
  });

  it('lists streams in name order with BEGINS_WITH and paging', async () => {
    for (const n of ['lst-c', 'lst-a', 'lst-b', 'other-lst']) await kv.send(new CreateStreamCommand({ StreamName: n }));
    const first = await kv.send(new ListStreamsCommand({ MaxResults: 2, StreamNameCondition: { ComparisonOperator: 'BEGINS_WITH', ComparisonValue: 'lst-' } }));
    expect(first.StreamInfoList!.map((s) => s.StreamName)).toEqual(['lst-a', 'lst-b']);
    expect(first.NextToken).toBeTruthy();
    const second = await kv.send(new ListStreamsCommand({ MaxResults: 2, NextToken: first.NextToken, StreamNameCondition: { ComparisonOperator: 'BEGINS_WITH', ComparisonValue: 'lst-' } }));
    expect(second.StreamInfoList!.map((s) => s.StreamName)).toEqual(['lst-c']);
    expect(second.NextToken).toBeUndefined();
    const all = await kv.send(new ListStreamsCommand({}));
    const names = all.StreamInfoList!.map((s) => s.StreamName!);
    expect(names).toEqual([...names].sort());
    expect(names).toContain('other-lst');
  });

  it('updates a stream and its retention under CurrentVersion', async () => {
    await kv.send(new CreateStreamCommand({ StreamName: 'upd', DataRetentionInHours: 2 }));
    const v1 = (await kv.send(new DescribeStreamCommand({ StreamName: 'upd' }))).StreamInfo!.Version!;
    expect(await awsErrorOf(kv.send(new UpdateStreamCommand({ StreamName: 'upd', CurrentVersion: 'wrong1', MediaType: 'video/h265' })))).toMatchObject({ name: 'VersionMismatchException', status: 400 });
    await kv.send(new UpdateStreamCommand({ StreamName: 'upd', CurrentVersion: v1, MediaType: 'video/h265', DeviceName: 'pi-9' }));
    const after = (await kv.send(new DescribeStreamCommand({ StreamName: 'upd' }))).StreamInfo!;
    expect(after).toMatchObject({ MediaType: 'video/h265', DeviceName: 'pi-9' });
    expect(after.Version).not.toBe(v1);
    await kv.send(new UpdateDataRetentionCommand({ StreamName: 'upd', CurrentVersion: after.Version, Operation: 'INCREASE_DATA_RETENTION', DataRetentionChangeInHours: 10 }));
    const v3 = (await kv.send(new DescribeStreamCommand({ StreamName: 'upd' }))).StreamInfo!;
    expect(v3.DataRetentionInHours).toBe(12);
    expect(await awsErrorOf(kv.send(new UpdateDataRetentionCommand({ StreamName: 'upd', CurrentVersion: v3.Version, Operation: 'DECREASE_DATA_RETENTION', DataRetentionChangeInHours: 13 })))).toMatchObject({ name: 'InvalidArgumentException' });
    await kv.send(new UpdateDataRetentionCommand({ StreamName: 'upd', CurrentVersion: v3.Version, Operation: 'DECREASE_DATA_RETENTION', DataRetentionChangeInHours: 12 }));
    expect((await kv.send(new DescribeStreamCommand({ StreamName: 'upd' }))).StreamInfo!.DataRetentionInHours).toBe(0);
  });

  it('answers the gateway itself as the data endpoint of every API', async () => {
    for (const APIName of ['PUT_MEDIA', 'GET_MEDIA', 'LIST_FRAGMENTS', 'GET_MEDIA_FOR_FRAGMENT_LIST', 'GET_HLS_STREAMING_SESSION_URL', 'GET_DASH_STREAMING_SESSION_URL', 'GET_CLIP', 'GET_IMAGES'] as const) {
      // GetDataEndpoint allows 5 calls per second per stream (video-quotas.test.ts): 4 a second stay under it.
      await new Promise((r) => setTimeout(r, 250));
      expect((await kv.send(new GetDataEndpointCommand({ StreamName: 'cam-1', APIName }))).DataEndpoint).toBe(gw.url);
    }
    expect(await awsErrorOf(kv.send(new GetDataEndpointCommand({ StreamName: 'nope', APIName: 'GET_MEDIA' })))).toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('tags streams through both tag APIs', async () => {
    const { StreamARN } = await kv.send(new CreateStreamCommand({ StreamName: 'tags' }));
    await kv.send(new TagStreamCommand({ StreamName: 'tags', Tags: { a: '1', b: '2' } }));
    await kv.send(new TagResourceCommand({ ResourceARN: StreamARN, Tags: [{ Key: 'c', Value: '3' }, { Key: 'a', Value: '9' }] }));
    expect((await kv.send(new ListTagsForResourceCommand({ ResourceARN: StreamARN }))).Tags).toEqual({ a: '9', b: '2', c: '3' });
    await kv.send(new UntagStreamCommand({ StreamARN, TagKeyList: ['b'] }));
    await kv.send(new UntagResourceCommand({ ResourceARN: StreamARN, TagKeyList: ['c', 'zz'] }));
    expect((await kv.send(new ListTagsForStreamCommand({ StreamARN }))).Tags).toEqual({ a: '9' });
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
    expect(await awsErrorOf(kv.send(new TagStreamCommand({ StreamName: 'tags', Tags: many })))).toMatchObject({ name: 'TagsPerResourceExceededLimitException', status: 400 });
    expect(await awsErrorOf(kv.send(new ListTagsForResourceCommand({ ResourceARN: 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/none/1' })))).toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('deletes a stream under CurrentVersion', async () => {
    const { StreamARN } = await kv.send(new CreateStreamCommand({ StreamName: 'gone' }));
    expect(await awsErrorOf(kv.send(new DeleteStreamCommand({ StreamARN, CurrentVersion: 'nope' })))).toMatchObject({ name: 'VersionMismatchException' });
    const { Version } = (await kv.send(new DescribeStreamCommand({ StreamARN }))).StreamInfo!;
    await kv.send(new DeleteStreamCommand({ StreamARN, CurrentVersion: Version }));
    expect(await awsErrorOf(kv.send(new DescribeStreamCommand({ StreamARN })))).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
    // A new stream of the same name is a new stream: a new ARN.
    const again = await kv.send(new CreateStreamCommand({ StreamName: 'gone' }));
    expect(again.StreamARN).not.toBe(StreamARN);
    expect(await awsErrorOf(kv.send(new DeleteStreamCommand({ StreamARN })))).toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('the front door', () => {
  it('answers an unsigned request 403 with the error type in x-amzn-ErrorType', async () => {
    const res = await fetch(`${gw.url}/describeStream`, { method: 'POST', body: JSON.stringify({ StreamName: 'cam-1' }), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(await res.json()).toEqual({ message: 'Missing Authentication Token' });
  });

  it('refuses an oversized body with 413 before reading it', async () => {
    const res = await fetch(`${gw.url}/createStream`, { method: 'POST', body: 'x'.repeat(2 * 1024 * 1024), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(413);
  });

  it('lets a device use only its own streams', async () => {
    await kv.send(new CreateStreamCommand({ StreamName: 'door-dev7' }));
    await kv.send(new CreateStreamCommand({ StreamName: 'door-dev8' }));
    const { code } = await gw.principals.createPairingCode('dev7', 'device', 60_000);
    const device = await gw.principals.redeem(code, 'A'.repeat(44));
    const dk = videoClient(gw.url, { accessKeyId: device!.principal.accessKeyId, secretAccessKey: device!.secretAccessKey });
    try {
      expect((await dk.send(new GetDataEndpointCommand({ StreamName: 'door-dev7', APIName: 'PUT_MEDIA' }))).DataEndpoint).toBe(gw.url);
      const denied = await awsErrorOf(dk.send(new DescribeStreamCommand({ StreamName: 'door-dev8' })));
      expect(denied).toMatchObject({ name: 'AccessDeniedException', status: 403 });
      expect(denied.message).toContain('kinesisvideo:DescribeStream');
      expect(await awsErrorOf(dk.send(new CreateStreamCommand({ StreamName: 'new-dev7' })))).toMatchObject({ name: 'AccessDeniedException' });
    } finally {
      dk.destroy();
    }
  });
});

describe('restart', () => {
  it('keeps every stream, its tags, version and retention', async () => {
    const before = (await kv.send(new ListStreamsCommand({}))).StreamInfoList!;
    const tags = (await kv.send(new ListTagsForStreamCommand({ StreamName: 'cam-1' }))).Tags;
    await gw.close();
    gw = Object.assign(await startGateway({ ...gatewayDefaults, dataDir: gw.dataDir, port: 0, tlsEnabled: false }, { log: silentLogger, operator: testOperator }), { dataDir: gw.dataDir });
    kv.destroy();
    kv = videoClient(gw.url);
    expect((await kv.send(new ListStreamsCommand({}))).StreamInfoList).toEqual(before);
    expect((await kv.send(new ListTagsForStreamCommand({ StreamName: 'cam-1' }))).Tags).toEqual(tags);
  });
});
