/**
 * Record format conversion (DataFormatConversionConfiguration): JSON records
 * in, one Parquet file per buffer out. AWS reads the table schema from the
 * Glue Data Catalog; this gateway has no Glue, so `firehose.schemas` in the
 * gateway config maps `<DatabaseName>.<TableName>` to its columns, and an
 * unknown table is refused at create/update.
 *
 * The stage runs after the processing pipeline. Each record is deserialised
 * as the OpenX JSON SerDe does (keys matched case-insensitively unless
 * CaseInsensitive is false, ColumnToJsonKeyMappings, dots to underscores on
 * request; missing keys and nulls become nulls; extra keys are ignored); a
 * record that is not a JSON object or has a value that does not fit its
 * column fails conversion and goes to the `format-conversion-failed/` error
 * prefix, as on AWS. The rest become rows of one Parquet file, compressed
 * inside the file as ParquetSerDe.Compression says.
 */
import { AwsError } from '../../sdk/protocol/errors.ts';
import type { Shape } from '../http/validate.ts';
import type { ExtendedS3Wire } from './model.ts';
import { parquetColumnTypes, writeParquet, type ParquetColumnType, type ParquetCompression } from './parquet.ts';
import type { ProcessedRecord, ProcessingResult } from './processing.ts';

export { parquetColumnTypes, type ParquetColumnType } from './parquet.ts';

/** One table of `firehose.schemas` in the gateway config. */
export interface TableSchema {
  columns: Array<{ name: string; type: ParquetColumnType }>;
}
/** `firehose.schemas`: `<database>.<table>` to its columns. */
export type TableSchemas = Readonly<Record<string, TableSchema>>;

/** The object extension AWS gives converted objects. */
export const parquetExtension = '.parquet';
/** The error output type (and default error prefix folder) of records that fail conversion. */
export const formatConversionFailed = 'format-conversion-failed' as const;

/** AWS API Reference, ParquetSerDe: BlockSizeBytes at least 64 MiB, PageSizeBytes at least 64 KiB. */
export const parquetBlockSizeBytesMin = 64 * 1024 * 1024;
export const parquetPageSizeBytesMin = 64 * 1024;

/** DataFormatConversionConfiguration as the service model declares it (the validator drops undeclared members). */
export const DataFormatConversionConfigurationShape = {
  type: 'structure',
  members: {
    Enabled: { type: 'boolean' },
    SchemaConfiguration: {
      type: 'structure',
      members: {
        RoleARN: { type: 'string', min: 1, max: 512 },
        CatalogId: { type: 'string', min: 1, max: 1024 },
        DatabaseName: { type: 'string', min: 1, max: 1024 },
        TableName: { type: 'string', min: 1, max: 1024 },
        Region: { type: 'string', min: 1, max: 1024 },
        VersionId: { type: 'string', min: 1, max: 1024 },
      },
    },
    InputFormatConfiguration: {
      type: 'structure',
      members: {
        Deserializer: {
          type: 'structure',
          members: {
            OpenXJsonSerDe: {
              type: 'structure',
              members: {
                ConvertDotsInJsonKeysToUnderscores: { type: 'boolean' },
                CaseInsensitive: { type: 'boolean' },
                ColumnToJsonKeyMappings: { type: 'map', key: { type: 'string', min: 1, max: 1024 }, value: { type: 'string', min: 1, max: 1024 } },
              },
            },
            HiveJsonSerDe: { type: 'structure', members: { TimestampFormats: { type: 'list', member: { type: 'string', min: 1, max: 1024 } } } },
          },
        },
      },
    },
    OutputFormatConfiguration: {
      type: 'structure',
      members: {
        Serializer: {
          type: 'structure',
          members: {
            ParquetSerDe: {
              type: 'structure',
              members: {
                BlockSizeBytes: { type: 'integer', min: parquetBlockSizeBytesMin },
                PageSizeBytes: { type: 'integer', min: parquetPageSizeBytesMin },
                Compression: { type: 'string', enum: ['UNCOMPRESSED', 'GZIP', 'SNAPPY'] },
                EnableDictionaryCompression: { type: 'boolean' },
                MaxPaddingBytes: { type: 'integer', min: 0 },
                WriterVersion: { type: 'string', enum: ['V1', 'V2'] },
              },
            },
            OrcSerDe: { type: 'structure', members: {} },
          },
        },
      },
    },
  },
} as const satisfies Shape;

export interface DataFormatConversionWire {
  Enabled?: boolean;
  SchemaConfiguration?: { DatabaseName?: string; TableName?: string; Region?: string; RoleARN?: string; VersionId?: string; CatalogId?: string };
  InputFormatConfiguration?: {
    Deserializer?: {
      OpenXJsonSerDe?: { ConvertDotsInJsonKeysToUnderscores?: boolean; CaseInsensitive?: boolean; ColumnToJsonKeyMappings?: Record<string, string> };
      HiveJsonSerDe?: { TimestampFormats?: string[] };
    };
  };
  OutputFormatConfiguration?: { Serializer?: { ParquetSerDe?: { Compression?: ParquetCompression; PageSizeBytes?: number; EnableDictionaryCompression?: boolean }; OrcSerDe?: unknown } };
}

const invalid = (message: string) => new AwsError('InvalidArgumentException', message);

function conversionOf(d: ExtendedS3Wire): DataFormatConversionWire | undefined {
  const c = d.DataFormatConversionConfiguration as DataFormatConversionWire | undefined;
  // AWS: Enabled defaults to true when the configuration is given.
  return c && c.Enabled !== false ? c : undefined;
}

function tableKey(c: DataFormatConversionWire): string {
  return `${c.SchemaConfiguration?.DatabaseName ?? ''}.${c.SchemaConfiguration?.TableName ?? ''}`;
}

/**
 * Checks a destination's conversion settings at create and update, so that
 * nothing accepted fails later: one deserializer, one serializer (Parquet;
 * ORC is refused), a table the gateway config declares, and the object-level
 * CompressionFormat UNCOMPRESSED (AWS's rule: compression happens inside the file).
 */
export function checkFormatConversion(d: ExtendedS3Wire, schemas: TableSchemas | undefined): void {
  const c = conversionOf(d);
  if (!c) return;
  const de = c.InputFormatConfiguration?.Deserializer;
  const ser = c.OutputFormatConfiguration?.Serializer;
  if (!c.SchemaConfiguration || !c.InputFormatConfiguration || !c.OutputFormatConfiguration) {
    throw invalid('SchemaConfiguration, InputFormatConfiguration and OutputFormatConfiguration are required when DataFormatConversionConfiguration is enabled.');
  }
  if (!de || (de.OpenXJsonSerDe ? 1 : 0) + (de.HiveJsonSerDe ? 1 : 0) !== 1) throw invalid('Exactly one of OpenXJsonSerDe or HiveJsonSerDe must be specified as the Deserializer.');
  if (!ser || (ser.ParquetSerDe ? 1 : 0) + (ser.OrcSerDe ? 1 : 0) !== 1) throw invalid('Exactly one of ParquetSerDe or OrcSerDe must be specified as the Serializer.');
  if (ser.OrcSerDe) throw invalid('OrcSerDe is not supported by this gateway; use ParquetSerDe.');
  const { DatabaseName, TableName } = c.SchemaConfiguration;
  if (!DatabaseName || !TableName) throw invalid('SchemaConfiguration needs DatabaseName and TableName.');
  if (!schemas?.[tableKey(c)]) {
    throw invalid(`Table ${TableName} in database ${DatabaseName} is not declared in this gateway's firehose.schemas (as "${DatabaseName}.${TableName}").`);
  }
  if (d.CompressionFormat !== 'UNCOMPRESSED') {
    throw invalid(`CompressionFormat must be UNCOMPRESSED when DataFormatConversionConfiguration is enabled (got ${d.CompressionFormat}); set ParquetSerDe.Compression instead.`);
  }
}

/** The object extension for a destination with conversion on; undefined when off. */
export function convertedExtension(d: ExtendedS3Wire): string | undefined {
  return conversionOf(d) ? (d.FileExtension ?? parquetExtension) : undefined;
}

type Failed = ProcessingResult['failed'][number];

/**
 * Converts a processed batch: returns the Parquet body of the records that
 * convert, and moves the others to `processed.failed`. Undefined when
 * conversion is off. A table that left the gateway config after create fails
 * every record (to the error prefix), as AWS does when Glue loses the table.
 */
export function convertFormat(d: ExtendedS3Wire, processed: ProcessingResult, schemas: TableSchemas | undefined): { body: Buffer | undefined } | undefined {
  const c = conversionOf(d);
  if (!c) return undefined;
  const table = schemas?.[tableKey(c)];
  if (!table) {
    for (const r of processed.ok) processed.failed.push(fail(r, 'DataFormatConversion.EntityNotFound', `Table ${tableKey(c)} is not declared in firehose.schemas.`));
    processed.ok = [];
    return { body: undefined };
  }
  const lookup = keyLookup(table, c);
  const rows: Array<Record<string, unknown>> = [];
  const ok: ProcessedRecord[] = [];
  for (const r of processed.ok) {
    const row = toRow(r.data, table, lookup);
    if (typeof row === 'string') processed.failed.push(fail(r, 'DataFormatConversion.MalformedData', row));
    else {
      rows.push(row);
      ok.push(r);
    }
  }
  processed.ok = ok;
  if (!rows.length) return { body: undefined };
  const serde = c.OutputFormatConfiguration?.Serializer?.ParquetSerDe ?? {};
  const body = writeParquet(table.columns, rows, { compression: serde.Compression ?? 'SNAPPY', ...(serde.PageSizeBytes ? { pageSizeBytes: serde.PageSizeBytes } : {}) });
  return { body };
}

function fail(r: ProcessedRecord, errorCode: string, errorMessage: string): Failed {
  return { ...r, errorOutputType: formatConversionFailed, errorCode, errorMessage };
}

interface KeyLookup {
  caseInsensitive: boolean;
  dotsToUnderscores: boolean;
  /** Column name to the JSON key to read (lower-cased when case-insensitive). */
  keyOf: Map<string, string>;
}

function keyLookup(table: TableSchema, c: DataFormatConversionWire): KeyLookup {
  const openx = c.InputFormatConfiguration?.Deserializer?.OpenXJsonSerDe;
  // Hive's JSON SerDe lower-cases keys; the OpenX SerDe does by default.
  const caseInsensitive = openx ? openx.CaseInsensitive !== false : true;
  const mappings = openx?.ColumnToJsonKeyMappings ?? {};
  const keyOf = new Map<string, string>();
  for (const col of table.columns) {
    const key = mappings[col.name] ?? col.name;
    keyOf.set(col.name, caseInsensitive ? key.toLowerCase() : key);
  }
  return { caseInsensitive, dotsToUnderscores: openx?.ConvertDotsInJsonKeysToUnderscores === true, keyOf };
}

/** One record to one row, or the reason it does not convert. */
function toRow(data: Buffer, table: TableSchema, lookup: KeyLookup): Record<string, unknown> | string {
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString('utf8'));
  } catch (err) {
    return `The record is not valid JSON: ${(err as Error).message}`;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'The record is not a JSON object.';
  const fields = new Map<string, unknown>();
  for (const [k, v] of Object.entries(doc)) {
    let key = lookup.dotsToUnderscores ? k.replaceAll('.', '_') : k;
    if (lookup.caseInsensitive) key = key.toLowerCase();
    fields.set(key, v);
  }
  const row: Record<string, unknown> = {};
  for (const col of table.columns) {
    const v = fields.get(lookup.keyOf.get(col.name)!);
    const converted = convertValue(v, col.type);
    if (converted instanceof Error) return `Column ${col.name} (${col.type}): ${converted.message}`;
    row[col.name] = converted;
  }
  return row;
}

const intRanges: Partial<Record<ParquetColumnType, [number, number]>> = {
  tinyint: [-128, 127],
  smallint: [-32768, 32767],
  int: [-2147483648, 2147483647],
};

/** A JSON value to the column's value (null stays null), or an Error saying why it does not fit. */
export function convertValue(v: unknown, type: ParquetColumnType): unknown {
  if (v === undefined || v === null) return null;
  switch (type) {
    case 'string':
      return typeof v === 'string' ? v : JSON.stringify(v);
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 'false') return v === 'true';
      return new Error(`cannot convert ${JSON.stringify(v)} to boolean`);
    case 'double':
    case 'float': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      return Number.isNaN(n) ? new Error(`cannot convert ${JSON.stringify(v)} to ${type}`) : n;
    }
    case 'tinyint':
    case 'smallint':
    case 'int':
    case 'bigint':
      return toInteger(v, type);
    case 'timestamp':
      return toTimestamp(v);
    case 'date':
      return toDate(v);
  }
}

function toInteger(v: unknown, type: ParquetColumnType): number | bigint | Error {
  let n: bigint;
  if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) n = BigInt(v.trim());
  else return new Error(`cannot convert ${JSON.stringify(v)} to ${type}`);
  const range = intRanges[type];
  if (range) {
    if (n < BigInt(range[0]) || n > BigInt(range[1])) return new Error(`${n} is out of range`);
    return Number(n);
  }
  if (n < -(2n ** 63n) || n >= 2n ** 63n) return new Error(`${n} is out of range`);
  return n;
}

/** Hive's timestamp text (`yyyy-MM-dd HH:mm:ss[.fff]`, taken as UTC), ISO 8601, or epoch milliseconds. */
function toTimestamp(v: unknown): Date | Error {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(Math.trunc(v));
  if (typeof v === 'string') {
    const text = v.trim();
    if (/^\d+$/.test(text)) return new Date(Number(text));
    const hive = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)$/.exec(text);
    const ms = Date.parse(hive ? `${hive[1]}T${hive[2]}Z` : text);
    if (!Number.isNaN(ms) && /^\d{4}-\d{2}-\d{2}/.test(text)) return new Date(ms);
  }
  return new Error(`cannot convert ${JSON.stringify(v)} to timestamp`);
}

function toDate(v: unknown): Date | Error {
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v.trim())) {
    const ms = Date.parse(`${v.trim()}T00:00:00Z`);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  return new Error(`cannot convert ${JSON.stringify(v)} to date`);
}
