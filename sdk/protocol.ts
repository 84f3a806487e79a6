/**
 * `tributary/protocol`: the pure codecs (bytes in, values out; no I/O):
 * KPL aggregation, partition-key hash keys, sequence numbers, SigV4 signing,
 * CRC-32C, the AWS error catalogue and the Kinesis Data Streams limits.
 * A public entry module (docs/sdk.md).
 *
 * @example
 * import { aggregate, deaggregate } from 'tributary/protocol';
 * const blob = aggregate([{ partitionKey: 'pi-01', data: Buffer.from('{"temp":21.5}') }]);
 * deaggregate(blob)?.[0]?.partitionKey === 'pi-01';
 */
export { aggregate, deaggregate, kplMagic, KplFormatError, type UserRecord } from './protocol/kpl-aggregation.ts';
export { hashKeyOfPartitionKey, hashKeyFromDecimal, hashKeyFromBigInt, hashKeyToBigInt, evenHashKeyRanges } from './protocol/streams/hash-key.ts';
export { parseSequenceNumber, formatSequenceNumber, shardIdOf, shardIndexOf, type SequenceParts } from './protocol/streams/sequence-number.ts';
export { signRequest, type SignOptions } from './protocol/sigv4.ts';
export { crc32c } from './protocol/crc32c.ts';
export { AwsError, TributaryError, type AwsErrorType } from './protocol/errors.ts';
export * as streamLimits from './protocol/streams/limits.ts';
