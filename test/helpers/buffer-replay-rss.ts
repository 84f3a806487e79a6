/**
 * The measurement of test/unit/agent-buffer-memory.test.ts, in its own
 * process so that it runs with the agent unit's V8 flags (the test starts it
 * as `node --max-semi-space-size=1 --import tsx <this> <dir>`): writes a
 * 200 MiB backlog, replays it through peek/ack, and prints
 * `{"records","baselineBytes","peakBytes","segments"}` as one JSON line.
 */
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { DiskBuffer } from '../../agent/buffer/index.ts';

const MiB = 1024 * 1024;
export const backlogBytes = 200 * MiB;
const recordBytes = 16 * 1024;
const options = { fsync: 'never', segmentBytes: 1 * MiB, capBytes: 256 * MiB, readBufferBytes: 64 * 1024 } as const;

const dir = path.join(process.argv[2]!, 'd');
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
if (reader.stats().depthRecords !== count) throw new Error(`expected ${count} records buffered, found ${reader.stats().depthRecords}`);
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
const segments = reader.stats().segments;
await reader.close();
console.log(JSON.stringify({ records: next, baselineBytes: baseline, peakBytes: peak, segments }));
