// Proves the buffer's newest-first catch-up (issue #4): after startCatchUp, records appended since form a live part read and acked
// apart from the older backlog part, each in order; the checkpoint keeps both cursors across restarts; segments go once passed;
// the parts merge once the backlog is acked. A model test drives random appends, part acks, catch-up starts and restarts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskBuffer, exportBuffer, inspectBuffer, type BufferPart } from '../../agent/buffer/index.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-buffer-catch-up-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const options = { fsync: 'never', segmentBytes: 64 * 1024, capBytes: 64 * 1024 * 1024 } as const;
let dirs = 0;
const newDir = () => path.join(root, `b-${dirs++}`);

async function append(b: DiskBuffer, from: number, n: number, size = 100): Promise<void> {
  await b.append(Array.from({ length: n }, (_, i) => {
    const data = Buffer.alloc(4 + size, 1);
    data.writeUInt32LE(from + i, 0);
    return { source: 's', partitionKey: 'k', data };
  }));
}

const ids = (rs: Array<{ data: Buffer }>) => rs.map((r) => r.data.readUInt32LE(0));
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('agent buffer: newest-first catch-up', () => {
  it('reads and acks the live part before the backlog, merges when the backlog is done, and deletes passed segments', async () => {
    const dir = newDir();
    const b = await DiskBuffer.open(dir, options);
    expect(b.startCatchUp()).toBe(false); // nothing buffered
    await append(b, 0, 1000, 300); // ~5 segments of backlog
    expect(b.startCatchUp()).toBe(true);
    expect(b.startCatchUp()).toBe(false); // one at a time
    expect(b.catchUp()).toEqual({ liveRecords: 0, backlogRecords: 1000 });
    await append(b, 1000, 500, 300);
    expect(b.catchUp()).toEqual({ liveRecords: 500, backlogRecords: 1000 });
    expect(b.stats().depthRecords).toBe(1500);
    // Without a part, peek still reads front to back.
    expect(ids(await b.peek(5, 1e9))).toEqual(range(0, 5));
    const live = await b.peek(400, 1e9, { part: 'live' });
    expect(ids(live)).toEqual(range(1000, 400));
    await b.ack(live.at(-1)!.position);
    expect(b.catchUp()).toEqual({ liveRecords: 100, backlogRecords: 1000 });
    expect(b.stats().depthRecords).toBe(1100);
    const backlog = await b.peek(600, 1e9, { part: 'backlog' });
    expect(ids(backlog)).toEqual(range(0, 600));
    await b.ack(backlog.at(-1)!.position);
    expect(b.stats().depthRecords).toBe(500);
    // The backlog part ends at the split: it never reads live records.
    const rest = await b.peek(1000, 1e9, { part: 'backlog' });
    expect(ids(rest)).toEqual(range(600, 400));
    const segmentsBefore = b.stats().segments;
    await b.ack(rest.at(-1)!.position);
    expect(b.catchUp()).toBeUndefined(); // merged
    expect(b.stats().segments).toBeLessThan(segmentsBefore);
    expect(b.stats().depthRecords).toBe(100);
    expect(ids(await b.peek(1000, 1e9))).toEqual(range(1400, 100));
    await b.close();
  });

  it('keeps both cursors and the split across a restart; records appended after it are live', async () => {
    const dir = newDir();
    let b = await DiskBuffer.open(dir, options);
    await append(b, 0, 600, 300);
    b.startCatchUp();
    await append(b, 600, 300, 300);
    await b.ack((await b.peek(100, 1e9, { part: 'backlog' })).at(-1)!.position);
    await b.ack((await b.peek(250, 1e9, { part: 'live' })).at(-1)!.position);
    await b.close();
    // The operator's tools count and export what is unacked in both parts.
    const summary = (await inspectBuffer(root)).destinations.find((d) => d.destination === path.basename(dir))!;
    expect(summary.depthRecords).toBe(550);
    expect((await exportBuffer(root, path.basename(dir), path.join(root, 'export.jsonl'))).records).toBe(550);
    b = await DiskBuffer.open(dir, options);
    expect(b.catchUp()).toEqual({ liveRecords: 50, backlogRecords: 500 });
    await append(b, 900, 10);
    expect(ids(await b.peek(1000, 1e9, { part: 'live' }))).toEqual(range(850, 60));
    expect(ids(await b.peek(1000, 1e9, { part: 'backlog' }))).toEqual(range(100, 500));
    expect(b.stats().depthRecords).toBe(560);
    await b.close();
  });

  type Command = { op: 'append'; n: number } | { op: 'ack'; part: BufferPart; k: number } | { op: 'catch-up' } | { op: 'restart' };
  const commandArb: fc.Arbitrary<Command> = fc.oneof(
    fc.record({ op: fc.constant('append' as const), n: fc.integer({ min: 1, max: 80 }) }),
    fc.record({ op: fc.constant('ack' as const), part: fc.constantFrom<BufferPart>('live', 'backlog'), k: fc.integer({ min: 1, max: 120 }) }),
    fc.constant({ op: 'catch-up' as const }),
    fc.constant({ op: 'restart' as const }),
  );

  it('matches a two-queue model under random appends, part acks, catch-ups and restarts', async () => {
    await fc.assert(fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 50 }), async (commands) => {
      const dir = newDir();
      let b = await DiskBuffer.open(dir, options);
      // Without a catch-up everything is in `backlog`; `live` is the live part during one.
      let backlog: number[] = [];
      let live: number[] | undefined;
      let next = 0;
      try {
        for (const c of commands) {
          if (c.op === 'append') {
            await append(b, next, c.n, 1000);
            (live ?? backlog).push(...range(next, c.n));
            next += c.n;
          } else if (c.op === 'catch-up') {
            const started = b.startCatchUp();
            expect(started).toBe(live === undefined && backlog.length > 0);
            if (started) live = [];
          } else if (c.op === 'restart') {
            await b.close();
            b = await DiskBuffer.open(dir, options);
          } else {
            const q = c.part === 'live' && live ? live : backlog;
            const got = await b.peek(c.k, 1e9, { part: c.part });
            expect(ids(got)).toEqual(q.slice(0, c.k));
            if (got.length > 0) await b.ack(got.at(-1)!.position);
            q.splice(0, got.length);
            if (live && backlog.length === 0) {
              backlog = live;
              live = undefined;
            }
          }
          expect(b.catchUp()).toEqual(live ? { liveRecords: live.length, backlogRecords: backlog.length } : undefined);
          expect(b.stats().depthRecords).toBe(backlog.length + (live?.length ?? 0));
        }
        await b.close();
        b = await DiskBuffer.open(dir, options);
        expect(ids(await b.peek(10_000, 1e12, { part: 'live' }))).toEqual(live ?? backlog);
        expect(ids(await b.peek(10_000, 1e12, { part: 'backlog' }))).toEqual(backlog);
      } finally {
        await b.close();
      }
    }), { numRuns: 40 });
  });
});
