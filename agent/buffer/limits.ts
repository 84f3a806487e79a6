/**
 * Every bound of the agent's durable buffer, in one place. Record limits
 * follow the Kinesis service the buffer feeds; the rest are ours, chosen so
 * that a Raspberry Pi with a small SD card can run a buffer of a few MiB.
 */
import assert from 'node:assert/strict';

const KiB = 1024;
const MiB = 1024 * KiB;

/** AWS Kinesis API Reference, PutRecord: the data blob is at most 1 MiB. */
export const recordDataBytesMax = 1 * MiB;
/** AWS Kinesis API Reference, PutRecord: partition keys are 1 to 256 characters. */
export const partitionKeyLengthMax = 256;
/** AWS Kinesis API Reference, PutRecord: ExplicitHashKey is a decimal up to 2^128 - 1 (39 digits). */
export const explicitHashKeyLengthMax = 39;
/** Source names are stored with a one-byte length. */
export const sourceBytesMax = 255;

/** Segments roll past this size; whole segments are the unit of deletion. */
export const segmentBytesDefault = 8 * MiB;
/** Small devices may use tiny segments; smaller would make file churn dominate. */
export const segmentBytesMin = 64 * KiB;
/** Segment offsets are u32-safe and a sealed segment is read in chunks anyway. */
export const segmentBytesMax = 1024 * MiB;

/** Default disk cap per destination (across its segments). */
export const capBytesDefault = 256 * MiB;
/** The smallest useful buffer: a few minutes of telemetry on a tiny card. */
export const capBytesMin = 1 * MiB;
/** The cap must hold at least this many segments, so dropping one never empties the buffer. */
export const capSegmentsMin = 2;

/** Bytes read from disk at a time by peek, recovery, verify and export. */
export const readBufferBytesDefault = 64 * KiB;
export const readBufferBytesMin = 4 * KiB;
export const readBufferBytesMax = 16 * MiB;

/** Default period of the `interval` fsync policy. */
export const fsyncIntervalMsDefault = 1000;
export const fsyncIntervalMsMin = 1;
export const fsyncIntervalMsMax = 60_000;

/** One peek returns at most this many records, whatever the caller asks. */
export const peekRecordsMax = 10_000;
/** Records per append call: one call is one all-or-nothing admission decision. */
export const appendRecordsMax = 10_000;

/** tweetnacl secretbox: 32-byte keys, 24-byte nonces, 16-byte authenticators. */
export const encryptionKeyBytes = 32;
export const encryptionNonceBytes = 24;
export const encryptionOverheadBytes = 16;

/** Destination names become directory names. */
export const destinationNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

assert.ok(capBytesMin >= capSegmentsMin * segmentBytesMin, 'the smallest cap must hold the smallest segments');
assert.ok(segmentBytesDefault * capSegmentsMin <= capBytesDefault, 'defaults must be consistent');
assert.ok(readBufferBytesDefault >= readBufferBytesMin && readBufferBytesDefault <= readBufferBytesMax);
