/**
 * The file tail's checkpoint: per file identity (device and inode), the path
 * it was found at, the offset whose records are durable, and a fingerprint of
 * the file's first bytes so a reused inode is not mistaken for the old file.
 * Written atomically (tmp, fsync, rename, directory fsync), like the buffer's.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { inputError } from './common.ts';
import { writeFileAtomic } from '../../sdk/fs/atomic-file.ts';

/** Bytes hashed to recognize a file again; short so a fresh file gets its full fingerprint soon. */
export const fingerprintBytesMax = 64;
const checkpointVersion = 1;

export interface FileCheckpoint {
  path: string;
  offset: number;
  headBytes: number;
  headHash: string;
}

export function fingerprint(head: Buffer): string {
  return createHash('sha256').update(head).digest('hex');
}

export async function loadCheckpoints(file: string): Promise<Map<string, FileCheckpoint>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw inputError('INPUT_STATE_INVALID', `${file}: not JSON; move it aside to start over (files are then read again)`, err);
  }
  const o = parsed as { version?: unknown; files?: Record<string, FileCheckpoint> };
  if (o.version !== checkpointVersion || typeof o.files !== 'object' || o.files === null) {
    throw inputError('INPUT_STATE_INVALID', `${file}: unknown checkpoint version ${String(o.version)}`);
  }
  const out = new Map<string, FileCheckpoint>();
  for (const [id, c] of Object.entries(o.files)) {
    if (typeof c.path !== 'string' || !Number.isSafeInteger(c.offset) || c.offset < 0 || typeof c.headHash !== 'string'
      || !Number.isSafeInteger(c.headBytes)) {
      throw inputError('INPUT_STATE_INVALID', `${file}: bad entry for ${id}`);
    }
    out.set(id, c);
  }
  return out;
}

export async function saveCheckpoints(file: string, entries: ReadonlyMap<string, FileCheckpoint>): Promise<void> {
  await writeFileAtomic(file, JSON.stringify({ version: checkpointVersion, files: Object.fromEntries(entries) }));
}
