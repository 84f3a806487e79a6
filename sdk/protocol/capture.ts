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
  if (text.length % 4 !== 0) return undefined;
  // Fast path: canonical base64 survives a decode and re-encode (three times cheaper than the pattern on 1 KiB records).
  const decoded = Buffer.from(text, 'base64');
  if (decoded.toString('base64') === text) return decoded.length;
  if (!base64Pattern.test(text)) return undefined;
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

const b64Table = (() => {
  const t = new Uint8Array(256);
  for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') t[ch.charCodeAt(0)] = 1;
  return t;
})();

/** Decoded length of the base64 bytes `b[start, end)`, or undefined when they are not padded base64. */
function base64BytesAt(b: Uint8Array, start: number, end: number): number | undefined {
  const n = end - start;
  if (n % 4 !== 0) return undefined;
  let stop = end;
  if (n > 0 && b[end - 1] === 0x3d) stop--;
  if (stop > start && stop < end && b[stop - 1] === 0x3d) stop--;
  const t = b64Table;
  let ok = 1;
  let i = start;
  // Four bytes per step, one branch per step: the loop runs over every byte of every record.
  for (; i + 4 <= stop; i += 4) ok &= t[b[i]!]! & t[b[i + 1]!]! & t[b[i + 2]!]! & t[b[i + 3]!]!;
  for (; i < stop; i++) ok &= t[b[i]!]!;
  return ok === 1 ? (n / 4) * 3 - (end - stop) : undefined;
}

const prefixSeq = Buffer.from('{"SequenceNumber":"');
const prefixTime = Buffer.from('"ApproximateArrivalTimestamp":');
const prefixData = Buffer.from('"Data":"');
const prefixKey = Buffer.from('","PartitionKey":"');
const ehkField = Buffer.from(',"ExplicitHashKey":"');

function startsAt(b: Uint8Array, at: number, p: Buffer): boolean {
  if (at + p.length > b.length) return false;
  for (let i = 0; i < p.length; i++) if (b[at + i] !== p[i]) return false;
  return true;
}

/** End of a JSON string without escapes starting at `at` (after its opening quote): the closing quote's index, or -1. */
function plainStringEnd(b: Uint8Array, at: number, end: number): number {
  for (let i = at; i < end; i++) {
    const c = b[i]!;
    if (c === 0x22) return i;
    if (c === 0x5c || c < 0x20) return -1;
  }
  return -1;
}

/**
 * The fast path of `parseCaptureLine` for lines in exactly the layout
 * `formatCaptureLine` writes (optional SequenceNumber and numeric
 * ApproximateArrivalTimestamp, then Data and PartitionKey, optional
 * ExplicitHashKey, no escapes in the strings), read straight from the bytes.
 * Returns undefined for anything else: the caller then parses the line as
 * JSON, which gives the same result for the lines this accepts.
 */
export function parseCaptureBytes(b: Buffer, start: number, end: number): ParsedLine | undefined {
  let at = start;
  const record = {} as CaptureRecord;
  if (startsAt(b, at, prefixSeq)) {
    const q = plainStringEnd(b, at + prefixSeq.length, end);
    if (q < 0 || b[q + 1] !== 0x2c) return undefined;
    record.sequenceNumber = b.toString('latin1', at + prefixSeq.length, q);
    if (!/^\d+$/.test(record.sequenceNumber)) return undefined;
    at = q + 2;
  } else if (b[at] === 0x7b) at++;
  else return undefined;
  if (startsAt(b, at, prefixTime)) {
    const comma = b.indexOf(0x2c, at + prefixTime.length);
    if (comma < 0 || comma >= end) return undefined;
    const text = b.toString('latin1', at + prefixTime.length, comma);
    if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
    record.timeMs = Math.round(Number(text) * 1000);
    at = comma + 1;
  }
  if (!startsAt(b, at, prefixData)) return undefined;
  const dataStart = at + prefixData.length;
  const dataEnd = b.indexOf(0x22, dataStart);
  if (dataEnd < 0 || dataEnd >= end || !startsAt(b, dataEnd, prefixKey)) return undefined;
  const bytes = base64BytesAt(b, dataStart, dataEnd);
  if (bytes === undefined) return undefined; // The JSON path names the problem.
  const keyStart = dataEnd + prefixKey.length;
  const keyEnd = plainStringEnd(b, keyStart, end);
  if (keyEnd <= keyStart) return undefined;
  record.data64 = b.toString('latin1', dataStart, dataEnd);
  record.dataBytes = bytes;
  record.partitionKey = b.toString('utf8', keyStart, keyEnd);
  at = keyEnd + 1;
  if (startsAt(b, at, ehkField)) {
    const q = plainStringEnd(b, at + ehkField.length, end);
    if (q < 0) return undefined;
    record.explicitHashKey = b.toString('utf8', at + ehkField.length, q);
    at = q + 1;
  }
  if (at !== end - 1 || b[at] !== 0x7d) return undefined;
  return { kind: 'record', record: sortedRecord(record) };
}

/** The same key order as parseCaptureLine's records (tests compare them whole). */
function sortedRecord(r: CaptureRecord): CaptureRecord {
  const out: CaptureRecord = { data64: r.data64, dataBytes: r.dataBytes, partitionKey: r.partitionKey };
  if (r.explicitHashKey !== undefined) out.explicitHashKey = r.explicitHashKey;
  if (r.sequenceNumber !== undefined) out.sequenceNumber = r.sequenceNumber;
  if (r.timeMs !== undefined) out.timeMs = r.timeMs;
  return out;
}
