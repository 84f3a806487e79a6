/**
 * The shard-log contract: what every backend of `ShardLog`
 * (gateway/storage/types.ts) must do, written once and run against each
 * backend (`shardLogContract(backend)` from a *.test.ts file). It covers
 * order, reads, reopening, durability under each fsync policy with a writer
 * killed by SIGKILL, torn tails, trims, reads racing trims, time lookups and
 * large records.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { FsyncPolicy, ShardLog, StoredRecord } from '../../gateway/storage/types.ts';
import { framesOfEntries } from '../../gateway/streams/write-path.ts';
import { partitionKeyOf, payloadOf, type ShardLogOpenOptions, type StorageBackend } from './backend.ts';

const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'storage-child.ts');
const everything = { limit: 1_000_000, bytesMax: 1 << 30, arrivalMsMin: 0 };

/** Appends records whose payload is `payloadOf(counter)`, `perCall` at a time, all in flight at once. */
async function appendMany(log: ShardLog, count: number, perCall = 1): Promise<void> {
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < count; i += perCall) {
    const first = log.nextCounter;
    const n = Math.min(perCall, count - i);
    const r = log.append(Array.from({ length: n }, (_, k) => ({ partitionKey: partitionKeyOf(first + k), data: payloadOf(first + k), flags: 0 })));
    expect(r.firstCounter).toBe(first);
    pending.push(r.durable);
  }
  await Promise.all(pending);
}

/** Every record is the one its counter names, and counters run consecutively from `from`. */
function expectIntact(records: StoredRecord[], from: number, count?: number): void {
  if (count !== undefined) expect(records.length).toBe(count);
  records.forEach((r, i) => {
    expect(r.counter).toBe(from + i);
    expect(r.partitionKey).toBe(partitionKeyOf(r.counter));
    expect(r.data.equals(payloadOf(r.counter)), `payload of ${r.counter}`).toBe(true);
  });
}

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000): { now: () => number; set(ms: number): void; advance(ms: number): void } {
  let t = start;
  return { now: () => t, set: (ms) => (t = ms), advance: (ms) => (t += ms) };
}

/** Runs the storage child until it has acknowledged `acks` appends, kills it with SIGKILL, and returns what it acknowledged. */
export async function killWriterAfter(backend: StorageBackend, mode: 'shard-log' | 'metadata', location: string, acks: number, policy?: string): Promise<Array<[number, number]>> {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, mode, backend.childModule, location, ...(policy ? [policy] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked: Array<[number, number]> = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [word, a, b] = line.split(' ');
        if (word === 'ack') acked.push([Number(a), Number(b ?? 1)]);
      }
      if (acked.length >= acks) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`storage child exited early (${code ?? signal}): ${stderr}`)));
  });
  child.kill('SIGKILL');
  await exited;
  return acked;
}

export function shardLogContract(backend: StorageBackend): void {
  const open = async (options: Partial<ShardLogOpenOptions> = {}, location?: string) => {
    const where = location ?? (await backend.newLocation());
    const log = await backend.openShardLog(where, { fsync: { kind: 'always' }, segmentBytesMax: 16 * 1024, ...options });
    return { log, location: where };
  };

  describe(`shard log contract: ${backend.name}`, () => {
    afterAll(() => backend.cleanup());

    it('assigns consecutive counters in call order, even with appends in flight, and reads them back in order', async () => {
      const { log } = await open();
      expect([log.nextCounter, log.durableCounter, log.firstCounter(), log.lastArrivalMs]).toEqual([0, 0, 0, 0]);
      await appendMany(log, 400, 3);
      expect([log.nextCounter, log.durableCounter]).toEqual([400, 400]);
      const all = await log.read(0, everything);
      expectIntact(all.records, 0, 400);
      expect(all.nextCounter).toBe(400);
      await log.close();
    });

    it('reads by counter, record limit and byte budget, and never returns less than one record', async () => {
      const { log } = await open();
      await appendMany(log, 100, 7);
      const mid = await log.read(37, { limit: 5, bytesMax: 1 << 20, arrivalMsMin: 0 });
      expectIntact(mid.records, 37, 5);
      expect(mid.nextCounter).toBe(42);
      const budget = payloadOf(10).length + payloadOf(11).length;
      const byBytes = await log.read(10, { limit: 100, bytesMax: budget, arrivalMsMin: 0 });
      expectIntact(byBytes.records, 10, 2);
      expect(byBytes.nextCounter).toBe(12);
      const tiny = await log.read(20, { limit: 100, bytesMax: 1, arrivalMsMin: 0 });
      expectIntact(tiny.records, 20, 1);
      const past = await log.read(100, everything);
      expect(past.records).toEqual([]);
      expect(past.nextCounter).toBe(100);
      await log.close();
    });

    it('stores records appended as prepared frames (appendFrames, where a backend has it) exactly as append does, interleaved with it', async () => {
      const { log, location } = await open();
      if (!log.appendFrames) return void (await log.close());
      // 60 records as frames in scrambled order; each append takes some of them in the order `order` gives.
      const total = 60;
      const scrambled = Array.from({ length: total }, (_, k) => (k * 37) % total);
      // Frame j holds the record that will get counter counterOf[j].
      const counterOf = new Int32Array(total);
      scrambled.forEach((slot, counter) => (counterOf[slot] = counter));
      const frames = () => framesOfEntries(Array.from(counterOf, (c) => ({ PartitionKey: partitionKeyOf(c), Data: payloadOf(c) })));
      const view = frames();
      const pending: Array<Promise<void>> = [];
      for (let counter = 0; counter < total;) {
        if (counter % 3 === 2) {
          // Every third append goes through append, to show the two interleave.
          const r = log.append([{ partitionKey: partitionKeyOf(counter), data: payloadOf(counter), flags: 0 }]);
          expect(r.firstCounter).toBe(counter);
          pending.push(r.durable);
          counter++;
          continue;
        }
        const n = Math.min(1 + (counter % 5), total - counter);
        const r = log.appendFrames(view, Int32Array.from(scrambled.slice(counter, counter + n)), 0);
        expect(r.firstCounter).toBe(counter);
        pending.push(r.durable);
        counter += n;
      }
      await Promise.all(pending);
      expectIntact((await log.read(0, everything)).records, 0, total);
      // Adjacent frames in order (written as one piece), the flags with every record, and everything survives a reopen.
      const flagged = log.appendFrames(frames(), Int32Array.of(3, 4, 5), 3);
      await flagged.durable;
      await log.close();
      const again = (await open({}, location)).log;
      const all = (await again.read(0, everything)).records;
      expectIntact(all.slice(0, total), 0, total);
      expect(all.slice(total).map((r) => [r.counter, r.flags, r.partitionKey])).toEqual([3, 4, 5].map((j, k) => [total + k, 3, partitionKeyOf(counterOf[j]!)]));
      expect(all.slice(total).every((r, k) => r.data.equals(payloadOf(counterOf[3 + k]!)))).toBe(true);
      await again.close();
    });

    it('keeps every record and the counter across close and reopen, and continues after them', async () => {
      const { log, location } = await open();
      await appendMany(log, 150, 4);
      const lastArrival = log.lastArrivalMs;
      await log.close();
      const again = (await open({}, location)).log;
      expect([again.nextCounter, again.durableCounter, again.firstCounter(), again.lastArrivalMs]).toEqual([150, 150, 0, lastArrival]);
      await appendMany(again, 10);
      expectIntact((await again.read(0, everything)).records, 0, 160);
      await again.close();
    });

    for (const policy of ['always', 'interval:50', 'never']) {
      it(`keeps every acknowledged record when the writer is killed with SIGKILL (fsync ${policy})`, async () => {
        const location = await backend.newLocation();
        const acked = await killWriterAfter(backend, 'shard-log', location, 120, policy);
        const ackedEnd = Math.max(...acked.map(([first, n]) => first + n));
        const { log } = await open({ fsync: parsePolicy(policy) }, location);
        // Everything acknowledged survives; appends past it may or may not (they were never acknowledged).
        expect(log.nextCounter).toBeGreaterThanOrEqual(ackedEnd);
        const all = await log.read(0, everything);
        expectIntact(all.records, 0, log.nextCounter);
        // And the log carries on from where the recovered records end.
        const next = log.nextCounter;
        await appendMany(log, 5);
        expectIntact((await log.read(next, everything)).records, next, 5);
        await log.close();
      }, 60_000);
    }

    it('trims whole units of old records, never a record at or after the horizon', async () => {
      const clock = manualClock();
      const { log } = await open({ now: clock.now });
      for (let i = 0; i < 200; i++) {
        await appendMany(log, 1);
        clock.advance(1000);
      }
      const horizon = clock.now() - 100_000; // records 100.. arrived at or after it
      const before = log.firstCounter();
      const removed = await log.trimBefore(horizon);
      expect(removed).toBeGreaterThan(0);
      const first = log.firstCounter();
      expect(first).toBeGreaterThan(before);
      expect(first).toBeLessThanOrEqual(100);
      const rest = await log.read(0, everything);
      expectIntact(rest.records, first, 200 - first);
      expect(rest.records.every((r) => r.counter >= 100 || r.arrivalMs < horizon)).toBe(true);
      // Retention skipping by arrival time inside the remaining units.
      const fresh = await log.read(0, { ...everything, arrivalMsMin: horizon });
      expectIntact(fresh.records, 100, 100);
      // Trimming everything keeps the counter: appends continue after the last record.
      await log.trimBefore(clock.now() + 1);
      expect(log.nextCounter).toBe(200);
      await appendMany(log, 1);
      expectIntact((await log.read(0, everything)).records.slice(-1), 200, 1);
      await log.close();
    });

    it('serves reads that race a trim: every read resolves with intact records', async () => {
      const clock = manualClock();
      const { log } = await open({ now: clock.now, segmentBytesMax: 8 * 1024 });
      for (let i = 0; i < 40; i++) {
        await appendMany(log, 20, 5);
        clock.advance(1000);
      }
      for (let round = 0; round < 5; round++) {
        const reads = Array.from({ length: 40 }, (_, i) => log.read(i * 10, { limit: 50, bytesMax: 64 * 1024, arrivalMsMin: 0 }));
        const trimmed = log.trimBefore(clock.now() - (40 - round * 8) * 1000);
        const results = await Promise.all(reads);
        await trimmed;
        for (const r of results) if (r.records.length) expectIntact(r.records, r.records[0]!.counter);
        await appendMany(log, 20, 5);
        clock.advance(1000);
      }
      const rest = await log.read(0, everything);
      expectIntact(rest.records, log.firstCounter(), log.nextCounter - log.firstCounter());
      await log.close();
    });

    it('finds the first record at or after a time, across units and within a batch', async () => {
      const clock = manualClock();
      const { log } = await open({ now: clock.now });
      const t0 = clock.now();
      for (let i = 0; i < 60; i++) {
        await appendMany(log, 3, 3); // one batch: three records with one arrival time
        clock.advance(500);
      }
      expect(await log.counterAtTime(t0 - 1)).toBe(0);
      expect(await log.counterAtTime(t0)).toBe(0);
      expect(await log.counterAtTime(t0 + 1)).toBe(3);
      expect(await log.counterAtTime(t0 + 500)).toBe(3);
      expect(await log.counterAtTime(t0 + 29 * 500 + 250)).toBe(90);
      expect(await log.counterAtTime(t0 + 59 * 500)).toBe(177);
      expect(await log.counterAtTime(t0 + 60 * 500)).toBe(180);
      const records = (await log.read(0, everything)).records;
      expect(records[3]!.arrivalMs - records[2]!.arrivalMs).toBe(500);
      expect(records[4]!.arrivalMs).toBe(records[3]!.arrivalMs);
      // Arrival times never go backwards, even when the clock does.
      clock.advance(-10_000);
      await appendMany(log, 1);
      const last = (await log.read(180, everything)).records[0]!;
      expect(last.arrivalMs).toBe(records.at(-1)!.arrivalMs);
      await log.close();
    });

    it(`stores records up to ${backend.recordBytesMax} bytes among small ones`, async () => {
      const { location, log } = await open({ segmentBytesMax: 64 * 1024 });
      const sizes = [10, 1024 * 1024, 20, backend.recordBytesMax, 0, 3 * 1024 * 1024 + 1];
      const data = sizes.map((n, i) => payloadOf(1000 + i, n));
      for (const [i, d] of data.entries()) await log.append([{ partitionKey: `big-${i}`, data: d, flags: i % 3 }]).durable;
      const check = async (l: ShardLog) => {
        const all = await l.read(0, everything);
        expect(all.records.map((r) => r.data.length)).toEqual(sizes);
        all.records.forEach((r, i) => {
          expect(r.data.equals(data[i]!)).toBe(true);
          expect([r.partitionKey, r.flags]).toEqual([`big-${i}`, i % 3]);
        });
        // A budget smaller than one record still yields that record.
        const one = await l.read(3, { limit: 10, bytesMax: 1024, arrivalMsMin: 0 });
        expect(one.records.map((r) => r.data.length)).toEqual([backend.recordBytesMax]);
      };
      await check(log);
      await log.close();
      const again = (await open({ segmentBytesMax: 64 * 1024 }, location)).log;
      await check(again);
      await again.close();
    });

    if (backend.tearTail && backend.appendTail) {
      const tearTail = backend.tearTail.bind(backend);
      const appendTail = backend.appendTail.bind(backend);
      it('recovers from a torn tail: whole records before the tear survive, the counter continues after them', async () => {
        for (const cut of [1, 13, 29, 400]) {
          const { log, location } = await open({ segmentBytesMax: 1 << 20 });
          await appendMany(log, 50);
          await log.close();
          await tearTail(location, cut);
          const again = (await open({ segmentBytesMax: 1 << 20 }, location)).log;
          const survivors = again.nextCounter;
          // A cut of n bytes removes the records it touches and nothing before them.
          const lost = 50 - survivors;
          expect(lost).toBeGreaterThanOrEqual(1);
          expect(lost).toBeLessThanOrEqual(1 + Math.ceil(cut / 28));
          expectIntact((await again.read(0, everything)).records, 0, survivors);
          await appendMany(again, 3);
          expectIntact((await again.read(0, everything)).records, 0, survivors + 3);
          await again.close();
        }
      });

      it('recovers from garbage and half frames after the last record', async () => {
        for (const junk of [Buffer.from([50, 0, 0, 0, 1, 2, 3]), Buffer.alloc(100, 0), Buffer.from('not a frame at all, but long enough to look like one')]) {
          const { log, location } = await open();
          await appendMany(log, 30);
          await log.close();
          await appendTail(location, junk);
          const again = (await open({}, location)).log;
          expect(again.nextCounter).toBe(30);
          await appendMany(again, 2);
          expectIntact((await again.read(0, everything)).records, 0, 32);
          await again.close();
        }
      });
    }
  });
}

function parsePolicy(text: string): FsyncPolicy {
  if (text === 'always' || text === 'never') return { kind: text };
  return { kind: 'interval', intervalMs: Number(text.split(':')[1]) };
}
