import { AwsError } from '../../../sdk/protocol/errors.ts';
import { judgeOrderingSequenceNumber } from '../../../sdk/protocol/streams/sequence-number.ts';
import { SequenceNumber, streamTarget, structure, type StreamsAction } from '../shapes.ts';
import { putEntries, routeEntries, type PutEntry } from '../write-path.ts';
import { requireWritable } from './common.ts';
import { checkRecordSize, putEntryMembers } from './put-records.ts';

export const putRecord: StreamsAction = {
  shape: structure({
    SequenceNumberForOrdering: SequenceNumber,
    ...putEntryMembers,
    ...streamTarget,
  }),
  async handle({ registry, metrics }, input) {
    const rt = registry.resolve(input);
    requireWritable(registry, rt);
    checkRecordSize(rt, [input.Data as Buffer], false);
    const entry = input as unknown as PutEntry;
    // ExplicitHashKey is judged before SequenceNumberForOrdering, as on AWS.
    const shards = routeEntries(rt, [entry]);
    const ordering = input.SequenceNumberForOrdering as string | undefined;
    const verdict = ordering === undefined ? 'valid' : judgeOrderingSequenceNumber(ordering, registry.now());
    // kinesalite's captures: AWS answers a version-3 sequence number with a bare InternalFailure.
    if (verdict === 'internal') throw new AwsError('InternalFailure', undefined, 500);
    if (verdict === 'invalid') {
      throw new AwsError('InvalidArgumentException', `ExclusiveMinimumSequenceNumber ${ordering} used in PutRecord on stream ${rt.meta.name} under account ${registry.accountId} is invalid.`);
    }
    // Sequence numbers already increase strictly per shard, which is the ordering
    // SequenceNumberForOrdering asks for; a valid one needs no further action.
    const [result] = await putEntries(registry, rt, [entry], shards);
    const stream = { stream: rt.meta.name };
    if (result && 'ErrorCode' in result) {
      // The shard log failed to store it (the write path logged why): the bare 500 AWS answers PutRecord with.
      if (result.ErrorCode === 'InternalFailure') throw new AwsError('InternalFailure', undefined, 500);
      metrics.throttled.inc({ ...stream, direction: 'write' });
      throw new AwsError('ProvisionedThroughputExceededException', result.ErrorMessage);
    }
    metrics.incomingRecords.inc(stream);
    metrics.incomingBytes.inc(stream, entry.Data.length);
    return { ...result, EncryptionType: rt.meta.encryption.type };
  },
};
