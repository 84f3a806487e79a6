// Record format conversion end to end: the stock @aws-sdk/client-firehose
// creates delivery streams with DataFormatConversionConfiguration against a
// real gateway whose config declares the table; JSON records become one
// Parquet object per buffer, read back with an independent reader (arrow-rs
// via parquet-wasm, not the writing library) for rows, types and the
// compression codec; a record that does not fit the schema goes to
// format-conversion-failed/; and the create-time checks refuse what AWS refuses.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateDeliveryStreamCommand, DescribeDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand, UpdateDestinationCommand,
  type CreateDeliveryStreamCommandInput, type DataFormatConversionConfiguration,
} from '@aws-sdk/client-firehose';
import { tableFromIPC } from 'apache-arrow';
import { parquetMetadata } from 'hyparquet';
import { readParquet } from 'parquet-wasm';
import { parseGatewayConfig } from '../../gateway/config.ts';
import { listObjects } from '../../gateway/firehose/destinations/filesystem.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { testGateway } from '../helpers/gateway.ts';
import { createActiveDeliveryStream, firehoseClient } from '../helpers/firehose.ts';
import { waitFor } from '../helpers/wait.ts';

const role = 'arn:aws:iam::000000000000:role/firehose';
let gw: Gateway & { dataDir: string };
let client: FirehoseClient;

const schemas = {
  'analytics.events': {
    columns: [
      { name: 'device', type: 'string' as const },
      { name: 'seq', type: 'bigint' as const },
      { name: 'reading', type: 'double' as const },
      { name: 'ok', type: 'boolean' as const },
      { name: 'level', type: 'int' as const },
      { name: 'at', type: 'timestamp' as const },
      { name: 'day', type: 'date' as const },
    ],
  },
};

beforeAll(async () => {
  gw = await testGateway({ firehoseSchemas: schemas });
  client = firehoseClient(gw.url);
});
afterAll(async () => {
  client?.destroy();
  await gw?.close();
});


function conversion(compression?: 'SNAPPY' | 'GZIP' | 'UNCOMPRESSED', table = 'events'): DataFormatConversionConfiguration {
  return {
    Enabled: true,
    SchemaConfiguration: { DatabaseName: 'analytics', TableName: table, RoleARN: role, Region: 'us-east-1', VersionId: 'LATEST' },
    InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: {} } },
    OutputFormatConfiguration: { Serializer: { ParquetSerDe: compression ? { Compression: compression } : {} } },
  };
}

function streamInput(name: string, bucket: string, dfc: DataFormatConversionConfiguration, extra: Record<string, unknown> = {}): CreateDeliveryStreamCommandInput {
  return {
    DeliveryStreamName: name,
    ExtendedS3DestinationConfiguration: {
      RoleARN: role, BucketARN: `arn:aws:s3:::${bucket}`, BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 1 },
      CompressionFormat: 'UNCOMPRESSED', DataFormatConversionConfiguration: dfc, ...extra,
    },
  };
}

const createActive = (input: CreateDeliveryStreamCommandInput) => createActiveDeliveryStream(client, input);

async function waitObjects(bucket: string, n: number): Promise<string[]> {
  const dir = path.join(gw.dataDir, 'firehose-buckets', bucket);
  return waitFor(`${n} objects in ${bucket}`, () => { const keys = listObjects(dir); return keys.length >= n && keys; }, { intervalMs: 50 });
}

const read = (bucket: string, key: string) => fs.readFileSync(path.join(gw.dataDir, 'firehose-buckets', bucket, key));

/** Rows as the independent reader (arrow-rs) sees them, with the Arrow type of every column. */
function readBack(body: Buffer): { types: Record<string, string>; rows: Array<Record<string, unknown>> } {
  const table = tableFromIPC(readParquet(new Uint8Array(body)).intoIPCStream());
  const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
  return { types, rows: table.toArray().map((r) => ({ ...(r.toJSON() as Record<string, unknown>) })) };
}

const put = (name: string, docs: unknown[]) =>
  client.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: docs.map((d) => ({ Data: Buffer.from(typeof d === 'string' ? d : JSON.stringify(d)) })) }));

describe('JSON to Parquet', () => {
  it('writes one Parquet object per buffer that an independent reader reads back with the schema types', async () => {
    await createActive(streamInput('pq', 'pq', conversion()));
    const docs = [
      { device: 'd1', seq: 9007199254740993, reading: 21.5, ok: true, level: 3, at: '2024-05-01 12:00:00.250', day: '2024-05-01', extra: 'ignored' },
      // OpenX: keys match case-insensitively; missing keys and nulls are nulls; numeric strings convert.
      { DEVICE: 'd2', Seq: '42', reading: 7, ok: false, level: null, at: 1714564800000 },
      { device: 'd3', seq: -1, reading: '1e3', ok: 'true', level: -2147483648, at: '2024-05-01T12:00:00Z', day: '1970-01-01' },
    ];
    const r = await put('pq', docs);
    expect(r.FailedPutCount).toBe(0);
    const [key] = await waitObjects('pq', 1);
    expect(key).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\d{2}\/pq-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}\.parquet$/);
    const body = read('pq', key!);
    expect(body.subarray(0, 4).toString()).toBe('PAR1');
    const { types, rows } = readBack(body);
    expect(types).toEqual({
      device: 'Utf8', seq: 'Int64', reading: 'Float64', ok: 'Bool', level: 'Int32', at: 'Timestamp<MILLISECOND, UTC>', day: 'Date32<DAY>',
    });
    expect(rows).toEqual([
      // 9007199254740993 is past 2^53: JSON.parse (as AWS's Java parser would not) rounds it; the bigint holds what the JSON number became.
      { device: 'd1', seq: 9007199254740992n, reading: 21.5, ok: true, level: 3, at: Date.UTC(2024, 4, 1, 12, 0, 0, 250), day: Date.UTC(2024, 4, 1) },
      { device: 'd2', seq: 42n, reading: 7, ok: false, level: null, at: 1714564800000, day: null },
      { device: 'd3', seq: -1n, reading: 1000, ok: true, level: -2147483648, at: Date.UTC(2024, 4, 1, 12), day: 0 },
    ]);
    // SNAPPY is ParquetSerDe's default codec.
    const meta = parquetMetadata(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer);
    expect(new Set(meta.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec)))).toEqual(new Set(['SNAPPY']));
  });

  it('sends records that do not fit the schema to format-conversion-failed/ and converts the rest', async () => {
    await createActive(streamInput('pqbad', 'pqbad', conversion('GZIP')));
    const docs = [
      { device: 'good', seq: 1, reading: 1.5 },
      { device: 'bad-int', level: 'three' },
      'not json at all',
      '[1, 2]',
      { device: 'overflow', level: 2147483648 },
      { device: 'bad-ts', at: 'yesterday' },
      { device: 'good2', seq: 2, ok: true },
    ];
    expect((await put('pqbad', docs)).FailedPutCount).toBe(0);
    const keys = await waitObjects('pqbad', 2);
    const parquetKey = keys.find((k) => k.endsWith('.parquet'))!;
    const errorKey = keys.find((k) => k.startsWith('format-conversion-failed/'))!;
    expect(errorKey).toMatch(/^format-conversion-failed\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/pqbad-1-/);
    const body = read('pqbad', parquetKey);
    expect(readBack(body).rows.map((r) => [r.device, r.seq])).toEqual([['good', 1n], ['good2', 2n]]);
    const meta = parquetMetadata(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer);
    expect(new Set(meta.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec)))).toEqual(new Set(['GZIP']));
    const failed = read('pqbad', errorKey).toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(failed.map((f) => Buffer.from(f.rawData as string, 'base64').toString())).toEqual([
      JSON.stringify(docs[1]), 'not json at all', '[1, 2]', JSON.stringify(docs[4]), JSON.stringify(docs[5]),
    ]);
    for (const f of failed) {
      expect(f.errorCode).toBe('DataFormatConversion.MalformedData');
      expect(typeof f.errorMessage).toBe('string');
      expect(typeof f.arrivalTimestamp).toBe('number');
    }
    expect(failed[0]!.errorMessage).toContain('level');
  });

  it('writes UNCOMPRESSED Parquet, after AppendDelimiterToRecord, with a FileExtension of its own', async () => {
    await createActive(streamInput('pqraw', 'pqraw', conversion('UNCOMPRESSED'), {
      FileExtension: '.pq', ProcessingConfiguration: { Enabled: true, Processors: [{ Type: 'AppendDelimiterToRecord' }] },
    }));
    await put('pqraw', [{ device: 'x', level: 1 }]);
    const [key] = await waitObjects('pqraw', 1);
    expect(key).toMatch(/\.pq$/);
    const body = read('pqraw', key!);
    expect(readBack(body).rows).toEqual([{ device: 'x', seq: null, reading: null, ok: null, level: 1, at: null, day: null }]);
    const meta = parquetMetadata(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer);
    expect(new Set(meta.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec)))).toEqual(new Set(['UNCOMPRESSED']));
  });

  it('refuses at create and update what it could not convert', async () => {
    const refused = async (input: CreateDeliveryStreamCommandInput, message: RegExp) => {
      const err = await client.send(new CreateDeliveryStreamCommand(input)).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).name).toBe('InvalidArgumentException');
      expect((err as Error).message).toMatch(message);
    };
    await refused(streamInput('r1', 'r', conversion('SNAPPY', 'nosuch')), /Table nosuch in database analytics/);
    await refused(streamInput('r2', 'r', conversion(), { CompressionFormat: 'GZIP' }), /CompressionFormat must be UNCOMPRESSED/);
    await refused(streamInput('r3', 'r', { ...conversion(), OutputFormatConfiguration: { Serializer: { OrcSerDe: {} } } }), /OrcSerDe is not supported/);
    await refused(
      streamInput('r4', 'r', { ...conversion(), InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: {}, HiveJsonSerDe: {} } } }),
      /Exactly one of OpenXJsonSerDe or HiveJsonSerDe/,
    );
    await refused(streamInput('r5', 'r', { Enabled: true }), /SchemaConfiguration, InputFormatConfiguration and OutputFormatConfiguration are required/);
    // Disabled conversion is accepted and echoed, whatever it names.
    await createActive(streamInput('r6', 'r6', { ...conversion('SNAPPY', 'nosuch'), Enabled: false }, { CompressionFormat: 'GZIP' }));
    const d = await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'pq' }));
    const echoed = d.DeliveryStreamDescription!.Destinations![0]!.ExtendedS3DestinationDescription!.DataFormatConversionConfiguration;
    expect(echoed?.SchemaConfiguration?.TableName).toBe('events');
    expect(echoed?.OutputFormatConfiguration?.Serializer?.ParquetSerDe).toEqual({});
    // Turning conversion on for a GZIP stream is refused on update too.
    const update = await client
      .send(new UpdateDestinationCommand({ DeliveryStreamName: 'r6', CurrentDeliveryStreamVersionId: '1', DestinationId: 'destinationId-000000000001', ExtendedS3DestinationUpdate: { DataFormatConversionConfiguration: conversion() } }))
      .catch((e: Error) => e);
    expect((update as Error).name).toBe('InvalidArgumentException');
    // ParquetSerDe's model constraints come back as a ValidationException.
    const small = await client.send(new CreateDeliveryStreamCommand(streamInput('r7', 'r', { ...conversion(), OutputFormatConfiguration: { Serializer: { ParquetSerDe: { BlockSizeBytes: 1024 } } } }))).catch((e: Error) => e);
    expect((small as Error).name).toBe('ValidationException');
  });

  it('reads firehose.schemas from the gateway config file, refusing unknown types and duplicate columns', () => {
    const c = parseGatewayConfig('firehose:\n  schemas:\n    db.t:\n      columns:\n        - { name: a, type: string }\n        - { name: b, type: bigint }\n', 'gw.yaml');
    expect(c.firehoseSchemas).toEqual({ 'db.t': { columns: [{ name: 'a', type: 'string' }, { name: 'b', type: 'bigint' }] } });
    expect(() => parseGatewayConfig('firehose:\n  schemas:\n    db.t:\n      columns:\n        - { name: a, type: decimal }\n', 'gw.yaml')).toThrow(/gw\.yaml:5: .*type/);
    expect(() => parseGatewayConfig('firehose:\n  schemas:\n    notable:\n      columns:\n        - { name: a, type: int }\n', 'gw.yaml')).toThrow(/<database>\.<table>/);
    expect(() => parseGatewayConfig('firehose:\n  schemas:\n    db.t:\n      columns:\n        - { name: a, type: int }\n        - { name: A, type: int }\n', 'gw.yaml')).toThrow(/column A is declared twice/);
  });
});
