// Proves `tributary streams tail` against a real gateway: KPL aggregates come
// out as their user records, JSON payloads as JSON, other text as text, bytes
// that are not UTF-8 as base64, and `--raw` keeps one line per Kinesis record.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/gateway.ts';
import { aggregate } from '../../sdk/protocol/kpl-aggregation.ts';
import { createActiveStream, kinesisClient, tempDir, testGateway, testOperator } from '../helpers/gateway.ts';
import { repoRoot } from '../helpers/spawn-gateway.ts';
import { tributaryBundle } from '../helpers/bundles.ts';

let gw: Gateway;
let profile: string;
beforeAll(async () => {
  gw = await testGateway({ createDelayMs: 0 });
  profile = path.join(tempDir('trb-profile-'), 'operator.json');
  fs.writeFileSync(profile, JSON.stringify({ endpoint: gw.url, region: 'us-east-1', ...testOperator }), { mode: 0o600 });
  const client = kinesisClient(gw.url);
  await createActiveStream(client, 'tailed', 1);
  const put = (PartitionKey: string, Data: Uint8Array) => client.send(new PutRecordCommand({ StreamName: 'tailed', PartitionKey, Data }));
  await put('agg', aggregate([
    { partitionKey: 'dev-1', data: Buffer.from('{"temp":21.5}') },
    { partitionKey: 'dev-2', data: Buffer.from('plain text') },
  ]));
  await put('json', Buffer.from('[1,2]'));
  await put('bin', Buffer.from([0xff, 0xfe, 0x00]));
  await put('broken', Buffer.from('{not json'));
  client.destroy();
});
afterAll(() => gw.close());

/** Runs tail from TRIM_HORIZON until `count` lines arrived, then stops it. */
async function tail(count: number, ...extra: string[]): Promise<Array<Record<string, unknown>>> {
  const child = spawn(process.execPath, [tributaryBundle(), 'streams', 'tail', 'tailed', '--from', 'trim-horizon', '--profile', profile, ...extra], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Array<Record<string, unknown>> = [];
  try {
    for await (const line of readline.createInterface({ input: child.stdout })) {
      lines.push(JSON.parse(line) as Record<string, unknown>);
      if (lines.length === count) break;
    }
  } finally {
    child.kill();
  }
  return lines;
}

describe('tributary streams tail', () => {
  it('splits KPL aggregates and prints JSON payloads as JSON', async () => {
    const lines = await tail(5);
    expect(lines.map((l) => [l.partitionKey, l.subSequenceNumber, l.data])).toEqual([
      ['dev-1', 0, { temp: 21.5 }],
      ['dev-2', 1, 'plain text'],
      ['json', undefined, [1, 2]],
      ['bin', undefined, { base64: Buffer.from([0xff, 0xfe, 0x00]).toString('base64') }],
      ['broken', undefined, '{not json'],
    ]);
    expect(lines[0]!.sequenceNumber).toBe(lines[1]!.sequenceNumber);
    expect(lines[0]!.shardId).toBe('shardId-000000000000');
    expect(Date.parse(String(lines[2]!.arrival))).toBeGreaterThan(Date.now() - 600_000);
  });

  it('keeps one line per Kinesis record with --raw', async () => {
    const lines = await tail(4, '--raw');
    expect(lines.map((l) => l.partitionKey)).toEqual(['agg', 'json', 'bin', 'broken']);
    expect(lines[1]!.data).toBe('[1,2]');
    expect(lines[0]!.subSequenceNumber).toBeUndefined();
  });
});
