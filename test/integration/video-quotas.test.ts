// Proves the Kinesis Video Streams request quotas the gateway enforces, as
// the service quotas page states them, through the stock SDK clients: the
// control plane's per-account and per-stream requests per second
// (ClientLimitExceededException, 400), 5 PutMedia connections and 5 GetMedia
// calls per second per stream. The gateway runs on a manual clock, so "in one
// second" means exactly that however slowly a loaded machine runs the calls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, DescribeStreamCommand, ListStreamsCommand, type KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { GetMediaCommand, type KinesisVideoMediaClient } from '@aws-sdk/client-kinesis-video-media';
import type { Gateway } from '../../gateway/gateway.ts';
import { testGateway } from '../helpers/gateway.ts';
import { awsErrorOf, rawPutMedia, videoClient, videoMediaClient } from '../helpers/video.ts';

let clock = Date.now();
let gw: Gateway & { dataDir: string };
let kv: KinesisVideoClient;
let media: KinesisVideoMediaClient;

beforeAll(async () => {
  gw = await testGateway({}, { now: () => clock });
  kv = videoClient(gw.url);
  media = videoMediaClient(gw.url);
  for (const name of ['q-a', 'q-b', 'q-put', 'q-get']) await kv.send(new CreateStreamCommand({ StreamName: name, DataRetentionInHours: 1 }));
  clock += 1000;
});
afterAll(async () => {
  kv?.destroy();
  media?.destroy();
  await gw?.close();
});

const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (err: Error & { $metadata?: { httpStatusCode?: number } }) => `${err.name} ${err.$metadata?.httpStatusCode}`);

describe('control plane', () => {
  it('DescribeStream: 5 per second per stream, then ClientLimitExceededException until the second is over', async () => {
    const a: string[] = [];
    for (let i = 0; i < 6; i++) a.push(await outcome(kv.send(new DescribeStreamCommand({ StreamName: 'q-a' }))));
    expect(a).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ClientLimitExceededException 400']);
    const denied = await awsErrorOf(kv.send(new DescribeStreamCommand({ StreamName: 'q-a' })));
    expect(denied.message).toBe('Kinesis Video Streams has throttled the request because you have exceeded the limit of allowed client calls. Try making the call later.');
    // Another stream has its own quota; the same stream recovers a second later.
    expect(await outcome(kv.send(new DescribeStreamCommand({ StreamName: 'q-b' })))).toBe('ok');
    clock += 999;
    expect(await outcome(kv.send(new DescribeStreamCommand({ StreamName: 'q-a' })))).toBe('ClientLimitExceededException 400');
    clock += 1;
    expect(await outcome(kv.send(new DescribeStreamCommand({ StreamName: 'q-a' })))).toBe('ok');
  });

  it('ListStreams: 50 per second for the account', async () => {
    clock += 1000;
    const results = await Promise.all(Array.from({ length: 51 }, () => outcome(kv.send(new ListStreamsCommand({ MaxResults: 1 })))));
    expect(results.filter((r) => r === 'ok').length).toBe(50);
    expect(results.filter((r) => r !== 'ok')).toEqual(['ClientLimitExceededException 400']);
  });
});

describe('media', () => {
  it('PutMedia: a sixth connection in a second is refused before 200', async () => {
    clock += 1000;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const p = rawPutMedia(gw.url, { stream: 'q-put' });
      p.req.end();
      statuses.push(await p.status);
      await p.done;
      if (i === 5) expect(p.lines.map((l) => JSON.parse(l))).toEqual([{ Message: 'Kinesis Video Streams has throttled the request because you have exceeded the limit of allowed client calls. Try making the call later.' }]);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 400]);
    clock += 1000;
    const again = rawPutMedia(gw.url, { stream: 'q-put' });
    again.req.end();
    expect(await again.status).toBe(200);
    await again.done;
  });

  it('GetMedia: 5 calls per second per stream', async () => {
    clock += 1000;
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      outcomes.push(await outcome(media.send(new GetMediaCommand({ StreamName: 'q-get', StartSelector: { StartSelectorType: 'EARLIEST' } })).then((out) => {
        (out.Payload as unknown as { destroy(): void }).destroy();
      })));
    }
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ClientLimitExceededException 400']);
  });
});
