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
  /**
   * Called when the write failed for lack of space (ENOSPC, EDQUOT), after the
   * temporary file is gone: true when the caller freed space (the agent's disk
   * reserve), and the write is tried once more.
   */
  onNoSpace?: (err: Error) => boolean;
}

/** Whether `err` says the filesystem (or the user's quota) is full. */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
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
  try {
    await writeOnce(file, data, o);
  } catch (err) {
    if (!isNoSpace(err) || !o.onNoSpace?.(err as Error)) throw err;
    await writeOnce(file, data, o);
  }
}

async function writeOnce(file: string, data: string | Uint8Array, o: AtomicWriteOptions): Promise<void> {
  const sync = o.sync ?? true;
  const tmp = tmpName(file);
  try {
    const fh = await fsp.open(tmp, 'w', o.mode ?? 0o600);
    try {
      await fh.writeFile(data);
      if (sync) await fh.datasync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
  } catch (err) {
    // A half-written temporary file must not hold on to the space a full disk lacks.
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  if (sync) await fsyncDir(path.dirname(file));
}

/** `writeFileAtomic` for callers that must not yield (it blocks the event loop for the fsyncs). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, o: AtomicWriteOptions = {}): void {
  try {
    writeOnceSync(file, data, o);
  } catch (err) {
    if (!isNoSpace(err) || !o.onNoSpace?.(err as Error)) throw err;
    writeOnceSync(file, data, o);
  }
}

function writeOnceSync(file: string, data: string | Uint8Array, o: AtomicWriteOptions): void {
  const sync = o.sync ?? true;
  const tmp = tmpName(file);
  try {
    const fd = fs.openSync(tmp, 'w', o.mode ?? 0o600);
    try {
      fs.writeFileSync(fd, data);
      if (sync) fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // Nothing more to do: the start-up sweep removes orphaned temporary files.
    }
    throw err;
  }
  if (sync) fsyncDirSync(path.dirname(file));
}

/** Removes the temporary files a killed writer left in `dir` (`<name>.tmp-<pid>-<n>`); returns how many. */
export function removeOrphanedTmpFiles(dir: string): number {
  let n = 0;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  for (const name of names) {
    if (!/\.tmp-\d+-\d+$/.test(name)) continue;
    fs.rmSync(path.join(dir, name), { force: true });
    n++;
  }
  return n;
}
