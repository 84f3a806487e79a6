/**
 * The fragment log of a stream with DataRetentionInHours 0. AWS stores
 * nothing for such a stream, but GetMedia still serves it live; so do we,
 * from the most recent fragments kept in memory (bounded by count and bytes).
 * `durable` resolves at once: there is nothing to make durable, and the
 * ingest sends no PERSISTED for such a stream.
 */
import { FragmentIndex, formatFragmentNumber, nextFragmentValue } from './fragment-index.ts';
import type { FragmentAppend, FragmentLog, FragmentMedia, FragmentMeta, FragmentTimestampKind } from './types.ts';

/** Live-only streams keep at most this many recent fragments in memory... */
export const liveFragmentsMax = 30;
/** ...and at most this many bytes of them. */
export const liveFragmentBytesMax = 64 * 1024 * 1024;

export class MemoryFragmentLog implements FragmentLog {
  private readonly index = new FragmentIndex<{ header: Uint8Array; cluster: Uint8Array }>();
  private bytes = 0;

  append(f: FragmentAppend): { meta: FragmentMeta; durable: Promise<void> } {
    const value = nextFragmentValue(this.index.lastValue, f.serverMs);
    const meta: FragmentMeta = {
      FragmentNumber: formatFragmentNumber(value),
      ProducerTimestamp: f.producerMs,
      ServerTimestamp: f.serverMs,
      FragmentLengthInMilliseconds: f.durationMs,
      FragmentSizeInBytes: f.header.length + f.cluster.length,
    };
    this.index.add({ value, meta, location: { header: f.header, cluster: f.cluster } });
    this.bytes += meta.FragmentSizeInBytes;
    let excess = this.index.size - liveFragmentsMax;
    this.index.dropWhile((e) => {
      if (excess <= 0 && this.bytes <= liveFragmentBytesMax) return false;
      excess--;
      this.bytes -= e.meta.FragmentSizeInBytes;
      return true;
    });
    return { meta, durable: Promise.resolve() };
  }

  list(): readonly FragmentMeta[] {
    return this.index.list();
  }
  find(n: string): FragmentMeta | undefined {
    return this.index.find(n);
  }
  next(n: string | undefined): FragmentMeta | undefined {
    return this.index.next(n);
  }
  range(kind: FragmentTimestampKind, startMs: number, endMs: number): FragmentMeta[] {
    return this.index.range(kind, startMs, endMs);
  }
  async read(n: string): Promise<FragmentMedia | undefined> {
    const e = this.index.entry(n);
    return e && { meta: e.meta, header: e.location.header, cluster: e.location.cluster };
  }
  subscribe(listener: (meta: FragmentMeta) => void): () => void {
    return this.index.subscribe(listener);
  }
  waitForNext(n: string | undefined, signal?: AbortSignal): Promise<FragmentMeta | undefined> {
    return this.index.waitForNext(n, signal);
  }
  async trimBefore(ms: number): Promise<number> {
    return this.index.dropWhile((e) => e.meta.ServerTimestamp < ms && (this.bytes -= e.meta.FragmentSizeInBytes) >= 0).length;
  }
  async close(): Promise<void> {
    this.index.close();
  }
  async destroy(): Promise<void> {
    this.index.close();
    this.index.dropWhile(() => true);
  }
}
