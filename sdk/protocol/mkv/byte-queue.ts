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

  /**
   * The first `n` bytes (n <= length) as one array; nothing is consumed. Bytes
   * that span chunks are copied once, exactly `n` of them: the copy replaces
   * them at the head, the rest of the last chunk stays a view.
   */
  peek(n: number): Uint8Array {
    const first = this.chunks[0];
    if (n === 0 || first === undefined) return new Uint8Array(0);
    if (first.length - this.headOffset >= n) return first.subarray(this.headOffset, this.headOffset + n);
    const joined = new Uint8Array(n);
    let at = 0;
    let used = 0;
    let rest: Uint8Array | undefined;
    for (const c of this.chunks) {
      const part = used === 0 ? c.subarray(this.headOffset) : c;
      used++;
      const take = Math.min(part.length, n - at);
      joined.set(part.subarray(0, take), at);
      at += take;
      if (at === n) {
        if (take < part.length) rest = part.subarray(take);
        break;
      }
    }
    this.chunks.splice(0, used, ...(rest ? [joined, rest] : [joined]));
    this.headOffset = 0;
    return joined;
  }

  /** Removes and returns the first `n` bytes (n <= length). */
  take(n: number): Uint8Array {
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

  /** Removes the first `n` bytes (n <= length), copying them into `dest` at `at`: one copy, whatever the chunks. */
  takeInto(dest: Uint8Array, at: number, n: number): void {
    if (n > this.total || at + n > dest.length) throw new RangeError(`takeInto: ${n} bytes at ${at} (queued ${this.total}, room ${dest.length})`);
    let copied = 0;
    while (copied < n) {
      const first = this.chunks[0]!;
      const part = first.subarray(this.headOffset, this.headOffset + (n - copied));
      dest.set(part, at + copied);
      copied += part.length;
      this.skip(part.length);
    }
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
}
