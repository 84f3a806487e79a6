/**
 * Where a consumer's records come from: one shard at a time, from a start
 * position, as a sequence of batches. Two implementations: polling with
 * GetShardIterator/GetRecords (`PollingShardSource`, polling-source.ts) and
 * enhanced fan-out with SubscribeToShard (`FanOutShardSource`,
 * fanout-source.ts). The consumer does not care which one it reads.
 */

/** A record as Kinesis returns it (Data already base64-decoded). */
export interface StreamRecord {
  sequenceNumber: string;
  partitionKey: string;
  data: Uint8Array;
  approximateArrivalTimestampMs: number;
  encryptionType?: string;
}

export type StartPosition =
  | { type: 'TRIM_HORIZON' }
  | { type: 'LATEST' }
  | { type: 'AT_SEQUENCE_NUMBER'; sequenceNumber: string }
  | { type: 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string }
  | { type: 'AT_TIMESTAMP'; timestampMs: number };

export interface ChildShardRef {
  shardId: string;
  parentShards: string[];
}

export interface ShardBatch {
  /** Raw Kinesis records, possibly KPL-aggregated; the consumer deaggregates. */
  records: StreamRecord[];
  millisBehindLatest: number;
  /**
   * Set when the shard is closed and every record of it was delivered (the
   * last batch of a shard): the shards that continue it.
   */
  childShards?: ChildShardRef[];
}

export interface ShardSource {
  /**
   * Reads `shardId` from `start` until the shard ends (a batch with
   * `childShards`, then the iterable finishes) or `signal` aborts (the
   * iterable finishes without error). Transient errors are retried inside;
   * errors that will not go away (stream deleted, access denied) are thrown.
   */
  read(stream: string, shardId: string, start: StartPosition, signal: AbortSignal): AsyncIterable<ShardBatch>;
}
