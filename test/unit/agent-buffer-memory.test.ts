// Proves that replaying a large backlog streams from disk: reading ~200 MiB of buffered records back through peek/ack with a 64 KiB read buffer grows the process RSS by far less than the backlog (under 32 MiB).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, expect, it } from 'vitest';
import { DiskBuffer } from '../../agent/buffer/index.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-buffer-mem-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const MiB = 1024 * 1024;
const backlogBytes = 200 * MiB;
const recordBytes = 16 * 1024;
const options = { fsync: 'never', segmentBytes: 1 * MiB, capBytes: 256 * MiB, readBufferBytes: 64 * 1024 };

it('replays a 200 MiB backlog with bounded RSS growth', async () => {
  const dir = path.join(root, 'd');
  const writer = await DiskBuffer.open(dir, options);
  const payload = Buffer.alloc(recordBytes, 0x5a);
  const count = backlogBytes / recordBytes;
  for (let i = 0; i < count; i += 64) {
    const batch = [];
    for (let k = i; k < Math.min(count, i + 64); k++) {
      const data = Buffer.from(payload);
      data.writeUInt32LE(k, 0);
      batch.push({ source: 'bulk', partitionKey: `pk${k % 16}`, data });
    }
    await writer.append(batch);
  }
  await writer.close();

  // Collect the writer's garbage first, so the baseline is not inflated and growth is the reader's own.
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  const reader = await DiskBuffer.open(dir, options);
  expect(reader.stats().depthRecords).toBe(count);
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  let next = 0;
  for (;;) {
    const got = await reader.peek(500, 1 * MiB);
    if (got.length === 0) break;
    for (const r of got) {
      if (r.data.readUInt32LE(0) !== next) throw new Error(`expected record ${next}, got ${r.data.readUInt32LE(0)}`);
      next++;
    }
    await reader.ack(got.at(-1)!.position);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  expect(next).toBe(count);
  const growthMiB = (peak - baseline) / MiB;
  console.log(`replayed ${backlogBytes / MiB} MiB; RSS ${(baseline / MiB).toFixed(0)} MiB before, growth ${growthMiB.toFixed(1)} MiB`);
  expect(growthMiB).toBeLessThan(32);
  expect(reader.stats().segments).toBe(1);
  await reader.close();
}, 60_000);
