// Issue #18: long operations show progress on a terminal. `tributary-agent
// buffer export` (the shipped bundle) run on a real pseudo-terminal (util-linux
// `script`) draws a progress bar of records on stderr that ends at the
// buffer's depth, while stdout keeps the JSON result; without a terminal
// (a pipe) it prints the result alone, so scripts that parse it are unaffected.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

import { DiskBuffer } from '../../agent/buffer/index.ts';
import { agentBundlePath } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/gateway.ts';

const run = promisify(execFile);
const records = 20_000;

async function bufferWith(n: number): Promise<string> {
  const root = tempDir('trb-export-bar-');
  const buf = await DiskBuffer.openDestination(root, 'telemetry', { fsync: 'never' });
  for (let i = 0; i < n; i += 500) {
    await buf.append(Array.from({ length: Math.min(500, n - i) }, (_, k) => ({ source: 'test', partitionKey: `k${(i + k) % 7}`, data: Buffer.from(`record ${i + k}`) })));
  }
  await buf.close();
  return root;
}

it('draws a progress bar of records on a terminal, and none through a pipe', async () => {
  const root = await bufferWith(records);
  const command = (out: string) => [process.execPath, agentBundlePath(), 'buffer', 'export', 'telemetry', out, '--dir', root];
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

  // `script -qec <command> /dev/null` gives the command a pseudo-terminal and copies what it draws to our stdout.
  const onTty = path.join(root, 'tty.jsonl');
  const tty = await run('script', ['-qec', command(onTty).map(quote).join(' '), '/dev/null'], { env: { ...process.env, COLUMNS: '120' }, maxBuffer: 16 << 20 });
  expect(tty.stdout).toMatch(new RegExp(`100% \\| ${records}/${records} records`));
  expect(tty.stdout).toContain(`"records": ${records}`);
  expect(fs.readFileSync(onTty, 'utf8').trim().split('\n')).toHaveLength(records);

  const piped = path.join(root, 'piped.jsonl');
  const pipe = await run(command(piped)[0]!, command(piped).slice(1));
  expect(pipe.stderr).toBe('');
  expect(JSON.parse(pipe.stdout)).toEqual({ records, problems: [] });
  expect(fs.readFileSync(piped, 'utf8')).toBe(fs.readFileSync(onTty, 'utf8'));
}, 120_000);
