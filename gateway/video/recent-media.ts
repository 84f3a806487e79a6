/**
 * The media of the newest fragments, kept in memory as PutMedia handed them
 * to the store, so that live readers (GetMedia `NOW`, LIVE HLS and DASH
 * segments, images of the last seconds) do not read back from the disk,
 * check and decrypt what was written a moment ago: each live reader of a
 * stream asks for every new fragment once it is durable.
 *
 * A fragment is remembered when it is appended and served only while the
 * store itself lists it (`find`): it stays invisible until its fsync, as in
 * the store, and retention or a deleted stream hides it at once. One byte
 * cap for every stream; the oldest entries go first.
 */
import type { FragmentAppend, FragmentLog, FragmentMedia, FragmentMeta, FragmentTimestampKind } from '../storage/types.ts';

/** Default cap: about 350 two-second 720p fragments at 2 Mbit/s (the newest 7 per stream for 50 cameras). */
export const recentMediaBytesDefault = 64 * 1024 * 1024;

interface Entry {
  header: Uint8Array;
  cluster: Uint8Array;
  bytes: number;
}

export class RecentMedia {
  /** By `<stream key>\n<fragment number>`, oldest first (Map order is insertion order). */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  /** Reads answered from memory, and from the store (for metrics and tests). */
  hits = 0;
  misses = 0;

  constructor(readonly bytesMax = recentMediaBytesDefault) {}

  put(key: string, header: Uint8Array, cluster: Uint8Array): void {
    const bytes = header.length + cluster.length;
    if (bytes > this.bytesMax / 8) return; // a huge fragment would push out every stream's newest
    this.forget(key);
    this.entries.set(key, { header, cluster, bytes });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.bytesMax) break;
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
  }

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  forget(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.bytes -= e.bytes;
  }

  /** Drops every entry of one stream (closed or deleted). */
  forgetStream(streamKey: string): void {
    const prefix = `${streamKey}\n`;
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.forget(k);
  }

  get size(): number {
    return this.entries.size;
  }

  get cachedBytes(): number {
    return this.bytes;
  }
}

/** A stream's fragment log whose reads of its newest fragments come from `recent` when they can. */
export class RecentMediaLog implements FragmentLog {
  constructor(
    private readonly inner: FragmentLog,
    private readonly streamKey: string,
    private readonly recent: RecentMedia,
  ) {}

  private keyOf(fragmentNumber: string): string {
    return `${this.streamKey}\n${fragmentNumber}`;
  }

  append(fragment: FragmentAppend): { meta: FragmentMeta; durable: Promise<void> } {
    const appended = this.inner.append(fragment);
    const key = this.keyOf(appended.meta.FragmentNumber);
    // Remembered now, before the store makes it visible (its readers are woken in the same turn); read() serves it only once visible.
    this.recent.put(key, fragment.header, fragment.cluster);
    appended.durable.catch(() => this.recent.forget(key));
    return appended;
  }

  async read(fragmentNumber: string): Promise<FragmentMedia | undefined> {
    const meta = this.inner.find(fragmentNumber);
    const e = meta && this.recent.get(this.keyOf(fragmentNumber));
    if (meta && e) {
      this.recent.hits++;
      return { meta, header: e.header, cluster: e.cluster };
    }
    this.recent.misses++;
    return this.inner.read(fragmentNumber);
  }

  list(): readonly FragmentMeta[] {
    return this.inner.list();
  }
  find(fragmentNumber: string): FragmentMeta | undefined {
    return this.inner.find(fragmentNumber);
  }
  next(fragmentNumber: string | undefined): FragmentMeta | undefined {
    return this.inner.next(fragmentNumber);
  }
  range(kind: FragmentTimestampKind, startMs: number, endMs: number): FragmentMeta[] {
    return this.inner.range(kind, startMs, endMs);
  }
  subscribe(listener: (meta: FragmentMeta) => void): () => void {
    return this.inner.subscribe(listener);
  }
  waitForNext(fragmentNumber: string | undefined, signal?: AbortSignal): Promise<FragmentMeta | undefined> {
    return this.inner.waitForNext(fragmentNumber, signal);
  }
  trimBefore(ms: number): Promise<number> {
    return this.inner.trimBefore(ms);
  }
  async close(): Promise<void> {
    this.recent.forgetStream(this.streamKey);
    await this.inner.close();
  }
  async destroy(): Promise<void> {
    this.recent.forgetStream(this.streamKey);
    await this.inner.destroy();
  }
}
