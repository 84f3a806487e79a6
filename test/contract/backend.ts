/**
 * What a storage backend hands the contract suites: how to make a fresh
 * location, open a shard log or metadata store there, and (for crash tests)
 * a module a child process can import to open the same things. Optional
 * capabilities name failure modes some backends have and others cannot
 * (a replicated log has no torn file tail); their tests run only where given.
 */
import { createHash } from 'node:crypto';
import type { FsyncPolicy, MetadataStore, ShardLog } from '../../gateway/storage/types.ts';

export interface ShardLogOpenOptions {
  fsync: FsyncPolicy;
  /** The clock arrival times come from; backends must stamp records with it. */
  now?: () => number;
  /**
   * A hint to keep storage units (segments, blocks) small, so that rolls and
   * whole-unit trims happen within a small test; backends map it to their own unit.
   */
  segmentBytesMax?: number;
}

export interface StorageBackend {
  name: string;
  /** A fresh, empty location (a directory, a stream name prefix, ...). */
  newLocation(): Promise<string>;
  openShardLog(location: string, options: ShardLogOpenOptions): Promise<ShardLog>;
  openMetadataStore(location: string): Promise<MetadataStore<unknown>>;
  /**
   * An absolute path to a module exporting `openShardLog(location, options)` and
   * `openMetadataStore(location)` with the same meaning, for child processes that are killed mid-write.
   */
  childModule: string;
  /** The largest record the backend must store (AWS allows 10 MiB with UpdateMaxRecordSize). */
  recordBytesMax: number;
  /** Cuts `bytes` off the end of the newest stored data, as a crash during a write leaves it. */
  tearTail?(location: string, bytes: number): Promise<void>;
  /** Appends bytes after the newest stored data, as a crash leaves half a frame or garbage. */
  appendTail?(location: string, bytes: Buffer): Promise<void>;
  /** Removes everything the backend created. */
  cleanup(): Promise<void>;
}

/** The payload of a record by its counter: its length varies, and every byte depends on the counter. */
export function payloadOf(counter: number, bytes = 1 + ((counter * 7919) % 1500)): Buffer {
  const seed = createHash('sha256').update(`record-${counter}`).digest();
  const out = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i += seed.length) seed.copy(out, i, 0, Math.min(seed.length, bytes - i));
  return out;
}

export const partitionKeyOf = (counter: number) => `pk-${counter % 17}`;

/** A metadata document whose body depends on its version, so a mix of two versions is detectable. */
export function metadataDoc(version: number): { version: number; body: string } {
  return { version, body: payloadOf(version, 64 * 1024).toString('base64') };
}
