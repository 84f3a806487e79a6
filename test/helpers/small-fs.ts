/**
 * A real, small filesystem for full-disk tests: an ext4 image in a file,
 * loop-mounted under /var/tmp (needs root and a kernel that lets this
 * container mount; tests skip with the reason otherwise). ext4 is made with
 * no reserved blocks, so root (the test) fills it as any user would.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface SmallFs {
  /** The mount point. */
  dir: string;
  /** Bytes still free for unprivileged writers (statfs f_bavail). */
  freeBytes(): number;
  /** Bytes the filesystem holds in all. */
  sizeBytes(): number;
  /** Fills what is left with a file of its own (another program's logs, say); returns the bytes written. */
  fillUp(name?: string): number;
  unmount(): void;
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Mounts a fresh ext4 of `sizeMiB`; returns the reason instead when this machine cannot. */
export function mountSmallFs(sizeMiB: number): SmallFs | string {
  if (process.getuid?.() !== 0) return 'mounting a loop filesystem needs root';
  const base = fs.mkdtempSync('/var/tmp/trb-smallfs-');
  const image = path.join(base, 'fs.img');
  const dir = path.join(base, 'mnt');
  fs.mkdirSync(dir);
  try {
    fs.writeFileSync(image, '');
    fs.truncateSync(image, sizeMiB * 1024 * 1024);
    run('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
    run('mount', ['-o', 'loop', image, dir]);
  } catch (err) {
    fs.rmSync(base, { recursive: true, force: true });
    return `cannot mount a loop ext4 here: ${((err as { stderr?: Buffer }).stderr?.toString() || (err as Error).message).trim()}`;
  }
  let mounted = true;
  return {
    dir,
    freeBytes: () => {
      const s = fs.statfsSync(dir);
      return s.bavail * s.bsize;
    },
    sizeBytes: () => {
      const s = fs.statfsSync(dir);
      return s.blocks * s.bsize;
    },
    fillUp(name = 'filler') {
      const fd = fs.openSync(path.join(dir, name), 'a');
      let n = 0;
      try {
        // Smaller and smaller writes: the last free blocks may be fewer than a page's worth.
        for (const size of [65536, 4096, 1024, 512, 1]) {
          const chunk = Buffer.alloc(size, 1);
          try {
            for (;;) n += fs.writeSync(fd, chunk);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          }
        }
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return n;
    },
    unmount() {
      if (!mounted) return;
      mounted = false;
      try {
        run('umount', [dir]);
      } catch {
        run('umount', ['-l', dir]); // A process still holds a file: detach now, freed when it lets go.
      }
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
