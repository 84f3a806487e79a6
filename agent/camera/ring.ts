/**
 * The camera's video buffer: a ring of fragment files on disk, one file per
 * fragment, under `<state>/camera/<camera>/`. It holds every fragment not
 * yet PERSISTED by the gateway, oldest first; the uplink removes a fragment
 * once its PERSISTED ack came.
 *
 * - Restart-safe: a fragment is written to a temporary file, fdatasynced,
 *   renamed to its final name and the directory fsynced, so a power cut
 *   loses at most the fragment being written. On open, temporary files are
 *   removed and the newest file's checksum is checked (a torn fragment is
 *   cut off); other damaged files are found when read and removed then.
 * - Caps: a size cap (bytes of files) and an age cap (capture time). When a
 *   fragment does not fit, `drop-oldest` deletes the oldest fragments and
 *   `keep-oldest` refuses the new one (evidence cameras). Expired fragments
 *   are deleted under either policy.
 * - A full disk (ENOSPC) lowers the cap in force below what the ring holds
 *   now, then the policy applies; the configured cap comes back once the
 *   disk has room for it again.
 * - Optionally sealed (AES-256-GCM) with a key derived from the agent's
 *   buffer key (fragment-file.ts).
 *
 * File names carry what the index needs, so opening a ring of days of
 * video is one directory listing: `<producer ms, 15 digits>-<duration ms>-<file bytes>.frag`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import { decodeFragmentFile, encodeFragmentFile } from './fragment-file.ts';

export type RingPolicy = 'drop-oldest' | 'keep-oldest';

export interface RingEntry {
  producerMs: number;
  durationMs: number;
  bytes: number;
}

export interface RingProblem {
  kind: 'dropped-oldest' | 'dropped-newest' | 'expired' | 'disk-full' | 'torn' | 'corrupt' | 'refused';
  fragments: number;
  bytes: number;
  detail?: string;
}

export interface RingOptions {
  capBytes: number;
  /** Fragments captured longer ago than this are deleted (undefined: no age cap). */
  maxAgeMs?: number;
  policy: RingPolicy;
  /** 32-byte AES-256-GCM key (fragment-file.ts `ringKey`): seal new fragments, open sealed ones. */
  key?: Uint8Array;
  /** Free bytes on the ring's disk (statfs); used to bring the configured cap back after a full disk. */
  freeBytes?: () => number | undefined;
  now?: () => number;
  onProblem?: (p: RingProblem) => void;
}

export interface RingStats {
  fragments: number;
  bytes: number;
  oldestMs: number | undefined;
  /** End of the newest fragment (its producer timestamp plus length). */
  newestEndMs: number | undefined;
  /** The cap in force (below the configured one after a full disk). */
  capBytes: number;
  droppedOldestFragments: number;
  droppedNewestFragments: number;
  expiredFragments: number;
  corruptFragments: number;
  refusedFragments: number;
  tornFiles: number;
  appendedFragments: number;
}

const fileSuffix = '.frag';
const namePattern = /^(\d{15})-(\d{1,10})-(\d{1,12})\.frag$/;
/** How often, at most, a lowered cap looks at the disk again. */
const capRecheckMs = 10_000;

export function fragmentFileName(e: RingEntry): string {
  return `${String(e.producerMs).padStart(15, '0')}-${e.durationMs}-${e.bytes}${fileSuffix}`;
}

export function parseFragmentFileName(name: string): RingEntry | undefined {
  const m = namePattern.exec(name);
  return m ? { producerMs: Number(m[1]), durationMs: Number(m[2]), bytes: Number(m[3]) } : undefined;
}

/** Reads a ring directory's index without opening it for writing (operator tools, tests). */
export function listRing(dir: string): RingEntry[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).map(parseFragmentFileName).filter((e): e is RingEntry => e !== undefined).sort((a, b) => a.producerMs - b.producerMs);
}

export class FragmentRing {
  private readonly entries: RingEntry[];
  private totalBytes = 0;
  private capInForce: number;
  private capCheckedAtMs = 0;
  private readonly now: () => number;
  private readonly counters = { droppedOldestFragments: 0, droppedNewestFragments: 0, expiredFragments: 0, corruptFragments: 0, refusedFragments: 0, tornFiles: 0, appendedFragments: 0 };
  /** Appends are serialised: one file written at a time, in timestamp order. */
  private tail: Promise<unknown> = Promise.resolve();
  private readonly waiters = new Set<() => void>();

  private constructor(readonly dir: string, private readonly o: RingOptions) {
    assert.ok(Number.isSafeInteger(o.capBytes) && o.capBytes > 0, 'capBytes is a positive integer');
    this.now = o.now ?? Date.now;
    this.capInForce = o.capBytes;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.entries = this.recover();
    for (const e of this.entries) this.totalBytes += e.bytes;
  }

  /** Opens (or creates) the ring in `dir`: removes temporary files and cuts off a torn newest fragment. */
  static open(dir: string, options: RingOptions): FragmentRing {
    return new FragmentRing(dir, options);
  }

  private recover(): RingEntry[] {
    const entries: RingEntry[] = [];
    for (const name of fs.readdirSync(dir(this))) {
      const file = path.join(this.dir, name);
      if (name.endsWith('.tmp')) {
        // A fragment whose write a crash or power cut interrupted: never renamed, so never counted.
        fs.rmSync(file, { force: true });
        this.counters.tornFiles++;
        this.problem({ kind: 'torn', fragments: 1, bytes: 0, detail: name });
        continue;
      }
      const e = parseFragmentFileName(name);
      if (e) entries.push(e);
    }
    entries.sort((a, b) => a.producerMs - b.producerMs);
    // The newest file is the one a crash could have caught (a filesystem that lost the data behind a rename).
    while (entries.length) {
      const last = entries.at(-1)!;
      const file = path.join(this.dir, fragmentFileName(last));
      if (this.intact(file, last.bytes)) break;
      fs.rmSync(file, { force: true });
      entries.pop();
      this.counters.tornFiles++;
      this.problem({ kind: 'torn', fragments: 1, bytes: last.bytes, detail: path.basename(file) });
    }
    return entries;
  }

  private intact(file: string, bytes: number): boolean {
    try {
      const b = fs.readFileSync(file);
      if (b.length !== bytes) return false;
      decodeFragmentFile(b, undefined);
      return true;
    } catch (err) {
      // Sealed files need the key to open, not to be checked: the CRC passed if that is all that failed.
      return (err as { code?: string }).code === 'CAMERA_KEY_REQUIRED';
    }
  }

  /** The fragments held, oldest first (do not modify). */
  list(): readonly RingEntry[] {
    return this.entries;
  }

  first(): RingEntry | undefined {
    return this.entries[0];
  }

  /** The first fragment after `producerMs` (or the first, without it). */
  after(producerMs: number | undefined): RingEntry | undefined {
    if (producerMs === undefined) return this.entries[0];
    // Usually near the front: the uplink sends the oldest fragments.
    return this.entries.find((e) => e.producerMs > producerMs);
  }

  stats(): RingStats {
    const last = this.entries.at(-1);
    return {
      fragments: this.entries.length, bytes: this.totalBytes, oldestMs: this.entries[0]?.producerMs,
      newestEndMs: last ? last.producerMs + last.durationMs : undefined, capBytes: this.capInForce, ...this.counters,
    };
  }

  /** Resolves at the next append or removal (or after `ms`): the uplink waits on it for new fragments. */
  changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Stores a fragment (durable when the promise resolves with `stored`), or
   * refuses it under `keep-oldest` (`refused`). Producer timestamps must
   * increase; the fragmenter guarantees it.
   */
  append(f: { producerMs: number; durationMs: number; header: Uint8Array; cluster: Uint8Array }): Promise<'stored' | 'refused'> {
    const run = this.tail.then(() => this.write(f));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async write(f: { producerMs: number; durationMs: number; header: Uint8Array; cluster: Uint8Array }): Promise<'stored' | 'refused'> {
    const newest = this.entries.at(-1);
    assert.ok(!newest || f.producerMs > newest.producerMs, 'fragments are appended in increasing producer timestamp order');
    this.expire();
    this.restoreCap();
    const bytes = encodeFragmentFile(f, this.o.key);
    const entry: RingEntry = { producerMs: f.producerMs, durationMs: f.durationMs, bytes: bytes.length };
    for (let attempt = 0; ; attempt++) {
      if (!this.makeRoom(entry.bytes)) return this.refuse(entry, 'the ring is full (keep-oldest)');
      try {
        await this.writeFile(entry, bytes);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC' && (err as NodeJS.ErrnoException).code !== 'EDQUOT') throw err;
        // The disk is full before the cap: hold less from now on, then let the policy decide.
        const lowered = Math.max(0, this.totalBytes - entry.bytes);
        this.problem({ kind: 'disk-full', fragments: 0, bytes: entry.bytes, detail: `no space left on the disk: cap in force lowered from ${this.capInForce} to ${lowered} bytes` });
        this.capInForce = Math.min(this.capInForce, lowered);
        this.capCheckedAtMs = this.now();
        if (this.o.policy === 'keep-oldest' || attempt >= 8 || this.entries.length === 0) return this.refuse(entry, 'no space left on the disk');
      }
    }
    this.entries.push(entry);
    this.totalBytes += entry.bytes;
    this.counters.appendedFragments++;
    this.notify();
    return 'stored';
  }

  private refuse(entry: RingEntry, why: string): 'refused' {
    this.counters.droppedNewestFragments++;
    this.problem({ kind: 'dropped-newest', fragments: 1, bytes: entry.bytes, detail: why });
    return 'refused';
  }

  /** Under drop-oldest, deletes the oldest fragments until `bytes` more fit; false when they cannot (keep-oldest, or larger than the cap). */
  private makeRoom(bytes: number): boolean {
    if (this.totalBytes + bytes <= this.capInForce) return true;
    if (this.o.policy === 'keep-oldest') return false;
    let fragments = 0;
    let freed = 0;
    while (this.entries.length && this.totalBytes + bytes > this.capInForce) {
      const e = this.entries.shift()!;
      this.unlink(e);
      this.totalBytes -= e.bytes;
      freed += e.bytes;
      fragments++;
    }
    if (fragments) {
      this.counters.droppedOldestFragments += fragments;
      this.problem({ kind: 'dropped-oldest', fragments, bytes: freed });
    }
    return this.totalBytes + bytes <= this.capInForce || this.entries.length === 0;
  }

  private async writeFile(entry: RingEntry, bytes: Buffer): Promise<void> {
    const file = path.join(this.dir, fragmentFileName(entry));
    const tmp = `${file}.tmp`;
    let fh: fs.promises.FileHandle | undefined;
    try {
      fh = await fs.promises.open(tmp, 'w', 0o600);
      await fh.writeFile(bytes);
      await fh.datasync();
      await fh.close();
      fh = undefined;
      await fs.promises.rename(tmp, file);
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
    const d = await fs.promises.open(this.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }

  /** Reads a fragment; FRAGMENT_GONE when it was dropped meanwhile, FRAGMENT_FILE_CORRUPT (the file is then removed) when damaged. */
  async read(e: RingEntry): Promise<{ header: Uint8Array; cluster: Uint8Array }> {
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(path.join(this.dir, fragmentFileName(e)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new TributaryError('FRAGMENT_GONE', `fragment ${e.producerMs} is no longer in the ring`);
      throw err;
    }
    try {
      const d = decodeFragmentFile(bytes, this.o.key);
      return { header: d.header, cluster: d.cluster };
    } catch (err) {
      if ((err as { code?: string }).code === 'FRAGMENT_FILE_CORRUPT') {
        this.counters.corruptFragments++;
        this.remove(e.producerMs);
        this.problem({ kind: 'corrupt', fragments: 1, bytes: e.bytes, detail: `${fragmentFileName(e)}: ${(err as Error).message}` });
      }
      throw err;
    }
  }

  /** Removes a fragment (PERSISTED, or refused for good by the gateway); a fragment no longer there is ignored. */
  remove(producerMs: number, reason?: 'refused'): boolean {
    const i = this.entries.findIndex((e) => e.producerMs === producerMs);
    if (i < 0) return false;
    const [e] = this.entries.splice(i, 1);
    this.unlink(e!);
    this.totalBytes -= e!.bytes;
    if (reason === 'refused') {
      this.counters.refusedFragments++;
      this.problem({ kind: 'refused', fragments: 1, bytes: e!.bytes });
    }
    this.notify();
    return true;
  }

  /** Deletes fragments older than the age cap; returns how many. */
  expire(): number {
    if (this.o.maxAgeMs === undefined) return 0;
    const before = this.now() - this.o.maxAgeMs;
    let fragments = 0;
    let bytes = 0;
    while (this.entries.length && this.entries[0]!.producerMs + this.entries[0]!.durationMs < before) {
      const e = this.entries.shift()!;
      this.unlink(e);
      this.totalBytes -= e.bytes;
      bytes += e.bytes;
      fragments++;
    }
    if (fragments) {
      this.counters.expiredFragments += fragments;
      this.problem({ kind: 'expired', fragments, bytes });
      this.notify();
    }
    return fragments;
  }

  /** After a full disk: the configured cap again once the disk can hold it. */
  private restoreCap(): void {
    if (this.capInForce >= this.o.capBytes || !this.o.freeBytes) return;
    const now = this.now();
    if (now - this.capCheckedAtMs < capRecheckMs) return;
    this.capCheckedAtMs = now;
    const free = this.o.freeBytes();
    if (free === undefined) return;
    // Room for what the full cap would add, plus a sixteenth of it to spare.
    const room = free + this.totalBytes - this.o.capBytes / 16;
    this.capInForce = Math.max(this.capInForce, Math.min(this.o.capBytes, Math.floor(room)));
  }

  private unlink(e: RingEntry): void {
    try {
      fs.unlinkSync(path.join(this.dir, fragmentFileName(e)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  private problem(p: RingProblem): void {
    this.o.onProblem?.(p);
  }

  /** Waits for the append in progress. */
  async close(): Promise<void> {
    await this.tail;
    this.notify();
  }
}

function dir(r: FragmentRing): string {
  return r.dir;
}
