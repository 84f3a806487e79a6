/**
 * Sequence numbers in AWS's current 56-digit layout (kinesalite's "version 2",
 * observed from the real service):
 *
 *   hex: 2 | shard-create-seconds(9) | shard-index low nibble(1) | counter(16) |
 *        00 | record-seconds(9) | shard-index(8) | 2
 *
 * read as one hexadecimal number and printed in decimal. Within a shard the
 * creation time and index are fixed, so ordering follows the counter: strictly
 * increasing, as AWS promises.
 */

export interface SequenceParts {
  /** Shard creation time, epoch ms (stored at second precision). */
  shardCreatedMs: number;
  /** The shard's index, the number in `shardId-000000000007`. */
  shardIndex: number;
  /** Per-shard record counter. */
  counter: bigint;
  /** The record's arrival time, epoch ms (stored at second precision). */
  recordMs: number;
}

const hex = (n: number | bigint, width: number) => n.toString(16).padStart(width, '0').slice(-width);

/** Formats the parts as AWS's decimal sequence number. */
export function formatSequenceNumber(p: SequenceParts): string {
  const s =
    '2' +
    hex(Math.floor(p.shardCreatedMs / 1000), 9) +
    hex(p.shardIndex & 0xf, 1) +
    hex(p.counter, 16) +
    '00' +
    hex(Math.floor(p.recordMs / 1000), 9) +
    hex(p.shardIndex >>> 0, 8) +
    '2';
  return BigInt('0x' + s).toString(10);
}

/** The counter's position: 20 hexadecimal digits (80 bits) sit to its right. */
const counterShift = 80n;
/** How far apart the sequence numbers of consecutive counters are, shard and record second alike. */
export const sequenceCounterStep = 1n << counterShift;

/**
 * The sequence number with counter 0, as a number: sequence numbers that share
 * shard and record second differ only by `counter << 80`, so callers that
 * format many (a PutRecords batch, a GetRecords page) build the base once and
 * use `formatSequenceNumberFrom` (a third of the cost of formatting from parts).
 */
export function sequenceNumberBase(p: Omit<SequenceParts, 'counter'>): bigint {
  return BigInt('0x' + '2' + hex(Math.floor(p.shardCreatedMs / 1000), 9) + hex(p.shardIndex & 0xf, 1) + '0'.repeat(16) + '00' +
    hex(Math.floor(p.recordMs / 1000), 9) + hex(p.shardIndex >>> 0, 8) + '2');
}

export function formatSequenceNumberFrom(base: bigint, counter: number | bigint): string {
  return (base + (BigInt(counter) << counterShift)).toString(10);
}

/** The largest counter a sequence number can carry (AWS keeps the top bit clear). */
export const sequenceCounterMax = (1n << 63n) - 1n;

/**
 * Parses a decimal sequence number, or returns `undefined` when it is not one
 * of ours (another layout, or out of range).
 */
export function parseSequenceNumber(decimal: string): SequenceParts | undefined {
  if (!/^(0|[1-9]\d{0,128})$/.test(decimal)) return undefined;
  const h = BigInt(decimal).toString(16);
  if (h.length !== 47 || h[0] !== '2' || h[46] !== '2') return undefined;
  const counter = BigInt('0x' + h.slice(11, 27));
  if (counter > sequenceCounterMax) return undefined;
  return {
    shardCreatedMs: parseInt(h.slice(1, 10), 16) * 1000,
    shardIndex: parseInt(h.slice(38, 46), 16),
    counter,
    recordMs: parseInt(h.slice(29, 38), 16) * 1000,
  };
}

/** Formats a shard id: `shardId-` and 12 zero-padded digits. */
export function shardIdOf(index: number): string {
  return 'shardId-' + String(index).padStart(12, '0');
}

/**
 * Resolves a shard id as AWS does (kinesalite's captures): the part between
 * the first and second `-` (or the whole id when it has none) is read as a
 * decimal index of any length up to 2^31-1, so `shardId-000000000001`,
 * `shardId-1`, `anything-1`, `-0001` and a bare `1` all name shard 1.
 * Anything else (`2.14E4`, `ABKLFD8`, `shardId-2147483648`) is malformed.
 */
export function shardIndexOf(shardId: string): number | undefined {
  const tail = shardId.split('-')[1] || shardId;
  if (!/^\d+$/.test(tail)) return undefined;
  const n = Number(tail);
  return n <= 2147483647 ? n : undefined;
}

/** How AWS judged a `SequenceNumberForOrdering` (PutRecord) in kinesalite's captures. */
export type OrderingVerdict = 'valid' | 'invalid' | 'internal';

const pow124 = 1n << 124n;
const pow129 = 1n << 129n;
const pow185 = 1n << 185n;
const pow185Next = 3n << 184n;
/** Older (version 0) sequence numbers carry a shard creation time; AWS refused this one and later ("large date"). */
const version0CreateSecondsMax = 16025175000;

/**
 * Judges a `SequenceNumberForOrdering` (already matching the shape's pattern)
 * as AWS does. AWS accepts every layout it ever issued, not only the current
 * one: version 0 (below 2^129, small numbers padded up by 2^124) unless its
 * creation time is absurd; between 2^185 and 1.5 * 2^185, the last nibble
 * is the version: 1 and 2 are accepted unless their record time lies in the
 * future (and, for 2, unless the counter's top bit is set), 3 made AWS fail
 * with InternalFailure, anything else is invalid; every other range is invalid.
 */
export function judgeOrderingSequenceNumber(decimal: string, nowMs: number): OrderingVerdict {
  let n = BigInt(decimal);
  if (n < pow124) n += pow124;
  const h = n.toString(16);
  if (n < pow129) return parseInt(h.slice(1, 10), 16) >= version0CreateSecondsMax ? 'invalid' : 'valid';
  if (n <= pow185 || n >= pow185Next) return 'invalid';
  switch (h[46]) {
    case '1':
      return parseInt(h.slice(13, 22), 16) * 1000 > nowMs ? 'invalid' : 'valid';
    case '2':
      if (parseInt(h[11]!, 16) > 7) return 'invalid';
      return parseInt(h.slice(29, 38), 16) * 1000 > nowMs ? 'invalid' : 'valid';
    case '3':
      return 'internal';
    default:
      return 'invalid';
  }
}
