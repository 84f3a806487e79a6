// Proves, against a simple in-memory queue model, that random sequences of appends, peeks, acks and restarts (with tiny segments) always deliver exactly the unacked records, in order, with consistent depth and per-source sequence numbers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import { DiskBuffer } from '../../agent/buffer/index.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-buffer-model-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

type Command = { op: 'append'; n: number; size: number; source: number } | { op: 'peekAck'; k: number } | { op: 'restart' };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('append' as const), n: fc.integer({ min: 1, max: 40 }), size: fc.integer({ min: 0, max: 3000 }), source: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ op: fc.constant('peekAck' as const), k: fc.integer({ min: 1, max: 60 }) }),
  fc.constant({ op: 'restart' as const }),
);

const options = { fsync: 'never', segmentBytes: 64 * 1024, capBytes: 64 * 1024 * 1024 };

it('matches a queue model under random appends, peeks, acks and restarts', async () => {
  let run = 0;
  await fc.assert(fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 60 }), async (commands) => {
    const dir = path.join(root, `run-${run++}`);
    let b = await DiskBuffer.open(dir, options);
    const queue: { id: number; source: string; seq: number }[] = [];
    const nextSeq = [0, 0, 0];
    let nextId = 0;
    try {
      for (const c of commands) {
        if (c.op === 'append') {
          const batch = Array.from({ length: c.n }, () => {
            const data = Buffer.alloc(4 + c.size, 1);
            data.writeUInt32LE(nextId++, 0);
            return { source: `s${c.source}`, partitionKey: 'k', data };
          });
          const { seqs } = await b.append(batch);
          expect(seqs).toEqual(Array.from({ length: c.n }, (_, i) => nextSeq[c.source]! + i));
          nextSeq[c.source]! += c.n;
          for (const [i, r] of batch.entries()) queue.push({ id: r.data.readUInt32LE(0), source: r.source, seq: seqs[i]! });
        } else if (c.op === 'peekAck') {
          const got = await b.peek(c.k, 1 << 30);
          const want = queue.slice(0, c.k);
          expect(got.map((r) => ({ id: r.data.readUInt32LE(0), source: r.source, seq: r.seq }))).toEqual(want);
          if (got.length > 0) await b.ack(got.at(-1)!.position);
          queue.splice(0, got.length);
        } else {
          await b.close();
          b = await DiskBuffer.open(dir, options);
        }
        expect(b.stats().depthRecords).toBe(queue.length);
      }
    } finally {
      await b.close();
    }
  }), { numRuns: 100 });
}, 30_000);
