/**
 * The write path shared by PutRecord and PutRecords: route each record to its
 * shard by hash key, apply the per-shard limits, encrypt when the stream is
 * encrypted, append shard by shard, and answer once every append is durable.
 *
 * Records travel in columns (`RecordColumns`): partition keys and data each
 * in one buffer with offsets, as the offload workers hand them over, so a
 * request of 500 records costs a handful of objects rather than thousands.
 * The outcome is the compact `PutTrace` (shard groups, and per record its
 * group or error) that the idempotency table also keeps; `PutRecordsReply`
 * turns it into the wire answer.
 */
import { AwsError } from '../../sdk/protocol/errors.ts';
import { hashKeyFromDecimal, hashKeyOfPartitionKey } from '../../sdk/protocol/streams/hash-key.ts';
import type { AppendEntry, AppendResult, RecordColumnsView } from '../storage/types.ts';
import type { ShardRuntime, StreamRuntime } from './model.ts';
import type { PutTrace } from './idempotency.ts';
import type { StreamRegistry } from './registry.ts';
import { sealRecord } from './encryption.ts';
import { notifyWhenDurable } from './shard-wakeups.ts';
import { PutRecordsReply } from './put-reply.ts';

export interface PutEntry {
  Data: Buffer;
  PartitionKey: string;
  ExplicitHashKey?: string;
}

export type PutResult =
  | { ShardId: string; SequenceNumber: string }
  | { ErrorCode: string; ErrorMessage: string };

/**
 * A request's records in columns: record i's partition key is the UTF-8
 * `keys[keyOff[i], keyOff[i + 1])`, its data `data[dataOff[i], dataOff[i + 1])`.
 * `hashKeys` (16 bytes per record) are the hash keys an offload worker
 * already derived, valid where `hashKeyValid[i]` is 1; a 0 there, or no
 * `hashKeys`, means: derive here (and report a bad ExplicitHashKey).
 */
export class RecordColumns implements RecordColumnsView {
  constructor(
    readonly count: number,
    readonly keys: Buffer,
    readonly keyOff: Int32Array,
    readonly data: Buffer,
    readonly dataOff: Int32Array,
    readonly explicitHashKeys: ReadonlyArray<string | undefined> | undefined,
    readonly hashKeys?: Buffer,
    readonly hashKeyValid?: Uint8Array,
  ) {}

  static fromEntries(entries: readonly PutEntry[]): RecordColumns {
    const n = entries.length;
    const keyOff = new Int32Array(n + 1);
    const dataOff = new Int32Array(n + 1);
    let explicit: Array<string | undefined> | undefined;
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      keyOff[i + 1] = keyOff[i]! + Buffer.byteLength(e.PartitionKey, 'utf8');
      dataOff[i + 1] = dataOff[i]! + e.Data.length;
      if (e.ExplicitHashKey !== undefined) (explicit ??= new Array<string | undefined>(n))[i] = e.ExplicitHashKey;
    }
    const keys = Buffer.allocUnsafe(keyOff[n]!);
    const data = n === 1 ? entries[0]!.Data : Buffer.allocUnsafe(dataOff[n]!);
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      keys.write(e.PartitionKey, keyOff[i]!, 'utf8');
      if (n !== 1) e.Data.copy(data, dataOff[i]!);
    }
    return new RecordColumns(n, keys, keyOff, data, dataOff, explicit);
  }

  partitionKey(i: number): string {
    return this.keys.toString('utf8', this.keyOff[i]!, this.keyOff[i + 1]!);
  }

  keyBytes(i: number): number {
    return this.keyOff[i + 1]! - this.keyOff[i]!;
  }

  dataBytes(i: number): number {
    return this.dataOff[i + 1]! - this.dataOff[i]!;
  }

  dataOf(i: number): Buffer {
    return this.data.subarray(this.dataOff[i]!, this.dataOff[i + 1]!);
  }
}

export function throttledMessage(reg: StreamRegistry, rt: StreamRuntime, shard: ShardRuntime): string {
  return `Rate exceeded for shard ${shard.id} in stream ${rt.meta.name} under account ${reg.accountId}.`;
}

function badHashKey(value: string): AwsError {
  return new AwsError('InvalidArgumentException', `Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ${value}`);
}

/**
 * The shard each record goes to; a bad ExplicitHashKey fails the whole
 * request (the first one in request order is named), as on AWS.
 */
export function routeColumns(rt: StreamRuntime, cols: RecordColumns): ShardRuntime[] {
  const out = new Array<ShardRuntime>(cols.count);
  const { hashKeys, hashKeyValid, explicitHashKeys } = cols;
  for (let i = 0; i < cols.count; i++) {
    if (hashKeys && hashKeyValid![i]) {
      out[i] = rt.routeAt(hashKeys, 16 * i);
      continue;
    }
    const explicit = explicitHashKeys?.[i];
    let key: Buffer | undefined;
    if (explicit !== undefined) {
      key = hashKeyFromDecimal(explicit);
      if (!key) throw badHashKey(explicit);
    } else key = hashKeyOfPartitionKey(cols.partitionKey(i));
    out[i] = rt.route(key);
  }
  return out;
}

/** The shard of each entry (PutRecord, analytics outputs); see routeColumns. */
export function routeEntries(rt: StreamRuntime, entries: PutEntry[]): ShardRuntime[] {
  return entries.map((e) => {
    if (e.ExplicitHashKey !== undefined) {
      const key = hashKeyFromDecimal(e.ExplicitHashKey);
      if (!key) throw badHashKey(e.ExplicitHashKey);
      return rt.route(key);
    }
    return rt.route(hashKeyOfPartitionKey(e.PartitionKey));
  });
}

/**
 * Appends the records shard by shard, in request order within each shard,
 * and resolves once all are durable. `trace`, when given, is filled in (the
 * idempotency table remembers it); the reply is built from it either way.
 */
export async function putColumns(reg: StreamRegistry, rt: StreamRuntime, cols: RecordColumns, shards: ShardRuntime[], trace?: PutTrace): Promise<PutRecordsReply> {
  const now = reg.now();
  const n = cols.count;
  const enc = rt.meta.encryption;
  let flags = 0;
  if (enc.type === 'KMS') {
    const slot = rt.meta.keyIds.indexOf(enc.keyId);
    if (slot < 0) throw new Error('encryption key slot missing'); // StartStreamEncryption records it
    flags = slot + 1;
  }
  const t: PutTrace = trace ?? { groups: [], slots: new Int32Array(0), errors: [] };
  const slots = new Int32Array(n);
  t.slots = slots;
  // Per record its group (the shard's, numbered in order of first appearance) or -1 when refused.
  const groupShards: ShardRuntime[] = [];
  const groupSizes: number[] = [];
  let throttledShards: Set<ShardRuntime> | undefined;
  let lastShard: ShardRuntime | undefined;
  let lastGroup = -1;
  for (let i = 0; i < n; i++) {
    const shard = shards[i]!;
    if (reg.config.enforceLimits) {
      const bytes = cols.dataBytes(i) + cols.keyBytes(i);
      // Once a shard refuses a record of this request, it refuses the rest of the request's records too:
      // a key's later records are never stored ahead of a refused earlier one.
      if (throttledShards?.has(shard) || !shard.writeRecords.tryTake(1, now) || !shard.writeBytes.tryTake(bytes, now)) {
        (throttledShards ??= new Set()).add(shard);
        slots[i] = -1;
        continue;
      }
    }
    let g: number;
    if (shard === lastShard) g = lastGroup;
    else {
      g = groupShards.indexOf(shard);
      if (g < 0) {
        g = groupShards.push(shard) - 1;
        groupSizes.push(0);
      }
      lastShard = shard;
      lastGroup = g;
    }
    slots[i] = g;
    groupSizes[g]!++;
  }
  // Each group's records in request order, one after another in `order`.
  const starts = new Int32Array(groupShards.length + 1);
  for (let g = 0; g < groupShards.length; g++) starts[g + 1] = starts[g]! + groupSizes[g]!;
  const order = new Int32Array(starts[groupShards.length]!);
  const fill = starts.slice(0, groupShards.length);
  for (let i = 0; i < n; i++) {
    const g = slots[i]!;
    if (g >= 0) order[fill[g]!++] = i;
  }
  const waits: Promise<void>[] = [];
  for (let g = 0; g < groupShards.length; g++) {
    const shard = groupShards[g]!;
    const r = flags
      ? shard.log.append(sealedEntries(reg, enc.type === 'KMS' ? enc.keyId : '', cols, order, starts[g]!, starts[g + 1]!, flags))
      : appendColumns(shard, cols, order, starts[g]!, starts[g + 1]!);
    waits.push(r.durable);
    notifyWhenDurable(shard, r.durable);
    t.groups.push({ shardId: shard.id, firstCounter: r.firstCounter, count: groupSizes[g]!, arrivalMs: r.arrivalMs });
  }
  for (let i = 0; i < n; i++) {
    if (slots[i] === -1) {
      const message = throttledMessage(reg, rt, shards[i]!);
      slots[i] = -1 - (t.errors.push(['ProvisionedThroughputExceededException', message]) - 1);
    }
  }
  await Promise.all(waits);
  return new PutRecordsReply(t, groupShards, enc.type);
}

function appendColumns(shard: ShardRuntime, cols: RecordColumns, order: Int32Array, from: number, to: number): AppendResult {
  if (shard.log.appendColumns) return shard.log.appendColumns(cols, order.subarray(from, to), 0);
  const entries: AppendEntry[] = [];
  for (let k = from; k < to; k++) entries.push({ partitionKey: cols.partitionKey(order[k]!), data: cols.dataOf(order[k]!), flags: 0 });
  return shard.log.append(entries);
}

function sealedEntries(reg: StreamRegistry, keyId: string, cols: RecordColumns, order: Int32Array, from: number, to: number, flags: number): AppendEntry[] {
  const entries: AppendEntry[] = [];
  for (let k = from; k < to; k++) {
    const i = order[k]!;
    entries.push({ ...sealRecord(reg.cipher, keyId, cols.partitionKey(i), cols.dataOf(i)), flags });
  }
  return entries;
}

/** putColumns for records as objects (PutRecord, analytics outputs): the per-record results in request order. */
export async function putEntries(reg: StreamRegistry, rt: StreamRuntime, entries: PutEntry[], shards: ShardRuntime[], trace?: PutTrace): Promise<PutResult[]> {
  const reply = await putColumns(reg, rt, RecordColumns.fromEntries(entries), shards, trace);
  return reply.Records;
}
