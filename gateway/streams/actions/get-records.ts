import { AwsError, streamErrors } from '../../../sdk/protocol/errors.ts';
import * as limits from '../../../sdk/protocol/streams/limits.ts';
import { shardIdOf } from '../../../sdk/protocol/streams/sequence-number.ts';
import { javaDateString } from '../iterator.ts';
import { openRecord } from '../encryption.ts';
import { incarnationOf } from '../model.ts';
import { StreamARN, StreamId, structure, type StreamsAction } from '../shapes.ts';

export const getRecords: StreamsAction = {
  shape: structure({
    Limit: { type: 'integer', min: 1, max: limits.getRecordsLimitMax },
    ShardIterator: { type: 'string', required: true, min: 1, max: limits.shardIteratorLengthMax },
    StreamARN,
    StreamId,
  }),
  async handle({ registry, metrics }, input) {
    const it = registry.iterators.decode(input.ShardIterator as string);
    if (!it) throw new AwsError('InvalidArgumentException', 'Invalid ShardIterator.');
    const now = registry.now();
    if (now - it.issuedMs > limits.shardIteratorTtlMs) {
      throw new AwsError(
        'ExpiredIteratorException',
        `Iterator expired. The iterator was created at time ${javaDateString(it.issuedMs)} while right now it is ${javaDateString(now)} ` +
          `which is further in the future than the tolerated delay of ${limits.shardIteratorTtlMs} milliseconds.`,
      );
    }
    const acct = registry.accountId;
    let rt;
    try {
      rt = registry.resolve({ StreamName: it.streamName });
    } catch {
      rt = undefined;
    }
    const shard = rt && incarnationOf(rt.meta) === it.streamIncarnation ? rt.shard(it.shardIndex) : undefined;
    if (!rt || !shard) throw streamErrors.shardMissing(shardIdOf(it.shardIndex), it.streamName, acct);
    if (registry.config.enforceLimits && (!shard.readBytes.available(now) || !shard.readCalls.tryTake(1, now))) {
      // The read-side wording AWS has used since 2023 (captured in public bug reports).
      metrics.throttled.inc({ stream: rt.meta.name, direction: 'read' });
      throw new AwsError('ProvisionedThroughputExceededException', `Rate exceeded for Shard - ${acct}/${rt.meta.name}/${shard.id}`);
    }
    const limit = (input.Limit as number | undefined) ?? limits.getRecordsLimitMax;
    const horizon = now - rt.meta.retentionHours * 3600_000;
    const end = shard.open ? Infinity : shard.meta.endCounter!;
    const read = it.counter >= end
      ? { records: [], nextCounter: it.counter }
      : await shard.log.read(it.counter, { limit, bytesMax: limits.getRecordsBytesMax, arrivalMsMin: horizon });
    let bytes = 0;
    const records = read.records.map((r) => {
      const { partitionKey, data } = openRecord(registry.cipher, rt.meta.keyIds, r);
      bytes += data.length;
      return {
        SequenceNumber: shard.sequenceNumber(r.counter, r.arrivalMs),
        ApproximateArrivalTimestamp: new Date(r.arrivalMs),
        Data: data,
        PartitionKey: partitionKey,
        ...(r.flags ? { EncryptionType: 'KMS' } : {}),
      };
    });
    if (registry.config.enforceLimits) shard.readBytes.charge(bytes, now);
    metrics.outgoingRecords.inc({ stream: rt.meta.name }, records.length);
    metrics.outgoingBytes.inc({ stream: rt.meta.name }, bytes);
    const last = read.records.at(-1);
    const caughtUp = read.nextCounter >= shard.log.durableCounter;
    const millisBehindLatest = caughtUp || !last ? 0 : Math.max(0, now - last.arrivalMs);
    if (!shard.open && read.nextCounter >= end) {
      // The end of a closed shard: no next iterator; the children to go on with.
      return {
        Records: records,
        MillisBehindLatest: millisBehindLatest,
        ChildShards: rt.children(shard.meta.index).map((c) => ({
          ShardId: c.id,
          ParentShards: [c.meta.parentIndex, c.meta.adjacentParentIndex].filter((x): x is number => x !== undefined).map(shardIdOf),
          HashKeyRange: { StartingHashKey: c.meta.startingHashKey, EndingHashKey: c.meta.endingHashKey },
        })),
      };
    }
    return {
      Records: records,
      NextShardIterator: registry.iterators.encode({ ...it, counter: read.nextCounter, issuedMs: now }),
      MillisBehindLatest: millisBehindLatest,
    };
  },
};
