import { AwsError, streamErrors } from '../../../sdk/protocol/errors.ts';
import * as limits from '../../../sdk/protocol/streams/limits.ts';
import { shardIdOf } from '../../../sdk/protocol/streams/sequence-number.ts';
import { javaDateString } from '../iterator.ts';
import { openRecord } from '../encryption.ts';
import { incarnationOf } from '../model.ts';
import { StreamARN, StreamId, structure, type StreamsAction } from '../shapes.ts';
import { frameArrivalMs, frameFlags, frameHeaderBytes, framePkBytes, recordOfFrame } from '../../storage/local/record-codec.ts';
import type { FramesRead, StoredRecord } from '../../storage/types.ts';
import { GetRecordsReply } from '../get-reply.ts';

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
    const options = { limit, bytesMax: limits.getRecordsBytesMax, arrivalMsMin: horizon };
    // The shard log's frames as they are when it offers them and none is encrypted; else records as objects.
    let frames: FramesRead | undefined;
    let stored: StoredRecord[];
    let nextCounter: number;
    if (it.counter >= end) {
      stored = [];
      nextCounter = it.counter;
    } else if (shard.log.readFrames) {
      frames = await shard.log.readFrames(it.counter, options);
      nextCounter = frames.nextCounter;
      stored = [];
      if (anyFlagged(frames)) {
        stored = storedRecordsOf(frames);
        frames = undefined;
      }
    } else {
      const read = await shard.log.read(it.counter, options);
      stored = read.records;
      nextCounter = read.nextCounter;
    }
    let bytes = 0;
    let lastArrivalMs: number | undefined;
    let count: number;
    const records = frames ? undefined : stored.map((r) => {
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
    if (frames) {
      count = frames.count;
      for (let i = 0; i < frames.count; i++) {
        const buf = frames.chunks[frames.chunkOf[i]!]!;
        const a = frames.at[i]!;
        bytes += buf.readUInt32LE(a) + 4 - frameHeaderBytes - framePkBytes(buf, a);
      }
      if (count) lastArrivalMs = frameArrivalMs(frames.chunks[frames.chunkOf[count - 1]!]!, frames.at[count - 1]!);
    } else {
      count = stored.length;
      lastArrivalMs = stored.at(-1)?.arrivalMs;
    }
    if (registry.config.enforceLimits) shard.readBytes.charge(bytes, now);
    metrics.outgoingRecords.inc({ stream: rt.meta.name }, count);
    metrics.outgoingBytes.inc({ stream: rt.meta.name }, bytes);
    const caughtUp = nextCounter >= shard.log.durableCounter;
    const millisBehindLatest = caughtUp || lastArrivalMs === undefined ? 0 : Math.max(0, now - lastArrivalMs);
    metrics.iteratorAgeMs.set({ stream: rt.meta.name }, millisBehindLatest);
    // Records first, then the rest in wire order; from frames, the answer writes its own JSON.
    const answer = (rest: Record<string, unknown>) => (frames ? new GetRecordsReply(frames, shard, rest) : { Records: records, ...rest });
    if (!shard.open && nextCounter >= end) {
      // The end of a closed shard: no next iterator; the children to go on with.
      return answer({
        MillisBehindLatest: millisBehindLatest,
        ChildShards: rt.children(shard.meta.index).map((c) => ({
          ShardId: c.id,
          ParentShards: [c.meta.parentIndex, c.meta.adjacentParentIndex].filter((x): x is number => x !== undefined).map(shardIdOf),
          HashKeyRange: { StartingHashKey: c.meta.startingHashKey, EndingHashKey: c.meta.endingHashKey },
        })),
      });
    }
    return answer({
      NextShardIterator: registry.iterators.encode({ ...it, counter: nextCounter, issuedMs: now }),
      MillisBehindLatest: millisBehindLatest,
    });
  },
};

/** Whether any frame carries flags (an encrypted record, which needs opening). */
function anyFlagged(frames: FramesRead): boolean {
  for (let i = 0; i < frames.count; i++) if (frameFlags(frames.chunks[frames.chunkOf[i]!]!, frames.at[i]!)) return true;
  return false;
}

function storedRecordsOf(frames: FramesRead): StoredRecord[] {
  const out: StoredRecord[] = [];
  for (let i = 0; i < frames.count; i++) {
    const buf = frames.chunks[frames.chunkOf[i]!]!;
    const a = frames.at[i]!;
    out.push(recordOfFrame(buf, a, buf.readUInt32LE(a) + 4));
  }
  return out;
}
