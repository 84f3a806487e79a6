/**
 * Rows to one Parquet file, with hyparquet-writer (MIT, pure JavaScript, see
 * dependencies.md). Column types are the Hive/Glue names a Glue table would
 * use; each maps to the Parquet physical and converted type Hive's Parquet
 * writer uses, except timestamp: Hive writes INT96, we write INT64
 * TIMESTAMP_MILLIS, which every current reader understands without the
 * deprecated INT96 path. Every column is OPTIONAL (a missing key is null).
 */
import { gzipSync, constants as zlibConstants } from 'node:zlib';
import { parquetWriteBuffer, type SchemaElement } from 'hyparquet-writer';

/** The column types `firehose.schemas` may name. */
export const parquetColumnTypes = ['string', 'boolean', 'tinyint', 'smallint', 'int', 'bigint', 'float', 'double', 'timestamp', 'date'] as const;
export type ParquetColumnType = (typeof parquetColumnTypes)[number];
/** ParquetSerDe.Compression (AWS default SNAPPY). */
export type ParquetCompression = 'UNCOMPRESSED' | 'GZIP' | 'SNAPPY';

/** Rows per row group: one buffer (at most 128 MiB before conversion) is usually one or a few row groups. */
export const parquetRowGroupRowsMax = 1_000_000;
/** hyparquet-writer's default page size; ParquetSerDe.PageSizeBytes replaces it. */
export const parquetPageSizeBytesDefault = 1024 * 1024;

const elementOf: Record<ParquetColumnType, Omit<SchemaElement, 'name'>> = {
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  boolean: { type: 'BOOLEAN' },
  tinyint: { type: 'INT32', converted_type: 'INT_8' },
  smallint: { type: 'INT32', converted_type: 'INT_16' },
  int: { type: 'INT32' },
  bigint: { type: 'INT64' },
  float: { type: 'FLOAT' },
  double: { type: 'DOUBLE' },
  timestamp: { type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' },
  date: { type: 'INT32', converted_type: 'DATE' },
};

/**
 * Writes `rows` (values already converted to the column types: numbers,
 * bigints for bigint, Dates for timestamp/date, null for missing) as one
 * Parquet file.
 */
export function writeParquet(
  columns: ReadonlyArray<{ name: string; type: ParquetColumnType }>,
  rows: ReadonlyArray<Record<string, unknown>>,
  options: { compression: ParquetCompression; pageSizeBytes?: number },
): Buffer {
  const schema: SchemaElement[] = [
    { name: 'schema', num_children: columns.length },
    ...columns.map((c) => ({ name: c.name, ...elementOf[c.type], repetition_type: 'OPTIONAL' as const })),
  ];
  const columnData = columns.map((c) => ({ name: c.name, data: rows.map((r) => r[c.name] ?? null) }));
  const out = parquetWriteBuffer({
    columnData,
    schema,
    codec: options.compression,
    // Snappy is built in; GZIP comes from Node's zlib (level 6, as Hadoop's default codec).
    compressors: { GZIP: (input: Uint8Array) => gzipSync(input, { level: zlibConstants.Z_DEFAULT_COMPRESSION }) },
    statistics: true,
    rowGroupSize: parquetRowGroupRowsMax,
    pageSize: options.pageSizeBytes ?? parquetPageSizeBytesDefault,
    createdBy: 'tributary (hyparquet-writer)',
  });
  return Buffer.from(out);
}
