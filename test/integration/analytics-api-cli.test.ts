// The analytics control plane from two command lines: the stock AWS CLI v2
// (`aws kinesisanalytics`, Debian's, by full path) round-trips an
// application (create, describe, add an output, start, stop, delete, an
// error), and `tributary analytics` creates one from a SQL file and JSON
// objects, lists, describes, updates its code, starts, stops and deletes it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamArn, tickerInput, role, waitStatus, analyticsClient } from '../helpers/analytics.ts';
import { createActiveStream, kinesisClient, tempDir, testGateway, testOperator } from '../helpers/gateway.ts';
import { repoRoot } from '../helpers/spawn-gateway.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { tributaryBundle } from '../helpers/bundles.ts';

const run = promisify(execFile);
let gw: Gateway;
let profile: string;

async function aws(...args: string[]): Promise<any> {
  const { stdout } = await run('/usr/bin/aws', ['--endpoint-url', gw.url, '--output', 'json', 'kinesisanalytics', ...args], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: testOperator.accessKeyId, AWS_SECRET_ACCESS_KEY: testOperator.secretAccessKey, AWS_DEFAULT_REGION: 'us-east-1', AWS_PAGER: '', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
  });
  return stdout.trim() ? JSON.parse(stdout) : undefined;
}
let bundle: string;
const tributary = (...args: string[]) => run(process.execPath, [bundle, ...args], { cwd: repoRoot });
const cli = async (...args: string[]) => JSON.parse((await tributary('analytics', ...args, '--profile', profile)).stdout);

const code = `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("TICKER_SYMBOL" VARCHAR(4), "PRICE" DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM "TICKER_SYMBOL", "PRICE" FROM "SOURCE_SQL_STREAM_001";`;

beforeAll(async () => {
  bundle = tributaryBundle();
  gw = await testGateway();
  profile = path.join(tempDir('trb-profile-'), 'operator.json');
  fs.writeFileSync(profile, JSON.stringify({ endpoint: gw.url, region: 'us-east-1', ...testOperator }), { mode: 0o600 });
  const k = kinesisClient(gw.url);
  await createActiveStream(k, 'ticks', 1);
  await createActiveStream(k, 'out', 1);
});
afterAll(() => gw.close());

describe('aws kinesisanalytics (AWS CLI v2)', () => {
  it('round-trips an application', async () => {
    const created = await aws('create-application', '--application-name', 'cli-app', '--inputs', JSON.stringify([tickerInput(streamArn('ticks'))]), '--application-code', code);
    expect(created.ApplicationSummary.ApplicationStatus).toBe('READY');
    const d = await aws('describe-application', '--application-name', 'cli-app');
    expect(d.ApplicationDetail.InputDescriptions[0].InAppStreamNames).toEqual(['SOURCE_SQL_STREAM_001']);
    // The CLI names the Output member --application-output (--output is its own flag).
    await aws('add-application-output', '--application-name', 'cli-app', '--current-application-version-id', '1', '--application-output',
      JSON.stringify({ Name: 'DESTINATION_SQL_STREAM', KinesisStreamsOutput: { ResourceARN: streamArn('out'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'JSON' } }));
    await aws('start-application', '--application-name', 'cli-app', '--input-configurations', JSON.stringify([{ Id: '1.1', InputStartingPositionConfiguration: { InputStartingPosition: 'NOW' } }]));
    await waitStatus(analyticsClient(gw.url), 'cli-app', 'RUNNING');
    await aws('stop-application', '--application-name', 'cli-app');
    await waitStatus(analyticsClient(gw.url), 'cli-app', 'READY');
    const again = await aws('describe-application', '--application-name', 'cli-app');
    expect(again.ApplicationDetail.ApplicationVersionId).toBe(2);
    // The CLI prints CreateTimestamp as it received it; handing it back deletes this application.
    await aws('delete-application', '--application-name', 'cli-app', '--create-timestamp', String(again.ApplicationDetail.CreateTimestamp));
    const err = await aws('describe-application', '--application-name', 'missing').catch((e: { stderr: string; code: number }) => e);
    expect(err.code).toBe(254);
    expect(err.stderr).toContain('An error occurred (ResourceNotFoundException) when calling the DescribeApplication operation: Application missing is not found.');
  }, 120_000); // each aws call starts a Python interpreter: seconds apiece on a busy machine
});

describe('tributary analytics', () => {
  it('has --help listing every subcommand, and on create', async () => {
    const { stdout } = await tributary('analytics', '--help');
    for (const sub of ['create', 'list', 'describe', 'update-code', 'start', 'stop', 'delete']) expect(stdout).toMatch(new RegExp(`\\n  ${sub} `));
    expect((await tributary('analytics', 'create', '--help')).stdout).toMatch(/^Usage: tributary analytics create \[options\] <name>/);
  });

  it('creates from files, lists, describes, updates, starts, stops, deletes', async () => {
    const dir = tempDir('trb-kda-cli-');
    fs.writeFileSync(path.join(dir, 'app.sql'), code);
    fs.writeFileSync(path.join(dir, 'input.json'), JSON.stringify(tickerInput(streamArn('ticks'))));
    fs.writeFileSync(path.join(dir, 'output.json'), JSON.stringify({ Name: 'DESTINATION_SQL_STREAM', KinesisStreamsOutput: { ResourceARN: streamArn('out'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'CSV' } }));
    const created = await cli('create', 'prices', '--code', path.join(dir, 'app.sql'), '--input', path.join(dir, 'input.json'), '--output', path.join(dir, 'output.json'));
    expect(created).toEqual({ ApplicationName: 'prices', ApplicationARN: 'arn:aws:kinesisanalytics:us-east-1:000000000000:application/prices', ApplicationStatus: 'READY' });
    expect((await cli('list')).map((a: { ApplicationName: string }) => a.ApplicationName)).toContain('prices');
    fs.writeFileSync(path.join(dir, 'app2.sql'), code.replace('STREAM_PUMP', 'PUMP_2'));
    expect(await cli('update-code', 'prices', '--code', path.join(dir, 'app2.sql'))).toEqual({ updated: 'prices', versionId: 2 });
    expect((await cli('describe', 'prices')).ApplicationCode).toContain('PUMP_2');
    expect(await cli('start', 'prices', '--from', 'trim-horizon')).toEqual({ starting: 'prices', from: 'TRIM_HORIZON' });
    await waitStatus(analyticsClient(gw.url), 'prices', 'RUNNING');
    await cli('stop', 'prices');
    await waitStatus(analyticsClient(gw.url), 'prices', 'READY');
    expect(await cli('delete', 'prices')).toEqual({ deleting: 'prices' });
    const err = (await cli('describe', 'nope').catch((e: unknown) => e)) as { stderr: string; code: number };
    expect(err.code).toBe(2);
    expect(err.stderr).toBe('tributary: ResourceNotFoundException: Application nope is not found.\n');
  }, 120_000);
});
