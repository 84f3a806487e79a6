// PutRecords' answer writes its own JSON from the write path's compact trace;
// it must be byte for byte what the generic encoder makes of the answer's
// objects, errors and their escaping included, and the objects must be the
// per-record results in request order.
import { describe, expect, it } from 'vitest';
import { selfEncoding, toJsonText } from '../../gateway/http/wire.ts';
import { PutRecordsReply } from '../../gateway/streams/put-reply.ts';
import { formatSequenceNumberFrom, sequenceCounterStep, sequenceNumberBase } from '../../sdk/protocol/streams/sequence-number.ts';

const shard = (id: string) => ({ id, sequenceNumber: (counter: number, ms: number) => `4959${String(counter).padStart(20, '0')}${ms}` });

describe('PutRecordsReply', () => {
  it('encodes the same JSON as toJsonText of its records, in request order', () => {
    const trace = {
      groups: [
        { shardId: 'shardId-000000000002', firstCounter: 10, count: 3, arrivalMs: 1_700_000_000_123 },
        { shardId: 'shardId-000000000000', firstCounter: 0, count: 2, arrivalMs: 1_700_000_000_124 },
      ],
      // Records 0, 2, 5 on the first group, 1 and 6 on the second, 3 and 4 refused.
      slots: Int32Array.from([0, 1, 0, -1, -2, 0, 1]),
      errors: [
        ['ProvisionedThroughputExceededException', 'Rate exceeded for shard shardId-000000000001 in stream s under account 000000000000.'],
        ['InternalFailure', 'a "quoted" \\ message \u00e9\u2028'],
      ] as Array<[string, string]>,
    };
    const reply = new PutRecordsReply(trace, [shard('shardId-000000000002'), shard('shardId-000000000000')], 'NONE');
    const value = reply[selfEncoding].value() as { Records: unknown[] };
    expect(reply.FailedRecordCount).toBe(2);
    expect(value.Records).toEqual([
      { ShardId: 'shardId-000000000002', SequenceNumber: shard('').sequenceNumber(10, 1_700_000_000_123) },
      { ShardId: 'shardId-000000000000', SequenceNumber: shard('').sequenceNumber(0, 1_700_000_000_124) },
      { ShardId: 'shardId-000000000002', SequenceNumber: shard('').sequenceNumber(11, 1_700_000_000_123) },
      { ErrorCode: trace.errors[0]![0], ErrorMessage: trace.errors[0]![1] },
      { ErrorCode: trace.errors[1]![0], ErrorMessage: trace.errors[1]![1] },
      { ShardId: 'shardId-000000000002', SequenceNumber: shard('').sequenceNumber(12, 1_700_000_000_123) },
      { ShardId: 'shardId-000000000000', SequenceNumber: shard('').sequenceNumber(1, 1_700_000_000_124) },
    ]);
    const json = reply[selfEncoding].json();
    expect(json.toString('utf8')).toBe(toJsonText(value));
    expect(JSON.parse(json.toString('utf8'))).toEqual({ FailedRecordCount: 2, Records: value.Records, EncryptionType: 'NONE' });
  });

  it('writes sequence numbers by decimal addition exactly as formatting them does (issue #19)', () => {
    // The real layout (counter steps of 2^80), counters that carry through many digits, two shards interleaved.
    const real = (id: string, index: number) => ({
      id, sequenceCounterStep,
      sequenceNumber: (counter: number, ms: number) => formatSequenceNumberFrom(sequenceNumberBase({ shardCreatedMs: 1_600_000_000_000, shardIndex: index, recordMs: ms }), counter),
    });
    const n = 700;
    const slots = Int32Array.from({ length: n }, (_, i) => (i % 7 === 3 ? -1 : i % 3 === 0 ? 1 : 0));
    const count = (g: number) => slots.filter((s) => s === g).length;
    const trace = {
      groups: [
        { shardId: 'shardId-000000000001', firstCounter: 999_999_990, count: count(0), arrivalMs: 1_700_000_000_999 },
        { shardId: 'shardId-000000000000', firstCounter: 0, count: count(1), arrivalMs: 1_700_000_001_000 },
      ],
      slots,
      errors: [['ProvisionedThroughputExceededException', 'Rate exceeded.']] as Array<[string, string]>,
    };
    const shards = [real('shardId-000000000001', 1), real('shardId-000000000000', 0)];
    let formatted = 0;
    const counted = shards.map((sh) => ({ ...sh, sequenceNumber: (c: number, ms: number) => (formatted++, sh.sequenceNumber(c, ms)) }));
    const reply = new PutRecordsReply(trace, counted, 'KMS');
    const json = reply[selfEncoding].json().toString('utf8');
    expect(formatted).toBe(4); // the first and last of each group: the rest by addition
    expect(json).toBe(toJsonText(reply[selfEncoding].value()));
    // A step whose sums change length part-way: the general path writes it, with the same result.
    const growing = { id: 'shardId-000000000000', sequenceCounterStep: 7n, sequenceNumber: (counter: number) => String(95 + 7 * counter) };
    const short = new PutRecordsReply({ groups: [{ shardId: 'shardId-000000000000', firstCounter: 0, count: 3, arrivalMs: 0 }], slots: Int32Array.from([0, 0, 0]), errors: [] }, [growing], 'NONE');
    expect(short[selfEncoding].json().toString('utf8')).toBe(toJsonText(short[selfEncoding].value()));
    expect(JSON.parse(short[selfEncoding].json().toString('utf8')).Records.map((r: { SequenceNumber: string }) => r.SequenceNumber)).toEqual(['95', '102', '109']);
  });
});
