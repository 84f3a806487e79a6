/**
 * Every resource an Analytics call touches, for policies (issue #11, item 3,
 * as gateway/firehose/resources.ts does for Firehose). The application in
 * the request's name is authorized by the front door as for any call; an
 * application also reads its input streams and delivery streams, invokes
 * its Lambda preprocessors and outputs, writes its output streams and
 * delivery streams, and reads its reference data from buckets, so
 * configuring one needs the caller's policy to allow those too, as AWS needs
 * its application's service role to. DiscoverInputSchema reads the stream,
 * delivery stream or object it samples.
 *
 * | touches | action | resource |
 * | --- | --- | --- |
 * | an input stream (`KinesisStreamsInput`, DiscoverInputSchema) | `kinesis:DescribeStream`, `kinesis:GetShardIterator`, `kinesis:GetRecords`, `kinesis:ListShards` | `stream/<name>` |
 * | an input delivery stream (`KinesisFirehoseInput`, DiscoverInputSchema) | `firehose:DescribeDeliveryStream`, `firehose:GetRecords` (AWS's role policy grants `firehose:Get*`) | `deliverystream/<name>` |
 * | an output stream | `kinesis:DescribeStream`, `kinesis:PutRecord`, `kinesis:PutRecords` | `stream/<name>` |
 * | an output delivery stream | `firehose:DescribeDeliveryStream`, `firehose:PutRecord`, `firehose:PutRecordBatch` | `deliverystream/<name>` |
 * | a Lambda preprocessor or output | `lambda:InvokeFunction` | `function/<name>` |
 * | a reference data or sampled object's bucket | `s3:GetObject` | `bucket/<bucket>` |
 *
 * The actions are those the Kinesis Data Analytics for SQL developer guide's
 * "Creating an IAM role" permissions policy grants for each kind.
 */
import type { Requirement } from '../../firehose/resources.ts';

const streamRead = ['kinesis:DescribeStream', 'kinesis:GetShardIterator', 'kinesis:GetRecords', 'kinesis:ListShards'];
const deliveryStreamRead = ['firehose:DescribeDeliveryStream', 'firehose:GetRecords'];
const streamWrite = ['kinesis:DescribeStream', 'kinesis:PutRecord', 'kinesis:PutRecords'];
const deliveryStreamWrite = ['firehose:DescribeDeliveryStream', 'firehose:PutRecord', 'firehose:PutRecordBatch'];

/** What a resource under each member is used for. */
const roles: Record<string, 'read' | 'write' | 'invoke' | 'bucket'> = {
  KinesisStreamsInput: 'read', KinesisStreamsInputUpdate: 'read', KinesisFirehoseInput: 'read', KinesisFirehoseInputUpdate: 'read',
  KinesisStreamsOutput: 'write', KinesisStreamsOutputUpdate: 'write', KinesisFirehoseOutput: 'write', KinesisFirehoseOutputUpdate: 'write',
  LambdaOutput: 'invoke', LambdaOutputUpdate: 'invoke', InputLambdaProcessor: 'invoke', InputLambdaProcessorUpdate: 'invoke',
  S3ReferenceDataSource: 'bucket', S3ReferenceDataSourceUpdate: 'bucket', S3Configuration: 'bucket',
};

export function analyticsRequirements(action: string, input: Record<string, unknown>): Requirement[] {
  const out: Requirement[] = [];
  // DiscoverInputSchema names what it samples at the top level.
  walk(input, action === 'DiscoverInputSchema' ? 'read' : undefined, out);
  const seen = new Set<string>();
  return out.filter((r) => {
    const key = `${r.action} ${r.resource}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function walk(value: unknown, role: (typeof roles)[string] | undefined, out: Requirement[]): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, role, out);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string' && role && (k === 'ResourceARN' || k === 'ResourceARNUpdate')) out.push(...arnRequirements(v, role));
    else if (typeof v === 'string' && (k === 'BucketARN' || k === 'BucketARNUpdate')) {
      out.push({ action: 's3:GetObject', resource: `bucket/${v.slice(v.lastIndexOf(':') + 1)}` });
    } else walk(v, roles[k] ?? role, out);
  }
}

/** The requirements of one ARN used as `role`; ARNs of other kinds are the action's own validation's business. */
function arnRequirements(arn: string, role: NonNullable<(typeof roles)[string]>): Requirement[] {
  const [, , service, , , ...rest] = arn.split(':');
  const resource = rest.join(':');
  if (service === 'kinesis' && resource.startsWith('stream/')) {
    return (role === 'write' ? streamWrite : streamRead).map((a) => ({ action: a, resource }));
  }
  if (service === 'firehose' && resource.startsWith('deliverystream/')) {
    return (role === 'write' ? deliveryStreamWrite : deliveryStreamRead).map((a) => ({ action: a, resource }));
  }
  if (service === 'lambda' && resource.startsWith('function:')) {
    return [{ action: 'lambda:InvokeFunction', resource: `function/${resource.split(':')[1] ?? ''}` }];
  }
  return [];
}
