/**
 * `firehose.schemas` in the gateway config: the stand-in for the Glue Data
 * Catalog that record format conversion reads its table from.
 *
 * ```yaml
 * firehose:
 *   schemas:
 *     analytics.events:
 *       columns:
 *         - { name: device, type: string }
 *         - { name: reading, type: double }
 *         - { name: at, type: timestamp }
 * ```
 */
import { ConfigError, type Schema } from '../../sdk/config/yaml-schema.ts';
import { parquetColumnTypes } from './parquet.ts';
import type { TableSchemas } from './format-conversion.ts';

export type { TableSchemas } from './format-conversion.ts';

/** Parquet column names as Hive/Glue allow them (letters, digits, underscore), up to Glue's 255 characters. */
const columnNamePattern = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
/** Columns per table: Glue's own limit is far higher; this bounds one Parquet file's schema. */
export const tableColumnsMax = 1000;

export const tableSchemasSchema: Schema = {
  kind: 'map',
  keyPattern: /^[^.\s]{1,255}\.[^.\s]{1,255}$/,
  keyHint: '<database>.<table>',
  value: {
    kind: 'object',
    required: ['columns'],
    fields: {
      columns: {
        kind: 'list',
        min: 1,
        max: tableColumnsMax,
        item: {
          kind: 'object',
          required: ['name', 'type'],
          fields: {
            name: { kind: 'string', pattern: columnNamePattern, hint: 'a column name (letters, digits, underscore)' },
            type: { kind: 'enum', values: parquetColumnTypes },
          },
        },
      },
    },
  },
};

/** Duplicate column names (case-insensitively, as Hive compares them) are a config error. */
export function checkTableSchemas(schemas: TableSchemas): TableSchemas {
  for (const [table, t] of Object.entries(schemas)) {
    const seen = new Set<string>();
    for (const c of t.columns) {
      const k = c.name.toLowerCase();
      if (seen.has(k)) throw new ConfigError(`firehose.schemas.${table}: column ${c.name} is declared twice`);
      seen.add(k);
    }
  }
  return schemas;
}
