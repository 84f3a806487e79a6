/**
 * Turns the oldest buffered records into one PutRecords request, and reads
 * the answer back as "how many records, from the front, were accepted".
 * Pure: records in, request entries out.
 *
 * The request is always a prefix of the records peeked, so that acking the
 * longest accepted prefix is exact. With aggregation, records sharing a
 * partition key (and explicit hash key) travel as one KPL aggregated record,
 * at most one per key per request: a key's records then succeed or fail
 * together, so a partly refused request never stores a key's later records
 * ahead of its earlier ones.
 */
import assert from 'node:assert/strict';
import type { BufferedRecord } from '../buffer/index.ts';
import { aggregate } from '../../sdk/protocol/kpl-aggregation.ts';
import { aggregateBytesMax, aggregateEntryOverheadBytes, aggregateEnvelopeBytes } from './limits.ts';

/** One PutRecords entry and the buffered records it carries (indexes into the batch). */
export interface PlannedEntry {
  PartitionKey: string;
  ExplicitHashKey?: string;
  Data: string;
  records: number[];
}

export interface PlannedRequest {
  entries: PlannedEntry[];
  /** How many records of the peeked batch the request carries (a prefix). */
  records: number;
  /** Data plus partition key bytes, as PutRecords counts them. */
  bytes: number;
}

function recordBytes(r: BufferedRecord): number {
  return r.data.length + Buffer.byteLength(r.partitionKey);
}

function plainEntry(r: BufferedRecord, i: number): PlannedEntry {
  return {
    PartitionKey: r.partitionKey, Data: r.data.toString('base64'),
    ...(r.explicitHashKey !== undefined ? { ExplicitHashKey: r.explicitHashKey } : {}), records: [i],
  };
}

/** One entry per record, up to the count and byte caps (at least one record). */
export function planPlain(batch: BufferedRecord[], recordsMax: number, bytesMax: number): PlannedRequest {
  assert.ok(batch.length > 0, 'plan a non-empty batch');
  const entries: PlannedEntry[] = [];
  let bytes = 0;
  for (let i = 0; i < batch.length && entries.length < recordsMax; i++) {
    const n = recordBytes(batch[i]!);
    if (entries.length > 0 && bytes + n > bytesMax) break;
    entries.push(plainEntry(batch[i]!, i));
    bytes += n;
  }
  return { entries, records: entries.length, bytes };
}

/**
 * One entry per (partition key, explicit hash key) group, in order of each
 * group's first record. Stops at the first record that would overflow its
 * group's aggregate, the request bytes or the entry count.
 */
export function planAggregated(batch: BufferedRecord[], recordsMax: number, bytesMax: number): PlannedRequest {
  assert.ok(batch.length > 0, 'plan a non-empty batch');
  const groups = new Map<string, { records: number[]; bytes: number }>();
  let bytes = 0;
  let taken = 0;
  for (let i = 0; i < batch.length; i++) {
    const r = batch[i]!;
    const id = `${r.partitionKey}\u0000${r.explicitHashKey ?? ''}`;
    const cost = recordBytes(r) + (r.explicitHashKey?.length ?? 0) + aggregateEntryOverheadBytes;
    const g = groups.get(id);
    const added = g ? cost : aggregateEnvelopeBytes + cost + Buffer.byteLength(r.partitionKey);
    if (i > 0 && (bytes + added > bytesMax || (g ? g.bytes + cost > aggregateBytesMax : groups.size >= recordsMax))) break;
    if (g) {
      g.records.push(i);
      g.bytes += cost;
    } else groups.set(id, { records: [i], bytes: aggregateEnvelopeBytes + cost });
    bytes += added;
    taken = i + 1;
  }
  const entries = [...groups.values()].map((g) => {
    const first = batch[g.records[0]!]!;
    if (g.records.length === 1) return plainEntry(first, g.records[0]!);
    const data = aggregate(g.records.map((k) => {
      const r = batch[k]!;
      return { partitionKey: r.partitionKey, data: r.data, ...(r.explicitHashKey !== undefined ? { explicitHashKey: r.explicitHashKey } : {}) };
    }));
    return {
      PartitionKey: first.partitionKey, Data: data.toString('base64'),
      ...(first.explicitHashKey !== undefined ? { ExplicitHashKey: first.explicitHashKey } : {}), records: g.records,
    };
  });
  return { entries, records: taken, bytes };
}

/** Bytes of the request body on the wire (for the bandwidth cap), estimated without serializing twice. */
export function wireBytes(req: PlannedRequest, stream: string): number {
  let n = 40 + stream.length;
  for (const e of req.entries) n += e.Data.length + e.PartitionKey.length + (e.ExplicitHashKey?.length ?? 0) + 60;
  return n;
}

/**
 * The number of records, from the front of the batch, whose entries all
 * succeeded: the records that may be acked. `ok[e]` says whether entry `e`
 * was accepted.
 */
export function acceptedPrefix(req: PlannedRequest, ok: boolean[]): number {
  assert.equal(ok.length, req.entries.length, 'one result per entry');
  const entryOf = new Array<number>(req.records);
  req.entries.forEach((e, k) => {
    for (const i of e.records) entryOf[i] = k;
  });
  for (let i = 0; i < req.records; i++) {
    assert.ok(entryOf[i] !== undefined, 'every record of the request is in an entry');
    if (!ok[entryOf[i]!]) return i;
  }
  return req.records;
}
