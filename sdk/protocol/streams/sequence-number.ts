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
 * Resolves a shard id as AWS does: `shardId-000000000001`, `shardId-1` and a
 * bare `1` all name shard 1 (the part after the last `-` is read as a number).
 */
export function shardIndexOf(shardId: string): number | undefined {
  const tail = shardId.slice(shardId.lastIndexOf('-') + 1);
  if (!/^\d{1,12}$/.test(tail)) return undefined;
  const n = Number(tail);
  return n <= 2147483647 ? n : undefined;
}
