/**
 * EBML variable-length integers (RFC 8794, section 4): the element ID keeps
 * its length marker, the data size drops it; a size whose value bits are
 * all ones means "unknown size". Pure functions over byte arrays.
 */

/** Returned by `readVint` when the bytes available do not yet hold the whole number. */
export const needMore = -1;

/** The length of a vint from its first byte (1-8), or 0 when the byte is 0 (invalid). */
export function vintLength(first: number): number {
  if (first === 0) return 0;
  return Math.clz32(first) - 23;
}

/**
 * Reads an element ID at `offset`: its value with the marker, and its length.
 * IDs are at most 4 bytes (EBMLMaxIDLength 4). Returns `needMore` as the
 * length when the bytes run out, 0 when the bytes cannot start an ID.
 */
export function readId(bytes: Uint8Array, offset: number): { id: number; length: number } {
  if (offset >= bytes.length) return { id: 0, length: needMore };
  const length = vintLength(bytes[offset]!);
  if (length === 0 || length > 4) return { id: 0, length: 0 };
  if (offset + length > bytes.length) return { id: 0, length: needMore };
  let id = 0;
  for (let i = 0; i < length; i++) id = id * 256 + bytes[offset + i]!;
  return { id, length };
}

/**
 * Reads a data size at `offset`. `size` is -1 for the unknown size. Sizes
 * beyond 2^53 are reported as invalid (length 0): no real element is that big.
 */
export function readSize(bytes: Uint8Array, offset: number): { size: number; length: number } {
  if (offset >= bytes.length) return { size: 0, length: needMore };
  const first = bytes[offset]!;
  const length = vintLength(first);
  if (length === 0) return { size: 0, length: 0 };
  if (offset + length > bytes.length) return { size: 0, length: needMore };
  let value = first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    const b = bytes[offset + i]!;
    if (b !== 0xff) allOnes = false;
    value = value * 256 + b;
  }
  if (allOnes) return { size: -1, length };
  if (!Number.isSafeInteger(value)) return { size: 0, length: 0 };
  return { size: value, length };
}

/** The number of bytes `encodeId` writes for `id`. */
export function idLength(id: number): number {
  if (id < 0x100) return 1;
  if (id < 0x10000) return 2;
  if (id < 0x1000000) return 3;
  return 4;
}

/** Writes an element ID (its marker bits are part of the value). */
export function encodeId(id: number): Uint8Array {
  const length = idLength(id);
  const out = new Uint8Array(length);
  for (let i = length - 1, v = id; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v & 0xff;
  return out;
}

/** The unknown size in 8 bytes, as live producers (ffmpeg, kvssink) write a Segment or Cluster. */
export const unknownSize8: Uint8Array = Uint8Array.of(0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/**
 * Writes a data size in the shortest form, or in `width` bytes when given
 * (a fixed width lets a writer patch a size in place). The all-ones value of
 * each width is reserved for the unknown size, so it moves to the next width.
 */
export function encodeSize(size: number, width?: number): Uint8Array {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`EBML size out of range: ${size}`);
  let length = 1;
  while (length < 8 && size >= 2 ** (7 * length) - 1) length++;
  if (width !== undefined) {
    if (width < length || width > 8) throw new RangeError(`EBML size ${size} does not fit in ${width} bytes`);
    length = width;
  }
  const out = new Uint8Array(length);
  let v = size;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  out[0]! |= 0x80 >> (length - 1);
  return out;
}
