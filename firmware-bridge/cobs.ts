/**
 * Consistent Overhead Byte Stuffing (Cheshire and Baker, 1999): removes every
 * 0x00 from a frame so that 0x00 can delimit frames on the wire. A run of
 * 254 non-zero bytes that ends the input is not followed by an empty 0x01
 * block (the paper's code writes one, Wikipedia's does not); the decoder
 * accepts both forms.
 */
import { FrameError } from './errors.ts';

/**
 * COBS-encodes `bytes` (no delimiter added).
 * @example cobsEncode(Uint8Array.of(0x11, 0x00, 0x22)) // 02 11 02 22
 */
export function cobsEncode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + Math.floor(bytes.length / 254) + 1);
  const n = cobsEncodeInto(bytes, 0, bytes.length, out, 0);
  return out.subarray(0, n);
}

/** Encodes `src[start, end)` into `dst` at `at`; returns the bytes written. `dst` must have room for the worst case. */
export function cobsEncodeInto(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number {
  let codeAt = at;
  let o = at + 1;
  let code = 1;
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    if (b !== 0) {
      dst[o++] = b;
      code++;
    }
    if (b === 0 || code === 0xff) {
      dst[codeAt] = code;
      code = 1;
      codeAt = o;
      // A full block that ends the input needs no empty block after it.
      if (b === 0 || i + 1 < end) o++;
    }
  }
  if (codeAt < o) dst[codeAt] = code;
  return o - at;
}

/**
 * Decodes a COBS block (without its delimiter). Throws `FrameError` BAD_COBS
 * on a 0x00 inside the block or a code byte that runs past the end.
 * @example cobsDecode(Uint8Array.of(0x02, 0x11, 0x02, 0x22)) // 11 00 22
 */
export function cobsDecode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  const n = cobsDecodeInto(bytes, 0, bytes.length, out);
  if (n < 0) throw new FrameError('BAD_COBS', cobsProblem(bytes, 0, bytes.length));
  return out.subarray(0, n);
}

/**
 * Decodes `src[start, end)` into `dst` from offset 0 and returns the decoded
 * length, or -1 if the block is not valid COBS. `dst` may be `src` itself
 * when `start` is 0: the output never overtakes the input.
 */
export function cobsDecodeInto(src: Uint8Array, start: number, end: number, dst: Uint8Array): number {
  let i = start;
  let o = 0;
  while (i < end) {
    const code = src[i++]!;
    if (code === 0) return -1;
    const blockEnd = i + code - 1;
    if (blockEnd > end) return -1;
    while (i < blockEnd) {
      const b = src[i++]!;
      if (b === 0) return -1;
      dst[o++] = b;
    }
    if (code !== 0xff && i < end) dst[o++] = 0;
  }
  return o;
}

/** A precise message for a block `cobsDecodeInto` rejected. */
export function cobsProblem(src: Uint8Array, start: number, end: number): string {
  let i = start;
  while (i < end) {
    const code = src[i]!;
    if (code === 0) return `COBS code byte 0x00 at offset ${i - start}`;
    const blockEnd = i + code;
    if (blockEnd > end) return `COBS code 0x${code.toString(16).padStart(2, '0')} at offset ${i - start} runs ${blockEnd - end} bytes past the end of a ${end - start}-byte block`;
    for (let j = i + 1; j < blockEnd; j++) if (src[j] === 0) return `0x00 inside a COBS block at offset ${j - start}`;
    i = blockEnd;
  }
  return 'valid COBS';
}
