// Proves the file tail input on real files and a real disk buffer: appended lines arrive in order; rename rotation (with late writes through the old descriptor) and copytruncate lose and duplicate nothing; a restart resumes from the checkpoint, even when the file was rotated while stopped; multiline stack traces are grouped; over-long lines are cut with a marker; and a failed append is retried from the checkpoint.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskBuffer, type BufferedRecord } from '../../agent/buffer/index.ts';
import { contentPartitionKey, type RecordSink } from '../../agent/inputs/common.ts';
import { FileTailInput, parseFileTailConfig } from '../../agent/inputs/file-tail.ts';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import { waitFor } from '../helpers/wait.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup { dir: string; stateDir: string; buffer: DiskBuffer; log: string }

async function setup(): Promise<Setup> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-input-file-'));
  const dir = path.join(root, 'logs');
  fs.mkdirSync(dir);
  const buffer = await DiskBuffer.openDestination(path.join(root, 'buffer'), 'logs', { fsync: 'never' });
  cleanups.push(async () => {
    await buffer.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  return { dir, stateDir: path.join(root, 'state'), buffer, log: path.join(dir, 'app.log') };
}

async function startTail(s: Setup, extra: Record<string, unknown> = {}, sink: RecordSink = s.buffer): Promise<FileTailInput> {
  const config = parseFileTailConfig({
    paths: [path.join(s.dir, '*.log')], destination: 'logs', stateDir: s.stateDir, pollIntervalMs: 20, rotateWaitMs: 150,
    multilineFlushMs: 150, ...extra,
  });
  const input = new FileTailInput(config, sink);
  await input.start();
  cleanups.push(() => input.stop());
  return input;
}

const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => `line ${from + i}`);
const write = (p: string, ls: string[]) => fs.appendFileSync(p, ls.map((l) => `${l}\n`).join(''));

async function records(b: DiskBuffer): Promise<BufferedRecord[]> {
  return b.peek(100_000, 256 << 20);
}

async function waitForCount(b: DiskBuffer, n: number, timeoutMs = 10_000): Promise<string[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const got = (await records(b)).map((r) => r.data.toString());
    if (got.length >= n) {
      await new Promise((r) => setTimeout(r, 200)); // Anything extra (a duplicate) would show up now.
      return (await records(b)).map((r) => r.data.toString());
    }
    if (Date.now() > until) throw new Error(`timed out with ${got.length} of ${n} records`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('agent file tail input', () => {
  it('delivers appended lines in order, a partial line once it is complete, with source and partition key', async () => {
    const s = await setup();
    write(s.log, lines(0, 5));
    await startTail(s);
    write(s.log, lines(5, 5));
    fs.appendFileSync(s.log, 'line 1');
    await new Promise((r) => setTimeout(r, 100));
    fs.appendFileSync(s.log, '0\n');
    expect(await waitForCount(s.buffer, 11)).toEqual(lines(0, 11));
    const all = await records(s.buffer);
    // The default key (issue #15): a hash of the line, so a backlog spreads over the shards; the same line, the same key.
    expect(all.map((r) => [r.source, r.partitionKey])).toEqual(all.map((r) => [`file:${s.log}`, contentPartitionKey(r.data)]));
    expect(new Set(all.map((r) => r.partitionKey)).size).toBe(11);
    expect(all[0]!.partitionKey).toMatch(/^[0-9a-f]{8}$/);
  });

  it('keys every line by the file name with order: per-file (one shard, file order)', async () => {
    const s = await setup();
    write(s.log, lines(0, 5));
    await startTail(s, { order: 'per-file' });
    expect(await waitForCount(s.buffer, 5)).toEqual(lines(0, 5));
    expect(new Set((await records(s.buffer)).map((r) => r.partitionKey))).toEqual(new Set(['app.log']));
  });

  it('loses and duplicates nothing through rename rotation, including late writes to the old file', async () => {
    const s = await setup();
    const input = await startTail(s);
    const old = fs.openSync(s.log, 'a');
    fs.writeSync(old, lines(0, 50).map((l) => `${l}\n`).join(''));
    await waitForCount(s.buffer, 50); // The tail has found the file: it holds a descriptor from here on.
    fs.writeSync(old, lines(50, 50).map((l) => `${l}\n`).join('')); // Unread when the rename comes.
    fs.renameSync(s.log, `${s.log}.1`); // Not matched by *.log: followed through the open descriptor only.
    fs.writeSync(old, 'line 100\nline 101\n'); // The writer has not reopened yet.
    fs.closeSync(old);
    write(s.log, lines(102, 100));
    expect(await waitForCount(s.buffer, 202)).toEqual(lines(0, 202));
    // The old file is let go rotateWaitMs after its last read.
    await waitFor('the rotation finished', () => input.counters().rotationsFinished >= 1);
    expect(input.counters().rotationsFinished).toBe(1);
    // The new file keeps the same source, so sequence numbers continue.
    expect(new Set((await records(s.buffer)).map((r) => r.source))).toEqual(new Set([`file:${s.log}`]));
  });

  it('follows a rotated file by identity when the rotated name also matches', async () => {
    const s = await setup();
    await startTail(s, { paths: [path.join(s.dir, 'app.log*')] });
    write(s.log, lines(0, 50));
    await waitForCount(s.buffer, 50);
    fs.renameSync(s.log, `${s.log}.1`);
    write(`${s.log}.1`, lines(50, 10));
    write(s.log, lines(60, 10));
    const got = await waitForCount(s.buffer, 70);
    expect(got.slice().sort()).toEqual(lines(0, 70).sort());
    expect(got).toHaveLength(70);
  });

  it('restarts at 0 after copytruncate without duplicating what it had', async () => {
    const s = await setup();
    const input = await startTail(s);
    write(s.log, lines(0, 50));
    await waitForCount(s.buffer, 50);
    fs.copyFileSync(s.log, path.join(s.dir, 'app.log.1'));
    fs.truncateSync(s.log, 0);
    await new Promise((r) => setTimeout(r, 100));
    write(s.log, lines(50, 30));
    expect(await waitForCount(s.buffer, 80)).toEqual(lines(0, 80));
    expect(input.counters().truncations).toBe(1);
  });

  it('detects a truncate-and-refill between two polls by the changed head', async () => {
    const s = await setup();
    const input = await startTail(s, { pollIntervalMs: 400 });
    write(s.log, ['first file content that is long enough']);
    await waitForCount(s.buffer, 1);
    fs.writeFileSync(s.log, `${lines(0, 5).join('\n')}\n`); // Truncate and refill past the old offset, within one poll.
    expect(await waitForCount(s.buffer, 6)).toEqual(['first file content that is long enough', ...lines(0, 5)]);
    expect(input.counters().truncations).toBe(1);
  });

  it('resumes from its checkpoint after a restart: only new lines arrive', async () => {
    const s = await setup();
    const first = await startTail(s);
    write(s.log, lines(0, 10));
    await waitForCount(s.buffer, 10);
    await first.stop();
    write(s.log, lines(10, 10));
    await startTail(s);
    expect(await waitForCount(s.buffer, 20)).toEqual(lines(0, 20));
  });

  it('reads a file from 0 when its checkpoint no longer fits it (rewritten in place while stopped)', async () => {
    const s = await setup();
    const first = await startTail(s);
    write(s.log, lines(0, 10));
    await waitForCount(s.buffer, 10);
    await first.stop();
    fs.writeFileSync(s.log, `${['other content', ...lines(100, 20)].join('\n')}\n`); // Same inode, longer, different head.
    const second = await startTail(s);
    expect(await waitForCount(s.buffer, 31)).toEqual([...lines(0, 10), 'other content', ...lines(100, 20)]);
    expect(second.counters().checkpointMismatches).toBe(1);
  });

  it('finishes a file rotated while it was stopped, then reads the new one', async () => {
    const s = await setup();
    const first = await startTail(s);
    write(s.log, lines(0, 10));
    await waitForCount(s.buffer, 10);
    await first.stop();
    write(s.log, lines(10, 5));
    fs.renameSync(s.log, `${s.log}.1`);
    write(s.log, lines(15, 5));
    await startTail(s);
    expect(await waitForCount(s.buffer, 20)).toEqual(lines(0, 20));
  });

  it('starts at the end of existing files with startAt: end, and at 0 for files created later', async () => {
    const s = await setup();
    write(s.log, lines(0, 10));
    await startTail(s, { startAt: 'end' });
    write(s.log, lines(10, 2));
    write(path.join(s.dir, 'new.log'), ['fresh']);
    const got = await waitForCount(s.buffer, 3);
    expect(got.sort()).toEqual(['fresh', 'line 10', 'line 11']);
  });

  it('groups multiline stack traces and flushes the last one after the idle timeout', async () => {
    const s = await setup();
    await startTail(s, { startPattern: '^\\d{4}-\\d{2}-\\d{2} ' });
    const trace = ['2026-11-25 12:00:00 ERROR boom', 'Error: boom', '    at f (/app/a.js:1:1)', '    at g (/app/b.js:2:2)'];
    write(s.log, [...trace, '2026-11-25 12:00:01 INFO fine', '2026-11-25 12:00:02 WARN', '  detail']);
    expect(await waitForCount(s.buffer, 3)).toEqual([trace.join('\n'), '2026-11-25 12:00:01 INFO fine', '2026-11-25 12:00:02 WARN\n  detail']);
  });

  it('cuts an over-long line and marks how much was dropped', async () => {
    const s = await setup();
    const input = await startTail(s, { recordBytesMax: 100 });
    write(s.log, ['x'.repeat(300_000), 'after']);
    expect(await waitForCount(s.buffer, 2)).toEqual([`${'x'.repeat(100)}…[truncated 299900 bytes]`, 'after']);
    expect(input.counters().truncated).toBe(1);
  });

  it('reads lines again from the checkpoint when an append fails, then delivers each once', async () => {
    const s = await setup();
    let failures = 3;
    const flaky: RecordSink = {
      append(records) {
        if (failures-- > 0) return Promise.reject(new TributaryError('BUFFER_FULL', 'full (test)'));
        return s.buffer.append(records);
      },
    };
    const input = await startTail(s, {}, flaky);
    write(s.log, lines(0, 20));
    expect(await waitForCount(s.buffer, 20)).toEqual(lines(0, 20));
    expect(input.counters()).toMatchObject({ failed: 3, buffered: 20 });
  });
});

describe('file tail config', () => {
  const base = { paths: ['/var/log/app/*.log'], destination: 'logs', stateDir: '/var/lib/tributary/inputs' };
  it('fills defaults', () => {
    const c = parseFileTailConfig(base);
    expect(c).toMatchObject({ name: 'files', startAt: 'beginning', pollIntervalMs: 250, recordBytesMax: 65536, partitionKey: { hash: true }, order: 'none' });
    expect(parseFileTailConfig({ ...base, order: 'per-file' })).toMatchObject({ partitionKey: { fileName: true }, order: 'per-file' });
    expect(parseFileTailConfig({ ...base, order: 'per-file', partitionKey: { fixed: 'app' } })).toMatchObject({ partitionKey: { fixed: 'app' } });
    expect(c.globs[0]!.name.test('x.log') && !c.globs[0]!.name.test('x.log.1')).toBe(true);
  });

  it.each([
    [{ ...base, path: ['x'] }, 'unknown key path'],
    [{ ...base, paths: ['relative/*.log'] }, 'must be an absolute path'],
    [{ ...base, paths: ['/var/*/app.log'] }, 'wildcards are allowed only in the file name'],
    [{ ...base, startPattern: '(' }, 'is not a valid regular expression'],
    [{ ...base, startAt: 'middle' }, 'must be beginning or end'],
    [{ ...base, recordBytesMax: 2 << 20 }, 'recordBytesMax: must be an integer from 16 to'],
    [{ ...base, partitionKey: { fileName: false } }, 'fileName: must be true'],
    [{ ...base, partitionKey: { fixed: 'a', fileName: true } }, 'exactly one of fixed, fileName, hash'],
    [{ ...base, partitionKey: { hash: 1 } }, 'hash: must be true'],
    [{ ...base, order: 'per-line' }, 'order: must be per-file or none'],
    [{ ...base, order: 'per-file', partitionKey: { hash: true } }, 'which order: per-file forbids'],
    [{ ...base, name: 'a/b' }, 'name: must be 1 to 64'],
  ])('refuses %j', (raw, message) => {
    expect(() => parseFileTailConfig(raw)).toThrow(message);
  });
});
