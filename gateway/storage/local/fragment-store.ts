/**
 * The local fragment store: one LocalFragmentLog directory per video stream
 * under `<dataDir>/video/`, or a MemoryFragmentLog for live-only streams.
 */
import path from 'node:path';
import type { RecordCipher } from '../../streams/encryption.ts';
import { MemoryFragmentLog } from '../memory-fragment-log.ts';
import type { FragmentLog, FragmentStore, FsyncPolicy } from '../types.ts';
import { LocalFragmentLog, localFragmentLogDefaults } from './fragment-log.ts';

export interface LocalFragmentStoreOptions {
  dir: string;
  cipher: RecordCipher;
  fsync: FsyncPolicy;
  segmentBytesMax?: number;
  segmentAgeMsMax?: number;
  log?: { warn(msg: string, fields?: Record<string, unknown>): void };
}

export class LocalFragmentStore implements FragmentStore {
  private readonly open_ = new Set<FragmentLog>();
  constructor(private readonly o: LocalFragmentStoreOptions) {}

  async open(key: string, options: { keyId: string; persist: boolean }): Promise<FragmentLog> {
    if (!/^[A-Za-z0-9_.-]+$/.test(key) || key.startsWith('.')) throw new Error(`bad fragment log key ${JSON.stringify(key)}`);
    const log = options.persist
      ? await LocalFragmentLog.open({
        dir: path.join(this.o.dir, key), keyId: options.keyId, cipher: this.o.cipher, fsync: this.o.fsync,
        segmentBytesMax: this.o.segmentBytesMax ?? localFragmentLogDefaults.segmentBytesMax,
        segmentAgeMsMax: this.o.segmentAgeMsMax ?? localFragmentLogDefaults.segmentAgeMsMax,
        ...(this.o.log ? { log: this.o.log } : {}),
      })
      : new MemoryFragmentLog();
    this.open_.add(log);
    const close = log.close.bind(log);
    log.close = async () => {
      this.open_.delete(log);
      await close();
    };
    return log;
  }

  async close(): Promise<void> {
    await Promise.all([...this.open_].map((l) => l.close()));
  }
}
