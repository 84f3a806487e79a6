/**
 * How `tributary streams tail` prints a record: KPL aggregates are split back
 * into their user records (each line carries `subSequenceNumber`, as the KCL
 * numbers them), and a payload that is JSON is printed as JSON rather than as
 * an escaped string. `--raw` keeps one line per Kinesis record with the data
 * as UTF-8 text, exactly as stored.
 */
import { deaggregate } from '../sdk/protocol/kpl-aggregation.ts';

export interface TailRecord {
  SequenceNumber: string;
  PartitionKey: string;
  /** Base64, as GetRecords answers. */
  Data: string;
  ApproximateArrivalTimestamp?: number;
}

/** The JSON lines to print for one record of a shard. */
export function tailLines(shardId: string, rec: TailRecord, options: { raw: boolean }): string[] {
  const data = Buffer.from(rec.Data, 'base64');
  const base = { shardId, sequenceNumber: rec.SequenceNumber };
  const arrival = rec.ApproximateArrivalTimestamp === undefined ? {} : { arrival: new Date(rec.ApproximateArrivalTimestamp * 1000).toISOString() };
  if (options.raw) return [JSON.stringify({ ...base, partitionKey: rec.PartitionKey, data: data.toString('utf8') })];
  const users = deaggregate(data);
  if (!users) return [JSON.stringify({ ...base, partitionKey: rec.PartitionKey, ...arrival, data: payload(data) })];
  return users.map((u, i) => JSON.stringify({
    ...base, subSequenceNumber: i, partitionKey: u.partitionKey,
    ...(u.explicitHashKey === undefined ? {} : { explicitHashKey: u.explicitHashKey }), ...arrival, data: payload(u.data),
  }));
}

/** A JSON object or array payload as itself; any other text as a string; bytes that are not UTF-8 as base64. */
function payload(data: Uint8Array): unknown {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const text = buf.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(buf)) return { base64: buf.toString('base64') };
  const first = text.trimStart()[0];
  if (first === '{' || first === '[') {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Not JSON after all: printed as text below.
    }
  }
  return text;
}
