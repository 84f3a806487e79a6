/**
 * Kinesis Data Streams limits, each cited to the AWS page it comes from.
 * The gateway enforces them; the SDK's producer plans batches with them.
 */
import assert from 'node:assert/strict';

/** API Reference, PutRecord/PutRecords: data blob at most 1 MiB (before base64). */
export const recordDataBytesMax = 1024 * 1024;
/** API Reference, PutRecord: partition key 1..256 Unicode characters. */
export const partitionKeyLengthMax = 256;
/** API Reference, PutRecords: 1..500 records per request. */
export const putRecordsEntriesMax = 500;
/** API Reference, PutRecords: at most 5 MiB per request, partition keys included. */
export const putRecordsBytesMax = 5 * 1024 * 1024;
/** Developer Guide, Quotas: per shard, 1 MiB/s of writes. */
export const shardWriteBytesPerSecondMax = 1024 * 1024;
/** Developer Guide, Quotas: per shard, 1,000 records/s of writes. */
export const shardWriteRecordsPerSecondMax = 1000;
/** Developer Guide, Quotas: per shard, 5 GetRecords transactions/s. */
export const shardReadCallsPerSecondMax = 5;
/** Developer Guide, Quotas: per shard, 2 MiB/s of reads. */
export const shardReadBytesPerSecondMax = 2 * 1024 * 1024;
/** API Reference, GetRecords: Limit 1..10,000 records (the default). */
export const getRecordsLimitMax = 10000;
/** API Reference, GetRecords: at most 10 MiB per call. */
export const getRecordsBytesMax = 10 * 1024 * 1024;
/** API Reference, GetShardIterator: iterators are valid for 5 minutes. */
export const shardIteratorTtlMs = 5 * 60 * 1000;
/** API Reference, GetShardIterator: iterators are 1..512 characters. */
export const shardIteratorLengthMax = 512;
/** Developer Guide, Changing the data retention period: 24 h default... */
export const retentionHoursDefault = 24;
/** ...down to 24 h... */
export const retentionHoursMin = 24;
/** ...and up to 8,760 h (365 days). */
export const retentionHoursMax = 8760;
/** API Reference, CreateStream: stream names are 1..128 of [a-zA-Z0-9_.-]. */
export const streamNameLengthMax = 128;
export const streamNamePattern = '[a-zA-Z0-9_.-]+';
/** API Reference, StreamARN: 1..2048 characters. */
export const streamArnLengthMax = 2048;
export const streamArnPattern = 'arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+';
/** API Reference, ExplicitHashKey/NewStartingHashKey pattern. */
export const hashKeyPattern = '0|([1-9]\\d{0,38})';
/** API Reference, SequenceNumber pattern. */
export const sequenceNumberPattern = '0|([1-9]\\d{0,128})';
/** Developer Guide, On-demand mode: a new on-demand stream starts with 4 shards. */
export const onDemandShardCountDefault = 4;
/** Developer Guide, Quotas: default shard quota per account and Region (us-east-1 etc.: 500). */
export const accountShardLimitDefault = 500;
/** Developer Guide, Quotas: on-demand streams per account. */
export const onDemandStreamCountLimitDefault = 50;
/** API Reference, AddTagsToStream: at most 50 tags per call; a stream holds at most 50 tags. */
export const tagsPerStreamMax = 50;
/** API Reference, Tag: keys 1..128, values 0..256 characters. */
export const tagKeyLengthMax = 128;
export const tagValueLengthMax = 256;
/** API Reference, ListTagsForStream: Limit 1..50. */
export const listTagsLimitMax = 50;
/** API Reference, DescribeStream / ListStreams / ListShards: limits 1..10,000 (DescribeStream's default 100). */
export const listLimitMax = 10000;
export const describeStreamLimitDefault = 100;
/** API Reference, ListShards: MaxResults default is 1,000 shards. */
export const listShardsMaxResultsDefault = 1000;
/** API Reference, ListStreams: Limit default is 100 streams. */
export const listStreamsLimitDefault = 100;
/** API Reference, ListShards: a NextToken is valid for 300 seconds. */
export const listShardsNextTokenTtlMs = 300 * 1000;
/** The hash key space: 2^128 keys. */
export const hashKeyMax = (1n << 128n) - 1n;

assert.ok(putRecordsBytesMax >= recordDataBytesMax + partitionKeyLengthMax, 'a single maximal record must fit a PutRecords');
assert.ok(getRecordsBytesMax >= recordDataBytesMax, 'GetRecords must be able to return a maximal record');
assert.ok(retentionHoursMin <= retentionHoursDefault && retentionHoursDefault <= retentionHoursMax);
