/**
 * Reads a stream's retained history between two bounds: every shard,
 * parents before children (so a partition key's records come out in order
 * across a reshard), each shard in sequence order. Used by
 * `tributary streams export` and by the `stream:<name>` replay source.
 *
 * Bounds: a time (ISO-8601 or epoch seconds) applies to every shard (start
 * AT_TIMESTAMP, stop after the last record that arrived at or before it); a
 * sequence number belongs to one shard, so it needs `shard`. Without `to`,
 * the read stops at the stream's tip as it was when the read began.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonRpcClient } from '../sdk/http/json-rpc-client.ts';
import { AwsError, TributaryError } from '../sdk/protocol/errors.ts';
import { getRecordsLimitMax, shardReadCallsPerSecondMax } from '../sdk/protocol/streams/limits.ts';

export type Bound = { kind: 'time'; ms: number } | { kind: 'sequence'; value: string };

export interface WireRecord {
  SequenceNumber: string;
  ApproximateArrivalTimestamp: number;
  Data: string;
  PartitionKey: string;
  EncryptionType?: string;
}

export interface HistoryOptions {
  from?: Bound;
  to?: Bound;
  /** Only this shard (required with a sequence-number bound). */
  shard?: string;
  /** Clock for the default upper bound (tests). */
  now?: () => number;
}

interface ShardInfo {
  ShardId: string;
  ParentShardId?: string;
  AdjacentParentShardId?: string;
  SequenceNumberRange: { StartingSequenceNumber: string; EndingSequenceNumber?: string };
}

/** Sequence numbers are decimals of up to 56 digits; anything that long is one, not a time. */
const sequenceDigitsMin = 21;

/** Parses a `--from`/`--to` value: a sequence number, epoch seconds, or an ISO-8601 time. */
export function parseBound(text: string, flag: string): Bound {
  if (new RegExp(`^\\d{${sequenceDigitsMin},}$`).test(text)) return { kind: 'sequence', value: text };
  if (/^\d+(\.\d+)?$/.test(text)) return { kind: 'time', ms: Math.round(Number(text) * 1000) };
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new TributaryError('REPLAY_OPTION_INVALID', `${flag} must be a time (ISO-8601 such as 2026-12-07T10:00:00Z, or epoch seconds) or a sequence number (got "${text}")`);
  return { kind: 'time', ms };
}

/** Every shard of the stream, open and closed, in lineage order: a shard after all of its parents that are still listed. */
export async function shardsInLineageOrder(client: JsonRpcClient, stream: string): Promise<ShardInfo[]> {
  const all: ShardInfo[] = [];
  let token: string | undefined;
  do {
    const r = await client.call<{ Shards: ShardInfo[]; NextToken?: string }>('ListShards', token ? { NextToken: token } : { StreamName: stream });
    all.push(...r.Shards);
    token = r.NextToken;
  } while (token);
  const listed = new Set(all.map((s) => s.ShardId));
  const done = new Set<string>();
  const out: ShardInfo[] = [];
  while (out.length < all.length) {
    const before = out.length;
    for (const s of all) {
      if (done.has(s.ShardId)) continue;
      const parents = [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => p !== undefined && listed.has(p));
      if (parents.every((p) => done.has(p))) {
        out.push(s);
        done.add(s.ShardId);
      }
    }
    if (out.length === before) throw new TributaryError('REPLAY_LINEAGE', `stream ${stream}: shard parents form a cycle`);
  }
  return out;
}

/** Yields every record within the bounds, shard by shard in lineage order, with its shard id. */
export async function* readStreamHistory(client: JsonRpcClient, stream: string, o: HistoryOptions = {}): AsyncGenerator<{ shardId: string; record: WireRecord }> {
  const seqBound = o.from?.kind === 'sequence' || o.to?.kind === 'sequence';
  if (seqBound && !o.shard) throw new TributaryError('REPLAY_OPTION_INVALID', 'a sequence-number bound belongs to one shard: pass --shard too');
  const toMs = o.to?.kind === 'time' ? o.to.ms : o.to ? undefined : (o.now ?? Date.now)();
  let shards = await shardsInLineageOrder(client, stream);
  if (o.shard) {
    shards = shards.filter((s) => s.ShardId === o.shard);
    if (shards.length === 0) throw new TributaryError('REPLAY_SHARD_UNKNOWN', `stream ${stream} has no shard ${o.shard}`);
  }
  for (const s of shards) {
    yield* readShard(client, stream, s.ShardId, o.from, toMs, o.to?.kind === 'sequence' ? BigInt(o.to.value) : undefined);
  }
}

async function* readShard(client: JsonRpcClient, stream: string, shardId: string, from: Bound | undefined, toMs: number | undefined, toSeq: bigint | undefined): AsyncGenerator<{ shardId: string; record: WireRecord }> {
  const start = from === undefined ? { ShardIteratorType: 'TRIM_HORIZON' }
    : from.kind === 'time' ? { ShardIteratorType: 'AT_TIMESTAMP', Timestamp: from.ms / 1000 }
      : { ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: from.value };
  let iterator: string | undefined = (await client.call<{ ShardIterator: string }>('GetShardIterator', { StreamName: stream, ShardId: shardId, ...start })).ShardIterator;
  let throttled = 0;
  while (iterator) {
    let r: { Records: WireRecord[]; NextShardIterator?: string; MillisBehindLatest?: number };
    try {
      r = await client.call('GetRecords', { ShardIterator: iterator, Limit: getRecordsLimitMax });
      throttled = 0;
    } catch (err) {
      if (err instanceof AwsError && err.type === 'ProvisionedThroughputExceededException') {
        await sleep(Math.min(5000, (1000 / shardReadCallsPerSecondMax) * 2 ** throttled++));
        continue;
      }
      throw err;
    }
    for (const record of r.Records) {
      if (toMs !== undefined && record.ApproximateArrivalTimestamp * 1000 > toMs) return;
      if (toSeq !== undefined && BigInt(record.SequenceNumber) > toSeq) return;
      yield { shardId, record };
    }
    // Caught up with an open shard: what arrives from now on is past the bound.
    if (r.Records.length === 0 && (r.MillisBehindLatest ?? 0) === 0) return;
    iterator = r.NextShardIterator;
  }
}
