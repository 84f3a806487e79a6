/**
 * The persisted shape of Data Streams metadata and its in-memory runtime
 * companions (open shard logs, throttles, routing keys).
 */
import { formatSequenceNumber, formatSequenceNumberFrom, sequenceCounterMax, sequenceCounterStep, sequenceNumberBase, shardIdOf } from '../../sdk/protocol/streams/sequence-number.ts';
import { hashKeyFromDecimal } from '../../sdk/protocol/streams/hash-key.ts';
import type { ShardLog } from '../storage/types.ts';
import { TokenBucket } from './throttle.ts';
import * as limits from '../../sdk/protocol/streams/limits.ts';

export type StreamStatus = 'CREATING' | 'ACTIVE' | 'UPDATING' | 'DELETING';
export type StreamMode = 'PROVISIONED' | 'ON_DEMAND';

export interface ShardMeta {
  index: number;
  parentIndex?: number;
  adjacentParentIndex?: number;
  startingHashKey: string;
  endingHashKey: string;
  createdMs: number;
  /** Set when the shard was closed by a split or merge. */
  closedMs?: number;
  /** The counter after the shard's last record (set when closed). */
  endCounter?: number;
}

export interface StreamMeta {
  name: string;
  /** Directory name of this incarnation of the stream (a re-created stream gets a new one). */
  dir: string;
  createdMs: number;
  /** Random per creation: tells a re-created stream from its predecessor within the same second. */
  incarnation?: number;
  status: StreamStatus;
  /** When the current CREATING/UPDATING/DELETING state ends. */
  statusUntilMs?: number;
  mode: StreamMode;
  retentionHours: number;
  encryption: { type: 'NONE' } | { type: 'KMS'; keyId: string };
  /** Every KeyId ever used on this stream; a record's flags hold its slot + 1. */
  keyIds: string[];
  shardLevelMetrics: string[];
  tags: Record<string, string>;
  nextShardIndex: number;
  shards: ShardMeta[];
  maxRecordSizeKiB: number;
  /** Enhanced fan-out consumers registered on this stream (consumers.ts); they go with the stream. */
  consumers?: ConsumerMeta[];
}

export interface ConsumerMeta {
  name: string;
  /** Whole seconds, as in the consumer ARN. */
  createdMs: number;
  status: 'CREATING' | 'ACTIVE' | 'DELETING';
}

export class ShardRuntime {
  readonly id: string;
  readonly startKey: Buffer;
  readonly endKey: Buffer;
  readonly writeBytes: TokenBucket;
  readonly writeRecords: TokenBucket;
  readonly readCalls: TokenBucket;
  readonly readBytes: TokenBucket;

  constructor(
    readonly meta: ShardMeta,
    readonly log: ShardLog,
    now: number,
  ) {
    this.id = shardIdOf(meta.index);
    this.startKey = hashKeyFromDecimal(meta.startingHashKey)!;
    this.endKey = hashKeyFromDecimal(meta.endingHashKey)!;
    this.writeBytes = new TokenBucket(limits.shardWriteBytesPerSecondMax, limits.shardWriteBytesPerSecondMax, now);
    this.writeRecords = new TokenBucket(limits.shardWriteRecordsPerSecondMax, limits.shardWriteRecordsPerSecondMax, now);
    this.readCalls = new TokenBucket(limits.shardReadCallsPerSecondMax, limits.shardReadCallsPerSecondMax, now);
    this.readBytes = new TokenBucket(limits.shardReadBytesPerSecondMax, limits.shardReadBytesPerSecondMax, now);
  }

  get open(): boolean {
    return this.meta.closedMs === undefined;
  }

  private baseSecond = -1;
  private base = 0n;
  /** Consecutive counters' sequence numbers (one arrival second) are 2^80 apart: the answer adds instead of formatting (put-reply.ts). */
  readonly sequenceCounterStep = sequenceCounterStep;

  /** The record's sequence number; the base for its arrival second is cached (records come in runs). */
  sequenceNumber(counter: number, recordMs: number): string {
    const second = Math.floor(recordMs / 1000);
    if (second !== this.baseSecond) {
      this.base = sequenceNumberBase({ shardCreatedMs: this.meta.createdMs, shardIndex: this.meta.index, recordMs });
      this.baseSecond = second;
    }
    return formatSequenceNumberFrom(this.base, counter);
  }

  /** The wire `Shard` structure. */
  describe(): Record<string, unknown> {
    const m = this.meta;
    return {
      ShardId: this.id,
      ParentShardId: m.parentIndex !== undefined ? shardIdOf(m.parentIndex) : undefined,
      AdjacentParentShardId: m.adjacentParentIndex !== undefined ? shardIdOf(m.adjacentParentIndex) : undefined,
      HashKeyRange: { StartingHashKey: m.startingHashKey, EndingHashKey: m.endingHashKey },
      SequenceNumberRange: {
        StartingSequenceNumber: this.sequenceNumber(0, m.createdMs),
        // AWS closes a shard with the largest sequence number the shard could have had.
        EndingSequenceNumber: m.closedMs !== undefined
          ? formatSequenceNumber({ shardCreatedMs: m.createdMs, shardIndex: m.index, counter: sequenceCounterMax, recordMs: m.closedMs })
          : undefined,
      },
    };
  }
}

/** The incarnation iterators carry (streams made before the field existed use their creation time). */
export function incarnationOf(meta: StreamMeta): number {
  return meta.incarnation ?? meta.createdMs;
}

export class StreamRuntime {
  shards: ShardRuntime[] = [];
  /** Open shards ordered by starting hash key, for routing. */
  openShards: ShardRuntime[] = [];
  timer: NodeJS.Timeout | undefined;

  constructor(public meta: StreamMeta) {}

  reindex(): void {
    this.shards.sort((a, b) => a.meta.index - b.meta.index);
    this.openShards = this.shards.filter((s) => s.open).sort((a, b) => Buffer.compare(a.startKey, b.startKey));
  }

  shard(index: number): ShardRuntime | undefined {
    return this.shards.find((s) => s.meta.index === index);
  }

  /** The open shard whose hash key range holds `hashKey`. */
  route(hashKey: Buffer): ShardRuntime {
    const shards = this.openShards;
    let lo = 0;
    let hi = shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (Buffer.compare(shards[mid]!.startKey, hashKey) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return shards[lo]!;
  }

  /** `route` for the 16-byte hash key at `at` of `keys`, without a Buffer for it. */
  routeAt(keys: Buffer, at: number): ShardRuntime {
    const shards = this.openShards;
    let lo = 0;
    let hi = shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      // The shard's start key <= the hash key.
      if (keys.compare(shards[mid]!.startKey, 0, 16, at, at + 16) >= 0) lo = mid;
      else hi = mid - 1;
    }
    return shards[lo]!;
  }

  children(index: number): ShardRuntime[] {
    return this.shards.filter((s) => s.meta.parentIndex === index || s.meta.adjacentParentIndex === index);
  }
}
