// The Kinesis Data Analytics (SQL) control plane through the stock
// @aws-sdk/client-kinesis-analytics against a real gateway: every action,
// the statuses and their transitions, version checks, limits, tags, schema
// discovery from a stream and from a bucket object (AWS's own S3 example,
// reproduced), and the error types and messages of the refusals.
import fs from 'node:fs';
import path from 'node:path';
import {
  AddApplicationCloudWatchLoggingOptionCommand, AddApplicationInputCommand, AddApplicationInputProcessingConfigurationCommand,
  AddApplicationOutputCommand, AddApplicationReferenceDataSourceCommand, CreateApplicationCommand, DeleteApplicationCloudWatchLoggingOptionCommand,
  DeleteApplicationCommand, DeleteApplicationInputProcessingConfigurationCommand, DeleteApplicationOutputCommand,
  DeleteApplicationReferenceDataSourceCommand, DescribeApplicationCommand, DiscoverInputSchemaCommand, ListApplicationsCommand,
  ListTagsForResourceCommand, StartApplicationCommand, StopApplicationCommand, TagResourceCommand, UntagResourceCommand, UpdateApplicationCommand,
  type KinesisAnalyticsClient,
} from '@aws-sdk/client-kinesis-analytics';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyticsClient, deliveryStreamArn, functionArn, role, streamArn, tickerInput, waitStatus } from '../helpers/analytics.ts';
import { createActiveStream, kinesisClient, testGateway } from '../helpers/gateway.ts';

let gw: Awaited<ReturnType<typeof testGateway>>;
let ka: KinesisAnalyticsClient;

const passThrough = `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("TICKER_SYMBOL" VARCHAR(4), "PRICE" DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "TICKER_SYMBOL", "PRICE" FROM "SOURCE_SQL_STREAM_001";`;

async function expectError(p: Promise<unknown>, name: string, message?: RegExp | string): Promise<void> {
  const err = (await p.then(() => undefined, (e: unknown) => e)) as { name?: string; message?: string } | undefined;
  expect(err, `expected ${name}`).toBeDefined();
  expect(err!.name).toBe(name);
  if (message !== undefined) expect(err!.message).toMatch(message);
}

const describeApp = async (ApplicationName: string) => (await ka.send(new DescribeApplicationCommand({ ApplicationName }))).ApplicationDetail!;

beforeAll(async () => {
  gw = await testGateway({
    analyticsApplicationsMax: 8,
    analyticsLambdas: { [functionArn('clean')]: { url: 'http://127.0.0.1:9/never-called' }, [functionArn('alerts')]: { url: 'http://127.0.0.1:9/never-called' } },
  });
  ka = analyticsClient(gw.url);
  const k = kinesisClient(gw.url);
  await createActiveStream(k, 'ticks', 1);
  const records = [
    { TICKER_SYMBOL: 'AMZN', SECTOR: 'TECHNOLOGY', CHANGE: -0.09, PRICE: 42.48, TS: '2024-03-01 10:00:00.000', META: { SOURCE: 'demo' } },
    { TICKER_SYMBOL: 'WAS', SECTOR: 'RETAIL', CHANGE: 1, PRICE: 31, TS: '2024-03-01 10:00:01.000', META: { SOURCE: 'demo' } },
  ];
  await k.send(new PutRecordsCommand({ StreamName: 'ticks', Records: records.map((r) => ({ Data: Buffer.from(JSON.stringify(r)), PartitionKey: r.TICKER_SYMBOL })) }));
  // AWS's schema discovery example object (dev/sch-dis-ref.html), in the bucket's directory.
  const dir = path.join(gw.dataDir, 'firehose-buckets', 'kda-data');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'data.csv'),
    [
      'year,month,state,producer_type,energy_source,units,consumption',
      '2001,1,AK,TotalElectricPowerIndustry,Coal,ShortTons,47615',
      '2001,1,AK,ElectricGeneratorsElectricUtilities,Coal,ShortTons,16535',
      '2001,1,AK,CombinedHeatandPowerElectricPower,Coal,ShortTons,22890',
      '2001,1,AL,TotalElectricPowerIndustry,Coal,ShortTons,3020601',
      '2001,1,AL,ElectricGeneratorsElectricUtilities,Coal,ShortTons,2987681',
    ].join('\r\n'),
  );
  fs.writeFileSync(path.join(dir, 'companies.json'), '{"Ticker":"AMZN","Company":"Amazon"}\n{"Ticker":"WAS","Company":"Wasabi"}\n');
});

afterAll(async () => {
  await gw?.close();
});

describe('CreateApplication, DescribeApplication, ListApplications', () => {
  it('creates a READY application and describes it as AWS does', async () => {
    const r = await ka.send(new CreateApplicationCommand({
      ApplicationName: 'tickers',
      ApplicationDescription: 'ticker prices',
      Inputs: [tickerInput(streamArn('ticks'))],
      Outputs: [{ Name: 'DESTINATION_SQL_STREAM', KinesisStreamsOutput: { ResourceARN: streamArn('ticks'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'JSON' } }],
      CloudWatchLoggingOptions: [{ LogStreamARN: 'arn:aws:logs:us-east-1:000000000000:log-group:kda:log-stream:app', RoleARN: role }],
      ApplicationCode: passThrough,
      Tags: [{ Key: 'team', Value: 'edge' }],
    }));
    expect(r.ApplicationSummary).toEqual({ ApplicationName: 'tickers', ApplicationARN: 'arn:aws:kinesisanalytics:us-east-1:000000000000:application/tickers', ApplicationStatus: 'READY' });
    const d = await describeApp('tickers');
    expect(d.ApplicationVersionId).toBe(1);
    expect(d.ApplicationDescription).toBe('ticker prices');
    expect(d.ApplicationCode).toBe(passThrough);
    expect(d.CreateTimestamp).toBeInstanceOf(Date);
    expect(d.InputDescriptions).toHaveLength(1);
    expect(d.InputDescriptions![0]).toMatchObject({
      InputId: '1.1',
      NamePrefix: 'SOURCE_SQL_STREAM',
      InAppStreamNames: ['SOURCE_SQL_STREAM_001'],
      KinesisStreamsInputDescription: { ResourceARN: streamArn('ticks'), RoleARN: role },
      InputParallelism: { Count: 1 },
      InputSchema: { RecordEncoding: 'UTF-8', RecordFormat: { RecordFormatType: 'JSON' } },
    });
    expect(d.OutputDescriptions![0]).toMatchObject({ OutputId: '1.1', Name: 'DESTINATION_SQL_STREAM', KinesisStreamsOutputDescription: { ResourceARN: streamArn('ticks') }, DestinationSchema: { RecordFormatType: 'JSON' } });
    expect(d.CloudWatchLoggingOptionDescriptions![0]!.CloudWatchLoggingOptionId).toBe('1.1');
    expect(d.ReferenceDataSourceDescriptions).toEqual([]);
  });

  it('refuses a name in use, a bad name, bad SQL, two sources, four outputs', async () => {
    await expectError(ka.send(new CreateApplicationCommand({ ApplicationName: 'tickers' })), 'ResourceInUseException', 'Application tickers already exists under account 000000000000.');
    await expectError(ka.send(new CreateApplicationCommand({ ApplicationName: 'bad name!' })), 'ValidationException', /at 'applicationName' failed to satisfy constraint: Member must satisfy regular expression pattern: \[a-zA-Z0-9_.-\]\+/);
    await expectError(
      ka.send(new CreateApplicationCommand({ ApplicationName: 'badsql', Inputs: [tickerInput(streamArn('ticks'))], ApplicationCode: 'CREATE OR REPLACE STREAM "S" (a INTEGER);\nSELECT FROM;' })),
      'CodeValidationException',
      /line 2, column \d+/,
    );
    const both = { ...tickerInput(streamArn('ticks')), KinesisFirehoseInput: { ResourceARN: deliveryStreamArn('d'), RoleARN: role } };
    await expectError(ka.send(new CreateApplicationCommand({ ApplicationName: 'two', Inputs: [both] })), 'InvalidArgumentException', 'Exactly one of KinesisStreamsInput and KinesisFirehoseInput must be specified.');
    const out = { Name: 'DESTINATION_SQL_STREAM', KinesisStreamsOutput: { ResourceARN: streamArn('ticks'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'JSON' as const } };
    await expectError(ka.send(new CreateApplicationCommand({ ApplicationName: 'four', Outputs: [out, out, out, out] })), 'InvalidArgumentException', 'An application can have at most 3 outputs.');
    await expectError(
      ka.send(new CreateApplicationCommand({ ApplicationName: 'elsewhere', Inputs: [tickerInput('arn:aws:kinesis:eu-west-1:000000000000:stream/ticks')] })),
      'InvalidArgumentException',
      /is not in this Region \(us-east-1\)/,
    );
    await expectError(ka.send(new DescribeApplicationCommand({ ApplicationName: 'nope' })), 'ResourceNotFoundException', 'Application nope is not found.');
  });

  it('lists in name order with paging', async () => {
    for (const n of ['b-app', 'a-app']) await ka.send(new CreateApplicationCommand({ ApplicationName: n }));
    const first = await ka.send(new ListApplicationsCommand({ Limit: 2 }));
    expect(first.ApplicationSummaries!.map((s) => s.ApplicationName)).toEqual(['a-app', 'b-app']);
    expect(first.HasMoreApplications).toBe(true);
    const next = await ka.send(new ListApplicationsCommand({ ExclusiveStartApplicationName: 'b-app' }));
    expect(next.ApplicationSummaries!.map((s) => s.ApplicationName)).toEqual(['tickers']);
    expect(next.HasMoreApplications).toBe(false);
    await expectError(ka.send(new ListApplicationsCommand({ Limit: 51 })), 'ValidationException', /Member must have value less than or equal to 50/);
  });
});

describe('configuration changes', () => {
  it('versions every change and refuses a stale CurrentApplicationVersionId', async () => {
    await ka.send(new CreateApplicationCommand({ ApplicationName: 'cfg' }));
    const out = { Name: 'DESTINATION_SQL_STREAM', LambdaOutput: { ResourceARN: functionArn('alerts'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'CSV' as const } };
    await expectError(ka.send(new AddApplicationOutputCommand({ ApplicationName: 'cfg', CurrentApplicationVersionId: 7, Output: out })), 'ConcurrentModificationException', /version id 7 does not match the current application version id 1/);
    await ka.send(new AddApplicationOutputCommand({ ApplicationName: 'cfg', CurrentApplicationVersionId: 1, Output: out }));
    const unmapped = { ...out, LambdaOutput: { ResourceARN: functionArn('unknown'), RoleARN: role } };
    await expectError(ka.send(new AddApplicationOutputCommand({ ApplicationName: 'cfg', CurrentApplicationVersionId: 2, Output: unmapped })), 'InvalidArgumentException', /is not mapped to an endpoint on this gateway/);
    await expectError(ka.send(new DeleteApplicationOutputCommand({ ApplicationName: 'cfg', CurrentApplicationVersionId: 2, OutputId: '9.1' })), 'ResourceNotFoundException', 'Output id 9.1 was not found in application cfg.');
    await ka.send(new DeleteApplicationOutputCommand({ ApplicationName: 'cfg', CurrentApplicationVersionId: 2, OutputId: '1.1' }));

    await ka.send(new AddApplicationInputCommand({ ApplicationName: 'cfg', CurrentApplicationVersionId: 3, Input: tickerInput(streamArn('ticks')) }));
    await expectError(ka.send(new AddApplicationInputCommand({ ApplicationName: 'cfg', CurrentApplicationVersionId: 4, Input: tickerInput(streamArn('ticks'), 'OTHER') })), 'InvalidArgumentException', 'An application can have at most 1 streaming source.');
    const processing = { InputLambdaProcessor: { ResourceARN: functionArn('clean'), RoleARN: role } };
    await ka.send(new AddApplicationInputProcessingConfigurationCommand({ ApplicationName: 'cfg', CurrentApplicationVersionId: 4, InputId: '1.1', InputProcessingConfiguration: processing }));
    expect((await describeApp('cfg')).InputDescriptions![0]!.InputProcessingConfigurationDescription).toEqual({ InputLambdaProcessorDescription: { ResourceARN: functionArn('clean'), RoleARN: role } });
    await ka.send(new DeleteApplicationInputProcessingConfigurationCommand({ ApplicationName: 'cfg', CurrentApplicationVersionId: 5, InputId: '1.1' }));

    const reference = {
      TableName: 'COMPANY',
      S3ReferenceDataSource: { BucketARN: 'arn:aws:s3:::kda-data', FileKey: 'companies.json', ReferenceRoleARN: role },
      ReferenceSchema: {
        RecordFormat: { RecordFormatType: 'JSON' as const, MappingParameters: { JSONMappingParameters: { RecordRowPath: '$' } } },
        RecordColumns: [{ Name: 'Ticker', Mapping: '$.Ticker', SqlType: 'VARCHAR(4)' }, { Name: 'Company', Mapping: '$.Company', SqlType: 'VARCHAR(64)' }],
      },
    };
    await ka.send(new AddApplicationReferenceDataSourceCommand({ ApplicationName: 'cfg', CurrentApplicationVersionId: 6, ReferenceDataSource: reference }));
    expect((await describeApp('cfg')).ReferenceDataSourceDescriptions![0]).toMatchObject({ ReferenceId: '1.1', TableName: 'COMPANY', S3ReferenceDataSourceDescription: reference.S3ReferenceDataSource });
    await ka.send(new DeleteApplicationReferenceDataSourceCommand({ ApplicationName: 'cfg', CurrentApplicationVersionId: 7, ReferenceId: '1.1' }));

    const logging = { LogStreamARN: 'arn:aws:logs:us-east-1:000000000000:log-group:kda:log-stream:cfg', RoleARN: role };
    await ka.send(new AddApplicationCloudWatchLoggingOptionCommand({ ApplicationName: 'cfg', CurrentApplicationVersionId: 8, CloudWatchLoggingOption: logging }));
    await expectError(ka.send(new AddApplicationCloudWatchLoggingOptionCommand({ ApplicationName: 'cfg', CurrentApplicationVersionId: 9, CloudWatchLoggingOption: logging })), 'InvalidArgumentException', /is already added/);
    await ka.send(new DeleteApplicationCloudWatchLoggingOptionCommand({ ApplicationName: 'cfg', CurrentApplicationVersionId: 9, CloudWatchLoggingOptionId: '1.1' }));
    expect((await describeApp('cfg')).ApplicationVersionId).toBe(10);
  });

  it('UpdateApplication changes code, input and output in one version; bad SQL changes nothing', async () => {
    const d = await describeApp('tickers');
    await expectError(
      ka.send(new UpdateApplicationCommand({ ApplicationName: 'tickers', CurrentApplicationVersionId: d.ApplicationVersionId!, ApplicationUpdate: { ApplicationCodeUpdate: 'SELECT STREAM * FROM "NO_SUCH_STREAM";' } })),
      'CodeValidationException',
    );
    await ka.send(new UpdateApplicationCommand({
      ApplicationName: 'tickers',
      CurrentApplicationVersionId: d.ApplicationVersionId!,
      ApplicationUpdate: {
        ApplicationCodeUpdate: passThrough.replace('PUMP "STREAM_PUMP"', 'PUMP "P2"'),
        InputUpdates: [{ InputId: '1.1', InputParallelismUpdate: { CountUpdate: 2 } }],
        OutputUpdates: [{ OutputId: '1.1', DestinationSchemaUpdate: { RecordFormatType: 'CSV' } }],
      },
    }));
    const after = await describeApp('tickers');
    expect(after.ApplicationVersionId).toBe(d.ApplicationVersionId! + 1);
    expect(after.ApplicationCode).toContain('PUMP "P2"');
    expect(after.InputDescriptions![0]!.InAppStreamNames).toEqual(['SOURCE_SQL_STREAM_001', 'SOURCE_SQL_STREAM_002']);
    expect(after.OutputDescriptions![0]!.DestinationSchema).toEqual({ RecordFormatType: 'CSV' });
    await expectError(
      ka.send(new UpdateApplicationCommand({ ApplicationName: 'tickers', CurrentApplicationVersionId: after.ApplicationVersionId!, ApplicationUpdate: { OutputUpdates: [{ OutputId: '4.1', NameUpdate: 'X' }] } })),
      'ResourceNotFoundException',
    );
  });
});

describe('tags', () => {
  const arn = 'arn:aws:kinesisanalytics:us-east-1:000000000000:application/tickers';
  it('tags, lists and untags by ARN; caps user tags at 50', async () => {
    await ka.send(new TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: 'env', Value: 'prod' }] }));
    expect((await ka.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags).toEqual([{ Key: 'team', Value: 'edge' }, { Key: 'env', Value: 'prod' }]);
    await ka.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: ['team'] }));
    expect((await ka.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags).toEqual([{ Key: 'env', Value: 'prod' }]);
    const many = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    await expectError(ka.send(new TagResourceCommand({ ResourceARN: arn, Tags: many })), 'TooManyTagsException', 'Application cannot have more than 50 user-defined tags.');
    const missing = 'arn:aws:kinesisanalytics:us-east-1:000000000000:application/missing';
    await expectError(ka.send(new ListTagsForResourceCommand({ ResourceARN: missing })), 'ResourceNotFoundException', `Application with ARN ${missing} is not found.`);
  });
});

describe('StartApplication, StopApplication, DeleteApplication', () => {
  it('starts READY -> RUNNING, stops RUNNING -> READY, refuses the wrong states', async () => {
    await ka.send(new CreateApplicationCommand({ ApplicationName: 'life', Inputs: [tickerInput(streamArn('ticks'))], ApplicationCode: passThrough }));
    await expectError(ka.send(new StopApplicationCommand({ ApplicationName: 'life' })), 'ResourceInUseException', 'Application life must be in RUNNING state to stop; it is in READY state.');
    await expectError(
      ka.send(new StartApplicationCommand({ ApplicationName: 'life', InputConfigurations: [{ Id: '2.1', InputStartingPositionConfiguration: { InputStartingPosition: 'NOW' } }] })),
      'ResourceNotFoundException',
      'Input id 2.1 was not found in application life.',
    );
    await ka.send(new StartApplicationCommand({ ApplicationName: 'life', InputConfigurations: [{ Id: '1.1', InputStartingPositionConfiguration: { InputStartingPosition: 'TRIM_HORIZON' } }] }));
    await waitStatus(ka, 'life', 'RUNNING');
    expect((await describeApp('life')).InputDescriptions![0]!.InputStartingPositionConfiguration).toEqual({ InputStartingPosition: 'TRIM_HORIZON' });
    await expectError(
      ka.send(new StartApplicationCommand({ ApplicationName: 'life', InputConfigurations: [{ Id: '1.1', InputStartingPositionConfiguration: { InputStartingPosition: 'NOW' } }] })),
      'ResourceInUseException',
      'Application life must be in READY state to start; it is in RUNNING state.',
    );
    await ka.send(new StopApplicationCommand({ ApplicationName: 'life' }));
    await waitStatus(ka, 'life', 'READY');
  });

  it('refuses to start what cannot run: a missing stream, an output stream the code does not create, TRIM_HORIZON on a delivery stream', async () => {
    await ka.send(new CreateApplicationCommand({ ApplicationName: 'orphan', Inputs: [tickerInput(streamArn('not-there'))], ApplicationCode: passThrough }));
    const start = (name: string, position: 'NOW' | 'TRIM_HORIZON' = 'NOW') =>
      ka.send(new StartApplicationCommand({ ApplicationName: name, InputConfigurations: [{ Id: '1.1', InputStartingPositionConfiguration: { InputStartingPosition: position } }] }));
    await expectError(start('orphan'), 'InvalidApplicationConfigurationException', 'Stream not-there under account 000000000000 not found.');
    await ka.send(new CreateApplicationCommand({
      ApplicationName: 'nostream',
      Inputs: [tickerInput(streamArn('ticks'))],
      Outputs: [{ Name: 'ALERTS', KinesisStreamsOutput: { ResourceARN: streamArn('ticks'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'JSON' } }],
      ApplicationCode: passThrough,
    }));
    await expectError(start('nostream'), 'InvalidApplicationConfigurationException', 'The application code does not create in-application stream ALERTS, which output 1.1 reads.');
    const fromFirehose = { ...tickerInput(streamArn('x')), KinesisStreamsInput: undefined, KinesisFirehoseInput: { ResourceARN: deliveryStreamArn('hose'), RoleARN: role } };
    await ka.send(new CreateApplicationCommand({ ApplicationName: 'hose', Inputs: [fromFirehose], ApplicationCode: passThrough }));
    await expectError(start('hose', 'TRIM_HORIZON'), 'InvalidArgumentException', /TRIM_HORIZON is not available for input 1.1/);
  });

  it('deletes only with the CreateTimestamp DescribeApplication gives', async () => {
    const d = await describeApp('life');
    await expectError(ka.send(new DeleteApplicationCommand({ ApplicationName: 'life', CreateTimestamp: new Date(d.CreateTimestamp!.getTime() - 1000) })), 'ConcurrentModificationException');
    await ka.send(new DeleteApplicationCommand({ ApplicationName: 'life', CreateTimestamp: d.CreateTimestamp! }));
    await gw.analytics.registry.settled();
    await expectError(ka.send(new DescribeApplicationCommand({ ApplicationName: 'life' })), 'ResourceNotFoundException');
  });

  it('caps the number of applications (analytics.applicationsMax)', async () => {
    const have = (await ka.send(new ListApplicationsCommand({}))).ApplicationSummaries!.length;
    for (let i = have; i < 8; i++) await ka.send(new CreateApplicationCommand({ ApplicationName: `fill-${i}` }));
    await expectError(ka.send(new CreateApplicationCommand({ ApplicationName: 'one-too-many' })), 'LimitExceededException', 'You have reached the limit of 8 applications in this Region under your account.');
  });
});

describe('DiscoverInputSchema', () => {
  it('infers a JSON schema from a stream (TRIM_HORIZON), nested fields flattened', async () => {
    const r = await ka.send(new DiscoverInputSchemaCommand({ ResourceARN: streamArn('ticks'), RoleARN: role, InputStartingPositionConfiguration: { InputStartingPosition: 'TRIM_HORIZON' } }));
    expect(r.InputSchema!.RecordFormat).toEqual({ RecordFormatType: 'JSON', MappingParameters: { JSONMappingParameters: { RecordRowPath: '$' } } });
    expect(r.InputSchema!.RecordColumns).toEqual([
      { Name: 'TICKER_SYMBOL', Mapping: '$.TICKER_SYMBOL', SqlType: 'VARCHAR(4)' },
      { Name: 'SECTOR', Mapping: '$.SECTOR', SqlType: 'VARCHAR(16)' },
      { Name: 'CHANGE', Mapping: '$.CHANGE', SqlType: 'DOUBLE' },
      { Name: 'PRICE', Mapping: '$.PRICE', SqlType: 'DOUBLE' },
      { Name: 'TS', Mapping: '$.TS', SqlType: 'TIMESTAMP' },
      { Name: 'SOURCE', Mapping: '$.META.SOURCE', SqlType: 'VARCHAR(4)' },
    ]);
    expect(r.ParsedInputRecords![0]).toEqual(['AMZN', 'TECHNOLOGY', '-0.09', '42.48', '2024-03-01 10:00:00.000', 'demo']);
    expect(r.RawInputRecords).toHaveLength(2);
  });

  it("reproduces AWS's S3 example (dev/sch-dis-ref.html) from a bucket object", async () => {
    const r = await ka.send(new DiscoverInputSchemaCommand({ S3Configuration: { RoleARN: role, BucketARN: 'arn:aws:s3:::kda-data', FileKey: 'data.csv' } }));
    expect(r.InputSchema).toEqual({
      RecordEncoding: 'UTF-8',
      RecordColumns: [
        { SqlType: 'INTEGER', Name: 'COL_year' },
        { SqlType: 'INTEGER', Name: 'COL_month' },
        { SqlType: 'VARCHAR(4)', Name: 'state' },
        { SqlType: 'VARCHAR(64)', Name: 'producer_type' },
        { SqlType: 'VARCHAR(4)', Name: 'energy_source' },
        { SqlType: 'VARCHAR(16)', Name: 'units' },
        { SqlType: 'INTEGER', Name: 'consumption' },
      ],
      RecordFormat: { RecordFormatType: 'CSV', MappingParameters: { CSVMappingParameters: { RecordRowDelimiter: '\r\n', RecordColumnDelimiter: ',' } } },
    });
    // The header row holds null for the numeric columns (as AWS's example shows); the SDK leaves nulls out of lists.
    expect(r.ParsedInputRecords![0]).toEqual(['state', 'producer_type', 'energy_source', 'units']);
    expect(r.ParsedInputRecords![4]).toEqual(['2001', '1', 'AL', 'TotalElectricPowerIndustry', 'Coal', 'ShortTons', '3020601']);
    expect(r.RawInputRecords).toHaveLength(1);
  });

  it('refuses a request with neither source, and a source with nothing to read', async () => {
    await expectError(ka.send(new DiscoverInputSchemaCommand({})), 'InvalidArgumentException', /Specify either ResourceARN/);
    await expectError(ka.send(new DiscoverInputSchemaCommand({ S3Configuration: { RoleARN: role, BucketARN: 'arn:aws:s3:::kda-data', FileKey: 'missing.csv' } })), 'InvalidArgumentException', /does not exist/);
    fs.writeFileSync(path.join(gw.dataDir, 'firehose-buckets', 'kda-data', 'prose.txt'), 'not json and not delimited\nat all');
    const err = (await ka.send(new DiscoverInputSchemaCommand({ S3Configuration: { RoleARN: role, BucketARN: 'arn:aws:s3:::kda-data', FileKey: 'prose.txt' } })).catch((e: unknown) => e)) as { name: string; RawInputRecords?: string[] };
    expect(err.name).toBe('UnableToDetectSchemaException');
    expect(err.RawInputRecords).toEqual(['not json and not delimited\nat all']);
  });
});

describe('policies', () => {
  it('kinesisanalytics:* actions on application/<name> follow the caller policy', async () => {
    const { principal, secretAccessKey } = await gw.principals.createOperator('watcher', 'reader');
    const reader = analyticsClient(gw.url, { accessKeyId: principal.accessKeyId, secretAccessKey });
    expect((await reader.send(new ListApplicationsCommand({}))).ApplicationSummaries!.length).toBeGreaterThan(0);
    expect((await reader.send(new DescribeApplicationCommand({ ApplicationName: 'tickers' }))).ApplicationDetail!.ApplicationName).toBe('tickers');
    await expectError(
      reader.send(new StopApplicationCommand({ ApplicationName: 'tickers' })),
      'AccessDeniedException',
      'User: arn:aws:iam::000000000000:user/watcher is not authorized to perform: kinesisanalytics:StopApplication on resource: arn:aws:kinesisanalytics:us-east-1:000000000000:application/tickers because no identity-based policy allows the kinesisanalytics:StopApplication action',
    );
  });
});
