// Issue #12: proves that live readers' reads of the newest fragments come
// from memory without changing what a reader sees. Over a real local
// fragment log (fsync always): a fragment is served only once the store
// lists it (after its fsync), with the same bytes the store reads back;
// a waiter woken by the new fragment already finds it in memory; retention,
// a closed stream and the byte cap fall back to the store or to nothing,
// exactly as the store answers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RecordCipher } from '../../gateway/streams/encryption.ts';
import { LocalFragmentLog } from '../../gateway/storage/local/fragment-log.ts';
import type { FragmentAppend } from '../../gateway/storage/types.ts';
import { RecentMedia, RecentMediaLog } from '../../gateway/video/recent-media.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function openLog(recent: RecentMedia) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recent-media-'));
  dirs.push(dir);
  const inner = await LocalFragmentLog.open({ dir, keyId: 'alias/aws/kinesisvideo', cipher: new RecordCipher(Buffer.alloc(32, 7)), fsync: { kind: 'always' }, segmentBytesMax: 1 << 20, segmentAgeMsMax: 3_600_000 });
  return { inner, log: new RecentMediaLog(inner, 'cam-1', recent) };
}

function fragment(i: number, bytes = 1000): FragmentAppend {
  return { header: Buffer.from('header'), cluster: Buffer.alloc(bytes, i & 0xff), producerMs: 1_700_000_000_000 + i * 2000, serverMs: 1_700_000_100_000 + i * 2000, durationMs: 2000 };
}

describe('RecentMediaLog', () => {
  it('serves a fragment from memory only once the store lists it, with the bytes the store reads back', async () => {
    const recent = new RecentMedia();
    const { inner, log } = await openLog(recent);
    const { meta, durable } = log.append(fragment(1));
    expect(await log.read(meta.FragmentNumber)).toBeUndefined(); // not durable yet: invisible, as in the store
    await durable;
    const fromMemory = await log.read(meta.FragmentNumber);
    const fromDisk = await inner.read(meta.FragmentNumber);
    expect(recent.hits).toBe(1);
    expect(fromMemory!.meta).toEqual(fromDisk!.meta);
    expect(Buffer.from(fromMemory!.header)).toEqual(Buffer.from(fromDisk!.header));
    expect(Buffer.from(fromMemory!.cluster)).toEqual(Buffer.from(fromDisk!.cluster));
    await log.close();
  });

  it('a reader woken by a new fragment (GetMedia NOW) reads it from memory', async () => {
    const recent = new RecentMedia();
    const { log } = await openLog(recent);
    const woken = log.waitForNext(undefined).then((m) => log.read(m!.FragmentNumber));
    log.append(fragment(2));
    expect((await woken)!.cluster[0]).toBe(2);
    expect([recent.hits, recent.misses]).toEqual([1, 0]);
    await log.close();
  });

  it('falls back to the store past the byte cap, and serves nothing that retention removed or a closed stream held', async () => {
    const recent = new RecentMedia(8 * 1100); // room for about eight 1 KB fragments
    const { log } = await openLog(recent);
    const metas = [];
    for (let i = 0; i < 12; i++) {
      const a = log.append(fragment(i));
      await a.durable;
      metas.push(a.meta);
    }
    expect(recent.cachedBytes).toBeLessThanOrEqual(recent.bytesMax);
    expect((await log.read(metas[0]!.FragmentNumber))!.cluster[0]).toBe(0); // evicted: read back from the store
    expect(recent.misses).toBe(1);
    expect((await log.read(metas[11]!.FragmentNumber))!.cluster[0]).toBe(11);
    expect(recent.hits).toBe(1);
    await log.trimBefore(Number.MAX_SAFE_INTEGER);
    expect(await log.read(metas[11]!.FragmentNumber)).toBeUndefined(); // gone from the store's index: gone here too
    await log.close();
    expect(recent.size).toBe(0);
  });
});
