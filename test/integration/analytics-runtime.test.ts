// The runtime's other paths with real parts: an application reading a
// delivery stream (PutRecordBatch), its records preprocessed by a local
// Lambda-contract module (Ok, Dropped, ProcessingFailed), joined with a
// reference table read from an S3-compatible store (s3rver), delivered to a
// data stream (JSON) and to a delivery stream (CSV, into its bucket); then
// UpdateApplication while it runs (new code, same input position: nothing
// read twice), and StopApplication / StartApplication at LAST_STOPPED_POINT
// (what arrived while stopped is processed, nothing else twice). Schema
// discovery on the delivery stream goes through the preprocessor too.
import fs from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import {
  CreateApplicationCommand, DescribeApplicationCommand, DiscoverInputSchemaCommand, StartApplicationCommand, StopApplicationCommand, UpdateApplicationCommand,
} from '@aws-sdk/client-kinesis-analytics';
import S3rver from 's3rver';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { analyticsClient, deliveryStreamArn, functionArn, role, streamArn, waitStatus } from '../helpers/analytics.ts';
import { freePort, readStream, waitFor } from '../helpers/agent-process.ts';
import { createActiveDeliveryStream, firehoseClient } from '../helpers/firehose.ts';
import { createActiveStream, kinesisClient, tempDir, testGateway } from '../helpers/gateway.ts';

let store: S3rver;
let gw: Awaited<ReturnType<typeof testGateway>>;

const code = (where: string) => `
CREATE OR REPLACE STREAM "ENRICHED" ("ticker" VARCHAR(4), "price" DOUBLE, "company" VARCHAR(32));
CREATE OR REPLACE PUMP "P" AS INSERT INTO "ENRICHED"
  SELECT STREAM s."ticker", s."price", c."Company"
  FROM "SOURCE_SQL_STREAM_001" AS s LEFT JOIN "COMPANY" AS c ON s."ticker" = c."Ticker" ${where};`;

beforeAll(async () => {
  const port = await freePort();
  store = new S3rver({ address: '127.0.0.1', port, silent: true, directory: tempDir('trb-kda-s3rver-') });
  await store.run();
  const s3 = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: 'refdata' }));
  await s3.send(new PutObjectCommand({ Bucket: 'refdata', Key: 'companies.csv', Body: 'AMZN,Amazon\nWAS,Wasabi\n' }));
  s3.destroy();
  const dir = tempDir('trb-kda-lambda-');
  const clean = path.join(dir, 'clean.mjs');
  // A record marked garble is left out of the first answer (a broken contract): AWS retries the invocation until it succeeds.
  fs.writeFileSync(clean, `let garbled = 0;
  export default async function (event) {
    const broken = event.records.some((r) => JSON.parse(Buffer.from(r.data, 'base64').toString()).garble) && garbled++ === 0;
    return { records: event.records.filter((r) => !(broken && JSON.parse(Buffer.from(r.data, 'base64').toString()).garble)).map((r) => {
      const d = JSON.parse(Buffer.from(r.data, 'base64').toString());
      if (d.drop) return { recordId: r.recordId, result: 'Dropped' };
      if (d.fail) return { recordId: r.recordId, result: 'ProcessingFailed' };
      d.ticker = d.ticker.toUpperCase();
      return { recordId: r.recordId, result: 'Ok', data: Buffer.from(JSON.stringify(d)).toString('base64') };
    }) };
  }\n`);
  gw = await testGateway({
    enforceLimits: false, // the test polls the output stream faster than GetRecords' 5 calls per second
    analyticsLambdas: { [functionArn('clean')]: { module: clean } },
    firehoseS3Buckets: { refdata: { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true, encryption: 'client' } },
  });
});

afterAll(async () => {
  await gw?.close();
  await store?.close();
});

it('reads a delivery stream through a preprocessor, joins S3 reference data, writes a stream and a delivery stream, updates, stops and resumes', async () => {
  const fh = firehoseClient(gw.url);
  const k = kinesisClient(gw.url);
  const ka = analyticsClient(gw.url);
  const bucket = (name: string) => ({ RoleARN: role, BucketARN: `arn:aws:s3:::${name}`, BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } });
  await createActiveDeliveryStream(fh, { DeliveryStreamName: 'ingest', ExtendedS3DestinationConfiguration: bucket('ingest-bucket') });
  await createActiveDeliveryStream(fh, { DeliveryStreamName: 'archive', ExtendedS3DestinationConfiguration: bucket('archive-bucket') });
  await createActiveStream(k, 'enriched', 1);
  await createActiveStream(k, 'kda-errors', 1);
  const put = (records: object[]) => fh.send(new PutRecordBatchCommand({ DeliveryStreamName: 'ingest', Records: records.map((r) => ({ Data: Buffer.from(JSON.stringify(r)) })) }));

  const processing = { InputLambdaProcessor: { ResourceARN: functionArn('clean'), RoleARN: role } };
  // Discovery before the application: samples the delivery stream through the preprocessor.
  await put([{ ticker: 'amzn', price: 1.5 }]);
  const discovered = await ka.send(new DiscoverInputSchemaCommand({ ResourceARN: deliveryStreamArn('ingest'), RoleARN: role, InputStartingPositionConfiguration: { InputStartingPosition: 'NOW' }, InputProcessingConfiguration: processing }));
  expect(discovered.ProcessedInputRecords).toEqual(['{"ticker":"AMZN","price":1.5}']);
  expect(discovered.InputSchema!.RecordColumns).toEqual([{ Name: 'ticker', Mapping: '$.ticker', SqlType: 'VARCHAR(4)' }, { Name: 'price', Mapping: '$.price', SqlType: 'DOUBLE' }]);

  await ka.send(new CreateApplicationCommand({
    ApplicationName: 'enrich',
    Inputs: [{ NamePrefix: 'SOURCE_SQL_STREAM', KinesisFirehoseInput: { ResourceARN: deliveryStreamArn('ingest'), RoleARN: role }, InputProcessingConfiguration: processing, InputSchema: discovered.InputSchema! }],
    Outputs: [
      { Name: 'ENRICHED', KinesisStreamsOutput: { ResourceARN: streamArn('enriched'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'JSON' } },
      { Name: 'ENRICHED', KinesisFirehoseOutput: { ResourceARN: deliveryStreamArn('archive'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'CSV' } },
      { Name: 'error_stream', KinesisStreamsOutput: { ResourceARN: streamArn('kda-errors'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'JSON' } },
    ],
  }));
  const { AddApplicationReferenceDataSourceCommand } = await import('@aws-sdk/client-kinesis-analytics');
  await ka.send(new AddApplicationReferenceDataSourceCommand({
    ApplicationName: 'enrich',
    CurrentApplicationVersionId: 1,
    ReferenceDataSource: {
      TableName: 'COMPANY',
      S3ReferenceDataSource: { BucketARN: 'arn:aws:s3:::refdata', FileKey: 'companies.csv', ReferenceRoleARN: role },
      ReferenceSchema: {
        RecordFormat: { RecordFormatType: 'CSV', MappingParameters: { CSVMappingParameters: { RecordRowDelimiter: '\n', RecordColumnDelimiter: ',' } } },
        RecordColumns: [{ Name: 'Ticker', SqlType: 'VARCHAR(4)' }, { Name: 'Company', SqlType: 'VARCHAR(32)' }],
      },
    },
  }));
  // The code names the reference table, so it comes after it (CreateApplication takes no reference data).
  await ka.send(new UpdateApplicationCommand({ ApplicationName: 'enrich', CurrentApplicationVersionId: 2, ApplicationUpdate: { ApplicationCodeUpdate: code('') } }));
  await ka.send(new StartApplicationCommand({ ApplicationName: 'enrich', InputConfigurations: [{ Id: '1.1', InputStartingPositionConfiguration: { InputStartingPosition: 'NOW' } }] }));
  await waitStatus(ka, 'enrich', 'RUNNING');

  const rows = async () => (await readStream(k, 'enriched')).map((r) => JSON.parse(r.data) as { ticker: string; price: number; company: string | null });
  const until = (n: number) => waitFor(`${n} enriched rows`, async () => (await rows()).length >= n, 20_000);

  // 1. Preprocessed (upper-cased; one dropped, one failed, one in a batch whose first answer broke the contract) and joined.
  const bad = { ticker: 'bad', price: 3, fail: true };
  await put([{ ticker: 'amzn', price: 42 }, { ticker: 'was', price: 7 }, { ticker: 'xyz', price: 1, drop: true }, bad, { ticker: 'gbl', price: 20, garble: true }, { ticker: 'new', price: 12 }]);
  await until(4);
  const l = 'application="enrich",input="1.1"';
  expect(gw.analytics.metrics.inputOk.values.get(l)).toBe(4);
  expect(gw.analytics.metrics.inputDropped.values.get(l)).toBe(1);
  expect(gw.analytics.metrics.inputFailed.values.get(l)).toBe(1);
  // The ProcessingFailed record is a row of error_stream, its bytes in DATA_ROW as hex.
  let errors: Array<Record<string, unknown>> = [];
  await waitFor('the error_stream row', async () => (errors = (await readStream(k, 'kda-errors')).map((r) => JSON.parse(r.data) as Record<string, unknown>)).length >= 1, 20_000);
  expect(errors).toEqual([expect.objectContaining({ ERROR_LEVEL: 'ERROR', ERROR_NAME: 'Lambda.ProcessingFailedStatus', DATA_ROW: Buffer.from(JSON.stringify(bad)).toString('hex'), PUMP_NAME: null })]);

  // 2. New code while running: UPDATING, then RUNNING at the same input position.
  const version = (await ka.send(new DescribeApplicationCommand({ ApplicationName: 'enrich' }))).ApplicationDetail!.ApplicationVersionId!;
  await ka.send(new UpdateApplicationCommand({ ApplicationName: 'enrich', CurrentApplicationVersionId: version, ApplicationUpdate: { ApplicationCodeUpdate: code('WHERE s."price" > 10') } }));
  await waitStatus(ka, 'enrich', 'RUNNING');
  await put([{ ticker: 'amzn', price: 50 }, { ticker: 'was', price: 5 }]);
  await until(5);

  // 3. Stopped, records arrive, started at LAST_STOPPED_POINT: they are processed.
  await ka.send(new StopApplicationCommand({ ApplicationName: 'enrich' }));
  await waitStatus(ka, 'enrich', 'READY');
  await put([{ ticker: 'amzn', price: 60 }]);
  await ka.send(new StartApplicationCommand({ ApplicationName: 'enrich', InputConfigurations: [{ Id: '1.1', InputStartingPositionConfiguration: { InputStartingPosition: 'LAST_STOPPED_POINT' } }] }));
  await waitStatus(ka, 'enrich', 'RUNNING');
  await until(6);

  expect(await rows()).toEqual([
    { ticker: 'AMZN', price: 42, company: 'Amazon' },
    { ticker: 'WAS', price: 7, company: 'Wasabi' },
    { ticker: 'GBL', price: 20, company: null },
    { ticker: 'NEW', price: 12, company: null },
    { ticker: 'AMZN', price: 50, company: 'Amazon' },
    { ticker: 'AMZN', price: 60, company: 'Amazon' },
  ]);
  // The same rows as CSV lines in the archive delivery stream's bucket.
  const archiveDir = path.join(gw.dataDir, 'firehose-buckets', 'archive-bucket');
  const archived = () => (fs.existsSync(archiveDir) ? fs.readdirSync(archiveDir, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(archiveDir, f)).isFile()).map((f) => fs.readFileSync(path.join(archiveDir, f), 'utf8')).join('') : '');
  await waitFor('the archive objects', () => archived().split('\n').filter(Boolean).length >= 6, 20_000);
  expect(archived().split('\n').filter(Boolean).sort()).toEqual(['AMZN,42.0,Amazon', 'AMZN,50.0,Amazon', 'AMZN,60.0,Amazon', 'GBL,20.0,', 'NEW,12.0,', 'WAS,7.0,Wasabi']);
});
