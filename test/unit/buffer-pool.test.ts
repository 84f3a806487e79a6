// Issue #19: the pool of buffers passed between the main thread and the offload workers gives
// buffers of exactly the size asked, reuses a spare only when it fits (and is not far too large),
// and keeps at most its bounds of spares.
import { describe, expect, it } from 'vitest';
import { BufferPool, pooledBytesMin } from '../../gateway/http/buffer-pool.ts';

describe('BufferPool', () => {
  it('reuses a spare that fits and allocates otherwise', () => {
    const pool = new BufferPool(4, 10 * 1024 * 1024);
    const a = pool.take(700_000);
    expect(a.length).toBe(700_000);
    expect(a.buffer.byteLength).toBeGreaterThanOrEqual(700_000);
    expect(pool.owns(a.buffer)).toBe(true);
    pool.give(a.buffer as ArrayBuffer);
    const b = pool.take(690_000);
    expect(b.buffer).toBe(a.buffer); // the same memory, a new Buffer of the size asked
    expect(b.length).toBe(690_000);
    pool.give(b.buffer as ArrayBuffer);
    // Far smaller than the spare: a buffer of its own, and the spare stays.
    const small = pool.take(pooledBytesMin);
    expect(small.buffer).not.toBe(a.buffer);
    expect(pool.spareCount).toBe(1);
    // Larger than every spare: a new one.
    expect(pool.take(2_000_000).buffer).not.toBe(a.buffer);
  });

  it('keeps no more spares than its bounds, and none too small or detached', () => {
    const pool = new BufferPool(2, 3 * 1024 * 1024);
    pool.give(new ArrayBuffer(1024)); // below the pooled minimum
    expect(pool.spareCount).toBe(0);
    for (let i = 0; i < 4; i++) pool.give(new ArrayBuffer(1024 * 1024));
    expect(pool.spareCount).toBe(2);
    const big = new BufferPool(8, 3 * 1024 * 1024);
    for (let i = 0; i < 4; i++) big.give(new ArrayBuffer(1024 * 1024));
    expect(big.spareCount).toBe(3); // the byte bound
    const detached = new ArrayBuffer(1024 * 1024);
    structuredClone(detached, { transfer: [detached] });
    big.takeSpare();
    big.give(detached);
    expect(big.spareCount).toBe(2);
    expect(big.takeSpare()!.byteLength).toBe(1024 * 1024);
  });
});
