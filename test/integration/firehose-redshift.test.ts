// The Redshift destination on a real PostgreSQL (a throwaway cluster this file
// starts on a spare port, test/helpers/postgres.ts), driven by the stock @aws-sdk/client-firehose:
// the API shapes and their errors, JSON 'auto' and CSV loads with a column
// mapping (objects staged in the intermediate bucket first), a load that keeps
// failing ending in a redshift-failed manifest, and the bookkeeping table that
// keeps a re-delivered object from loading twice: directly, and across a
// gateway restart whose checkpoint is rewound to before the object (what a
// kill -9 between COMMIT and the checkpoint leaves).
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  CreateDeliveryStreamCommand, DescribeDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand, UpdateDestinationCommand,
  type CreateDeliveryStreamCommandInput, type RedshiftDestinationConfiguration,
} from '@aws-sdk/client-firehose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listObjects } from '../../gateway/firehose/destinations/filesystem.ts';
import { parseCopyOptions, rowsOf } from '../../gateway/firehose/redshift-copy.ts';
import { parseGatewayConfig } from '../../gateway/config.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { tempDir, testGateway, metricsText } from '../helpers/gateway.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { createActiveDeliveryStream, firehoseClient } from '../helpers/firehose.ts';
import { waitFor as waitUntil } from '../helpers/wait.ts';

const role = 'arn:aws:iam::000000000000:role/firehose';
const jdbc = 'jdbc:redshift://trb.abc123.us-east-1.redshift.amazonaws.com:5439/dev';
const db = `trb_fh_${process.pid}`;
let postgres: TestPostgres;
let gw: Gateway & { dataDir: string };
let client: FirehoseClient;
let sql: pg.Client;

const bucketDir = (bucket: string) => path.join(gw.dataDir, 'firehose-buckets', bucket);

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  return (await waitUntil(what, fn, { timeoutMs, intervalMs: 50 })) as T;
}

function redshiftConfig(bucket: string, copy: RedshiftDestinationConfiguration['CopyCommand'], extra: Partial<RedshiftDestinationConfiguration> = {}): RedshiftDestinationConfiguration {
  return {
    RoleARN: role,
    ClusterJDBCURL: jdbc,
    CopyCommand: copy,
    Username: 'firehose',
    Password: 'secret-password',
    S3Configuration: { RoleARN: role, BucketARN: `arn:aws:s3:::${bucket}`, BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } },
    ...extra,
  };
}

const createActive = (input: CreateDeliveryStreamCommandInput) => createActiveDeliveryStream(client, input);

async function put(name: string, records: string[]): Promise<void> {
  const r = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: records.map((d) => ({ Data: Buffer.from(d) })) }));
  expect(r.FailedPutCount).toBe(0);
}

async function rows(query: string): Promise<Array<Record<string, unknown>>> {
  return (await sql.query(query)).rows as Array<Record<string, unknown>>;
}

async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { name: string; message: string };
  }
  throw new Error('expected an error');
}

beforeAll(async () => {
  postgres = await startPostgres();
  const a = new pg.Client({ connectionString: postgres.url() });
  await a.connect();
  await a.query(`CREATE DATABASE ${db}`);
  await a.end();
  sql = new pg.Client({ connectionString: postgres.url(db) });
  await sql.connect();
  await sql.query('CREATE TABLE events (id integer NOT NULL, name varchar(32), created timestamp, note text)');
  await sql.query('CREATE TABLE readings (device text, value double precision, label text)');
  gw = await testGateway({ firehoseRedshift: { [jdbc]: postgres.url(db) } });
  client = firehoseClient(gw.url);
});

afterAll(async () => {
  await gw?.close();
  await sql?.end();
  await postgres?.stop();
});

describe('Redshift destination: API', () => {
  it('creates with the stock client, describes without the password, updates the COPY', async () => {
    await createActive({
      DeliveryStreamName: 'rs-api',
      RedshiftDestinationConfiguration: redshiftConfig('rs-api', { DataTableName: 'events', DataTableColumns: 'id,name', CopyOptions: "json 'auto'" }),
    });
    const d = (await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'rs-api' }))).DeliveryStreamDescription!;
    const r = d.Destinations![0]!.RedshiftDestinationDescription!;
    expect(d.Destinations![0]!.DestinationId).toBe('destinationId-000000000001');
    expect(r).toMatchObject({
      RoleARN: role, ClusterJDBCURL: jdbc, Username: 'firehose', RetryOptions: { DurationInSeconds: 3600 }, S3BackupMode: 'Disabled',
      CopyCommand: { DataTableName: 'events', DataTableColumns: 'id,name', CopyOptions: "json 'auto'" },
      S3DestinationDescription: { BucketARN: 'arn:aws:s3:::rs-api', CompressionFormat: 'UNCOMPRESSED', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } },
    });
    expect(JSON.stringify(d)).not.toContain('secret-password');
    expect(d.Destinations![0]!.ExtendedS3DestinationDescription).toBeUndefined();
    await client.send(new UpdateDestinationCommand({
      DeliveryStreamName: 'rs-api', CurrentDeliveryStreamVersionId: '1', DestinationId: 'destinationId-000000000001',
      RedshiftDestinationUpdate: { CopyCommand: { DataTableName: 'events', DataTableColumns: 'id,name,note', CopyOptions: "json 'auto'" }, RetryOptions: { DurationInSeconds: 60 }, S3Update: { Prefix: 'staged/' } },
    }));
    const u = (await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'rs-api' }))).DeliveryStreamDescription!;
    expect(u.VersionId).toBe('2');
    expect(u.Destinations![0]!.RedshiftDestinationDescription).toMatchObject({ CopyCommand: { DataTableColumns: 'id,name,note' }, RetryOptions: { DurationInSeconds: 60 }, S3DestinationDescription: { Prefix: 'staged/' } });
    const bad = await errorOf(client.send(new UpdateDestinationCommand({
      DeliveryStreamName: 'rs-api', CurrentDeliveryStreamVersionId: '2', DestinationId: 'destinationId-000000000001',
      RedshiftDestinationUpdate: { CopyCommand: { DataTableName: 'events', CopyOptions: 'avro' } },
    })));
    expect(bad.name).toBe('InvalidArgumentException');
  });

  it('refuses what AWS refuses and what this gateway cannot load, naming it', async () => {
    const create = (name: string, cfg: RedshiftDestinationConfiguration) => errorOf(client.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: name, RedshiftDestinationConfiguration: cfg })));
    const base = redshiftConfig('rs-bad', { DataTableName: 'events', CopyOptions: "json 'auto'" });
    const unmapped = await create('rs-bad', { ...base, ClusterJDBCURL: 'jdbc:redshift://other.abc123.us-east-1.redshift.amazonaws.com:5439/dev' });
    expect(unmapped.name).toBe('InvalidArgumentException');
    expect(unmapped.message).toContain('firehose.redshift');
    const options = await create('rs-bad', { ...base, CopyCommand: { DataTableName: 'events', CopyOptions: "json 's3://bucket/paths.json'" } });
    expect(options.name).toBe('InvalidArgumentException');
    expect(options.message).toContain('CopyOptions');
    const unknown = await create('rs-bad', { ...base, CopyCommand: { DataTableName: 'events', CopyOptions: 'manifest lzop' } });
    expect(unknown.message).toContain('MANIFEST');
    const table = await create('rs-bad', { ...base, CopyCommand: { DataTableName: 'events; drop table events' } });
    expect(table.name).toBe('InvalidArgumentException');
    const gzip = await create('rs-bad', { ...base, S3Configuration: { ...base.S3Configuration!, CompressionFormat: 'GZIP' } });
    expect(gzip.message).toContain('GZIP');
    const snappy = await create('rs-bad', { ...base, S3Configuration: { ...base.S3Configuration!, CompressionFormat: 'Snappy' } });
    expect(snappy.message).toContain('Compression format Snappy');
    const noPassword = await create('rs-bad', { ...base, Password: undefined });
    expect(noPassword.name).toBe('InvalidArgumentException');
    const shortPassword = await create('rs-bad', { ...base, Password: 'abc' });
    expect(shortPassword.name).toBe('ValidationException');
    const url = await create('rs-bad', { ...base, ClusterJDBCURL: 'jdbc:mysql://host:5439/db' });
    expect(url.name).toBe('ValidationException');
    const retry = await create('rs-bad', { ...base, RetryOptions: { DurationInSeconds: 7201 } });
    expect(retry.name).toBe('ValidationException');
    const backup = await create('rs-bad', { ...base, S3BackupMode: 'Enabled' });
    expect(backup.message).toContain('S3BackupConfiguration is required when S3BackupMode is Enabled');
    const noS3 = await create('rs-bad', { ...base, S3Configuration: undefined });
    expect(noS3.name).toBe('ValidationException');
  });

  it('reads firehose.redshift from the gateway config file', () => {
    const c = parseGatewayConfig(`firehose:\n  redshift:\n    "${jdbc}": postgres://loader@127.0.0.1:55432/warehouse\n`, 'gw.yaml');
    expect(c.firehoseRedshift).toEqual({ [jdbc]: 'postgres://loader@127.0.0.1:55432/warehouse' });
    expect(() => parseGatewayConfig('firehose:\n  redshift:\n    "jdbc:redshift://x:1/db": mysql://x\n', 'gw.yaml')).toThrow(/gw.yaml:3: .*postgres/);
  });
});

describe('Redshift destination: delivery', () => {
  it("loads JSON 'auto' records into the mapped columns, after staging the object in the bucket", async () => {
    await createActive({
      DeliveryStreamName: 'rs-json',
      RedshiftDestinationConfiguration: redshiftConfig('rs-json', { DataTableName: 'public.events', DataTableColumns: 'id, name, created', CopyOptions: "json 'auto' timeformat 'epochmillisecs'" }),
    });
    const t = Date.UTC(2024, 0, 2, 3, 4, 5);
    await put('rs-json', [
      JSON.stringify({ ID: 1, Name: 'alpha', created: t, note: 'not mapped' }),
      JSON.stringify({ id: 2, name: 'beta' }) + '\n',
      JSON.stringify({ id: 3, NAME: null, created: t + 1000 }),
    ]);
    const got = await waitFor('3 rows', async () => {
      const r = await rows("SELECT id, name, to_char(created, 'YYYY-MM-DD HH24:MI:SS') AS created, note FROM events WHERE id <= 3 ORDER BY id");
      return r.length === 3 && r;
    });
    expect(got).toEqual([
      { id: 1, name: 'alpha', created: '2024-01-02 03:04:05', note: null },
      { id: 2, name: 'beta', created: null, note: null },
      { id: 3, name: null, created: '2024-01-02 03:04:06', note: null },
    ]);
    const objects = listObjects(bucketDir('rs-json'));
    expect(objects).toHaveLength(1);
    expect(objects[0]).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\d{2}\/rs-json-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}$/);
    const loads = await rows("SELECT delivery_stream, object_key, first_counter, end_counter, rows_loaded FROM tributary_firehose_loads WHERE delivery_stream LIKE 'rs-json-%'");
    expect(loads).toEqual([{ delivery_stream: expect.stringMatching(/^rs-json-[0-9a-f]{12}$/), object_key: objects[0], first_counter: '0', end_counter: '3', rows_loaded: '3' }]);
    const metrics = await metricsText(gw);
    expect(metrics).toContain('tributary_firehose_DeliveryToRedshift_Records{delivery_stream="rs-json"} 3\n');
    expect(metrics).toContain('tributary_firehose_DeliveryToRedshift_Success{delivery_stream="rs-json"} 1\n');
  });

  it('loads CSV (quoted fields, empty as NULL) and GZIP-compressed CSV by position', async () => {
    const newline = { Enabled: true, Processors: [{ Type: 'AppendDelimiterToRecord' as const }] };
    await createActive({
      DeliveryStreamName: 'rs-csv',
      RedshiftDestinationConfiguration: redshiftConfig('rs-csv', { DataTableName: 'readings', CopyOptions: 'CSV' }, { ProcessingConfiguration: newline }),
    });
    await createActive({
      DeliveryStreamName: 'rs-csv-gz',
      RedshiftDestinationConfiguration: redshiftConfig('rs-csv-gz', { DataTableName: 'readings', DataTableColumns: 'label,device', CopyOptions: "delimiter '|' gzip" }, {
        ProcessingConfiguration: newline,
        S3Configuration: { RoleARN: role, BucketARN: 'arn:aws:s3:::rs-csv-gz', CompressionFormat: 'GZIP', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } },
      }),
    });
    await put('rs-csv', ['dev-1,1.5,"hello, world"', 'dev-2,,""', '"dev-""3""",2.25,plain']);
    await put('rs-csv-gz', ['gz-a|dev-9', '\\N|dev-10']);
    const got = await waitFor('5 rows', async () => {
      const r = await rows('SELECT device, value, label FROM readings ORDER BY device COLLATE "C"');
      return r.length === 5 && r;
    });
    expect(got).toEqual([
      { device: 'dev-"3"', value: 2.25, label: 'plain' },
      { device: 'dev-1', value: 1.5, label: 'hello, world' },
      { device: 'dev-10', value: null, label: null },
      { device: 'dev-2', value: null, label: '' },
      { device: 'dev-9', value: null, label: 'gz-a' },
    ]);
    const [gzKey] = listObjects(bucketDir('rs-csv-gz'));
    expect(gzKey).toMatch(/\.gz$/);
  });

  it('backs up the source records to S3BackupConfiguration with S3BackupMode Enabled (not loaded from there)', async () => {
    await createActive({
      DeliveryStreamName: 'rs-backup',
      RedshiftDestinationConfiguration: redshiftConfig('rs-backup', { DataTableName: 'readings', CopyOptions: 'CSV' }, {
        ProcessingConfiguration: { Enabled: true, Processors: [{ Type: 'AppendDelimiterToRecord' as const }] },
        S3BackupMode: 'Enabled',
        S3BackupConfiguration: { RoleARN: role, BucketARN: 'arn:aws:s3:::rs-backup-src', Prefix: 'src/', CompressionFormat: 'GZIP' },
      }),
    });
    const d = (await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'rs-backup' }))).DeliveryStreamDescription!;
    expect(d.Destinations![0]!.RedshiftDestinationDescription).toMatchObject({ S3BackupMode: 'Enabled', S3BackupDescription: { BucketARN: 'arn:aws:s3:::rs-backup-src', Prefix: 'src/', CompressionFormat: 'GZIP' } });
    await put('rs-backup', ['bk-1,1,a', 'bk-2,2,b']);
    await waitFor('2 rows', async () => (await rows("SELECT device FROM readings WHERE device LIKE 'bk-%'")).length === 2);
    await gw.firehose.streams.get('rs-backup')!.worker.flush();
    const backup = listObjects(bucketDir('rs-backup-src'));
    expect(backup).toHaveLength(1);
    expect(backup[0]).toMatch(/^src\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/rs-backup-1-[\d-]+-[0-9a-f-]{36}\.gz$/);
    expect(gunzipSync(fs.readFileSync(path.join(bucketDir('rs-backup-src'), backup[0]!))).toString()).toBe('bk-1,1,abk-2,2,b');
    const off = await errorOf(client.send(new UpdateDestinationCommand({
      DeliveryStreamName: 'rs-backup', CurrentDeliveryStreamVersionId: '1', DestinationId: 'destinationId-000000000001',
      RedshiftDestinationUpdate: { S3BackupMode: 'Disabled' },
    })));
    expect(off.name).toBe('InvalidArgumentException');
  });

  it('retries a load that fails, then writes a redshift-failed manifest naming the staged object', async () => {
    await createActive({
      DeliveryStreamName: 'rs-missing',
      RedshiftDestinationConfiguration: redshiftConfig('rs-missing', { DataTableName: 'not_there', CopyOptions: "json 'auto'" }, { RetryOptions: { DurationInSeconds: 1 } }),
    });
    await createActive({
      DeliveryStreamName: 'rs-badrow',
      RedshiftDestinationConfiguration: redshiftConfig('rs-badrow', { DataTableName: 'events', DataTableColumns: 'id,name', CopyOptions: "json 'auto'" }, {
        RetryOptions: { DurationInSeconds: 1 },
        S3Configuration: { RoleARN: role, BucketARN: 'arn:aws:s3:::rs-badrow', ErrorOutputPrefix: 'failed/', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } },
      }),
    });
    await put('rs-missing', ['{"id": 10}']);
    await put('rs-badrow', ['{"id": 11, "name": "fine"}', '{"id": "eleven", "name": "bad"}']);
    for (const [name, prefix] of [['rs-missing', 'redshift-failed/'], ['rs-badrow', 'failed/redshift-failed/']] as const) {
      const manifestKey = await waitFor(`${name} manifest`, () => listObjects(bucketDir(name)).find((k) => k.startsWith(prefix)), 20_000);
      expect(manifestKey).toMatch(new RegExp(`^${prefix}\\d{4}/\\d{2}/\\d{2}/\\d{2}/${name}-1-`));
      const staged = listObjects(bucketDir(name)).filter((k) => !k.startsWith(prefix.split('/')[0]!));
      expect(staged).toHaveLength(1);
      const manifest = JSON.parse(fs.readFileSync(path.join(bucketDir(name), manifestKey), 'utf8')) as unknown;
      expect(manifest).toEqual({ entries: [{ url: `s3://${name}/${staged[0]}`, mandatory: true }] });
    }
    // The object with the bad row loaded nothing (one transaction), and nothing is recorded as loaded.
    expect(await rows('SELECT id FROM events WHERE id IN (10, 11)')).toEqual([]);
    expect(await rows("SELECT object_key FROM tributary_firehose_loads WHERE delivery_stream LIKE 'rs-badrow-%'")).toEqual([]);
    const metrics = await metricsText(gw);
    expect(metrics).toMatch(/tributary_firehose_DeliveryToRedshift_FailedAttempts\{delivery_stream="rs-badrow"\} [2-9]/);
    expect(metrics).toContain('tributary_firehose_DeliveryToRedshift_SkippedObjects{delivery_stream="rs-badrow"} 1\n');
  });

  it('never loads an object twice: the same key, or its records again under a new key after a crash before the checkpoint', async () => {
    await createActive({
      DeliveryStreamName: 'rs-once',
      RedshiftDestinationConfiguration: redshiftConfig('rs-once', { DataTableName: 'events', DataTableColumns: 'id,name', CopyOptions: "json 'auto'" }),
    });
    const rt = gw.firehose.streams.get('rs-once')!;
    const meta = { ...rt.meta, redshift: rt.meta.redshift! };
    const rec = (counter: number) => ({ counter, data: Buffer.from(JSON.stringify({ id: 100 + counter, name: `r${counter}` })) });
    const two = [rec(0), rec(1)];
    const body = Buffer.concat(two.map((r) => r.data));
    const first = await rt.redshift!.load(meta, 'k/one', body, { firstCounter: 0, endCounter: 2, records: two });
    expect(first).toMatchObject({ rows: 2, duplicate: false });
    // The same object delivered again (the worker's retry of a write whose answer was lost).
    expect(await rt.redshift!.load(meta, 'k/one', body, { firstCounter: 0, endCounter: 2, records: two })).toMatchObject({ rows: 0, duplicate: true });
    // After a crash between COMMIT and the checkpoint: the same records in a new object (new UUID), here with one more record staged since.
    const three = [...two, rec(2)];
    const again = await rt.redshift!.load(meta, 'k/two', Buffer.concat(three.map((r) => r.data)), { firstCounter: 0, endCounter: 3, records: three });
    expect(again).toMatchObject({ rows: 1, duplicate: false });
    expect(await rt.redshift!.load(meta, 'k/three', body, { firstCounter: 0, endCounter: 2, records: two })).toMatchObject({ duplicate: true });
    expect(await rows('SELECT id, name FROM events WHERE id >= 100 ORDER BY id')).toEqual([
      { id: 100, name: 'r0' }, { id: 101, name: 'r1' }, { id: 102, name: 'r2' },
    ]);
  });
});

describe('Redshift destination: restart', () => {
  it('a crash between COMMIT and the checkpoint re-delivers the object, and the load skips it', async () => {
    const dataDir = tempDir('trb-fh-rs-');
    const config = { dataDir, firehoseRedshift: { [jdbc]: postgres.url(db) } };
    let g = await testGateway(config);
    const c = firehoseClient(g.url);
    await c.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: 'rs-crash',
      RedshiftDestinationConfiguration: redshiftConfig('rs-crash', { DataTableName: 'events', DataTableColumns: 'id,name', CopyOptions: "json 'auto'" }),
    }));
    await waitFor('ACTIVE', () => g.firehose.streams.get('rs-crash')?.meta.status === 'ACTIVE');
    await c.send(new PutRecordBatchCommand({ DeliveryStreamName: 'rs-crash', Records: [200, 201, 202].map((id) => ({ Data: Buffer.from(JSON.stringify({ id, name: 'c' })) })) }));
    const bucket = path.join(dataDir, 'firehose-buckets', 'rs-crash');
    await waitFor('3 rows', async () => (await rows('SELECT id FROM events WHERE id >= 200')).length === 3);
    const streamDir = path.join(dataDir, 'firehose', g.firehose.streams.get('rs-crash')!.meta.dir);
    await waitFor('checkpoint', () => fs.existsSync(path.join(streamDir, 'checkpoint.json')));
    await g.close();
    // The checkpoint as it was before the object: what a kill -9 right after COMMIT leaves behind.
    fs.writeFileSync(path.join(streamDir, 'checkpoint.json'), JSON.stringify({ deliveredCounter: 0 }));
    g = await testGateway(config);
    try {
      await waitFor('the object delivered again', () => listObjects(bucket).length === 2);
      await waitFor('checkpoint saved', () => JSON.parse(fs.readFileSync(path.join(streamDir, 'checkpoint.json'), 'utf8')).deliveredCounter === 3);
      expect(await rows('SELECT id FROM events WHERE id >= 200 ORDER BY id')).toEqual([{ id: 200 }, { id: 201 }, { id: 202 }]);
      const loads = await rows("SELECT object_key FROM tributary_firehose_loads WHERE delivery_stream LIKE 'rs-crash-%'");
      expect(loads).toHaveLength(1);
    } finally {
      await g.close();
    }
  });
});

describe('COPY options and rows (pure)', () => {
  it('parses the supported subset and turns text into rows', () => {
    const spec = parseCopyOptions("FORMAT AS CSV QUOTE AS '''' DELIMITER AS ';' IGNOREHEADER 1 EMPTYASNULL COMPUPDATE OFF");
    expect(spec).toMatchObject({ format: { kind: 'csv', quote: "'" }, delimiter: ';', ignoreHeader: 1, emptyAsNull: true });
    const cols = [{ name: 'a', type: 'text' }, { name: 'b', type: 'integer' }];
    expect(rowsOf("a;b\n'x;y';1\n'';\n", spec, cols)).toEqual([['x;y', '1'], [null, null]]);
    expect(() => rowsOf('1;2;3\n', parseCopyOptions("csv delimiter ';'"), cols)).toThrow(/extra column/);
    expect(rowsOf('{"a":"1"}{"b":2} {"A":{"n":1}}', parseCopyOptions("json 'auto ignorecase'"), cols)).toEqual([['1', null], [null, '2'], ['{"n":1}', null]]);
    expect(rowsOf('x\\|y|\\N\n', parseCopyOptions('escape'), cols)).toEqual([['x|y', null]]);
    expect(parseCopyOptions('csv gzip')).toMatchObject({ gzip: true });
    expect(parseCopyOptions('csv')).toMatchObject({ gzip: false });
    for (const bad of ["json 'noshred'", 'fixedwidth \'a:1\'', "timeformat 'YYYY'", "delimiter 'ab'", 'maxerror 10', "csv json 'auto'x"]) {
      expect(() => parseCopyOptions(bad)).toThrow(/CopyOptions/);
    }
  });
});
