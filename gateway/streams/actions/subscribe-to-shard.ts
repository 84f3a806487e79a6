/**
 * SubscribeToShard: checks the consumer, the shard and the starting position,
 * claims the consumer's slot on the shard, and answers with an event stream
 * (subscription.ts writes the frames; the front door sends them).
 */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import { consumerErrors, subscribeRepeatWindowMs } from '../../../sdk/protocol/streams/consumers.ts';
import { parseSequenceNumber, shardIdOf } from '../../../sdk/protocol/streams/sequence-number.ts';
import { EventStreamReply } from '../../http/event-stream-reply.ts';
import { consumerArnOf, resolveConsumerArn, subscriptionsOf } from '../consumers.ts';
import type { ShardRuntime, StreamRuntime } from '../model.ts';
import type { StreamRegistry } from '../registry.ts';
import { SequenceNumber, ShardId, structure, type StreamsAction } from '../shapes.ts';
import { subscriptionFrames } from '../subscription.ts';
import { ConsumerARN } from './consumers.ts';
import { findShardById, requireWritable } from './common.ts';

const startingPositionTypes = ['AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER', 'TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'] as const;
type StartingPositionType = (typeof startingPositionTypes)[number];

export const subscribeToShard: StreamsAction = {
  shape: structure({
    ConsumerARN: { ...ConsumerARN, required: true },
    ShardId: { ...ShardId, required: true },
    StartingPosition: {
      type: 'structure',
      required: true,
      members: {
        Type: { type: 'string', required: true, enum: startingPositionTypes },
        SequenceNumber,
        Timestamp: { type: 'timestamp' },
      },
    },
  }),
  async handle({ registry, metrics }, input) {
    const { rt, consumer } = resolveConsumerArn(registry, input.ConsumerARN as string);
    requireWritable(registry, rt);
    const acct = registry.accountId;
    if (consumer.status !== 'ACTIVE') throw consumerErrors.notActiveForSubscribe(consumer.name, Math.floor(consumer.createdMs / 1000), rt.meta.name, acct);
    const shard = findShardById(registry, rt, input.ShardId as string);
    const position = input.StartingPosition as { Type: StartingPositionType; SequenceNumber?: string; Timestamp?: number };
    const startCounter = await startCounterOf(registry, rt, shard, position);

    const arn = consumerArnOf(registry, rt, consumer);
    const lifetimeMs = registry.config.subscriptionLifetimeMs;
    const windowMs = Math.min(subscribeRepeatWindowMs, lifetimeMs);
    const controller = new AbortController();
    const subscriptions = subscriptionsOf(registry);
    if (!subscriptions.claim(arn, shard.id, Date.now(), windowMs, controller)) throw consumerErrors.subscribed(acct, rt.meta.name, shard.id, consumer.name);
    const frames = subscriptionFrames({ registry, metrics, rt, shard, consumer, startCounter, lifetimeMs, signal: controller.signal });
    async function* released(): AsyncGenerator<Uint8Array> {
      try {
        yield* frames;
      } finally {
        subscriptions.release(arn, shard.id, controller, windowMs);
      }
    }
    return new EventStreamReply(released(), controller);
  },
};

/** The first counter a subscription sends, from its StartingPosition (GetShardIterator's rules). */
async function startCounterOf(
  registry: StreamRegistry, rt: StreamRuntime, shard: ShardRuntime, position: { Type: StartingPositionType; SequenceNumber?: string; Timestamp?: number },
): Promise<number> {
  const { Type: type, SequenceNumber: seq } = position;
  const bySequence = type === 'AT_SEQUENCE_NUMBER' || type === 'AFTER_SEQUENCE_NUMBER';
  if (bySequence !== (seq !== undefined) && type !== 'AT_TIMESTAMP') {
    throw new AwsError(
      'InvalidArgumentException',
      'Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and SequenceNumber or ' +
        '(2) TRIM_HORIZON or LATEST and no SequenceNumber. ' +
        `Request specified ${type} and ${seq !== undefined ? 'also a' : 'no'} SequenceNumber.`,
    );
  }
  const end = shard.open ? Infinity : shard.meta.endCounter!;
  switch (type) {
    case 'TRIM_HORIZON':
      return shard.log.firstCounter();
    case 'LATEST':
      return shard.open ? shard.log.nextCounter : end;
    case 'AT_TIMESTAMP': {
      const ts = position.Timestamp;
      if (ts === undefined) {
        throw new AwsError('InvalidArgumentException', 'Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.');
      }
      const now = registry.now();
      if (ts > now) {
        throw new AwsError('InvalidArgumentException', `The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: ${ts}, currentTimestampInMillis: ${now}`);
      }
      return Math.min(await shard.log.counterAtTime(ts), end);
    }
    default: {
      const name = rt.meta.name;
      const acct = registry.accountId;
      const parts = parseSequenceNumber(seq!);
      if (!parts) {
        throw new AwsError('InvalidArgumentException', `StartingSequenceNumber ${seq} used in SubscribeToShard on shard ${shard.id} in stream ${name} under account ${acct} is invalid.`);
      }
      if (parts.shardIndex !== shard.meta.index) {
        throw new AwsError('InvalidArgumentException', `Invalid StartingSequenceNumber. It encodes ${shardIdOf(parts.shardIndex)}, while it was used in a call to a shard with ${shard.id}`);
      }
      if (parts.shardCreatedMs !== Math.floor(shard.meta.createdMs / 1000) * 1000) {
        throw new AwsError('InvalidArgumentException', `StartingSequenceNumber ${seq} used in SubscribeToShard on shard ${shard.id} in stream ${name} under account ${acct} is invalid because it did not come from this stream.`);
      }
      const c = parts.counter > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(parts.counter);
      // Arrival second 0 is the "before the first record" marker a continuation carries for counter 0.
      const after = type === 'AFTER_SEQUENCE_NUMBER' && !(c === 0 && parts.recordMs === 0);
      return Math.min(after ? c + 1 : c, end);
    }
  }
}
