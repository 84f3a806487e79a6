// Proves the local shard log's contract: ordered counters, group commit,
// reads by counter and time, segment rolls, restart recovery and torn-tail repair.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalShardLog } from '../../gateway/storage/local/shard-log.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'trb-log-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const opts = { fsync: { kind: 'always' as const }, segmentBytesMax: 4096, segmentAgeMsMax: 3600_000 };
const entry = (i: number) => ({ partitionKey: `k${i}`, data: Buffer.from(`record-${i}-`.padEnd(100, 'x')), flags: 0 });
const all = { limit: 100000, bytesMax: 1 << 30, arrivalMsMin: 0 };

describe('LocalShardLog', () => {
  it('assigns consecutive counters and reads them back in order across segment rolls', async () => {
    const dir = tmp();
    const log = await LocalShardLog.open(dir, opts);
    const results = [];
    for (let i = 0; i < 200; i += 4) results.push(log.append([entry(i), entry(i + 1), entry(i + 2), entry(i + 3)]));
    await Promise.all(results.map((r) => r.durable));
    expect(results.map((r) => r.firstCounter)).toEqual(Array.from({ length: 50 }, (_, i) => i * 4));
    const r = await log.read(0, all);
    expect(r.records.map((x) => x.counter)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(r.records[123]!.data.toString()).toContain('record-123-');
    expect(r.nextCounter).toBe(200);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.seg')).length).toBeGreaterThan(3);
    const mid = await log.read(77, { limit: 5, bytesMax: 1 << 20, arrivalMsMin: 0 });
    expect(mid.records.map((x) => x.counter)).toEqual([77, 78, 79, 80, 81]);
    expect(mid.nextCounter).toBe(82);
    const byBytes = await log.read(10, { limit: 100, bytesMax: 250, arrivalMsMin: 0 });
    expect(byBytes.records.length).toBe(2);
    await log.close();
  });

  it('recovers every record after reopening and truncates a torn tail', async () => {
    const dir = tmp();
    let log = await LocalShardLog.open(dir, opts);
    for (let i = 0; i < 100; i++) await log.append([entry(i)]).durable;
    await log.close();
    const segs = fs.readdirSync(dir).filter((n) => n.endsWith('.seg')).sort();
    const last = path.join(dir, segs.at(-1)!);
    fs.appendFileSync(last, Buffer.from([50, 0, 0, 0, 1, 2, 3])); // half a frame
    const problems: string[] = [];
    log = await LocalShardLog.open(dir, { ...opts, onProblem: (p) => problems.push(p.problem) });
    expect(problems.length).toBe(1);
    expect(log.nextCounter).toBe(100);
    const r = await log.read(0, all);
    expect(r.records.map((x) => x.counter)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await log.append([entry(100)]).durable;
    expect((await log.read(100, all)).records[0]!.partitionKey).toBe('k100');
    await log.close();
  });

  it('finds records by arrival time and trims whole old segments', async () => {
    const dir = tmp();
    let now = 1_000_000;
    const log = await LocalShardLog.open(dir, { ...opts, now: () => now });
    for (let i = 0; i < 120; i++) {
      now += 1000;
      await log.append([entry(i)]).durable;
    }
    expect(await log.counterAtTime(1_000_000 + 50_500)).toBe(50);
    expect(await log.counterAtTime(0)).toBe(0);
    expect(await log.counterAtTime(now + 1)).toBe(120);
    const removed = await log.trimBefore(1_000_000 + 60_000);
    expect(removed).toBeGreaterThan(0);
    expect(log.firstCounter()).toBeGreaterThan(0);
    expect(log.firstCounter()).toBeLessThanOrEqual(59);
    const r = await log.read(0, { ...all, arrivalMsMin: 1_000_000 + 60_000 });
    expect(r.records[0]!.counter).toBe(59);
    await log.close();
  });
});

describe('sequence number runs', () => {
  it('formatting from a cached base equals formatting from parts', async () => {
    const { formatSequenceNumber, formatSequenceNumberFrom, sequenceNumberBase } = await import('../../sdk/protocol/streams/sequence-number.ts');
    const parts = { shardCreatedMs: 1_795_000_000_000, shardIndex: 0x1234567, recordMs: 1_795_000_123_456 };
    const base = sequenceNumberBase(parts);
    for (const counter of [0, 1, 499, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER]) {
      expect(formatSequenceNumberFrom(base, counter)).toBe(formatSequenceNumber({ ...parts, counter: BigInt(counter) }));
    }
  });
});
