/**
 * Every bound and default of the agent's uplink, in one place. Request
 * limits come from the Kinesis PutRecords API; the rest are ours.
 */
import assert from 'node:assert/strict';
import * as streamLimits from '../../sdk/protocol/streams/limits.ts';

/** AWS Kinesis API Reference, PutRecords: at most 500 records per request. */
export const batchRecordsMaxLimit = streamLimits.putRecordsEntriesMax;
/** AWS Kinesis API Reference, PutRecords: at most 5 MiB of data and partition keys per request. */
export const batchBytesMaxLimit = streamLimits.putRecordsBytesMax;

export const batchRecordsMaxDefault = batchRecordsMaxLimit;
export const batchBytesMaxDefault = batchBytesMaxLimit;
export const retryBaseMsDefault = 200;
export const retryMaxMsDefault = 30_000;
/** A day: records refused for a day (no stream, no permission) go to the dead-letter file. */
export const maxRecordAgeMsDefault = 24 * 60 * 60 * 1000;
/** A request that gets no answer within this time counts as a network error. */
export const requestTimeoutMsDefault = 30_000;
/** How often an idle uplink looks for new records (`wake()` skips the wait). */
export const idlePollMsDefault = 100;
/**
 * How often an uplink with nothing read, sent or due looks at its buffer when
 * no append woke it (the daemon's sinks call `appended()`): an idle agent does
 * not go round ten times a second (issue #15, CPU at 100 records/s).
 */
export const idleScanMsDefault = 1000;

/**
 * Adaptive pace (pacer.ts), in records per second: none until the gateway
 * throttles, then the records it accepted per second since the last
 * throttling; each answer without throttling raises it by
 * `paceIncreaseFactor`. Between two requests the pace never waits longer than
 * `throttlePauseMsMax`: a shard's budget refills for at most a second
 * (AWS Kinesis Developer Guide, Quotas and Limits: 1,000 records and 1 MiB
 * per second per shard), so a longer wait earns nothing.
 */
export const paceRecordsPerSecondMin = 1;
export const paceIncreaseFactor = 1.1;
export const throttlePauseMsMax = 1000;

/** KPL aggregation: an aggregate stays under the 1 MiB record limit with room for the envelope. */
export const aggregateBytesMax = streamLimits.recordDataBytesMax - 1024;
/** KPL envelope (magic and MD5) and a conservative per-entry protobuf overhead. */
export const aggregateEnvelopeBytes = 4 + 16;
export const aggregateEntryOverheadBytes = 24;

assert.ok(paceRecordsPerSecondMin > 0 && paceIncreaseFactor > 1 && throttlePauseMsMax > 0);
assert.ok(aggregateBytesMax < batchBytesMaxLimit);

/**
 * Lanes (lanes.ts): at most this many requests in flight per destination,
 * one per shard (adjacent shards share a lane beyond it). agent.yaml
 * `uplink.lanesMax`.
 */
export const lanesMaxDefault = 8;
export const lanesMaxLimit = 64;
/** Without the stream's shard map (ListShards refused or failing): this many lanes over equal hash key ranges. */
export const lanesWithoutShardMap = 4;
/** The shard map is read again this often while the uplink runs (resharding moves hash key ranges). */
export const shardMapTtlMs = 60_000;
/**
 * Lanes open when more than this many requests' worth of records wait, and
 * close again when the backlog is gone: a trickle goes out in one request
 * per linger, not one per lane.
 */
export const lanesOpenBacklogBatches = 4;
/**
 * Records the uplink holds read ahead of the buffer's ack position (the region), across its lanes: two
 * full requests per lane at the default `lanesMax`, one in flight and the next. Each costs about 400 bytes
 * of heap beside its data (issue #15: 20,000 took 8 MB of the agent's peak).
 */
export const regionRecordsMax = 2 * lanesMaxDefault * batchRecordsMaxLimit;
/** Data and key bytes the region holds at most (memory: the agent's footprint target). */
export const regionBytesMax = 8 * 1024 * 1024;
/**
 * The buffer's replay position (a synchronous write and two fsyncs) is
 * written at most this often while records flow (the intent file, written before every round of requests, says which
 * records are settled, so a lagging checkpoint resends nothing).
 */
export const ackIntervalMs = 200;

assert.ok(lanesMaxDefault >= 1 && lanesMaxDefault <= lanesMaxLimit && lanesWithoutShardMap <= lanesMaxLimit);
assert.ok(regionRecordsMax >= batchRecordsMaxLimit && regionBytesMax >= 1024 * 1024);

/** Destination priorities: 0 (last) to 100 (first); the config's default is the middle. */
export const priorityMax = 100;
export const priorityDefault = 50;
/** Priority holds an uplink back at most this long between two of its requests. */
export const schedulerWaitMsMaxDefault = 5_000;
/**
 * Newest-first catch-up starts when more than a batch is waiting and the
 * oldest record is at least this old (an outage, not a burst).
 */
export const catchUpAgeMsDefault = 60_000;

assert.ok(priorityDefault >= 0 && priorityDefault <= priorityMax);
