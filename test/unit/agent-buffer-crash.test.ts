// Proves that with fsync `always` every append the buffer acknowledged survives a SIGKILL at a random moment: a child process appends and prints acknowledged ids, the test kills it, reopens the buffer and finds every printed id.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { DiskBuffer } from '../../agent/buffer/index.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-buffer-crash-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const bufferModule = pathToFileURL(path.resolve('agent/buffer/index.ts')).href;
// Written at test time (an .mts file, so tsx loads it as ESM) rather than kept as a fixture in the tree.
const childSource = `
import { DiskBuffer } from ${JSON.stringify(bufferModule)};
const [dir, base] = process.argv.slice(2);
const b = await DiskBuffer.open(dir, { fsync: 'always', segmentBytes: 64 * 1024, capBytes: 64 * 1024 * 1024 });
let id = Number(base);
process.stdout.write('ready\\n');
for (;;) {
  const n = 1 + (id % 5);
  const batch = [];
  for (let k = 0; k < n; k++) {
    const data = Buffer.alloc(64 + (id % 300), 7);
    data.writeUInt32LE(id + k, 0);
    batch.push({ source: 'crash', partitionKey: 'pk' + ((id + k) % 11), data });
  }
  const first = id;
  id += n;
  await b.append(batch);
  process.stdout.write(Array.from({ length: n }, (_, k) => first + k).join('\\n') + '\\n');
}
`;

function runAndKill(dir: string, base: number): Promise<number[]> {
  const script = path.join(root, 'child.mts');
  fs.writeFileSync(script, childSource);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir, String(base)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let armed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!armed && out.includes('ready\n')) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), 100 + Math.floor(Math.random() * 400));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`child exited on its own: ${err}`));
      // Only complete lines count: a line cut by the kill was never fully acknowledged to us.
      const lines = out.split('\n').slice(0, -1).filter((l) => l !== 'ready');
      resolve(lines.map(Number));
    });
  });
}

it('keeps every acknowledged record through 5 SIGKILLs', async () => {
  const dir = path.join(root, 'dest');
  let lastSeq = -1;
  let total = 0;
  for (let cycle = 0; cycle < 5; cycle++) {
    const base = cycle * 10_000_000;
    const acknowledged = await runAndKill(dir, base);
    expect(acknowledged.length).toBeGreaterThan(0);
    total += acknowledged.length;
    const b = await DiskBuffer.open(dir, { fsync: 'never', segmentBytes: 64 * 1024, capBytes: 64 * 1024 * 1024 });
    // A kill can tear the tail of the newest segment, never corrupt an older one.
    expect(b.stats().corruptSegments).toBe(0);
    const present = new Set<number>();
    for (;;) {
      const got = await b.peek(1000, 4 << 20);
      if (got.length === 0) break;
      for (const r of got) {
        const id = r.data.readUInt32LE(0);
        // Records acked in an earlier cycle are never delivered again.
        expect(id).toBeGreaterThanOrEqual(base);
        present.add(id);
        expect(r.seq).toBeGreaterThan(lastSeq); // per-source numbering stays monotonic across crashes
        lastSeq = r.seq;
      }
      await b.ack(got.at(-1)!.position);
    }
    const lost = acknowledged.filter((id) => !present.has(id));
    expect(lost, `cycle ${cycle}: acknowledged ids lost`).toEqual([]);
    await b.close();
  }
  expect(total).toBeGreaterThan(50);
}, 30_000);
