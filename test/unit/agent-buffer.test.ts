// Proves the agent's disk buffer keeps records in order across segments and restarts, repairs torn tails, skips and reports corrupt segments, enforces its cap by policy, encrypts at rest, and that the operator tools read it without changing it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nacl from 'tweetnacl';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DiskBuffer, exportBuffer, inspectBuffer, readDeadLetters, verifyBuffer, type BufferOptions, type BufferProblem, type BufferedRecord,
} from '../../agent/buffer/index.ts';
import { waitFor } from '../helpers/wait.ts';

const dirs: string[] = [];
function tmpRoot(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-buffer-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const small: BufferOptions = { fsync: 'never', segmentBytes: 64 * 1024, capBytes: 8 * 1024 * 1024 };

function rec(i: number, size = 200, source = 'sensor') {
  const data = Buffer.alloc(size, i % 251);
  data.writeUInt32LE(i, 0);
  return { source, partitionKey: `pk-${i % 7}`, data, capturedAtMs: 1_700_000_000_000 + i };
}

async function appendN(b: DiskBuffer, from: number, n: number, size = 200): Promise<void> {
  for (let i = from; i < from + n; i += 50) {
    const batch = [];
    for (let k = i; k < Math.min(from + n, i + 50); k++) batch.push(rec(k, size));
    await b.append(batch);
  }
}

/** Reads everything, acking as it goes; returns the record ids (first data word). */
async function drain(b: DiskBuffer, ack = true, max = 100): Promise<number[]> {
  const ids: number[] = [];
  for (;;) {
    const got = await b.peek(max, 1024 * 1024);
    if (got.length === 0) return ids;
    ids.push(...got.map((r) => r.data.readUInt32LE(0)));
    if (!ack) return ids;
    await b.ack(got.at(-1)!.position);
  }
}

const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);

function segFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith('.seg')).sort().map((n) => path.join(dir, n));
}

describe('agent buffer: append, peek, ack', () => {
  it('round-trips records in order across many segments and deletes acked segments', async () => {
    const dir = path.join(tmpRoot(), 'd');
    const b = await DiskBuffer.open(dir, small);
    await appendN(b, 0, 3000);
    expect(b.stats().segments).toBeGreaterThan(5);
    expect(b.stats().depthRecords).toBe(3000);
    const first = await b.peek(10, 1 << 20);
    const again = await b.peek(10, 1 << 20);
    expect(again.map((r) => r.seq)).toEqual(first.map((r) => r.seq)); // peek does not consume
    const r0 = first[0]!;
    expect([r0.source, r0.partitionKey, r0.capturedAtMs, r0.seq]).toEqual(['sensor', 'pk-0', 1_700_000_000_000, 0]);
    expect(await drain(b)).toEqual(range(0, 3000));
    const s = b.stats();
    expect([s.depthRecords, s.depthBytes, s.segments, s.oldestUnackedCapturedAtMs]).toEqual([0, 0, 1, undefined]);
    expect(segFiles(dir).length).toBe(1);
    await b.close();
  });

  it('honours maxRecords and maxBytes, and always returns at least one record', async () => {
    const b = await DiskBuffer.open(path.join(tmpRoot(), 'd'), small);
    await appendN(b, 0, 20, 1000);
    expect((await b.peek(3, 1 << 20)).length).toBe(3);
    expect((await b.peek(100, 2500)).length).toBe(2);
    expect((await b.peek(100, 10)).length).toBe(1);
    await b.close();
  });

  it('shows records appended while a reader is behind, and keeps explicit hash keys', async () => {
    const b = await DiskBuffer.open(path.join(tmpRoot(), 'd'), small);
    await appendN(b, 0, 500);
    const ids: number[] = [];
    for (let round = 0; round < 10; round++) {
      await appendN(b, 500 + round * 100, 100);
      const got = await b.peek(120, 1 << 20);
      ids.push(...got.map((r) => r.data.readUInt32LE(0)));
      await b.ack(got.at(-1)!.position);
    }
    ids.push(...(await drain(b)));
    expect(ids).toEqual(range(0, 1500));
    await b.append([{ source: 's', partitionKey: 'k', data: Buffer.from('x'), explicitHashKey: '340282366920938463463374607431768211455' }]);
    expect((await b.peek(1, 100))[0]!.explicitHashKey).toBe('340282366920938463463374607431768211455');
    await b.close();
  });

  it('does not skip records appended (and rolled past) while a peek is reading', async () => {
    const b = await DiskBuffer.open(path.join(tmpRoot(), 'd'), small);
    await appendN(b, 0, 100);
    const pending = b.peek(10_000, 64 << 20); // captures the segment's end, then awaits its first read
    // Each append call writes synchronously, so all of these land (and roll the segment being read) before the peek's first read returns.
    const appends = range(0, 20).map((k) => b.append(range(100 + k * 50, 50).map((i) => rec(i))));
    expect(b.stats().segments).toBeGreaterThan(2);
    const first = await pending;
    await Promise.all(appends);
    const ids = first.map((r) => r.data.readUInt32LE(0));
    expect(ids).toEqual(range(0, ids.length));
    await b.ack(first.at(-1)!.position);
    expect([...ids, ...(await drain(b))]).toEqual(range(0, 1100));
    await b.close();
  });

  it('rejects invalid records and options with stable codes', async () => {
    await expect(DiskBuffer.open(path.join(tmpRoot(), 'd'), { segmentBytes: 1000 })).rejects.toMatchObject({ code: 'BUFFER_OPTIONS_INVALID' });
    await expect(DiskBuffer.open(path.join(tmpRoot(), 'd'), { fsync: 'sometimes' })).rejects.toMatchObject({ code: 'BUFFER_OPTIONS_INVALID' });
    const b = await DiskBuffer.open(path.join(tmpRoot(), 'd'), small);
    await expect(b.append([{ source: '', partitionKey: 'k', data: Buffer.alloc(1) }])).rejects.toMatchObject({ code: 'BUFFER_RECORD_INVALID' });
    await expect(b.append([{ source: 's', partitionKey: 'k'.repeat(257), data: Buffer.alloc(1) }])).rejects.toMatchObject({ code: 'BUFFER_RECORD_INVALID' });
    await expect(b.append([{ source: 's', partitionKey: 'k', data: Buffer.alloc(1), explicitHashKey: '-1' }])).rejects.toMatchObject({ code: 'BUFFER_RECORD_INVALID' });
    await expect(b.ack({ segment: 99, offset: 99, index: 1 })).rejects.toMatchObject({ code: 'BUFFER_POSITION_INVALID' });
    await expect(DiskBuffer.open(b.dir, small)).rejects.toMatchObject({ code: 'BUFFER_LOCKED' });
    await b.close();
    await expect(b.append([rec(1)])).rejects.toMatchObject({ code: 'BUFFER_CLOSED' });
    fs.writeFileSync(path.join(b.dir, 'lock'), '999999999'); // a dead owner's lock is taken over
    await (await DiskBuffer.open(b.dir, small)).close();
    fs.writeFileSync(path.join(b.dir, 'lock'), `${process.pid} some-earlier-boot`); // so is one from before a reboot
    await (await DiskBuffer.open(b.dir, small)).close();
  });
});

describe('agent buffer: restarts and recovery', () => {
  it('keeps unacked records and the replay position across a restart; sequence numbers continue', async () => {
    const dir = path.join(tmpRoot(), 'd');
    let b = await DiskBuffer.open(dir, { ...small, fsync: 'always' });
    await appendN(b, 0, 1000);
    await b.append([rec(5000, 10, 'other')]);
    const got = await b.peek(400, 1 << 20);
    await b.ack(got.at(-1)!.position);
    await b.close();
    b = await DiskBuffer.open(dir, { ...small, fsync: 'always' });
    expect(b.stats()).toMatchObject({ depthRecords: 601, oldestUnackedCapturedAtMs: 1_700_000_000_400 });
    const rest = await drain(b, false, 10_000);
    expect(rest).toEqual([...range(400, 600), 5000]);
    const { seqs } = await b.append([rec(1000), rec(1001, 10, 'other'), rec(1002, 10, 'new')]);
    expect(seqs).toEqual([1000, 1, 0]);
    await b.close();
    // Acked everything, segments deleted: numbering still continues.
    b = await DiskBuffer.open(dir, small);
    await drain(b);
    await b.close();
    b = await DiskBuffer.open(dir, small);
    expect((await b.append([rec(1), rec(2, 10, 'other')])).seqs).toEqual([1001, 2]);
    await b.close();
  });

  it('repairs a torn tail: garbage appended, or the last segment cut mid-frame', async () => {
    const dir = path.join(tmpRoot(), 'd');
    let b = await DiskBuffer.open(dir, small);
    await appendN(b, 0, 1000);
    await b.close();
    const last = segFiles(dir).at(-1)!;
    fs.appendFileSync(last, Buffer.from([0x55, 0x01, 0x02, 0x00, 0x00, 0x09]));
    const problems: BufferProblem[] = [];
    b = await DiskBuffer.open(dir, { ...small, onProblem: (p) => problems.push(p) });
    expect(problems.map((p) => p.kind)).toEqual(['torn-tail']);
    expect(b.stats().tornBytes).toBe(6);
    expect(await drain(b, false, 10_000)).toEqual(range(0, 1000));
    await b.close();
    // Now cut the newest non-empty segment in the middle of its last frame.
    const withData = segFiles(dir).filter((f) => fs.statSync(f).size > 16).at(-1)!;
    fs.truncateSync(withData, fs.statSync(withData).size - 50);
    problems.length = 0;
    // Restarts leave an empty active segment; move the cut one to be newest by removing the empty ones.
    for (const f of segFiles(dir)) if (fs.statSync(f).size === 16) fs.rmSync(f);
    b = await DiskBuffer.open(dir, { ...small, onProblem: (p) => problems.push(p) });
    expect(problems.map((p) => p.kind)).toEqual(['torn-tail']);
    expect(await drain(b, false, 10_000)).toEqual(range(0, 999));
    await b.append([rec(7)]);
    expect((await drain(b, false, 10_000)).at(-1)).toBe(7);
    await b.close();
  });

  it('skips a corrupt middle segment from the corruption point, reports it, and delivers the rest', async () => {
    const dir = path.join(tmpRoot(), 'd');
    let b = await DiskBuffer.open(dir, small);
    await appendN(b, 0, 2000);
    await b.close();
    const files = segFiles(dir);
    const victim = files[2]!;
    const fd = fs.openSync(victim, 'r+');
    const at = Math.floor(fs.statSync(victim).size / 2);
    fs.writeSync(fd, Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, at);
    fs.closeSync(fd);
    const before = (await verifyBuffer(path.dirname(dir))).destinations[0]!.segments;
    expect(before.filter((s) => s.problem).map((s) => s.file)).toEqual([victim]);
    const problems: BufferProblem[] = [];
    b = await DiskBuffer.open(dir, { ...small, onProblem: (p) => problems.push(p) });
    const ids = await drain(b);
    expect(problems.map((p) => [p.kind, p.file])).toEqual([['corrupt', victim]]);
    const st = b.stats();
    expect(st.corruptSegments).toBe(1);
    expect(st.corruptBytes).toBeGreaterThan(0);
    // Everything outside the damaged stretch of the victim arrives, in order.
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    const missing = range(0, 2000).filter((i) => !ids.includes(i));
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.length).toBeLessThan(200);
    expect(missing).toEqual(range(missing[0]!, missing.length)); // one contiguous gap
    await b.close();
  });

  it('detects a corrupt middle segment at open when its sidecar is gone, without modifying it', async () => {
    const dir = path.join(tmpRoot(), 'd');
    let b = await DiskBuffer.open(dir, small);
    await appendN(b, 0, 2000);
    await b.close();
    const victim = segFiles(dir)[1]!;
    fs.rmSync(victim.replace(/\.seg$/, '.meta'));
    const fd = fs.openSync(victim, 'r+');
    fs.writeSync(fd, Buffer.from([0xff, 0xff, 0xff, 0x7f]), 0, 4, 16); // the first frame's length: impossible
    fs.closeSync(fd);
    const size = fs.statSync(victim).size;
    const problems: BufferProblem[] = [];
    b = await DiskBuffer.open(dir, { ...small, onProblem: (p) => problems.push(p) });
    expect(problems.map((p) => [p.kind, p.file])).toEqual([['corrupt', victim]]);
    expect(b.stats()).toMatchObject({ corruptSegments: 1, corruptBytes: size - 16 });
    expect(fs.statSync(victim).size).toBe(size);
    const ids = await drain(b);
    expect(ids.length).toBeGreaterThan(1500);
    expect(problems).toHaveLength(1); // reported once
    await b.close();
  });

  it('rolls away from corruption found in the active segment, so later appends are delivered', async () => {
    const dir = path.join(tmpRoot(), 'd');
    const problems: BufferProblem[] = [];
    const b = await DiskBuffer.open(dir, { ...small, onProblem: (p) => problems.push(p) });
    await appendN(b, 0, 20);
    const active = segFiles(dir).at(-1)!;
    const fd = fs.openSync(active, 'r+');
    fs.writeSync(fd, Buffer.from([0xab, 0xcd]), 0, 2, 16 + 40); // inside the first frame
    fs.closeSync(fd);
    expect(await b.peek(100, 1 << 20)).toEqual([]);
    expect(problems.map((p) => p.kind)).toEqual(['corrupt']);
    await appendN(b, 100, 10);
    expect(await drain(b)).toEqual(range(100, 10));
    await b.close();
  });

  it('survives a damaged checkpoint by replaying from the oldest segment', async () => {
    const dir = path.join(tmpRoot(), 'd');
    let b = await DiskBuffer.open(dir, small);
    await appendN(b, 0, 100);
    await b.ack((await b.peek(10, 1 << 20)).at(-1)!.position);
    await b.close();
    fs.writeFileSync(path.join(dir, 'checkpoint.json'), '{"v":1,"segm');
    const problems: BufferProblem[] = [];
    b = await DiskBuffer.open(dir, { ...small, onProblem: (p) => problems.push(p) });
    expect(problems.map((p) => p.kind)).toEqual(['checkpoint']);
    expect(await drain(b, false, 1000)).toEqual(range(0, 100)); // at-least-once: acked ones come again
    await b.close();
  });
});

describe('agent buffer: cap policies', () => {
  const capped: BufferOptions = { fsync: 'never', segmentBytes: 64 * 1024, capBytes: 1024 * 1024 };
  function diskBytes(dir: string): number {
    return segFiles(dir).reduce((n, f) => n + fs.statSync(f).size, 0);
  }

  it('drop-oldest drops whole oldest segments, counts them, and stays under cap + one segment', async () => {
    const dir = path.join(tmpRoot(), 'd');
    const problems: BufferProblem[] = [];
    const b = await DiskBuffer.open(dir, { ...capped, capPolicy: 'drop-oldest', onProblem: (p) => problems.push(p) });
    for (let i = 0; i < 12_000; i += 100) {
      await appendN(b, i, 100, 300);
      expect(diskBytes(dir)).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024);
    }
    const s = b.stats();
    expect(s.droppedSegments).toBeGreaterThan(0);
    expect(s.droppedRecords).toBeGreaterThan(0);
    expect(problems.filter((p) => p.kind === 'dropped').length).toBe(s.droppedSegments);
    const ids = await drain(b);
    expect(ids.length + s.droppedRecords).toBe(12_000);
    expect(ids).toEqual(range(12_000 - ids.length, ids.length)); // the newest survive, in order
    await b.close();
  });

  it('drop-oldest under a slow reader: positions in dropped segments ack as no-ops, depth stays consistent', async () => {
    const dir = path.join(tmpRoot(), 'd');
    const b = await DiskBuffer.open(dir, { ...capped, capPolicy: 'drop-oldest' });
    await appendN(b, 0, 100, 300);
    const stale = await b.peek(50, 1 << 20);
    await appendN(b, 100, 6000, 300); // drops the segment the peeked records came from
    expect(b.stats().droppedRecords).toBeGreaterThan(0);
    const depth = b.stats().depthRecords;
    await b.ack(stale.at(-1)!.position);
    expect(b.stats().depthRecords).toBe(depth);
    const ids = await drain(b);
    expect(ids.length).toBe(depth);
    expect(ids.at(-1)).toBe(6099);
    await b.close();
  });

  it('reject-newest refuses appends with BUFFER_FULL, counts them, and accepts again after acks', async () => {
    const dir = path.join(tmpRoot(), 'd');
    const b = await DiskBuffer.open(dir, { ...capped, capPolicy: 'reject-newest' });
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 8000; i += 50) {
      try {
        await appendN(b, i, 50, 300);
        accepted += 50;
      } catch (err) {
        expect(err).toMatchObject({ code: 'BUFFER_FULL' });
        rejected += 50;
      }
      expect(diskBytes(dir)).toBeLessThanOrEqual(1024 * 1024);
    }
    expect(rejected).toBeGreaterThan(0);
    expect(b.stats()).toMatchObject({ rejectedRecords: rejected, rejectedAppends: rejected / 50, droppedRecords: 0 });
    expect(await drain(b)).toEqual(range(0, accepted));
    await b.append([rec(1)]);
    await b.close();
  });
});

describe('agent buffer: encryption, dead letters, tooling', () => {
  it('encrypts at rest: round trip works, plaintext never reaches the segment files', async () => {
    const root = tmpRoot();
    const dir = path.join(root, 'kinesis-main');
    const key = nacl.randomBytes(32);
    const secret = 'TOP-SECRET-PAYLOAD-0123456789';
    let b = await DiskBuffer.open(dir, { ...small, encryptionKey: key });
    await b.append(range(0, 300).map((i) => ({ source: 'cam', partitionKey: 'secret-pk', data: Buffer.from(`${secret}-${i}`) })));
    await b.close();
    for (const f of segFiles(dir)) {
      const bytes = fs.readFileSync(f);
      expect(bytes.includes(Buffer.from(secret))).toBe(false);
      expect(bytes.includes(Buffer.from('secret-pk'))).toBe(false);
    }
    await expect(DiskBuffer.open(dir, small)).rejects.toMatchObject({ code: 'BUFFER_KEY_REQUIRED' });
    await expect(DiskBuffer.open(dir, { ...small, encryptionKey: nacl.randomBytes(32) })).rejects.toMatchObject({ code: 'BUFFER_KEY_MISMATCH' });
    b = await DiskBuffer.open(dir, { ...small, encryptionKey: key });
    const got = await b.peek(1000, 1 << 20);
    expect(got.map((r) => r.data.toString())).toEqual(range(0, 300).map((i) => `${secret}-${i}`));
    await b.deadLetter(got.slice(0, 2), 'gateway refused');
    expect(fs.readFileSync(path.join(dir, 'dead-letter.jsonl'), 'utf8').includes(Buffer.from(secret).toString('base64'))).toBe(false);
    expect(readDeadLetters(dir, key).map((l) => l.reason)).toEqual(['gateway refused', 'gateway refused']);
    expect((await verifyBuffer(root)).ok).toBe(true); // CRC covers ciphertext: no key needed
    await b.close();
  });

  it('dead-letters records as JSON lines and counts them', async () => {
    const dir = path.join(tmpRoot(), 'd');
    const b = await DiskBuffer.open(dir, small);
    await appendN(b, 0, 10);
    const got: BufferedRecord[] = await b.peek(3, 1 << 20);
    await b.deadLetter(got, 'ValidationException after 5 retries');
    await b.ack(got.at(-1)!.position);
    expect(b.stats().deadLetteredRecords).toBe(3);
    const lines = readDeadLetters(dir);
    expect(lines.map((l) => [l.seq, l.source, l.reason])).toEqual([0, 1, 2].map((s) => [s, 'sensor', 'ValidationException after 5 retries']));
    expect(Buffer.from(String(lines[0]!.data), 'base64').equals(got[0]!.data)).toBe(true);
    await b.close();
  });

  it('inspect, verify and export read a buffer without modifying it', async () => {
    const root = tmpRoot();
    const b = await DiskBuffer.openDestination(root, 'streams-telemetry', small);
    await appendN(b, 0, 1000);
    await b.ack((await b.peek(100, 1 << 20)).at(-1)!.position);
    const live = b.stats();
    const snapshot = () => fs.readdirSync(path.join(root, 'streams-telemetry')).sort().map((n) => [n, fs.statSync(path.join(root, 'streams-telemetry', n)).size]);
    const before = snapshot();
    const { destinations } = await inspectBuffer(root);
    expect(destinations).toHaveLength(1);
    expect(destinations[0]).toMatchObject({
      destination: 'streams-telemetry', depthRecords: 900, depthBytes: live.depthBytes, segments: live.segments,
      oldestUnackedCapturedAtMs: 1_700_000_000_100, newestCapturedAtMs: 1_700_000_000_999,
    });
    const v = await verifyBuffer(root);
    expect(v.ok).toBe(true);
    const out = path.join(root, 'export.jsonl');
    expect(await exportBuffer(root, 'streams-telemetry', out)).toEqual({ records: 900, problems: [] });
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(Object.keys(lines[0]!).sort()).toEqual(['capturedAt', 'data', 'partitionKey', 'seq', 'source']);
    expect(lines.map((l) => l.seq)).toEqual(range(100, 900));
    expect(Buffer.from(String(lines[0]!.data), 'base64').readUInt32LE(0)).toBe(100);
    expect(snapshot()).toEqual(before);
    await expect(exportBuffer(root, 'nope', out)).rejects.toMatchObject({ code: 'BUFFER_NOT_FOUND' });
    await b.close();
  });

  it('fsync always shares one fdatasync among appends that arrive together (group commit)', async () => {
    const b = await DiskBuffer.open(path.join(tmpRoot(), 'd'), { ...small, fsync: 'always' });
    const spy = vi.spyOn(fs, 'fdatasync');
    try {
      await Promise.all(range(0, 200).map((i) => b.append([rec(i)])));
      expect(spy.mock.calls.length).toBeGreaterThan(0);
      expect(spy.mock.calls.length).toBeLessThan(50);
    } finally {
      spy.mockRestore();
    }
    await b.close();
  });

  it('fsync interval syncs dirty data in the background', async () => {
    const b = await DiskBuffer.open(path.join(tmpRoot(), 'd'), { ...small, fsync: 'interval:10' });
    const spy = vi.spyOn(fs, 'fdatasync');
    try {
      await b.append([rec(1)]);
      expect(spy).not.toHaveBeenCalled(); // the append did not wait for a sync
      await waitFor('the interval sync, with no other append', () => spy.mock.calls.length > 0);
    } finally {
      spy.mockRestore();
    }
    await b.close();
  });

  it('fsync always resolves appends through group commit; interval and never also round-trip', async () => {
    for (const fsync of ['always', 'interval:5', 'never']) {
      const b = await DiskBuffer.open(path.join(tmpRoot(), 'd'), { ...small, fsync });
      await Promise.all(range(0, 200).map((i) => b.append([rec(i)])));
      expect(await drain(b)).toEqual(range(0, 200));
      await b.close();
    }
  });
});
