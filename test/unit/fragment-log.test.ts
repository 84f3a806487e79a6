// Proves the local fragment log: fragments read back byte for byte (encrypted
// at rest), numbers are 47-digit increasing strings, lookups by number and
// timestamp, subscribers and waiters see each fragment once it is durable,
// restart recovers from the index files and cuts a torn tail without losing
// anything before it, retention deletes whole segments, and the live-only
// memory log stays bounded.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RecordCipher } from '../../gateway/streams/encryption.ts';
import { fragmentNumberLength } from '../../gateway/storage/fragment-index.ts';
import { crc32cRange } from '../../gateway/storage/local/crc.ts';
import { fragmentRecordHeaderBytes, LocalFragmentLog } from '../../gateway/storage/local/fragment-log.ts';
import { liveFragmentsMax, MemoryFragmentLog } from '../../gateway/storage/memory-fragment-log.ts';
import type { FragmentAppend, FsyncPolicy } from '../../gateway/storage/types.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const cipher = new RecordCipher(Buffer.alloc(32, 7));
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'fraglog-'));
  dirs.push(d);
  return d;
}
const open = (dir: string, o: { fsync?: FsyncPolicy; segmentBytesMax?: number } = {}) =>
  LocalFragmentLog.open({ dir, keyId: 'alias/aws/kinesisvideo', cipher, fsync: o.fsync ?? { kind: 'always' }, segmentBytesMax: o.segmentBytesMax ?? 1 << 20, segmentAgeMsMax: 3_600_000 });

function fragment(i: number, bytes = 1000): FragmentAppend {
  const marker = Buffer.from(`secret-frame-${i}-`);
  const cluster = Buffer.concat([marker, Buffer.alloc(bytes, i & 0xff)]);
  return { header: Buffer.from(`header-${i % 2}`), cluster, producerMs: 1_700_000_000_000 + i * 2000, serverMs: 1_700_000_100_000 + i * 2000, durationMs: 2000 };
}

describe('LocalFragmentLog', () => {
  it('stores, numbers, finds and reads fragments back, encrypted at rest', async () => {
    const dir = tmp();
    const log = await open(dir);
    const metas = [];
    for (let i = 0; i < 5; i++) {
      const { meta, durable } = log.append(fragment(i));
      expect(log.find(meta.FragmentNumber)).toBeUndefined(); // not visible before durable
      await durable;
      metas.push(meta);
    }
    for (const m of metas) expect(m.FragmentNumber).toMatch(new RegExp(`^\\d{${fragmentNumberLength}}$`));
    expect(fragmentNumberLength).toBe(47);
    const numbers = metas.map((m) => m.FragmentNumber);
    expect([...numbers].sort()).toEqual(numbers);
    expect(new Set(numbers).size).toBe(5);
    const media = await log.read(metas[3]!.FragmentNumber);
    expect(Buffer.from(media!.cluster).equals(Buffer.from(fragment(3).cluster))).toBe(true);
    expect(Buffer.from(media!.header).toString()).toBe('header-1');
    expect(log.next(metas[1]!.FragmentNumber)).toEqual(metas[2]);
    expect(log.next(undefined)).toEqual(metas[0]);
    expect(log.range('PRODUCER_TIMESTAMP', metas[1]!.ProducerTimestamp, metas[3]!.ProducerTimestamp)).toEqual(metas.slice(1, 4));
    expect(log.range('SERVER_TIMESTAMP', 0, metas[0]!.ServerTimestamp)).toEqual(metas.slice(0, 1));
    const onDisk = Buffer.concat(fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f))));
    expect(onDisk.includes(Buffer.from('secret-frame-'))).toBe(false);
    await log.close();
  });

  it('tells subscribers and waiters about each fragment once it is durable', async () => {
    const log = await open(tmp());
    const seen: string[] = [];
    const unsubscribe = log.subscribe((m) => seen.push(m.FragmentNumber));
    const waiting = log.waitForNext(undefined);
    const a = log.append(fragment(0));
    expect((await waiting)?.FragmentNumber).toBe(a.meta.FragmentNumber);
    const afterA = log.waitForNext(a.meta.FragmentNumber);
    const b = log.append(fragment(1));
    expect((await afterA)?.FragmentNumber).toBe(b.meta.FragmentNumber);
    await b.durable;
    unsubscribe();
    expect(seen).toEqual([a.meta.FragmentNumber, b.meta.FragmentNumber]);
    const ac = new AbortController();
    const never = log.waitForNext(b.meta.FragmentNumber, ac.signal);
    ac.abort();
    expect(await never).toBeUndefined();
    const onClose = log.waitForNext(b.meta.FragmentNumber);
    await log.close();
    expect(await onClose).toBeUndefined();
  });

  it('recovers after restart from sealed-segment indexes and a scan of the newest segment', async () => {
    const dir = tmp();
    const log = await open(dir, { segmentBytesMax: 5000 });
    const metas = [];
    for (let i = 0; i < 12; i++) metas.push(await (async () => {
      const a = log.append(fragment(i));
      await a.durable;
      return a.meta;
    })());
    await log.close();
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.idx')).length).toBeGreaterThan(1);
    const again = await open(dir, { segmentBytesMax: 5000 });
    expect(again.list()).toEqual(metas);
    for (const m of metas) expect((await again.read(m.FragmentNumber))?.meta).toEqual(m);
    const next = again.append(fragment(12));
    expect(next.meta.FragmentNumber > metas.at(-1)!.FragmentNumber).toBe(true);
    await next.durable;
    await again.close();
  });

  it('cuts a torn tail, keeps everything before it, and never reuses its numbers', async () => {
    const dir = tmp();
    const log = await open(dir);
    const metas = [];
    for (let i = 0; i < 3; i++) {
      const a = log.append(fragment(i));
      await a.durable;
      metas.push(a.meta);
    }
    await log.close();
    const [seg] = fs.readdirSync(dir).filter((f) => f.endsWith('.kvf'));
    const file = path.join(dir, seg!);
    const size = fs.statSync(file).size;
    // A fourth record half written, as a crash mid-write leaves it: header and part of the body.
    const full = fs.readFileSync(file);
    const third = full.subarray(full.length - (size / 3 | 0));
    fs.appendFileSync(file, third.subarray(0, 200));
    const again = await open(dir);
    expect(again.list()).toEqual(metas);
    expect(fs.statSync(file).size).toBe(size);
    // A flipped bit inside the last record: the record fails its CRC and goes, the first two stay.
    await again.close();
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 10]! ^= 0xff;
    fs.writeFileSync(file, bytes);
    const third_ = await open(dir);
    expect(third_.list()).toEqual(metas.slice(0, 2));
    await third_.close();
  });

  it('drops fragments and whole segments past retention', async () => {
    const dir = tmp();
    const log = await open(dir, { segmentBytesMax: 3000 });
    for (let i = 0; i < 10; i++) await log.append(fragment(i)).durable;
    const before = fs.readdirSync(dir).filter((f) => f.endsWith('.kvf')).length;
    const cutoff = fragment(6).serverMs;
    expect(await log.trimBefore(cutoff)).toBe(6);
    expect(log.list().map((m) => m.ServerTimestamp)).toEqual([6, 7, 8, 9].map((i) => fragment(i).serverMs));
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.kvf')).length).toBeLessThan(before);
    for (const m of log.list()) expect(await log.read(m.FragmentNumber)).toBeDefined();
    await log.close();
  });

  it('makes fragments visible only at the fsync under the interval policy', async () => {
    const log = await open(tmp(), { fsync: { kind: 'interval', intervalMs: 50 } });
    const a = log.append(fragment(0));
    let durable = false;
    void a.durable.then(() => (durable = true));
    await new Promise((r) => setImmediate(r));
    if (!durable) expect(log.find(a.meta.FragmentNumber)).toBeUndefined();
    await a.durable;
    expect(log.find(a.meta.FragmentNumber)).toEqual(a.meta);
    await log.close();
  });
});

describe('MemoryFragmentLog (retention 0)', () => {
  it('serves the most recent fragments live and forgets older ones', async () => {
    const log = new MemoryFragmentLog();
    const metas = [];
    for (let i = 0; i < liveFragmentsMax + 5; i++) metas.push(log.append(fragment(i)).meta);
    expect(log.list()).toEqual(metas.slice(5));
    expect(await log.read(metas[0]!.FragmentNumber)).toBeUndefined();
    expect(Buffer.from((await log.read(metas.at(-1)!.FragmentNumber))!.cluster).equals(Buffer.from(fragment(liveFragmentsMax + 4).cluster))).toBe(true);
    await log.close();
  });
});

/** A record built as the fragment log built it before it wrote records in pieces: joined, sealed whole, CRC over the whole. */
function joinedRecord(value: number, f: FragmentAppend): Buffer {
  const plain = Buffer.concat([f.header, f.cluster]);
  const sealed = cipher.seal('alias/aws/kinesisvideo', plain);
  const record = Buffer.allocUnsafe(fragmentRecordHeaderBytes + sealed.length);
  record.writeUInt32LE(0x3146564b, 0);
  record.writeUInt32LE(record.length, 4);
  record.writeDoubleLE(value, 12);
  record.writeDoubleLE(f.producerMs, 20);
  record.writeDoubleLE(f.serverMs, 28);
  record.writeUInt32LE(f.durationMs, 36);
  record.writeUInt32LE(f.header.length, 40);
  record.writeUInt32LE(plain.length, 44);
  sealed.copy(record, fragmentRecordHeaderBytes);
  record.writeUInt32LE(crc32cRange(record, 12, record.length), 8);
  return record;
}

describe('LocalFragmentLog record format', () => {
  it('writes records in pieces that read as joined records, and reads segments of joined records', async () => {
    const dir = tmp();
    // A segment written the earlier way (one joined record per fragment) opens and reads back.
    const old = [fragment(0, 3000), fragment(1, 70_000)];
    fs.writeFileSync(path.join(dir, '1'.padStart(20, '0') + '.kvf'), Buffer.concat([joinedRecord(1, old[0]!), joinedRecord(2, old[1]!)]));
    const log = await open(dir);
    expect(log.list().map((m) => m.FragmentSizeInBytes)).toEqual(old.map((f) => f.header.length + f.cluster.length));
    for (const [i, m] of log.list().entries()) expect(Buffer.from((await log.read(m.FragmentNumber))!.cluster).equals(Buffer.from(old[i]!.cluster))).toBe(true);
    // New fragments, several in one group commit (one writev of all their pieces), then each record parsed by hand.
    const fresh = [fragment(2, 300_000), fragment(3, 10), { ...fragment(4, 5000), header: new Uint8Array(0) }];
    await Promise.all(fresh.map((f) => log.append(f).durable));
    await log.close();
    const [file] = fs.readdirSync(dir).filter((f) => f.endsWith('.kvf'));
    const bytes = fs.readFileSync(path.join(dir, file!));
    let at = joinedRecord(1, old[0]!).length + joinedRecord(2, old[1]!).length;
    for (const f of fresh) {
      const length = bytes.readUInt32LE(at + 4);
      const record = bytes.subarray(at, at + length);
      expect(record.readUInt32LE(0)).toBe(0x3146564b);
      expect(record.readUInt32LE(8)).toBe(crc32cRange(record, 12, length));
      expect(record.readUInt32LE(40)).toBe(f.header.length);
      const plain = cipher.open('alias/aws/kinesisvideo', record.subarray(fragmentRecordHeaderBytes));
      expect(plain.equals(Buffer.concat([f.header, f.cluster]))).toBe(true);
      at += length;
    }
    expect(at).toBe(bytes.length);
    const again = await open(dir);
    expect(again.list()).toHaveLength(5);
    await again.close();
  });
});

describe('LocalFragmentLog numbering', () => {
  it('gives appends made while a write is in flight increasing numbers', async () => {
    const log = await open(tmp());
    const a = log.append(fragment(0));
    const b = log.append({ ...fragment(1), serverMs: fragment(0).serverMs });
    const c = log.append({ ...fragment(2), serverMs: fragment(0).serverMs });
    await Promise.all([a.durable, b.durable, c.durable]);
    expect(new Set([a, b, c].map((x) => x.meta.FragmentNumber)).size).toBe(3);
    expect(log.list().map((m) => m.FragmentNumber)).toEqual([a, b, c].map((x) => x.meta.FragmentNumber));
    await log.close();
  });
});
