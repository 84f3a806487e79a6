/**
 * One writer per destination directory: two processes appending to the same
 * segment would interleave frames. The lock file holds the owner's pid and
 * the kernel boot id; a lock whose owner is gone (a crash, a SIGKILL, a
 * reboot that reused its pid) is taken over, because a crashed agent must
 * never keep its successor from starting.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isNoSpace } from '../../sdk/fs/atomic-file.ts';
import { bufferError } from './errors.ts';

export const lockFileName = 'lock';

/** Directories this process holds, so that our own pid in a stale lock is not mistaken for a live owner. */
const held = new Set<string>();

function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown'; // Not Linux: fall back to the pid check alone.
  }
}

/**
 * Takes the lock. On a full disk the owner line may not fit: `onNoSpace`
 * (the disk guard) frees room and it is written again; failing that, the
 * empty file still marks the directory as taken for this run (a later
 * process reads it as stale, which is what it is once this one is gone).
 */
export function acquireLock(dir: string, onNoSpace?: (err: Error) => boolean): () => void {
  const file = path.join(dir, lockFileName);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      try {
        writeOwner(fd, onNoSpace);
      } finally {
        fs.closeSync(fd);
      }
      held.add(path.resolve(dir));
      return () => {
        held.delete(path.resolve(dir));
        fs.rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const [pidText, ownerBoot] = readOrEmpty(file).split(' ');
    const owner = Number(pidText);
    const sameBoot = ownerBoot === undefined || ownerBoot === bootId();
    const ours = owner === process.pid && !held.has(path.resolve(dir));
    if (Number.isSafeInteger(owner) && owner > 0 && sameBoot && !ours && alive(owner)) {
      throw bufferError('BUFFER_LOCKED', `${dir} is in use by process ${owner}`);
    }
    fs.rmSync(file, { force: true }); // Stale: its owner died without closing.
  }
  throw bufferError('BUFFER_LOCKED', `${dir}: could not take the lock`);
}

function writeOwner(fd: number, onNoSpace: ((err: Error) => boolean) | undefined): void {
  const line = `${process.pid} ${bootId()}`;
  try {
    fs.writeSync(fd, line, 0);
  } catch (err) {
    if (!isNoSpace(err)) throw err;
    if (!onNoSpace?.(err as Error)) return;
    try {
      fs.writeSync(fd, line, 0);
    } catch (again) {
      if (!isNoSpace(again)) throw again;
    }
  }
}

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
