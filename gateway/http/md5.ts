/**
 * MD5 (RFC 1321) of a byte range, written into a buffer: how partition keys
 * become hash keys on the PutRecords path. Node's one-shot `crypto.hash`
 * costs about a microsecond per call for a 16-byte key (the call into
 * OpenSSL dominates); this plain implementation takes a fraction of that for
 * keys of a block or two, and allocates nothing. A unit test holds it to
 * node:crypto on many lengths.
 */

/** The tail of a message: its last partial block, the padding and the length (at most two blocks). */
const tail = new Uint8Array(128);
/** The state, carried between blocks. */
const state = new Int32Array(4);

/** Writes the MD5 of `src[start, end)` to `out[at, at + 16)`. */
export function md5Into(src: Uint8Array, start: number, end: number, out: Uint8Array, at: number): void {
  state[0] = 0x67452301;
  state[1] = 0xefcdab89 | 0;
  state[2] = 0x98badcfe | 0;
  state[3] = 0x10325476;
  const len = end - start;
  let p = start;
  // Whole blocks straight from the source.
  for (; p + 64 <= end; p += 64) block(src, p);
  // The rest, the 0x80 marker, zeros and the bit length, in one or two blocks.
  const rest = end - p;
  for (let j = 0; j < rest; j++) tail[j] = src[p + j]!;
  tail[rest] = 0x80;
  const blocks = rest < 56 ? 1 : 2;
  tail.fill(0, rest + 1, 64 * blocks - 8);
  const lenAt = 64 * blocks - 8;
  const bits = (len * 8) >>> 0;
  const high = Math.floor(len / 0x20000000); // bits above 2^32
  tail[lenAt] = bits & 0xff;
  tail[lenAt + 1] = (bits >>> 8) & 0xff;
  tail[lenAt + 2] = (bits >>> 16) & 0xff;
  tail[lenAt + 3] = bits >>> 24;
  tail[lenAt + 4] = high & 0xff;
  tail[lenAt + 5] = (high >>> 8) & 0xff;
  tail[lenAt + 6] = (high >>> 16) & 0xff;
  tail[lenAt + 7] = (high >>> 24) & 0xff;
  block(tail, 0);
  if (blocks === 2) block(tail, 64);
  for (let k = 0; k < 4; k++) {
    const v = state[k]!;
    out[at + 4 * k] = v & 0xff;
    out[at + 4 * k + 1] = (v >>> 8) & 0xff;
    out[at + 4 * k + 2] = (v >>> 16) & 0xff;
    out[at + 4 * k + 3] = v >>> 24;
  }
}

/** The 32-bit little-endian word at `q`. */
function word(m: Uint8Array, q: number): number {
  return m[q]! | (m[q + 1]! << 8) | (m[q + 2]! << 16) | (m[q + 3]! << 24);
}

/** The 64-byte block at `p` of `m` folded into the state (the 64 steps of RFC 1321, unrolled). */
function block(m: Uint8Array, p: number): void {
  const x0 = word(m, p + 0);
  const x1 = word(m, p + 4);
  const x2 = word(m, p + 8);
  const x3 = word(m, p + 12);
  const x4 = word(m, p + 16);
  const x5 = word(m, p + 20);
  const x6 = word(m, p + 24);
  const x7 = word(m, p + 28);
  const x8 = word(m, p + 32);
  const x9 = word(m, p + 36);
  const x10 = word(m, p + 40);
  const x11 = word(m, p + 44);
  const x12 = word(m, p + 48);
  const x13 = word(m, p + 52);
  const x14 = word(m, p + 56);
  const x15 = word(m, p + 60);
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!;
  let t: number;
  t = (a + ((b & c) | (~b & d)) + -680876936 + x0) | 0; a = (b + ((t << 7) | (t >>> 25))) | 0;
  t = (d + ((a & b) | (~a & c)) + -389564586 + x1) | 0; d = (a + ((t << 12) | (t >>> 20))) | 0;
  t = (c + ((d & a) | (~d & b)) + 606105819 + x2) | 0; c = (d + ((t << 17) | (t >>> 15))) | 0;
  t = (b + ((c & d) | (~c & a)) + -1044525330 + x3) | 0; b = (c + ((t << 22) | (t >>> 10))) | 0;
  t = (a + ((b & c) | (~b & d)) + -176418897 + x4) | 0; a = (b + ((t << 7) | (t >>> 25))) | 0;
  t = (d + ((a & b) | (~a & c)) + 1200080426 + x5) | 0; d = (a + ((t << 12) | (t >>> 20))) | 0;
  t = (c + ((d & a) | (~d & b)) + -1473231341 + x6) | 0; c = (d + ((t << 17) | (t >>> 15))) | 0;
  t = (b + ((c & d) | (~c & a)) + -45705983 + x7) | 0; b = (c + ((t << 22) | (t >>> 10))) | 0;
  t = (a + ((b & c) | (~b & d)) + 1770035416 + x8) | 0; a = (b + ((t << 7) | (t >>> 25))) | 0;
  t = (d + ((a & b) | (~a & c)) + -1958414417 + x9) | 0; d = (a + ((t << 12) | (t >>> 20))) | 0;
  t = (c + ((d & a) | (~d & b)) + -42063 + x10) | 0; c = (d + ((t << 17) | (t >>> 15))) | 0;
  t = (b + ((c & d) | (~c & a)) + -1990404162 + x11) | 0; b = (c + ((t << 22) | (t >>> 10))) | 0;
  t = (a + ((b & c) | (~b & d)) + 1804603682 + x12) | 0; a = (b + ((t << 7) | (t >>> 25))) | 0;
  t = (d + ((a & b) | (~a & c)) + -40341101 + x13) | 0; d = (a + ((t << 12) | (t >>> 20))) | 0;
  t = (c + ((d & a) | (~d & b)) + -1502002290 + x14) | 0; c = (d + ((t << 17) | (t >>> 15))) | 0;
  t = (b + ((c & d) | (~c & a)) + 1236535329 + x15) | 0; b = (c + ((t << 22) | (t >>> 10))) | 0;
  t = (a + ((b & d) | (c & ~d)) + -165796510 + x1) | 0; a = (b + ((t << 5) | (t >>> 27))) | 0;
  t = (d + ((a & c) | (b & ~c)) + -1069501632 + x6) | 0; d = (a + ((t << 9) | (t >>> 23))) | 0;
  t = (c + ((d & b) | (a & ~b)) + 643717713 + x11) | 0; c = (d + ((t << 14) | (t >>> 18))) | 0;
  t = (b + ((c & a) | (d & ~a)) + -373897302 + x0) | 0; b = (c + ((t << 20) | (t >>> 12))) | 0;
  t = (a + ((b & d) | (c & ~d)) + -701558691 + x5) | 0; a = (b + ((t << 5) | (t >>> 27))) | 0;
  t = (d + ((a & c) | (b & ~c)) + 38016083 + x10) | 0; d = (a + ((t << 9) | (t >>> 23))) | 0;
  t = (c + ((d & b) | (a & ~b)) + -660478335 + x15) | 0; c = (d + ((t << 14) | (t >>> 18))) | 0;
  t = (b + ((c & a) | (d & ~a)) + -405537848 + x4) | 0; b = (c + ((t << 20) | (t >>> 12))) | 0;
  t = (a + ((b & d) | (c & ~d)) + 568446438 + x9) | 0; a = (b + ((t << 5) | (t >>> 27))) | 0;
  t = (d + ((a & c) | (b & ~c)) + -1019803690 + x14) | 0; d = (a + ((t << 9) | (t >>> 23))) | 0;
  t = (c + ((d & b) | (a & ~b)) + -187363961 + x3) | 0; c = (d + ((t << 14) | (t >>> 18))) | 0;
  t = (b + ((c & a) | (d & ~a)) + 1163531501 + x8) | 0; b = (c + ((t << 20) | (t >>> 12))) | 0;
  t = (a + ((b & d) | (c & ~d)) + -1444681467 + x13) | 0; a = (b + ((t << 5) | (t >>> 27))) | 0;
  t = (d + ((a & c) | (b & ~c)) + -51403784 + x2) | 0; d = (a + ((t << 9) | (t >>> 23))) | 0;
  t = (c + ((d & b) | (a & ~b)) + 1735328473 + x7) | 0; c = (d + ((t << 14) | (t >>> 18))) | 0;
  t = (b + ((c & a) | (d & ~a)) + -1926607734 + x12) | 0; b = (c + ((t << 20) | (t >>> 12))) | 0;
  t = (a + (b ^ c ^ d) + -378558 + x5) | 0; a = (b + ((t << 4) | (t >>> 28))) | 0;
  t = (d + (a ^ b ^ c) + -2022574463 + x8) | 0; d = (a + ((t << 11) | (t >>> 21))) | 0;
  t = (c + (d ^ a ^ b) + 1839030562 + x11) | 0; c = (d + ((t << 16) | (t >>> 16))) | 0;
  t = (b + (c ^ d ^ a) + -35309556 + x14) | 0; b = (c + ((t << 23) | (t >>> 9))) | 0;
  t = (a + (b ^ c ^ d) + -1530992060 + x1) | 0; a = (b + ((t << 4) | (t >>> 28))) | 0;
  t = (d + (a ^ b ^ c) + 1272893353 + x4) | 0; d = (a + ((t << 11) | (t >>> 21))) | 0;
  t = (c + (d ^ a ^ b) + -155497632 + x7) | 0; c = (d + ((t << 16) | (t >>> 16))) | 0;
  t = (b + (c ^ d ^ a) + -1094730640 + x10) | 0; b = (c + ((t << 23) | (t >>> 9))) | 0;
  t = (a + (b ^ c ^ d) + 681279174 + x13) | 0; a = (b + ((t << 4) | (t >>> 28))) | 0;
  t = (d + (a ^ b ^ c) + -358537222 + x0) | 0; d = (a + ((t << 11) | (t >>> 21))) | 0;
  t = (c + (d ^ a ^ b) + -722521979 + x3) | 0; c = (d + ((t << 16) | (t >>> 16))) | 0;
  t = (b + (c ^ d ^ a) + 76029189 + x6) | 0; b = (c + ((t << 23) | (t >>> 9))) | 0;
  t = (a + (b ^ c ^ d) + -640364487 + x9) | 0; a = (b + ((t << 4) | (t >>> 28))) | 0;
  t = (d + (a ^ b ^ c) + -421815835 + x12) | 0; d = (a + ((t << 11) | (t >>> 21))) | 0;
  t = (c + (d ^ a ^ b) + 530742520 + x15) | 0; c = (d + ((t << 16) | (t >>> 16))) | 0;
  t = (b + (c ^ d ^ a) + -995338651 + x2) | 0; b = (c + ((t << 23) | (t >>> 9))) | 0;
  t = (a + (c ^ (b | ~d)) + -198630844 + x0) | 0; a = (b + ((t << 6) | (t >>> 26))) | 0;
  t = (d + (b ^ (a | ~c)) + 1126891415 + x7) | 0; d = (a + ((t << 10) | (t >>> 22))) | 0;
  t = (c + (a ^ (d | ~b)) + -1416354905 + x14) | 0; c = (d + ((t << 15) | (t >>> 17))) | 0;
  t = (b + (d ^ (c | ~a)) + -57434055 + x5) | 0; b = (c + ((t << 21) | (t >>> 11))) | 0;
  t = (a + (c ^ (b | ~d)) + 1700485571 + x12) | 0; a = (b + ((t << 6) | (t >>> 26))) | 0;
  t = (d + (b ^ (a | ~c)) + -1894986606 + x3) | 0; d = (a + ((t << 10) | (t >>> 22))) | 0;
  t = (c + (a ^ (d | ~b)) + -1051523 + x10) | 0; c = (d + ((t << 15) | (t >>> 17))) | 0;
  t = (b + (d ^ (c | ~a)) + -2054922799 + x1) | 0; b = (c + ((t << 21) | (t >>> 11))) | 0;
  t = (a + (c ^ (b | ~d)) + 1873313359 + x8) | 0; a = (b + ((t << 6) | (t >>> 26))) | 0;
  t = (d + (b ^ (a | ~c)) + -30611744 + x15) | 0; d = (a + ((t << 10) | (t >>> 22))) | 0;
  t = (c + (a ^ (d | ~b)) + -1560198380 + x6) | 0; c = (d + ((t << 15) | (t >>> 17))) | 0;
  t = (b + (d ^ (c | ~a)) + 1309151649 + x13) | 0; b = (c + ((t << 21) | (t >>> 11))) | 0;
  t = (a + (c ^ (b | ~d)) + -145523070 + x4) | 0; a = (b + ((t << 6) | (t >>> 26))) | 0;
  t = (d + (b ^ (a | ~c)) + -1120210379 + x11) | 0; d = (a + ((t << 10) | (t >>> 22))) | 0;
  t = (c + (a ^ (d | ~b)) + 718787259 + x2) | 0; c = (d + ((t << 15) | (t >>> 17))) | 0;
  t = (b + (d ^ (c | ~a)) + -343485551 + x9) | 0; b = (c + ((t << 21) | (t >>> 11))) | 0;
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
}
