/**
 * COUNT_DISTINCT_ITEMS_TUMBLING's sketch. AWS: "uses HyperLogLog" and is
 * exact up to 10,000 distinct items (sqlref/count-distinct-items.html). So:
 * a plain set until it would hold more than 10,000 items, then a HyperLogLog
 * (Flajolet, Fusy, Gandouet, Meunier 2007) with 2^14 registers (standard
 * error 1.04/sqrt(16384), about 0.8%) and the linear-counting correction for
 * small cardinalities, fed with the set's items when it switches.
 *
 * Items are hashed to 64 bits by two 32-bit MurmurHash3 passes with
 * different seeds: 14 bits choose the register, the other 50 give the rank.
 *
 * @example
 * const d = new CountDistinctItems();
 * for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.1']) d.add(ip);
 * d.estimate(); // 2
 */
import { countDistinctExactItemsMax } from './limits.ts';
import type { Item } from './top-k.ts';

const precision = 14;
const registerCount = 1 << precision;
const alpha = 0.7213 / (1 + 1.079 / registerCount);

export class CountDistinctItems {
  private exact: Set<string> | undefined = new Set();
  private registers: Uint8Array | undefined;

  constructor(readonly exactItemsMax = countDistinctExactItemsMax) {}

  /** True while the count is exact. */
  get isExact(): boolean {
    return this.exact !== undefined;
  }

  add(item: Item): void {
    const key = typeof item === 'number' ? `n:${item}` : `s:${item}`;
    if (this.exact) {
      this.exact.add(key);
      if (this.exact.size <= this.exactItemsMax) return;
      this.registers = new Uint8Array(registerCount);
      for (const k of this.exact) this.addHashed(k);
      this.exact = undefined;
      return;
    }
    this.addHashed(key);
  }

  /** The number of distinct items added (exact up to exactItemsMax). */
  estimate(): number {
    if (this.exact) return this.exact.size;
    const registers = this.registers!;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < registerCount; i++) {
      sum += 2 ** -registers[i]!;
      if (registers[i] === 0) zeros++;
    }
    const raw = (alpha * registerCount * registerCount) / sum;
    // Small range: linear counting is the better estimate while registers are still empty.
    if (raw <= 2.5 * registerCount && zeros > 0) return Math.round(registerCount * Math.log(registerCount / zeros));
    return Math.round(raw);
  }

  reset(): void {
    this.exact = new Set();
    this.registers = undefined;
  }

  private addHashed(key: string): void {
    const bytes = Buffer.from(key, 'utf8');
    const h1 = murmur3(bytes, 0x9747b28c);
    const h2 = murmur3(bytes, 0x5bd1e995);
    const index = h1 >>> (32 - precision);
    // Rank: 1 + leading zeros of the remaining 50 bits (18 of h1, then 32 of h2).
    const rest = (h1 << precision) >>> 0; // 18 bits at the top
    let rank: number;
    if (rest !== 0) rank = Math.clz32(rest) + 1;
    else rank = 18 + (h2 === 0 ? 32 : Math.clz32(h2)) + 1;
    const registers = this.registers!;
    if (rank > registers[index]!) registers[index] = rank;
  }
}

/** MurmurHash3 x86 32-bit. */
export function murmur3(bytes: Uint8Array, seed: number): number {
  let h = seed >>> 0;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const blocks = bytes.length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = bytes.length & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= bytes[blocks + 2]! << 16;
    if (tail >= 2) k ^= bytes[blocks + 1]! << 8;
    k ^= bytes[blocks]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
