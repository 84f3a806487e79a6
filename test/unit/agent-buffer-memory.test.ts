// Proves that replaying a large backlog streams from disk: reading ~200 MiB of buffered records back through peek/ack with a 64 KiB read buffer grows the process RSS by far less than the backlog (under 32 MiB).
// The replay runs in a child with the agent unit's V8 flag (--max-semi-space-size=1, configs/systemd/tributary-agent.service):
// with V8's default young generation, Node.js 24 lets garbage grow RSS by ~35 MiB before collecting it, which says
// nothing about the reader (measured in the test worker without the flag: Node.js 20 0.1 MiB, 22 3.4 MiB, 24 35 MiB;
// with it, 0 to 3 MiB on each).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-buffer-mem-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const MiB = 1024 * 1024;

it('replays a 200 MiB backlog with bounded RSS growth', async () => {
  const unitFlags = fs.readFileSync(path.join(import.meta.dirname, '../../configs/systemd/tributary-agent.service'), 'utf8').match(/^ExecStart=\/usr\/bin\/node (--max-semi-space-size=\d+) /m);
  expect(unitFlags, 'the agent unit runs node --max-semi-space-size=<n>').not.toBeNull();
  const child = path.join(import.meta.dirname, '../helpers/buffer-replay-rss.ts');
  const { stdout } = await run(process.execPath, [unitFlags![1]!, '--import', 'tsx', child, root], { maxBuffer: 1 << 20 });
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { records: number; baselineBytes: number; peakBytes: number; segments: number };
  expect(r.records).toBe((200 * MiB) / (16 * 1024));
  const growthMiB = (r.peakBytes - r.baselineBytes) / MiB;
  console.log(`replayed 200 MiB; RSS ${(r.baselineBytes / MiB).toFixed(0)} MiB before, growth ${growthMiB.toFixed(1)} MiB`);
  expect(growthMiB).toBeLessThan(32);
  expect(r.segments).toBe(1);
}, 120_000);
