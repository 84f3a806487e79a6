/**
 * The agent on a full disk (issue #15). A full disk must never stop the
 * agent: the uplink has to keep draining the buffer, which is what frees
 * space, and draining needs small metadata writes (the buffer's checkpoint,
 * the uplink's send window, status.json) that a full disk refuses.
 *
 * So the agent keeps a **reserve**: a file of zeros in the state directory,
 * taken at start while there is room. When a write fails for lack of space,
 * the reserve is deleted and the write tried again, so metadata keeps being
 * written; from then on the disk counts as **low**, and the buffers take no
 * new records (unless drop-oldest makes room by dropping old ones) until
 * statfs shows room for the reserve and a margin again, when the reserve is
 * taken back. Everything else (inputs' checkpoints, sidecars) tolerates a
 * failed write and tries again later.
 *
 * @example
 * const space = new DiskReserve('/var/lib/tributary', { onChange: (low) => log.warn('disk', { low }) });
 * space.start();
 * const buffer = await DiskBuffer.open(dir, { space });
 */
import fs from 'node:fs';
import path from 'node:path';
import { isNoSpace } from '../sdk/fs/atomic-file.ts';

export { isNoSpace };

/** What the buffer and the uplink need to know about the disk. */
export interface SpaceGuard {
  /** True from a failed write for lack of space until room returns: appends are refused (drop-oldest may drop). */
  readonly low: boolean;
  /** A metadata write failed with `err`: if for lack of space, the disk is low and the reserve is freed; true when a retry may succeed. */
  noSpace(err: unknown): boolean;
  /** An append failed for lack of space: the disk is low (the reserve stays: it is for metadata, not records). */
  full(err: unknown): void;
  /** Free bytes the guard needs to end the low state (its reserve and a margin): a buffer that hit ENOSPC lowers its cap by this much. */
  readonly headroomBytes: number;
}

export const reserveFileName = 'reserve';
/** The reserve: about 1% of the filesystem, within these bounds. */
export const reserveBytesMin = 256 * 1024;
export const reserveBytesMax = 4 * 1024 * 1024;
export const reserveShareOfDisk = 0.01;
/** Room (beyond the reserve) that ends the low state. */
export const resumeBytesMin = 1024 * 1024;
export const spaceCheckIntervalMsDefault = 1000;

/** Free bytes for an unprivileged writer and the filesystem's size, or undefined where statfs is unavailable. */
export function diskSpace(dir: string): { freeBytes: number; sizeBytes: number; type: number } | undefined {
  try {
    const s = fs.statfsSync(dir);
    return { freeBytes: s.bavail * s.bsize, sizeBytes: s.blocks * s.bsize, type: s.type };
  } catch {
    return undefined;
  }
}

export interface DiskReserveOptions {
  /** Bytes to hold back (default: 1% of the filesystem, 256 KiB to 4 MiB). */
  reserveBytes?: number;
  checkIntervalMs?: number;
  /** Called when the disk turns low and when room returns; `freeBytes` from statfs. */
  onChange?: (low: boolean, freeBytes: number | undefined) => void;
}

export class DiskReserve implements SpaceGuard {
  readonly file: string;
  readonly reserveBytes: number;
  #low = false;
  #held = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #checkIntervalMs: number;
  readonly #onChange: (low: boolean, freeBytes: number | undefined) => void;

  constructor(readonly dir: string, o: DiskReserveOptions = {}) {
    this.file = path.join(dir, reserveFileName);
    const size = diskSpace(dir)?.sizeBytes ?? 0;
    this.reserveBytes = o.reserveBytes ?? Math.min(reserveBytesMax, Math.max(reserveBytesMin, Math.round(size * reserveShareOfDisk)));
    this.#checkIntervalMs = o.checkIntervalMs ?? spaceCheckIntervalMsDefault;
    this.#onChange = o.onChange ?? (() => {});
  }

  get low(): boolean {
    return this.#low;
  }

  get headroomBytes(): number {
    return this.reserveBytes + this.#margin();
  }

  #margin(): number {
    return Math.max(resumeBytesMin, 2 * this.reserveBytes);
  }

  /** Whether the reserve file is on disk now. */
  get held(): boolean {
    return this.#held;
  }

  /** Takes the reserve (a reserve left by an earlier run counts) and starts watching for room. */
  start(): void {
    this.#held = fileSize(this.file) === this.reserveBytes;
    if (!this.#held) this.check();
    this.#timer = setInterval(() => this.check(), this.#checkIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  noSpace(err: unknown): boolean {
    if (!isNoSpace(err)) return false;
    const freed = this.#release();
    this.full(err);
    return freed;
  }

  full(err: unknown): void {
    if (!isNoSpace(err) || this.#low) return;
    this.#low = true;
    this.#onChange(true, diskSpace(this.dir)?.freeBytes);
  }

  /** Takes the reserve back, and ends the low state, once statfs shows room for it and a margin. */
  check(): void {
    const free = diskSpace(this.dir)?.freeBytes;
    if (free === undefined) return;
    const margin = this.#margin();
    if (!this.#held && free >= this.reserveBytes + margin) this.#take();
    if (this.#low && this.#held && free >= margin) {
      this.#low = false;
      this.#onChange(false, diskSpace(this.dir)?.freeBytes);
    }
  }

  #take(): void {
    const tmp = `${this.file}.tmp-${process.pid}-0`;
    try {
      // Real zeros, not a sparse file: the blocks must be allocated to be worth anything.
      fs.writeFileSync(tmp, Buffer.alloc(this.reserveBytes), { mode: 0o600 });
      fs.renameSync(tmp, this.file);
      this.#held = true;
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  }

  #release(): boolean {
    if (!this.#held) return false;
    this.#held = false;
    try {
      fs.rmSync(this.file, { force: true });
      return true;
    } catch {
      return false;
    }
  }
}

function fileSize(file: string): number | undefined {
  try {
    return fs.statSync(file).size;
  } catch {
    return undefined;
  }
}

/** Default share of the disk's free space (plus what the buffers already hold) that all buffers together may take. */
export const capFreePercentDefault = 50;
/** Segments per buffer when the agent picks segmentBytes itself: whole segments are what drop-oldest drops. */
const autoSegmentsPerCap = 8;
const segmentBytesAutoMax = 8 * 1024 * 1024;
const segmentBytesAutoMin = 64 * 1024;

export interface CapPlanInput {
  /** statfs of the state directory. */
  freeBytes: number;
  /** What the destinations' buffers hold on disk now (space the cap may count as theirs). */
  bufferedBytes: number;
  destinations: number;
  /** Configured per-destination cap; absent: a share of the free space. */
  capBytes?: number;
  capFreePercent: number;
  /** Configured segment size; absent: chosen to fit the cap. */
  segmentBytes?: number;
  /** What the disk guard keeps free (DiskReserve.headroomBytes). */
  headroomBytes: number;
  /** The buffer's own bounds (agent/buffer/limits.ts). */
  capBytesMin: number;
  capSegmentsMin: number;
}

export interface CapPlan {
  capBytes: number;
  segmentBytes: number;
  /** Why the disk cannot hold what was asked, for the start-up log. */
  warning?: string;
}

/**
 * Each destination's disk cap: the configured one, or `capFreePercent` of
 * the space the buffers could use (free space plus what they hold, less the
 * guard's headroom) shared equally, so that drop-oldest engages well before
 * the disk is full. A configured cap the disk cannot hold is kept, with a
 * warning. Pure: the caller passes statfs's numbers.
 */
export function planCaps(o: CapPlanInput): CapPlan {
  const usable = Math.max(0, o.freeBytes + o.bufferedBytes - o.headroomBytes);
  const share = Math.floor((usable * o.capFreePercent) / 100 / Math.max(1, o.destinations));
  let capBytes = o.capBytes ?? Math.max(o.capBytesMin, share);
  let warning: string | undefined;
  if (o.capBytes !== undefined && o.capBytes * o.destinations > usable) {
    warning = `buffer.capBytes ${o.capBytes} for each of ${o.destinations} destination(s) exceeds what the disk can hold ` +
      `(${o.freeBytes} bytes free, ${o.bufferedBytes} buffered): the disk would fill before drop-oldest engages; ` +
      `lower it, or leave it out for ${o.capFreePercent}% of the free space`;
  } else if (o.capBytes === undefined && share < o.capBytesMin) {
    warning = `only ${usable} bytes of disk are usable for buffers: each gets the minimum cap of ${o.capBytesMin} bytes, which the disk may not hold`;
  }
  let segmentBytes = o.segmentBytes ?? Math.min(segmentBytesAutoMax, Math.max(segmentBytesAutoMin, Math.floor(capBytes / autoSegmentsPerCap / segmentBytesAutoMin) * segmentBytesAutoMin));
  if (capBytes < segmentBytes * o.capSegmentsMin) {
    if (o.segmentBytes === undefined) segmentBytes = segmentBytesAutoMin;
    capBytes = Math.max(capBytes, segmentBytes * o.capSegmentsMin);
  }
  return { capBytes, segmentBytes, ...(warning ? { warning } : {}) };
}
