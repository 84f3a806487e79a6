/**
 * The write path shared by PutRecord and PutRecords: route each record to its
 * shard by hash key, apply the per-shard limits, encrypt when the stream is
 * encrypted, append shard by shard, and answer once every append has settled:
 * a shard whose append failed answers its records with a per-record
 * InternalFailure, as AWS does, and the other shards' records stand.
 *
 * Records travel as frames (`RecordFrames`), as the offload workers hand
 * them over: a request of 500 records costs a handful of objects rather than
 * thousands, and the main thread neither copies nor sums a record's bytes.
 * The outcome is the compact `PutTrace` (shard groups, and per record its
 * group or error) that the idempotency table also keeps; `PutRecordsReply`
 * turns it into the wire answer.
 */
import { AwsError } from '../../sdk/protocol/errors.ts';
import { hashKeyFromDecimal, hashKeyOfPartitionKey } from '../../sdk/protocol/streams/hash-key.ts';
import { durableCountOf, type AppendEntry, type AppendResult, type RecordFramesView } from '../storage/types.ts';
import { crc32cRange } from '../storage/local/crc.ts';
import { frameHeaderBytes, frameTemplate } from '../storage/local/record-codec.ts';
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
 * A request's records, each already laid out as a shard-log frame
 * (storage/local/record-codec.ts) that the shard log only has to stamp with
 * counter, arrival time and CRC (RecordFramesView): the offload workers build
 * them from the request body. `hashKeys` (16 bytes per record) are the hash
 * keys a worker already derived, valid where `hashKeyValid[i]` is 1; a 0
 * there, or no `hashKeys`, means: derive here (and report a bad ExplicitHashKey).
 */
export class RecordFrames implements RecordFramesView {
  constructor(
    readonly count: number,
    readonly frames: Buffer,
    readonly frameOff: Int32Array,
    readonly tailCrc: Uint32Array,
    readonly explicitHashKeys: ReadonlyArray<string | undefined> | undefined,
    readonly hashKeys?: Buffer,
    readonly hashKeyValid?: Uint8Array,
  ) {}

  static fromEntries(entries: readonly PutEntry[]): RecordFrames {
    const f = framesOfEntries(entries);
    let explicit: Array<string | undefined> | undefined;
    entries.forEach((e, i) => {
      if (e.ExplicitHashKey !== undefined) (explicit ??= new Array<string | undefined>(entries.length))[i] = e.ExplicitHashKey;
    });
    return new RecordFrames(entries.length, f.frames, f.frameOff, f.tailCrc, explicit);
  }

  /**
   * Set by the offload path: hands the frames' buffer back for reuse. Call
   * only once nothing refers to the frames any more: every append of them
   * settled with the records stored (a failed append may still be writing them).
   */
  release?: () => void;

  keyBytes(i: number): number {
    const at = this.frameOff[i]!;
    return this.frames[at + 10]! | (this.frames[at + 11]! << 8);
  }

  dataBytes(i: number): number {
    return this.frameOff[i + 1]! - this.frameOff[i]! - frameHeaderBytes - this.keyBytes(i);
  }

  /** Partition key and data bytes of all records (what PutRecords' 5 MiB limit counts). */
  payloadBytes(): number {
    return this.frameOff[this.count]! - frameHeaderBytes * this.count;
  }

  partitionKey(i: number): string {
    const at = this.frameOff[i]! + frameHeaderBytes;
    return this.frames.toString('utf8', at, at + this.keyBytes(i));
  }

  dataOf(i: number): Buffer {
    return this.frames.subarray(this.frameOff[i]! + frameHeaderBytes + this.keyBytes(i), this.frameOff[i + 1]!);
  }
}

/**
 * Frames for records given as objects, in buffers of their own (so that a
 * worker can transfer them): one frame per entry, and each one's tail CRC.
 */
export function framesOfEntries(entries: ReadonlyArray<{ PartitionKey: string; Data: Buffer }>): RecordFramesView {
  const n = entries.length;
  const frameOff = new Int32Array(new ArrayBuffer(4 * (n + 1)));
  const keyBytes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    keyBytes[i] = Buffer.byteLength(e.PartitionKey, 'utf8');
    frameOff[i + 1] = frameOff[i]! + frameHeaderBytes + keyBytes[i]! + e.Data.length;
  }
  const frames = Buffer.allocUnsafeSlow(frameOff[n]!);
  const tailCrc = new Uint32Array(new ArrayBuffer(4 * n));
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    const at = frameOff[i]!;
    frameTemplate(frames, at, keyBytes[i]!, e.Data.length);
    frames.write(e.PartitionKey, at + frameHeaderBytes, 'utf8');
    e.Data.copy(frames, at + frameHeaderBytes + keyBytes[i]!);
    tailCrc[i] = crc32cRange(frames, at + frameHeaderBytes, frameOff[i + 1]!);
  }
  return { frames, frameOff, tailCrc };
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
export function routeFrames(rt: StreamRuntime, cols: RecordFrames): ShardRuntime[] {
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

/** The shard of each entry (PutRecord, analytics outputs); see routeFrames. */
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
 * and resolves once every append is durable or failed (failGroup). `trace`, when given, is filled in (the
 * idempotency table remembers it); the reply is built from it either way.
 */
export async function putFrames(reg: StreamRegistry, rt: StreamRuntime, cols: RecordFrames, shards: ShardRuntime[], trace?: PutTrace): Promise<PutRecordsReply> {
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
  const waits: Array<Promise<void>> = [];
  for (let g = 0; g < groupShards.length; g++) {
    const shard = groupShards[g]!;
    const r = flags
      ? shard.log.append(sealedEntries(reg, enc.type === 'KMS' ? enc.keyId : '', cols, order, starts[g]!, starts[g + 1]!, flags))
      : appendFrames(shard, cols, order, starts[g]!, starts[g + 1]!);
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
  const settled = await Promise.allSettled(waits);
  for (let g = 0; g < groupShards.length; g++) {
    const s = settled[g]!;
    if (s.status === 'rejected') failGroup(reg, rt, t, g, order.subarray(starts[g]!, starts[g + 1]!), s.reason);
  }
  return new PutRecordsReply(t, groupShards, enc.type);
}

/**
 * AWS's answer for a record the service failed to store (PutRecordsResultEntry):
 * the API reference words it "Internal Service Failure"; the service sends
 * this (responses quoted in client libraries' issues and wikis).
 */
export const internalFailureMessage = 'Internal service failure.';

/**
 * A shard's append failed (a refused expected-last-sequence, a lost NATS
 * node, a disk error): its records after the ones the log still reports
 * durable get a per-record InternalFailure, as AWS answers a record it could
 * not store, while the request's other shards keep their results. So the
 * client retries only those records, instead of the whole request, whose
 * stored records a retry would store twice. `members` are the group's
 * records in request order (the order the log appended them in).
 */
function failGroup(reg: StreamRegistry, rt: StreamRuntime, t: PutTrace, g: number, members: Int32Array, reason: unknown): void {
  const group = t.groups[g]!;
  const stored = durableCountOf(reason, group.count);
  reg.log.warn('shard append failed; its records answer InternalFailure', {
    stream: rt.meta.name, shard: group.shardId, records: group.count, stored,
    code: (reason as { code?: unknown })?.code, err: String((reason as Error)?.message ?? reason),
  });
  group.count = stored;
  let e = t.errors.findIndex(([code]) => code === 'InternalFailure');
  if (e < 0) e = t.errors.push(['InternalFailure', internalFailureMessage]) - 1;
  for (let k = stored; k < members.length; k++) t.slots[members[k]!] = -1 - e;
}

function appendFrames(shard: ShardRuntime, cols: RecordFrames, order: Int32Array, from: number, to: number): AppendResult {
  if (shard.log.appendFrames) return shard.log.appendFrames(cols, order.subarray(from, to), 0);
  const entries: AppendEntry[] = [];
  for (let k = from; k < to; k++) entries.push({ partitionKey: cols.partitionKey(order[k]!), data: cols.dataOf(order[k]!), flags: 0 });
  return shard.log.append(entries);
}

function sealedEntries(reg: StreamRegistry, keyId: string, cols: RecordFrames, order: Int32Array, from: number, to: number, flags: number): AppendEntry[] {
  const entries: AppendEntry[] = [];
  for (let k = from; k < to; k++) {
    const i = order[k]!;
    entries.push({ ...sealRecord(reg.cipher, keyId, cols.partitionKey(i), cols.dataOf(i)), flags });
  }
  return entries;
}

/** putFrames for records as objects (PutRecord, analytics outputs): the per-record results in request order. */
export async function putEntries(reg: StreamRegistry, rt: StreamRuntime, entries: PutEntry[], shards: ShardRuntime[], trace?: PutTrace): Promise<PutResult[]> {
  const reply = await putFrames(reg, rt, RecordFrames.fromEntries(entries), shards, trace);
  return reply.Records;
}
