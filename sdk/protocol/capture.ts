/**
 * The capture format: one Kinesis record per line, as JSON in the shape
 * GetRecords returns on the wire, which `tributary streams export` writes and
 * `tributary replay` and `tributary analytics run --records` read:
 *
 *   {"SequenceNumber":"4961…","ApproximateArrivalTimestamp":1733580000.123,"Data":"aGVsbG8=","PartitionKey":"dev-1"}
 *
 * - `Data`: the record's bytes, base64 (standard alphabet, padded).
 * - `PartitionKey`: as stored.
 * - `SequenceNumber`: optional (absent when the record never had one, e.g.
 *   converted from a device buffer).
 * - `ApproximateArrivalTimestamp`: epoch seconds with millisecond fraction, a
 *   JSON number, exactly as the JSON 1.1 wire carries it. Readers also accept
 *   an ISO-8601 string; writers here always write the number.
 * - `ExplicitHashKey`: optional, kept when a source had one.
 *
 * The agent's `tributary-agent buffer export` lines
 * (`{"partitionKey","data","capturedAt","source","seq"}`, capturedAt in epoch
 * ms) are read by the same parser, so both are "JSON lines" sources. Pure:
 * text in, values out.
 */
import { partitionKeyLengthMax, recordDataBytesMax } from './streams/limits.ts';

/** A record read from a line; `data` stays base64 so a replay need not decode and re-encode it. */
export interface CaptureRecord {
  /** Base64 of the record's bytes, as read (validated). */
  data64: string;
  /** Bytes the base64 decodes to. */
  dataBytes: number;
  partitionKey: string;
  explicitHashKey?: string;
  sequenceNumber?: string;
  /** Arrival time (capture lines) or capture time (agent lines), epoch ms. */
  timeMs?: number;
  /** Agent lines only: the device's capture time, epoch ms, and the record's origin. */
  capturedAtMs?: number;
  source?: string;
  seq?: number;
}

export type ParsedLine = { kind: 'record'; record: CaptureRecord } | { kind: 'bad'; reason: string };

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

/** Bytes a padded base64 text decodes to, or undefined when it is not base64. */
export function base64DecodedBytes(text: string): number | undefined {
  if (text.length % 4 !== 0 || !base64Pattern.test(text)) return undefined;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - pad;
}

/** Epoch ms from an ApproximateArrivalTimestamp: epoch seconds (number or numeric string) or ISO-8601. */
export function parseArrivalTimestamp(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.round(v * 1000) : undefined;
  if (typeof v !== 'string') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Parses one line of a capture or agent export file. Blank lines are the
 * caller's to skip. Records whose data is over the Kinesis record limit are
 * still returned (the caller decides what is too large for its target).
 */
export function parseCaptureLine(line: string): ParsedLine {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { kind: 'bad', reason: 'not JSON' };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { kind: 'bad', reason: 'not a JSON object' };
  const agent = !('Data' in doc) && 'data' in doc;
  const data64 = agent ? doc.data : doc.Data;
  const partitionKey = agent ? doc.partitionKey : doc.PartitionKey;
  if (typeof data64 !== 'string') return { kind: 'bad', reason: `${agent ? 'data' : 'Data'} is missing or not a string` };
  const dataBytes = base64DecodedBytes(data64);
  if (dataBytes === undefined) return { kind: 'bad', reason: `${agent ? 'data' : 'Data'} is not base64` };
  if (typeof partitionKey !== 'string' || partitionKey.length === 0) return { kind: 'bad', reason: `${agent ? 'partitionKey' : 'PartitionKey'} is missing or empty` };
  const record: CaptureRecord = { data64, dataBytes, partitionKey };
  const ehk = agent ? doc.explicitHashKey : doc.ExplicitHashKey;
  if (typeof ehk === 'string') record.explicitHashKey = ehk;
  if (agent) {
    if (typeof doc.capturedAt === 'number' && Number.isFinite(doc.capturedAt)) record.capturedAtMs = record.timeMs = doc.capturedAt;
    if (typeof doc.source === 'string') record.source = doc.source;
    if (typeof doc.seq === 'number') record.seq = doc.seq;
  } else {
    if (typeof doc.SequenceNumber === 'string') record.sequenceNumber = doc.SequenceNumber;
    if (doc.ApproximateArrivalTimestamp !== undefined) {
      const ms = parseArrivalTimestamp(doc.ApproximateArrivalTimestamp);
      if (ms === undefined) return { kind: 'bad', reason: 'ApproximateArrivalTimestamp is neither epoch seconds nor ISO-8601' };
      record.timeMs = ms;
    }
  }
  return { kind: 'record', record };
}

/** Why a record cannot go into a Kinesis stream as it is, or undefined. */
export function streamRecordProblem(r: { dataBytes: number; partitionKey: string }): string | undefined {
  if (r.dataBytes > recordDataBytesMax) return `data is ${r.dataBytes} bytes, over the ${recordDataBytesMax}-byte record limit`;
  if (r.partitionKey.length > partitionKeyLengthMax) return `partition key is ${r.partitionKey.length} characters, over ${partitionKeyLengthMax}`;
  return undefined;
}

/** One capture line (without the newline), keys in GetRecords' order. */
export function formatCaptureLine(r: { data64: string; partitionKey: string; sequenceNumber?: string; timeMs?: number; explicitHashKey?: string }): string {
  let s = '{';
  if (r.sequenceNumber !== undefined) s += `"SequenceNumber":${JSON.stringify(r.sequenceNumber)},`;
  if (r.timeMs !== undefined) s += `"ApproximateArrivalTimestamp":${r.timeMs / 1000},`;
  s += `"Data":"${r.data64}","PartitionKey":${JSON.stringify(r.partitionKey)}`;
  if (r.explicitHashKey !== undefined) s += `,"ExplicitHashKey":${JSON.stringify(r.explicitHashKey)}`;
  return s + '}';
}

/** One agent export line (the shape `tributary-agent buffer export` writes), capture time kept. */
export function formatAgentLine(r: { data64: string; partitionKey: string; capturedAtMs?: number; timeMs?: number; source?: string; seq?: number; explicitHashKey?: string }): string {
  const doc: Record<string, unknown> = { partitionKey: r.partitionKey, data: r.data64 };
  const at = r.capturedAtMs ?? r.timeMs;
  if (at !== undefined) doc.capturedAt = at;
  if (r.source !== undefined) doc.source = r.source;
  if (r.seq !== undefined) doc.seq = r.seq;
  if (r.explicitHashKey !== undefined) doc.explicitHashKey = r.explicitHashKey;
  return JSON.stringify(doc);
}
