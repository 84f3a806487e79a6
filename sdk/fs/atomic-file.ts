/**
 * Replacing a small file so that a crash leaves the old contents or the new,
 * never a mix: write a temporary file beside it, fsync it, rename it over
 * the target, fsync the directory (the rename itself must survive power
 * loss). One implementation for the gateway's metadata, the agent's
 * checkpoints and intents, and the SDK's lease file.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0600). */
  mode?: number;
  /** fsync the data and the directory (default true). Without it, a process crash still cannot tear the file; power loss can lose the update. */
  sync?: boolean;
}

let tmpCounter = 0;

/** A temporary name no concurrent writer in this or another process uses. */
function tmpName(file: string): string {
  return `${file}.tmp-${process.pid}-${tmpCounter++}`;
}

export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function writeFileAtomic(file: string, data: string | Uint8Array, o: AtomicWriteOptions = {}): Promise<void> {
  const sync = o.sync ?? true;
  const tmp = tmpName(file);
  const fh = await fsp.open(tmp, 'w', o.mode ?? 0o600);
  try {
    await fh.writeFile(data);
    if (sync) await fh.datasync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  if (sync) await fsyncDir(path.dirname(file));
}

/** `writeFileAtomic` for callers that must not yield (it blocks the event loop for the fsyncs). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, o: AtomicWriteOptions = {}): void {
  const sync = o.sync ?? true;
  const tmp = tmpName(file);
  const fd = fs.openSync(tmp, 'w', o.mode ?? 0o600);
  try {
    fs.writeFileSync(fd, data);
    if (sync) fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  if (sync) fsyncDirSync(path.dirname(file));
}
