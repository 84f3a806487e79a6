// Proves the stock AWS CLI v2 (Debian's awscli, called by full path because an
// older v1 may come first on PATH) works against the gateway unchanged:
// create-stream, wait, put-record, get-shard-iterator, get-records, errors.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testGateway, testOperator } from '../helpers/gateway.ts';
import type { Gateway } from '../../gateway/gateway.ts';

const run = promisify(execFile);
const awsPath = '/usr/bin/aws';
let gw: Gateway;

async function aws(...args: string[]): Promise<any> {
  const { stdout } = await run(awsPath, ['--endpoint-url', gw.url, '--output', 'json', 'kinesis', ...args], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: testOperator.accessKeyId, AWS_SECRET_ACCESS_KEY: testOperator.secretAccessKey, AWS_DEFAULT_REGION: 'us-east-1', AWS_PAGER: '', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
  });
  return stdout.trim() ? JSON.parse(stdout) : undefined;
}

beforeAll(async () => {
  // No CREATING delay: the CLI's waiter polls every 10 s.
  gw = await testGateway({ createDelayMs: 0 });
});
afterAll(() => gw.close());

describe('AWS CLI v2', () => {
  it('is version 2', async () => {
    const { stdout, stderr } = await run(awsPath, ['--version']);
    expect(stdout + stderr).toMatch(/^aws-cli\/2\./);
  });

  it('round-trips a record', async () => {
    await aws('create-stream', '--stream-name', 'cli', '--shard-count', '2');
    await aws('wait', 'stream-exists', '--stream-name', 'cli');
    const summary = await aws('describe-stream-summary', '--stream-name', 'cli');
    expect(summary.StreamDescriptionSummary.StreamStatus).toBe('ACTIVE');
    expect(summary.StreamDescriptionSummary.OpenShardCount).toBe(2);
    const put = await aws('put-record', '--stream-name', 'cli', '--partition-key', 'dev-1', '--data', Buffer.from('{"temp":21.5}').toString('base64'));
    expect(put.SequenceNumber).toMatch(/^\d{56}$/);
    const it = await aws('get-shard-iterator', '--stream-name', 'cli', '--shard-id', put.ShardId, '--shard-iterator-type', 'TRIM_HORIZON');
    const got = await aws('get-records', '--shard-iterator', it.ShardIterator);
    expect(got.Records).toHaveLength(1);
    expect(Buffer.from(got.Records[0].Data, 'base64').toString()).toBe('{"temp":21.5}');
    expect(got.Records[0].SequenceNumber).toBe(put.SequenceNumber);
    expect(got.Records[0].PartitionKey).toBe('dev-1');
    const listed = await aws('list-streams');
    expect(listed.StreamNames).toContain('cli');
    const shards = await aws('list-shards', '--stream-name', 'cli');
    expect(shards.Shards.map((s: { ShardId: string }) => s.ShardId)).toEqual(['shardId-000000000000', 'shardId-000000000001']);
  });

  it('reports AWS errors as the CLI expects them', async () => {
    const err = await aws('describe-stream', '--stream-name', 'missing').catch((e: { stderr: string; code: number }) => e);
    expect(err.code).toBe(254);
    expect(err.stderr).toContain('An error occurred (ResourceNotFoundException) when calling the DescribeStream operation: Stream missing under account 000000000000 not found.');
  });
});
