// Issue #15, the pieces of the full-disk handling: the cap plan (pure), the
// disk reserve that metadata writes fall back on, and the buffer on a real
// 4 MiB ext4 (skipped with the reason where this machine cannot mount): an
// append the disk has no room for is refused whole and leaves nothing behind,
// drop-oldest lowers its cap and keeps taking records, and a buffer reopens
// read-only on the full disk and is drained (which frees it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskBuffer, bufferLimits } from '../../agent/buffer/index.ts';
import { DiskReserve, planCaps } from '../../agent/disk-space.ts';
import { mountSmallFs } from '../helpers/small-fs.ts';

const MiB = 1024 * 1024;
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('planCaps', () => {
  const base = { bufferedBytes: 0, destinations: 1, capFreePercent: 50, headroomBytes: 0, capBytesMin: bufferLimits.capBytesMin, capSegmentsMin: bufferLimits.capSegmentsMin };

  it('takes half the free space by default, shared by the destinations, with segments to fit', () => {
    expect(planCaps({ ...base, freeBytes: 1000 * MiB })).toEqual({ capBytes: 500 * MiB, segmentBytes: 8 * MiB });
    const two = planCaps({ ...base, freeBytes: 1000 * MiB, destinations: 2 });
    expect(two.capBytes).toBe(250 * MiB);
    // Small disks get small segments: eight to a cap.
    const small = planCaps({ ...base, freeBytes: 16 * MiB });
    expect(small.capBytes).toBe(8 * MiB);
    expect(small.segmentBytes).toBe(MiB);
  });

  it('counts what the buffers already hold as theirs, and leaves the guard its headroom', () => {
    expect(planCaps({ ...base, freeBytes: 100 * MiB, bufferedBytes: 100 * MiB, headroomBytes: 2 * MiB }).capBytes).toBe(99 * MiB);
  });

  it('keeps a configured cap and warns when the disk cannot hold it', () => {
    const p = planCaps({ ...base, freeBytes: 16 * MiB, capBytes: 1024 * MiB, segmentBytes: 8 * MiB });
    expect(p.capBytes).toBe(1024 * MiB);
    expect(p.warning).toMatch(/capBytes 1073741824 .* exceeds what the disk can hold/);
    expect(planCaps({ ...base, freeBytes: 16 * MiB, capBytes: 4 * MiB }).warning).toBeUndefined();
  });

  it('never goes below the buffer minimum (and says so)', () => {
    const p = planCaps({ ...base, freeBytes: 512 * 1024 });
    expect(p.capBytes).toBe(bufferLimits.capBytesMin);
    expect(p.segmentBytes * bufferLimits.capSegmentsMin).toBeLessThanOrEqual(p.capBytes);
    expect(p.warning).toMatch(/minimum cap/);
  });
});

describe('DiskReserve', () => {
  it('takes its reserve, gives it up on ENOSPC (the disk turns low), and takes it back once there is room', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trb-reserve-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const changes: boolean[] = [];
    const r = new DiskReserve(dir, { reserveBytes: 64 * 1024, onChange: (low) => changes.push(low) });
    r.start();
    cleanups.push(() => r.stop());
    expect(fs.statSync(r.file).size).toBe(64 * 1024);
    expect(r.noSpace(Object.assign(new Error('EIO'), { code: 'EIO' }))).toBe(false);
    expect(r.low).toBe(false);
    expect(r.noSpace(Object.assign(new Error('full'), { code: 'ENOSPC' }))).toBe(true);
    expect(fs.existsSync(r.file)).toBe(false);
    expect(r.low).toBe(true);
    // Nothing more to give.
    expect(r.noSpace(Object.assign(new Error('full'), { code: 'ENOSPC' }))).toBe(false);
    r.check();
    expect(r.held).toBe(true);
    expect(r.low).toBe(false);
    expect(changes).toEqual([true, false]);
  });
});

describe('the buffer on a full disk', () => {
  const record = (i: number) => ({ source: 's', partitionKey: `k${i % 5}`, data: Buffer.alloc(1000, i % 251) });

  async function fillUntilRefused(buf: DiskBuffer): Promise<number> {
    let ok = 0;
    for (let i = 0; ; i += 10) {
      try {
        await buf.append(Array.from({ length: 10 }, (_, k) => record(i + k)));
        ok += 10;
      } catch (err) {
        expect((err as { code?: string }).code).toBe('BUFFER_FULL');
        return ok;
      }
    }
  }

  it('refuses an append whole (nothing of it is left), reopens read-only, and drains', async (ctx) => {
    const small = mountSmallFs(4);
    if (typeof small === 'string') return ctx.skip(small);
    cleanups.push(() => small.unmount());
    const space = new DiskReserve(small.dir, { reserveBytes: 64 * 1024 });
    space.start();
    cleanups.push(() => space.stop());
    const dir = path.join(small.dir, 'buf');
    let buf = await DiskBuffer.open(dir, { segmentBytes: 64 * 1024, capBytes: 1024 * MiB, capPolicy: 'reject-newest', space });
    const accepted = await fillUntilRefused(buf);
    expect(accepted).toBeGreaterThan(1000);
    expect(space.low).toBe(true);
    expect(buf.stats().depthRecords).toBe(accepted);
    // Every frame on disk belongs to an accepted append.
    await buf.close();
    small.fillUp();
    buf = await DiskBuffer.open(dir, { segmentBytes: 64 * 1024, capBytes: 1024 * MiB, capPolicy: 'reject-newest', space });
    expect(buf.stats().depthRecords).toBe(accepted);
    await expect(buf.append([record(0)])).rejects.toMatchObject({ code: 'BUFFER_FULL' });
    // Draining frees the disk.
    for (let n = 0; n < accepted;) {
      const batch = await buf.peek(500, 4 * MiB);
      n += batch.length;
      await buf.ack(batch.at(-1)!.position);
    }
    expect(buf.stats().depthRecords).toBe(0);
    fs.rmSync(path.join(small.dir, 'filler'));
    space.check();
    expect(space.low).toBe(false);
    await buf.append([record(1)]);
    await buf.close();
  });

  it('drop-oldest: lowers its cap on ENOSPC and keeps taking records by dropping old ones', async (ctx) => {
    const small = mountSmallFs(4);
    if (typeof small === 'string') return ctx.skip(small);
    cleanups.push(() => small.unmount());
    const space = new DiskReserve(small.dir, { reserveBytes: 64 * 1024 });
    space.start();
    cleanups.push(() => space.stop());
    const buf = await DiskBuffer.open(path.join(small.dir, 'buf'), { segmentBytes: 64 * 1024, capBytes: 1024 * MiB, space });
    cleanups.push(() => buf.close());
    for (let i = 0; i < 8000; i += 10) await buf.append(Array.from({ length: 10 }, (_, k) => record(i + k)));
    const s = buf.stats();
    expect(s.droppedRecords).toBeGreaterThan(0);
    expect(s.capBytes).toBeLessThan(4 * MiB);
    expect(s.rejectedRecords).toBe(0);
  });
});
