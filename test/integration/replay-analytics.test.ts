// Proves replay and the analytics application meet on both sides: a capture written by
// `tributary streams export` is what `tributary analytics run --records` reads (ApproximateArrivalTimestamp
// in epoch seconds becomes each row's ROWTIME, to the millisecond), and `tributary replay --into
// analytics:<application>` finds the application's input stream with DescribeApplication (the stock
// @aws-sdk/client-kinesis-analytics created it) and replays into it, byte for byte.
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CreateApplicationCommand } from '@aws-sdk/client-kinesis-analytics';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/gateway.ts';
import { analyticsClient, role, streamArn } from '../helpers/analytics.ts';
import { createActiveStream, kinesisClient, tempDir, testGateway } from '../helpers/gateway.ts';
import { byKey, cli, cliBundle, profileFor, putAll, readAll } from '../helpers/replay.ts';

let gw: Gateway;
let c: KinesisClient;
let profile: string;
let dir: string;
const sent = Array.from({ length: 50 }, (_, i) => ({ key: `s${i % 4}`, data: Buffer.from(JSON.stringify({ N: i, T: `t${i % 4}` })) }));

beforeAll(async () => {
  gw = await testGateway({ enforceLimits: false });
  c = kinesisClient(gw.url);
  profile = profileFor(gw.url);
  dir = tempDir('trb-replay-kda-');
  await cliBundle();
  await createActiveStream(c, 'readings', 1);
  await putAll(c, 'readings', sent);
});
afterAll(async () => {
  c?.destroy();
  await gw?.close();
});

const input = { NamePrefix: 'SOURCE_SQL_STREAM', InputSchema: { RecordFormat: { RecordFormatType: 'JSON' as const, MappingParameters: { JSONMappingParameters: { RecordRowPath: '$' } } }, RecordColumns: [{ Name: 'N', SqlType: 'INTEGER', Mapping: '$.N' }, { Name: 'T', SqlType: 'VARCHAR(8)', Mapping: '$.T' }] } };
const sql = 'CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (n INTEGER, t VARCHAR(8));\nCREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM "N", "T" FROM "SOURCE_SQL_STREAM_001";\n';

describe('replay and analytics', () => {
  it('an export is what tributary analytics run --records reads', async () => {
    const capture = path.join(dir, 'readings.jsonl');
    await cli(['streams', 'export', 'readings', '-o', capture, '--profile', profile]);
    fs.writeFileSync(path.join(dir, 'input.json'), JSON.stringify(input));
    fs.writeFileSync(path.join(dir, 'app.sql'), sql);
    const { stdout } = await promisify(execFile)(process.execPath, [await cliBundle(), 'analytics', 'run', '--code', path.join(dir, 'app.sql'), '--input', path.join(dir, 'input.json'), '--records', capture]);
    const rows = stdout.trim().split('\n').map((l) => JSON.parse(l) as { ROWTIME: string; N: number; T: string });
    expect(rows.map((r) => r.N)).toEqual(sent.map((_, i) => i));
    const stored = await readAll(c, 'readings');
    // ROWTIME is the arrival time, "YYYY-MM-DD HH:MM:SS.sss" UTC, from the capture's epoch seconds.
    expect(rows.map((r) => r.ROWTIME)).toEqual(stored.map((r) => new Date(r.arrivalMs).toISOString().replace('T', ' ').replace('Z', '')));
  });

  it('replays into an application through its input stream', async () => {
    await createActiveStream(c, 'app-input', 2);
    const ka = analyticsClient(gw.url);
    try {
      await ka.send(new CreateApplicationCommand({ ApplicationName: 'replayed', ApplicationCode: sql, Inputs: [{ ...input, KinesisStreamsInput: { ResourceARN: streamArn('app-input'), RoleARN: role } }] }));
    } finally {
      ka.destroy();
    }
    const capture = path.join(dir, 'readings.jsonl');
    const { stdout } = await cli(['replay', capture, '--into', 'analytics:replayed', '--checkpoint', path.join(dir, 'kda.json'), '--progress', 'none', '--profile', profile]);
    expect(JSON.parse(stdout.trim()).replay).toMatchObject({ finished: true, sent: 50, target: 'stream app-input' });
    expect(byKey(await readAll(c, 'app-input'))).toEqual(byKey(sent));
  });
});
