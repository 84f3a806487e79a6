/**
 * Large buffers passed back and forth between the main thread and the
 * offload workers instead of allocated per request: a PutRecords body of
 * 500 x 1 KiB records is 690 KB and its frames 530 KB, and at a hundred
 * requests a second those allocations alone made V8 run a full collection
 * several times a second (external memory counts towards its limits) and
 * left hundreds of MB of garbage awaiting it (issue #19).
 *
 * A pool holds spare ArrayBuffers, bounded in count and bytes; `take` gives
 * a Buffer of exactly the size asked over a spare at least that large (or a
 * new one, rounded up so that it can serve later requests of about the same
 * size). Whoever gives a buffer back must be the last to use it.
 */

/** Buffers below this size are left to Node's allocator (its 8 KiB slab serves small ones). */
export const pooledBytesMin = 64 * 1024;

export class BufferPool {
  private spares: ArrayBuffer[] = [];
  private bytes = 0;
  /** Every ArrayBuffer this pool made: those may be transferred whole even when a Buffer over one is shorter. */
  private readonly made = new WeakSet<ArrayBuffer>();

  constructor(
    private readonly sparesMax: number,
    private readonly bytesMax: number,
  ) {}

  /** A Buffer of `size` bytes (contents undefined) over a spare, or over a new ArrayBuffer when none fits. */
  take(size: number): Buffer {
    for (let i = this.spares.length - 1; i >= 0; i--) {
      const ab = this.spares[i]!;
      // At most twice the size: a small request must not hold a large spare.
      if (ab.byteLength >= size && ab.byteLength <= 2 * size + pooledBytesMin) {
        this.spares.splice(i, 1);
        this.bytes -= ab.byteLength;
        return Buffer.from(ab, 0, size);
      }
    }
    // Rounded up to an eighth of the next power of two: requests of about one size share spares.
    const step = Math.max(pooledBytesMin, 2 ** Math.ceil(Math.log2(size)) / 8);
    const ab = Buffer.allocUnsafeSlow(Math.ceil(size / step) * step).buffer as ArrayBuffer;
    this.made.add(ab);
    return Buffer.from(ab, 0, size);
  }

  /** Keeps `ab` for a later `take`, when there is room (a detached or small one is dropped). */
  give(ab: ArrayBuffer): void {
    if (ab.byteLength < pooledBytesMin) return;
    if (this.spares.length >= this.sparesMax || this.bytes + ab.byteLength > this.bytesMax) return;
    this.made.add(ab);
    this.spares.push(ab);
    this.bytes += ab.byteLength;
  }

  /** Takes a spare of any size to hand to another thread (which sizes its own use of it); undefined when there is none. */
  takeSpare(): ArrayBuffer | undefined {
    const ab = this.spares.pop();
    if (ab) this.bytes -= ab.byteLength;
    return ab;
  }

  /** Whether `ab` came from a pool (so a Buffer at its start may stand for all of it). */
  owns(ab: ArrayBufferLike): boolean {
    return this.made.has(ab as ArrayBuffer);
  }

  get spareCount(): number {
    return this.spares.length;
  }
}
