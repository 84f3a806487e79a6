/**
 * The local (embedded) storage backend as the contract suites see it: shard
 * logs and metadata stores in temporary directories, torn tails made by
 * cutting or extending the newest segment file. Child processes import this
 * module to write to the same places.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonFileStore } from '../../gateway/storage/local/metadata-store.ts';
import { LocalShardLog, localShardLogDefaults } from '../../gateway/storage/local/shard-log.ts';
import type { MetadataStore, ShardLog } from '../../gateway/storage/types.ts';
import type { ShardLogOpenOptions, StorageBackend } from './backend.ts';

export function openShardLog(location: string, options: ShardLogOpenOptions): Promise<ShardLog> {
  return LocalShardLog.open(location, {
    fsync: options.fsync,
    segmentBytesMax: options.segmentBytesMax ?? localShardLogDefaults.segmentBytesMax,
    segmentAgeMsMax: localShardLogDefaults.segmentAgeMsMax,
    ...(options.now ? { now: options.now } : {}),
  });
}

export async function openMetadataStore(location: string): Promise<MetadataStore<unknown>> {
  return new JsonFileStore<unknown>(path.join(location, 'metadata.json'));
}

async function newestSegment(location: string): Promise<string> {
  const names = (await fsp.readdir(location)).filter((n) => n.endsWith('.seg')).sort();
  return path.join(location, names.at(-1)!);
}

const roots: string[] = [];

export const localBackend: StorageBackend = {
  name: 'local',
  async newLocation() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trb-contract-'));
    roots.push(dir);
    return dir;
  },
  openShardLog,
  openMetadataStore,
  childModule: fileURLToPath(import.meta.url),
  recordBytesMax: 10 * 1024 * 1024,
  async tearTail(location, bytes) {
    const file = await newestSegment(location);
    const size = (await fsp.stat(file)).size;
    await fsp.truncate(file, Math.max(0, size - bytes));
  },
  async appendTail(location, bytes) {
    await fsp.appendFile(await newestSegment(location), bytes);
  },
  async cleanup() {
    for (const dir of roots.splice(0)) await fsp.rm(dir, { recursive: true, force: true });
  },
};
