/**
 * Every resource a Firehose call touches, for policies (issue #11, item 3).
 * The delivery stream in the request's name is authorized by the front door
 * as for any call; a delivery stream also reads its source stream and writes
 * to its buckets, HTTP endpoint and Lambda functions, so creating or
 * re-pointing one needs the caller's policy to allow those too, as AWS
 * needs its delivery role to:
 *
 * | touches | action | resource |
 * | --- | --- | --- |
 * | `KinesisStreamSourceConfiguration.KinesisStreamARN` | `kinesis:DescribeStream`, `kinesis:GetShardIterator`, `kinesis:GetRecords`, `kinesis:ListShards` | `stream/<name>` |
 * | any `BucketARN` (destination, backup, staging) | `s3:PutObject` | `bucket/<bucket>` |
 * | `EndpointConfiguration.Url` | `firehose:DeliverToHttpEndpoint` | `httpendpoint/<url>` |
 * | a processor's `LambdaArn` parameter | `lambda:InvokeFunction` | `function/<name>` |
 *
 * The AWS reference for the source read actions: "Grant Amazon Data
 * Firehose access to a Kinesis data stream source" (Firehose Developer Guide).
 */

/** One more (action, resource) pair a call must be allowed. */
export interface Requirement {
  action: string;
  resource: string;
}

/** Kinesis read actions a delivery stream's source needs (Firehose Developer Guide, controlling access). */
export const sourceReadActions = ['kinesis:DescribeStream', 'kinesis:GetShardIterator', 'kinesis:GetRecords', 'kinesis:ListShards'] as const;

/** Calls that configure where a delivery stream reads and writes. */
const configuring = new Set(['CreateDeliveryStream', 'UpdateDestination']);

export function firehoseRequirements(action: string, input: Record<string, unknown>): Requirement[] {
  if (!configuring.has(action)) return [];
  const out: Requirement[] = [];
  const source = (input.KinesisStreamSourceConfiguration as { KinesisStreamARN?: unknown } | undefined)?.KinesisStreamARN;
  if (typeof source === 'string') {
    const name = source.slice(source.lastIndexOf('/') + 1);
    for (const a of sourceReadActions) out.push({ action: a, resource: `stream/${name}` });
  }
  walk(input, undefined, out);
  return dedupe(out);
}

/** Collects bucket, endpoint and Lambda references anywhere in a destination configuration or update. */
function walk(value: unknown, key: string | undefined, out: Requirement[]): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, key, out);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const o = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (k === 'BucketARN' && typeof v === 'string') out.push({ action: 's3:PutObject', resource: `bucket/${v.slice(v.lastIndexOf(':') + 1)}` });
    else if (k === 'Url' && key === 'EndpointConfiguration' && typeof v === 'string') out.push({ action: 'firehose:DeliverToHttpEndpoint', resource: `httpendpoint/${v}` });
    else walk(v, k, out);
  }
  if (o.ParameterName === 'LambdaArn' && typeof o.ParameterValue === 'string') {
    // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
    const arn = o.ParameterValue;
    out.push({ action: 'lambda:InvokeFunction', resource: `function/${arn.split(':')[6] ?? arn}` });
  }
}

function dedupe(list: Requirement[]): Requirement[] {
  const seen = new Set<string>();
  return list.filter((r) => {
    const k = `${r.action} ${r.resource}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
