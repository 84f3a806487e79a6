// Proves stream history round trips byte for byte through the real CLI against a real gateway:
// `tributary streams export` (across a reshard, in lineage order) -> capture file -> `tributary
// replay` -> another stream, `stream:<name>` -> stream, capture -> file conversion (plain and
// gzip), bad records counted and written to the rejects file without stopping the run, a finished
// run not sending again, and `--speed` pacing measured from the arrival times at the target.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { SplitShardCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActiveStream, kinesisClient, tempDir, testGateway, waitActive } from '../helpers/gateway.ts';
import { byKey, cli, cliBundle, profileFor, putAll, readAll } from '../helpers/replay.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { formatCaptureLine, parseCaptureLine } from '../../sdk/protocol/capture.ts';

let gw: Gateway;
let c: KinesisClient;
let profile: string;
let dir: string;
const sent: Array<{ key: string; data: Buffer }> = [];

beforeAll(async () => {
  gw = await testGateway({ enforceLimits: false });
  await cliBundle();
  c = kinesisClient(gw.url);
  profile = profileFor(gw.url);
  dir = tempDir('trb-replay-');
  await createActiveStream(c, 'src', 2);
  // Binary data of every byte value and varied sizes, 40 keys, a reshard in the middle.
  for (let i = 0; i < 1500; i++) sent.push({ key: `dev-${i % 40}`, data: Buffer.from(Array.from({ length: 1 + ((i * 37) % 300) }, (_, k) => (i + k * 7) & 0xff)) });
  await putAll(c, 'src', sent.slice(0, 800));
  const { Shards } = await c.send(new ListShardsCommand({ StreamName: 'src' }));
  const s0 = Shards![0]!;
  const mid = (BigInt(s0.HashKeyRange!.StartingHashKey!) + BigInt(s0.HashKeyRange!.EndingHashKey!)) / 2n;
  await c.send(new SplitShardCommand({ StreamName: 'src', ShardToSplit: s0.ShardId!, NewStartingHashKey: mid.toString() }));
  await waitActive(c, 'src');
  await putAll(c, 'src', sent.slice(800));
});
afterAll(async () => {
  c?.destroy();
  await gw?.close();
});

const p = () => ['--profile', profile];

describe('export and replay of stream history', () => {
  it('exports every record in the GetRecords shape, parents before children, and replays it byte for byte', async () => {
    const capture = path.join(dir, 'src.jsonl');
    const { stderr } = await cli(['streams', 'export', 'src', '-o', capture, ...p()]);
    expect(JSON.parse(stderr).exported).toMatchObject({ stream: 'src', records: 1500, shards: 4 });
    const lines = fs.readFileSync(capture, 'utf8').trimEnd().split('\n');
    const stored = await readAll(c, 'src');
    // Line for line what GetRecords returns, in lineage order (the parent shard's records before its children's).
    const byShardOrder = new Map(stored.map((r) => [r.seq, r]));
    for (const line of lines) {
      const doc = JSON.parse(line);
      expect(Object.keys(doc)).toEqual(['SequenceNumber', 'ApproximateArrivalTimestamp', 'Data', 'PartitionKey']);
      const r = byShardOrder.get(doc.SequenceNumber)!;
      expect(Buffer.from(doc.Data, 'base64').equals(r.data)).toBe(true);
      expect(doc.PartitionKey).toBe(r.key);
      expect(doc.ApproximateArrivalTimestamp * 1000).toBe(r.arrivalMs);
    }
    expect(byKey(lines.map((l) => ({ key: JSON.parse(l).PartitionKey, data: Buffer.from(JSON.parse(l).Data, 'base64') })))).toEqual(byKey(sent));

    await createActiveStream(c, 'dst', 3);
    const { stdout } = await cli(['replay', capture, '--into', 'stream:dst', '--checkpoint', path.join(dir, 'a.json'), ...p()]);
    const summary = JSON.parse(stdout.trim().split('\n').pop()!).replay;
    expect(summary).toMatchObject({ finished: true, sent: 1500, rejected: 0, exactlyOnce: true });
    expect(byKey(await readAll(c, 'dst'))).toEqual(byKey(sent));

    // The same command again: the run is finished, nothing is sent twice.
    const again = JSON.parse((await cli(['replay', capture, '--into', 'stream:dst', '--checkpoint', path.join(dir, 'a.json'), ...p()])).stdout.trim().split('\n').pop()!).replay;
    expect(again).toMatchObject({ alreadyFinished: true, sent: 1500 });
    expect((await readAll(c, 'dst')).length).toBe(1500);
  });

  it('replays a stream into another stream (stream:<name>) and converts a capture to gzip and back', async () => {
    await createActiveStream(c, 'dst2', 1);
    const { stdout } = await cli(['replay', 'stream:src', '--into', 'stream:dst2', '--checkpoint', path.join(dir, 'b.json'), '--progress', 'none', ...p()]);
    expect(JSON.parse(stdout).replay).toMatchObject({ finished: true, sent: 1500 });
    expect(byKey(await readAll(c, 'dst2'))).toEqual(byKey(sent));

    const capture = path.join(dir, 'src.jsonl');
    const gz = path.join(dir, 'copy.jsonl.gz');
    await cli(['replay', capture, '--into', `file:${gz}`, '--checkpoint', path.join(dir, 'c.json'), '--progress', 'none']);
    expect(zlib.gunzipSync(fs.readFileSync(gz)).toString()).toBe(fs.readFileSync(capture, 'utf8'));
    const back = path.join(dir, 'back.jsonl');
    await cli(['replay', gz, '--into', `file:${back}`, '--checkpoint', path.join(dir, 'd.json'), '--progress', 'none']);
    expect(fs.readFileSync(back, 'utf8')).toBe(fs.readFileSync(capture, 'utf8'));
  });

  it('counts bad records, writes them to the rejects file and sends the rest', async () => {
    const file = path.join(dir, 'bad.jsonl');
    const good = (i: number) => formatCaptureLine({ data64: Buffer.from(`{"deviceId":"d${i % 3}","n":${i}}`).toString('base64'), partitionKey: 'x' });
    fs.writeFileSync(file, [good(0), 'not json', good(1), '{"Data":"***","PartitionKey":"k"}', formatCaptureLine({ data64: Buffer.alloc(1024 * 1024 + 1).toString('base64'), partitionKey: 'big' }), good(2), formatCaptureLine({ data64: Buffer.from('no json').toString('base64'), partitionKey: 'x' }), ''].join('\n'));
    await createActiveStream(c, 'dst3', 1);
    const rejects = path.join(dir, 'bad.rejects.jsonl');
    const { stdout } = await cli(['replay', file, '--into', 'stream:dst3', '--partition-key', '$.deviceId', '--checkpoint', path.join(dir, 'bad.json'), '--rejects', rejects, '--progress', 'none', ...p()]);
    expect(JSON.parse(stdout).replay).toMatchObject({ finished: true, sent: 3, rejected: 4 });
    const stored = await readAll(c, 'dst3');
    expect(stored.map((r) => r.key).sort()).toEqual(['d0', 'd1', 'd2']); // Three keys, three lanes: no order between them.
    const lines = fs.readFileSync(rejects, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.ordinal, l.reason])).toEqual([
      [1, 'not JSON'], [3, 'Data is not base64'], [4, 'data is 1048577 bytes, over the 1048576-byte record limit'], [6, 'data is not JSON, so $.deviceId cannot be read'],
    ]);
    expect(parseCaptureLine(JSON.stringify(lines[3].record))).toMatchObject({ kind: 'record' });
  });

  it('paces by the original arrival times: --speed 1x keeps the spacing, 10x divides it', async () => {
    const t0 = 1_700_000_000_000;
    // 21 records on one key (so one lane: the order is the file's), 2 s apart in all at the speed asked:
    // 100 ms apart at 1x, 1 s apart at 10x. (2 s, not 200 ms, at 10x: a busy machine can hold the first
    // request back longer than 200 ms, and the records queued behind it then leave together.)
    for (const [speed, gapMs] of [['1x', 100], ['10x', 1000]] as const) {
      const spanMs = 2000;
      const file = path.join(dir, `timed-${speed}.jsonl`);
      fs.writeFileSync(file, Array.from({ length: 21 }, (_, i) => formatCaptureLine({ data64: Buffer.from(`r${i}`).toString('base64'), partitionKey: 'k', timeMs: t0 + i * gapMs })).join('\n') + '\n');
      const stream = `timed-${speed}`;
      await createActiveStream(c, stream, 1);
      const { stdout } = await cli(['replay', file, '--into', `stream:${stream}`, '--speed', speed, '--checkpoint', path.join(dir, `t${speed}.json`), '--progress', 'none', ...p()]);
      const stored = await readAll(c, stream);
      expect(stored.map((r) => r.data.toString())).toEqual(Array.from({ length: 21 }, (_, i) => `r${i}`));
      // The run cannot end before the last record's scaled time...
      expect(JSON.parse(stdout.trim()).replay.seconds * 1000, `${speed}: run time`).toBeGreaterThanOrEqual(spanMs);
      // ...and the arrivals at the gateway are spread over that span: the first record leaves at once, the last at
      // the scaled span; a loaded machine adds latency to either end.
      const span = stored.at(-1)!.arrivalMs - stored[0]!.arrivalMs;
      expect(span, `${speed}: first to last arrival`).toBeGreaterThanOrEqual(spanMs * 0.85);
      expect(span, `${speed}: first to last arrival`).toBeLessThan(spanMs * 1.25 + 150);
    }
  });
});
