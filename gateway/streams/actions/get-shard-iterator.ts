import { AwsError, streamErrors } from '../../../sdk/protocol/errors.ts';
import { parseSequenceNumber, shardIdOf } from '../../../sdk/protocol/streams/sequence-number.ts';
import { SequenceNumber, ShardId, streamTarget, structure, type StreamsAction } from '../shapes.ts';
import { incarnationOf } from '../model.ts';
import { requireWritable, shardIndexOrThrow } from './common.ts';

const iteratorTypes = ['AFTER_SEQUENCE_NUMBER', 'LATEST', 'AT_TIMESTAMP', 'AT_SEQUENCE_NUMBER', 'TRIM_HORIZON'] as const;

export const getShardIterator: StreamsAction = {
  shape: structure({
    ShardId: { ...ShardId, required: true },
    ShardIteratorType: { type: 'string', required: true, enum: iteratorTypes },
    StartingSequenceNumber: SequenceNumber,
    ...streamTarget,
    Timestamp: { type: 'timestamp' },
  }),
  async handle({ registry }, input) {
    // kinesalite's captures of AWS: a malformed shard id is reported first
    // ("Could not find shard <as written>"); then an unknown stream, worded
    // as a missing shard ("Shard shardId-<12 digits> in stream ... does not exist").
    const index = shardIndexOrThrow(registry, input, input.ShardId as string);
    const acct = registry.accountId;
    const rt = registry.find(registry.nameOf(input));
    if (!rt) throw streamErrors.shardMissing(shardIdOf(index), registry.nameOf(input), acct);
    const name = rt.meta.name;
    requireWritable(registry, rt);
    const shard = rt.shard(index);
    if (!shard) throw streamErrors.shardMissing(shardIdOf(index), name, acct);
    const type = input.ShardIteratorType as (typeof iteratorTypes)[number];
    const seq = input.StartingSequenceNumber as string | undefined;
    const bySequence = type === 'AT_SEQUENCE_NUMBER' || type === 'AFTER_SEQUENCE_NUMBER';
    if (bySequence !== (seq !== undefined) && type !== 'AT_TIMESTAMP') {
      throw new AwsError(
        'InvalidArgumentException',
        'Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or ' +
          '(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. ' +
          `Request specified ${type} and ${seq !== undefined ? 'also a' : 'no'} StartingSequenceNumber.`,
      );
    }
    const now = registry.now();
    let counter: number;
    switch (type) {
      case 'TRIM_HORIZON':
        counter = shard.log.firstCounter();
        break;
      case 'LATEST':
        counter = shard.open ? shard.log.nextCounter : shard.meta.endCounter!;
        break;
      case 'AT_TIMESTAMP': {
        const ts = input.Timestamp as number | undefined;
        if (ts === undefined) {
          throw new AwsError('InvalidArgumentException', 'Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.');
        }
        if (ts > now) {
          throw new AwsError('InvalidArgumentException', `The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: ${ts}, currentTimestampInMillis: ${now}`);
        }
        counter = await shard.log.counterAtTime(ts);
        break;
      }
      default: {
        const parts = parseSequenceNumber(seq!);
        if (!parts) {
          throw new AwsError('InvalidArgumentException', `StartingSequenceNumber ${seq} used in GetShardIterator on shard ${shard.id} in stream ${name} under account ${acct} is invalid.`);
        }
        if (parts.shardIndex !== shard.meta.index) {
          throw new AwsError('InvalidArgumentException', `Invalid StartingSequenceNumber. It encodes ${shardIdOf(parts.shardIndex)}, while it was used in a call to a shard with ${shard.id}`);
        }
        if (parts.shardCreatedMs !== Math.floor(shard.meta.createdMs / 1000) * 1000) {
          throw new AwsError('InvalidArgumentException', `StartingSequenceNumber ${seq} used in GetShardIterator on shard ${shard.id} in stream ${name} under account ${acct} is invalid because it did not come from this stream.`);
        }
        const c = parts.counter > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(parts.counter);
        counter = type === 'AFTER_SEQUENCE_NUMBER' ? c + 1 : c;
        if (!shard.open) counter = Math.min(counter, shard.meta.endCounter!);
      }
    }
    return {
      ShardIterator: registry.iterators.encode({ streamName: name, streamIncarnation: incarnationOf(rt.meta), shardIndex: shard.meta.index, counter, issuedMs: now }),
    };
  },
};
