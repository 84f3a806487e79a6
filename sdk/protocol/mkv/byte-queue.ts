/**
 * The bytes a streaming decoder has been given but not yet consumed, kept as
 * the pushed chunks (no copy) and joined only when a caller needs a
 * contiguous run that spans chunks.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private headOffset = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** The first `n` bytes (n <= length) as one array, joining chunks if needed; nothing is consumed. */
  peek(n: number): Uint8Array {
    const first = this.chunks[0];
    if (n === 0 || first === undefined) return new Uint8Array(0);
    if (first.length - this.headOffset >= n) return first.subarray(this.headOffset, this.headOffset + n);
    const joined = new Uint8Array(this.joinLength(n));
    let at = 0;
    let count = 0;
    for (const c of this.chunks) {
      const part = count === 0 ? c.subarray(this.headOffset) : c;
      joined.set(part, at);
      at += part.length;
      count++;
      if (at >= n) break;
    }
    // Keep the joined run as the head so that the next peek does not join again.
    this.chunks.splice(0, count, joined);
    this.headOffset = 0;
    return joined.subarray(0, n);
  }

  /** Removes and returns the first `n` bytes (n <= length). */
  take(n: number): Uint8Array {
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

  /** Drops the first `n` bytes (n <= length). */
  skip(n: number): void {
    this.total -= n;
    while (n > 0) {
      const first = this.chunks[0]!;
      const left = first.length - this.headOffset;
      if (n < left) {
        this.headOffset += n;
        return;
      }
      n -= left;
      this.chunks.shift();
      this.headOffset = 0;
    }
  }

  /** The bytes of the whole chunks that cover the first `n` bytes. */
  private joinLength(n: number): number {
    let at = 0;
    let i = 0;
    for (const c of this.chunks) {
      at += i === 0 ? c.length - this.headOffset : c.length;
      i++;
      if (at >= n) break;
    }
    return at;
  }
}
