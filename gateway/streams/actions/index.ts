/** The Data Streams action table: `X-Amz-Target: Kinesis_20131202.<name>`. */
import type { StreamRegistry } from '../registry.ts';
import type { StreamsAction } from '../shapes.ts';
import { describeLimits, disableEnhancedMonitoring, enableEnhancedMonitoring, updateStreamMode } from './account.ts';
import { deregisterStreamConsumer, describeStreamConsumer, listStreamConsumers, registerStreamConsumer } from './consumers.ts';
import { createStream } from './create-stream.ts';
import { deleteStream } from './delete-stream.ts';
import { describeStream } from './describe-stream.ts';
import { describeStreamSummary } from './describe-stream-summary.ts';
import { startStreamEncryption, stopStreamEncryption } from './encryption.ts';
import { getRecords } from './get-records.ts';
import { getShardIterator } from './get-shard-iterator.ts';
import { listShards } from './list-shards.ts';
import { listStreams } from './list-streams.ts';
import { putRecord } from './put-record.ts';
import { putRecords } from './put-records.ts';
import { mergeShards, splitShard, updateShardCount } from './reshard.ts';
import { decreaseStreamRetentionPeriod, increaseStreamRetentionPeriod } from './retention.ts';
import { subscribeToShard } from './subscribe-to-shard.ts';
import { addTagsToStream, listTagsForStream, removeTagsFromStream } from './tags.ts';
import { parseConsumerArn } from '../../../sdk/protocol/streams/consumers.ts';

export const streamsTargetPrefix = 'Kinesis_20131202';

export const streamsActions: Record<string, StreamsAction> = {
  AddTagsToStream: addTagsToStream,
  CreateStream: createStream,
  DecreaseStreamRetentionPeriod: decreaseStreamRetentionPeriod,
  DeleteStream: deleteStream,
  DeregisterStreamConsumer: deregisterStreamConsumer,
  DescribeLimits: describeLimits,
  DescribeStream: describeStream,
  DescribeStreamConsumer: describeStreamConsumer,
  DescribeStreamSummary: describeStreamSummary,
  DisableEnhancedMonitoring: disableEnhancedMonitoring,
  EnableEnhancedMonitoring: enableEnhancedMonitoring,
  GetRecords: getRecords,
  GetShardIterator: getShardIterator,
  IncreaseStreamRetentionPeriod: increaseStreamRetentionPeriod,
  ListShards: listShards,
  ListStreamConsumers: listStreamConsumers,
  ListStreams: listStreams,
  ListTagsForStream: listTagsForStream,
  MergeShards: mergeShards,
  PutRecord: putRecord,
  PutRecords: putRecords,
  RegisterStreamConsumer: registerStreamConsumer,
  RemoveTagsFromStream: removeTagsFromStream,
  SplitShard: splitShard,
  StartStreamEncryption: startStreamEncryption,
  StopStreamEncryption: stopStreamEncryption,
  SubscribeToShard: subscribeToShard,
  UpdateShardCount: updateShardCount,
  UpdateStreamMode: updateStreamMode,
};

/** Calls on the account rather than one stream. */
const accountLevel = new Set(['ListStreams', 'DescribeLimits']);

/**
 * The resource a call acts on, for policies: `stream/<name>`. GetRecords names
 * its stream only inside the iterator; an iterator that does not decode is
 * refused by the action itself, so `*` is enough for it here.
 */
export function streamsResourceOf(registry: StreamRegistry, action: string, input: Record<string, unknown>): string {
  if (accountLevel.has(action)) return '*';
  if (action === 'GetRecords') {
    const it = registry.iterators.decode(String(input.ShardIterator));
    return it ? `stream/${it.streamName}` : '*';
  }
  // A consumer ARN names the stream the call acts on, whatever StreamARN says
  // (issue #11, item 4: a device's own StreamARN beside another's ConsumerARN;
  // the action refuses such a mismatched pair too).
  if (typeof input.ConsumerARN === 'string') {
    const consumer = parseConsumerArn(input.ConsumerARN);
    return consumer ? `stream/${consumer.stream}` : '*';
  }
  try {
    return `stream/${registry.nameOf(input)}`;
  } catch {
    return '*'; // Neither StreamName nor StreamARN: the action answers that.
  }
}
