/**
 * The two ids AWS puts on every answer, cheaply: `x-amzn-RequestId`, a
 * random (version 4) UUID in lower-case hex, and `x-amz-id-2`, 72 random
 * bytes in base64 (kinesalite's captures: it decodes to 64-80 bytes). Both
 * are cut from one block of CSPRNG bytes drawn for many requests at a time,
 * each byte used once, instead of a call into OpenSSL per request. On this
 * 2-core machine under load (200,000 calls in a loop), `randomUUID()` and
 * `randomBytes(72).toString('base64')` took about 17 µs a request together,
 * these two about 1.2 µs.
 */
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';

/** Bytes of one request's ids: 16 for the UUID, 72 for x-amz-id-2. */
const requestIdBytes = 16;
const extendedIdBytes = 72;
/** Requests served from one draw of random bytes (a draw is 11 KiB). */
export const requestIdsPerDraw = 128;

const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class RequestIds {
  private readonly pool = Buffer.allocUnsafe((requestIdBytes + extendedIdBytes) * requestIdsPerDraw);
  private at = this.pool.length;

  private take(n: number): number {
    if (this.at + n > this.pool.length) {
      randomFillSync(this.pool);
      this.at = 0;
    }
    const start = this.at;
    this.at += n;
    return start;
  }

  /** A version 4 UUID as `crypto.randomUUID()` formats it: 122 random bits, version 4, variant 10. */
  requestId(): string {
    const b = this.pool;
    const i = this.take(requestIdBytes);
    b[i + 6] = (b[i + 6]! & 0x0f) | 0x40;
    b[i + 8] = (b[i + 8]! & 0x3f) | 0x80;
    const id =
      hex[b[i]!]! + hex[b[i + 1]!]! + hex[b[i + 2]!]! + hex[b[i + 3]!]! + '-' + hex[b[i + 4]!]! + hex[b[i + 5]!]! + '-' +
      hex[b[i + 6]!]! + hex[b[i + 7]!]! + '-' + hex[b[i + 8]!]! + hex[b[i + 9]!]! + '-' + hex[b[i + 10]!]! + hex[b[i + 11]!]! +
      hex[b[i + 12]!]! + hex[b[i + 13]!]! + hex[b[i + 14]!]! + hex[b[i + 15]!]!;
    assert.equal(id.length, 36);
    return id;
  }

  /** x-amz-id-2: 72 random bytes in base64 (96 characters). */
  extendedId(): string {
    const i = this.take(extendedIdBytes);
    return this.pool.toString('base64', i, i + extendedIdBytes);
  }
}
