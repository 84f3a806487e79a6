/**
 * The write path shared by PutRecord and PutRecords: route each record to its
 * shard by hash key, apply the per-shard limits, encrypt when the stream is
 * encrypted, append shard by shard, and answer once every append is durable.
 */
import { AwsError } from '../../sdk/protocol/errors.ts';
import { hashKeyFromDecimal, hashKeyOfPartitionKey } from '../../sdk/protocol/streams/hash-key.ts';
import type { AppendEntry } from '../storage/types.ts';
import type { ShardRuntime, StreamRuntime } from './model.ts';
import type { PutTrace } from './idempotency.ts';
import type { StreamRegistry } from './registry.ts';
import { sealRecord } from './encryption.ts';
import { notifyWhenDurable } from './shard-wakeups.ts';

export interface PutEntry {
  Data: Buffer;
  PartitionKey: string;
  ExplicitHashKey?: string;
}

export type PutResult =
  | { ShardId: string; SequenceNumber: string }
  | { ErrorCode: string; ErrorMessage: string };

export function throttledMessage(reg: StreamRegistry, rt: StreamRuntime, shard: ShardRuntime): string {
  return `Rate exceeded for shard ${shard.id} in stream ${rt.meta.name} under account ${reg.accountId}.`;
}

/**
 * The shard each entry goes to; a bad ExplicitHashKey fails the whole request,
 * as on AWS. `precomputed` holds hash keys an offload worker already derived.
 */
export function routeEntries(rt: StreamRuntime, entries: PutEntry[], precomputed?: Array<Buffer | undefined>): ShardRuntime[] {
  return entries.map((e, i) => {
    let key: Buffer | undefined = precomputed?.[i];
    if (key) return rt.route(key);
    if (e.ExplicitHashKey !== undefined) {
      key = hashKeyFromDecimal(e.ExplicitHashKey);
      if (!key) {
        throw new AwsError('InvalidArgumentException', `Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ${e.ExplicitHashKey}`);
      }
    } else key = hashKeyOfPartitionKey(e.PartitionKey);
    return rt.route(key);
  });
}

/**
 * Appends the entries shard by shard and resolves once all are durable.
 * `trace`, when given, receives the shard groups and per-entry outcome in
 * compact form (the idempotency table remembers answers that way).
 */
export async function putEntries(reg: StreamRegistry, rt: StreamRuntime, entries: PutEntry[], shards: ShardRuntime[], trace?: PutTrace): Promise<PutResult[]> {
  const now = reg.now();
  const results: PutResult[] = new Array(entries.length);
  const enc = rt.meta.encryption;
  let flags = 0;
  if (enc.type === 'KMS') {
    let slot = rt.meta.keyIds.indexOf(enc.keyId);
    if (slot < 0) throw new Error('encryption key slot missing'); // StartStreamEncryption records it
    flags = slot + 1;
  }
  let throttledShards: Set<ShardRuntime> | undefined;
  // Group per shard, keeping request order within each shard.
  const groups = new Map<ShardRuntime, { entries: AppendEntry[]; positions: number[] }>();
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const shard = shards[i]!;
    if (reg.config.enforceLimits) {
      const bytes = e.Data.length + Buffer.byteLength(e.PartitionKey);
      // Once a shard refuses a record of this request, it refuses the rest of the request's records too:
      // a key's later records are never stored ahead of a refused earlier one.
      if (throttledShards?.has(shard) || !shard.writeRecords.tryTake(1, now) || !shard.writeBytes.tryTake(bytes, now)) {
        (throttledShards ??= new Set()).add(shard);
        results[i] = { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: throttledMessage(reg, rt, shard) };
        continue;
      }
    }
    let g = groups.get(shard);
    if (!g) {
      g = { entries: [], positions: [] };
      groups.set(shard, g);
    }
    g.entries.push(flags ? { ...sealRecord(reg.cipher, enc.type === 'KMS' ? enc.keyId : '', e.PartitionKey, e.Data), flags } : { partitionKey: e.PartitionKey, data: e.Data, flags });
    g.positions.push(i);
  }
  const waits: Promise<void>[] = [];
  if (trace) trace.slots = new Int32Array(entries.length);
  for (const [shard, g] of groups) {
    const r = shard.log.append(g.entries);
    waits.push(r.durable);
    notifyWhenDurable(shard, r.durable);
    if (trace) {
      const slot = trace.groups.push({ shardId: shard.id, firstCounter: r.firstCounter, count: g.positions.length, arrivalMs: r.arrivalMs }) - 1;
      for (const i of g.positions) trace.slots[i] = slot;
    }
    const prefix = shard;
    for (let k = 0; k < g.positions.length; k++) {
      results[g.positions[k]!] = { ShardId: prefix.id, SequenceNumber: shard.sequenceNumber(r.firstCounter + k, r.arrivalMs) };
    }
  }
  if (trace) {
    results.forEach((r, i) => {
      if ('ErrorCode' in r) trace.slots[i] = -1 - (trace.errors.push([r.ErrorCode, r.ErrorMessage]) - 1);
    });
  }
  await Promise.all(waits);
  return results;
}
