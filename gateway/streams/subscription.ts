/**
 * One SubscribeToShard subscription: the frames it sends, in the AWS
 * event-stream encoding. First an `initial-response` event, then
 * `SubscribeToShardEvent`s as records become durable (woken by the write
 * path, see shard-wakeups.ts) or at least every heartbeat, until the
 * lifetime ends (5 minutes), the shard ends (last event with ChildShards),
 * the client goes away, or the consumer or stream is deleted (a
 * ResourceNotFoundException in the stream). Reads are held to 2 MiB/s per
 * subscription when limits are enforced, as on AWS.
 */
import { encodeEventMessage, jsonEventMessage, jsonExceptionMessage } from '../../sdk/protocol/event-stream.ts';
import { consumerErrors, subscriptionHeartbeatMs, subscriptionReadBytesPerSecondMax } from '../../sdk/protocol/streams/consumers.ts';
import { formatSequenceNumber, shardIdOf } from '../../sdk/protocol/streams/sequence-number.ts';
import { toJsonText } from '../http/wire.ts';
import type { Metrics } from '../metrics.ts';
import type { StoredRecord } from '../storage/types.ts';
import type { ConsumerMeta, ShardRuntime, StreamRuntime } from './model.ts';
import type { StreamRegistry } from './registry.ts';
import { consumerDeregistered } from './consumers.ts';
import { openRecord } from './encryption.ts';
import { waitForDurable } from './shard-wakeups.ts';
import { TokenBucket } from './throttle.ts';

/** One event carries at most this many bytes of record data... */
export const subscriptionEventBytesMax = 1024 * 1024;
/** ...and at most this many records. */
export const subscriptionEventRecordsMax = 10000;
/** Readers also look for a closed shard or a deleted stream this often, without a wake-up. */
const recheckMs = 250;

export interface SubscriptionPlan {
  registry: StreamRegistry;
  metrics: Metrics;
  rt: StreamRuntime;
  shard: ShardRuntime;
  consumer: ConsumerMeta;
  /** The first counter to send. */
  startCounter: number;
  lifetimeMs: number;
  signal: AbortSignal;
}

const emptyObject = new TextEncoder().encode('{}');

export async function* subscriptionFrames(p: SubscriptionPlan): AsyncGenerator<Uint8Array> {
  const { registry, rt, shard, signal } = p;
  yield encodeEventMessage(jsonEventMessage('initial-response', emptyObject));
  // Lifetime and pacing run on the real clock; record times on the registry's (tests move it).
  const startedMs = Date.now();
  const bucket = new TokenBucket(subscriptionReadBytesPerSecondMax, subscriptionReadBytesPerSecondMax, startedMs);
  let counter = p.startCounter;
  let lastSequence: string | undefined;
  let lastEventMs = -Infinity;
  while (!signal.aborted) {
    if (registry.find(rt.meta.name) !== rt || rt.meta.status === 'DELETING' || !rt.meta.consumers?.includes(p.consumer) || p.consumer.status !== 'ACTIVE') {
      yield goneFrame(p);
      return;
    }
    const now = Date.now();
    const end = shard.open ? Infinity : shard.meta.endCounter!;
    let records: Record<string, unknown>[] = [];
    let newest: StoredRecord | undefined;
    if (counter < Math.min(end, shard.log.durableCounter) && (!registry.config.enforceLimits || bucket.available(now))) {
      const horizon = registry.now() - rt.meta.retentionHours * 3600_000;
      const read = await shard.log.read(counter, { limit: subscriptionEventRecordsMax, bytesMax: subscriptionEventBytesMax, arrivalMsMin: horizon });
      const kept = read.records.filter((r) => r.counter < end);
      counter = Math.min(read.nextCounter, end);
      let bytes = 0;
      records = kept.map((r) => {
        const wire = wireRecord(registry, rt, shard, r);
        bytes += (wire.Data as Buffer).length;
        return wire;
      });
      newest = kept.at(-1);
      if (newest) lastSequence = records.at(-1)!.SequenceNumber as string;
      bucket.charge(bytes, now);
      p.metrics.outgoingRecords.inc({ stream: rt.meta.name }, records.length);
      p.metrics.outgoingBytes.inc({ stream: rt.meta.name }, bytes);
    }
    const atEnd = !shard.open && counter >= end;
    if (records.length || atEnd || now - lastEventMs >= subscriptionHeartbeatMs) {
      const caughtUp = counter >= shard.log.durableCounter;
      const event = {
        Records: records,
        ...(atEnd ? { ChildShards: childShards(rt, shard) } : { ContinuationSequenceNumber: lastSequence ?? continuationBefore(shard, counter) }),
        MillisBehindLatest: caughtUp || !newest ? 0 : Math.max(0, registry.now() - newest.arrivalMs),
      };
      yield encodeEventMessage(jsonEventMessage('SubscribeToShardEvent', Buffer.from(toJsonText(event), 'utf8')));
      lastEventMs = now;
    }
    if (atEnd) return;
    const elapsed = Date.now() - startedMs;
    if (elapsed >= p.lifetimeMs) return;
    const throttled = registry.config.enforceLimits && !bucket.available(Date.now());
    // Checked synchronously before waiting, so no wake-up can slip between.
    if (!throttled && counter < Math.min(end, shard.log.durableCounter)) continue;
    const waitMs = Math.min(throttled ? 50 : recheckMs, subscriptionHeartbeatMs - (Date.now() - lastEventMs), p.lifetimeMs - elapsed);
    await waitForDurable(shard, waitMs, signal);
  }
  if (signal.reason === consumerDeregistered) yield goneFrame(p);
}

function goneFrame(p: SubscriptionPlan): Uint8Array {
  return encodeEventMessage(jsonExceptionMessage('ResourceNotFoundException', consumerErrors.notFound(p.consumer.name, p.rt.meta.name, p.registry.accountId).message));
}

function wireRecord(registry: StreamRegistry, rt: StreamRuntime, shard: ShardRuntime, r: StoredRecord): Record<string, unknown> {
  const { partitionKey, data } = openRecord(registry.cipher, rt.meta.keyIds, r);
  return {
    SequenceNumber: shard.sequenceNumber(r.counter, r.arrivalMs),
    ApproximateArrivalTimestamp: new Date(r.arrivalMs),
    Data: data,
    PartitionKey: partitionKey,
    ...(r.flags ? { EncryptionType: 'KMS' } : {}),
  };
}

/**
 * The sequence number to resubscribe AFTER so that the next record is
 * `counter`. For counter 0 there is no earlier record: the marker carries
 * counter 0 and arrival second 0, which SubscribeToShard reads as "before
 * the first record" (startCounterOf).
 */
export function continuationBefore(shard: ShardRuntime, counter: number): string {
  if (counter === 0) return formatSequenceNumber({ shardCreatedMs: shard.meta.createdMs, shardIndex: shard.meta.index, counter: 0n, recordMs: 0 });
  return shard.sequenceNumber(counter - 1, Math.max(shard.meta.createdMs, shard.log.lastArrivalMs));
}

function childShards(rt: StreamRuntime, shard: ShardRuntime): Record<string, unknown>[] {
  return rt.children(shard.meta.index).map((c) => ({
    ShardId: c.id,
    ParentShards: [c.meta.parentIndex, c.meta.adjacentParentIndex].filter((x): x is number => x !== undefined).map(shardIdOf),
    HashKeyRange: { StartingHashKey: c.meta.startingHashKey, EndingHashKey: c.meta.endingHashKey },
  }));
}
