/** The stock Kinesis Data Analytics (SQL) client for a test gateway, and waiting for an application's status. */
import { DescribeApplicationCommand, KinesisAnalyticsClient } from '@aws-sdk/client-kinesis-analytics';
import { testOperator } from './gateway.ts';

export function analyticsClient(url: string, credentials: { accessKeyId: string; secretAccessKey: string } = testOperator): KinesisAnalyticsClient {
  // A copy: the SDK annotates the object it is given.
  return new KinesisAnalyticsClient({ endpoint: url, region: 'us-east-1', credentials: { ...credentials }, maxAttempts: 1 });
}

/** Polls DescribeApplication until the status is `status` (or throws after `timeoutMs`). */
export async function waitStatus(client: KinesisAnalyticsClient, ApplicationName: string, status: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  while (Date.now() < deadline) {
    last = (await client.send(new DescribeApplicationCommand({ ApplicationName }))).ApplicationDetail?.ApplicationStatus;
    if (last === status) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`application ${ApplicationName} never became ${status} (last ${last})`);
}

/** The usual input: a JSON stream with ticker records, as the KDA getting-started exercise has. */
export function tickerInput(streamArn: string, NamePrefix = 'SOURCE_SQL_STREAM') {
  return {
    NamePrefix,
    KinesisStreamsInput: { ResourceARN: streamArn, RoleARN: 'arn:aws:iam::000000000000:role/kda' },
    InputSchema: {
      RecordFormat: { RecordFormatType: 'JSON' as const, MappingParameters: { JSONMappingParameters: { RecordRowPath: '$' } } },
      RecordColumns: [
        { Name: 'TICKER_SYMBOL', Mapping: '$.TICKER_SYMBOL', SqlType: 'VARCHAR(4)' },
        { Name: 'PRICE', Mapping: '$.PRICE', SqlType: 'DOUBLE' },
      ],
    },
  };
}

export const role = 'arn:aws:iam::000000000000:role/kda';
export const streamArn = (name: string) => `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`;
export const deliveryStreamArn = (name: string) => `arn:aws:firehose:us-east-1:000000000000:deliverystream/${name}`;
export const functionArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
