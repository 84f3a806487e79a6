/**
 * Output records from rows, per the output's DestinationSchema
 * (dev/API_DestinationSchema.html): JSON, one object per row with the
 * stream's column names as keys; or CSV, the values joined by commas. A
 * record holds one row. JSON records carry no delimiter (as KDA writes them:
 * a delivery stream concatenates them); CSV records end with "\n" so files
 * built from them are line-delimited. ROWTIME is written only when the
 * stream defines a column for it.
 */
import type { EngineColumn, EngineRow } from './engine-port.ts';

export type RowEncoder = (row: EngineRow) => Buffer;

export function rowEncoder(format: 'JSON' | 'CSV', columns: readonly EngineColumn[]): RowEncoder {
  if (format === 'JSON') {
    return (row) => {
      const o: Record<string, unknown> = {};
      for (let k = 0; k < columns.length; k++) {
        const v = row[k + 1];
        o[columns[k]!.name] = v === null || v === undefined ? null : columns[k]!.json(v);
      }
      return Buffer.from(JSON.stringify(o));
    };
  }
  return (row) => {
    const fields = columns.map((c, k) => {
      const v = row[k + 1];
      return v === null || v === undefined ? '' : csvField(c.text(v));
    });
    return Buffer.from(fields.join(',') + '\n');
  };
}

/** Quotes a field that holds a comma, quote or line break (RFC 4180). */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
