// Issue #11, item 9 (Firehose prefixes): proves against a real `tributary
// gateway start` child process that S3 prefixes whose evaluated keys cannot
// be written are refused by CreateDeliveryStream and UpdateDestination with
// InvalidArgumentException, instead of being accepted and then failing every
// delivery: `!{timestamp:'../..'}` (a quoted literal that climbs out of the
// bucket), a quote never closed, pattern letters the gateway does not
// evaluate, and a prefix longer than 512 characters once evaluated. A prefix
// with quoted literals that stay inside the bucket is accepted and delivers
// where its evaluation says.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateDeliveryStreamCommand, FirehoseClient, PutRecordCommand, UpdateDestinationCommand } from '@aws-sdk/client-firehose';
import { spawnTestGateway } from '../helpers/attack.ts';
import { tempDir } from '../helpers/gateway.ts';
import { createActiveDeliveryStream } from '../helpers/firehose.ts';

type Spawned = Awaited<ReturnType<typeof spawnTestGateway>>;
let gw: Spawned;
let firehose: FirehoseClient;
let bucketDir: string;
const role = 'arn:aws:iam::000000000000:role/firehose';
const errors = 'errors/!{firehose:error-output-type}/';

beforeAll(async () => {
  bucketDir = path.join(tempDir('trb-fhp-'), 'bucket');
  const config = path.join(tempDir('trb-conf-'), 'gateway.yaml');
  fs.writeFileSync(config, `firehose:\n  buckets:\n    out: ${bucketDir}\n`);
  gw = await spawnTestGateway(['--config', config]);
  firehose = new FirehoseClient({ endpoint: gw.url, region: 'us-east-1', credentials: { ...gw.operator }, maxAttempts: 1 });
});
afterAll(async () => {
  firehose?.destroy();
  await gw?.kill();
});

async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  throw new Error('expected the call to fail');
}

const create = (name: string, Prefix: string, ErrorOutputPrefix = errors) =>
  firehose.send(new CreateDeliveryStreamCommand({
    DeliveryStreamName: name,
    ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::out', Prefix, ErrorOutputPrefix, BufferingHints: { IntervalInSeconds: 0, SizeInMBs: 1 } },
  }));

describe('Firehose prefixes are checked when they are set (issue #11, item 9)', () => {
  it('refuses prefixes whose evaluated keys leave the bucket or cannot be evaluated', async () => {
    expect(await errorOf(create('climb', "logs/!{timestamp:'../..'}/"))).toEqual({
      name: 'InvalidArgumentException', message: "Prefix logs/!{timestamp:'../..'}/ would leave the bucket's directory on this gateway.",
    });
    expect(await errorOf(create('climb-errors', 'logs/!{timestamp:yyyy}/', "!{firehose:error-output-type}/!{timestamp:'..'}/"))).toEqual({
      name: 'InvalidArgumentException', message: "Prefix !{firehose:error-output-type}/!{timestamp:'..'}/ would leave the bucket's directory on this gateway.",
    });
    expect(await errorOf(create('open-quote', "logs/!{timestamp:'yyyy}/"))).toEqual({
      name: 'InvalidArgumentException', message: "The expression !{timestamp:'yyyy} in Prefix is not a timestamp format this gateway evaluates: the pattern ends inside a quoted text.",
    });
    expect((await errorOf(create('weekday', 'logs/!{timestamp:EEE}/'))).message).toContain('the pattern letter E is not supported by this gateway');
    expect(await errorOf(create('long', `${'p'.repeat(500)}/!{timestamp:yyyy/MM/dd/HH}/`))).toEqual({
      name: 'InvalidArgumentException', message: 'Ths supplied prefix(es) do not satisfy the following constraint: Prefix cannot be greater than 512 characters after it is evaluated',
    });
    expect(await errorOf(create('no-type', 'logs/!{timestamp:yyyy}/', 'errors/!{timestamp:yyyy}/'))).toEqual({
      name: 'InvalidArgumentException', message: 'Ths supplied prefix(es) do not satisfy the following constraint: ErrorOutputPrefix must contain !{firehose:error-output-type} when it contains expressions',
    });
  });

  it('refuses them on UpdateDestination too, and delivers a good prefix with quoted literals where it says', async () => {
    await createActiveDeliveryStream(firehose, {
      DeliveryStreamName: 'good',
      ExtendedS3DestinationConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::out', Prefix: "logs/!{timestamp:'year='yyyy'/o''clock='HH}/", ErrorOutputPrefix: errors, BufferingHints: { IntervalInSeconds: 0, SizeInMBs: 1 } },
    });
    const update = await errorOf(firehose.send(new UpdateDestinationCommand({
      DeliveryStreamName: 'good', CurrentDeliveryStreamVersionId: '1', DestinationId: 'destinationId-000000000001',
      ExtendedS3DestinationUpdate: { Prefix: "logs/!{timestamp:'../../..'}/" },
    })));
    expect(update).toEqual({ name: 'InvalidArgumentException', message: "Prefix logs/!{timestamp:'../../..'}/ would leave the bucket's directory on this gateway." });

    await firehose.send(new PutRecordCommand({ DeliveryStreamName: 'good', Record: { Data: Buffer.from('hello\n') } }));
    const now = new Date();
    const dir = path.join(bucketDir, 'logs', `year=${now.getUTCFullYear()}`);
    let files: string[] = [];
    for (let i = 0; i < 400 && files.length === 0; i++) {
      files = fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)) : [];
      if (files.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(files).toHaveLength(1);
    expect(path.relative(dir, files[0]!)).toMatch(/^o'clock=\d{2}\/good-1-/);
    expect(fs.readFileSync(files[0]!, 'utf8')).toBe('hello\n');
  });
});
