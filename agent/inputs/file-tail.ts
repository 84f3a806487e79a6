/**
 * The file tail input: polls files matching globs, turns new lines into
 * records and appends them to one destination's buffer. Offsets are
 * checkpointed per file identity (device and inode) only after the records
 * are durable, so a restart resumes without loss (at-least-once). Handles
 * rename-and-create rotation (the old file is read to its end through the
 * open descriptor) and copytruncate (a size below the read offset restarts
 * at 0). See docs/agent-inputs.md.
 */
import type { FileHandle } from 'node:fs/promises';
import fs from 'node:fs/promises';
import path from 'node:path';
import { bufferLimits, type AppendRecord } from '../buffer/index.ts';
import { contentPartitionKey, isPermanentAppendError, type RecordSink } from './common.ts';
import { fingerprint, fingerprintBytesMax, loadCheckpoints, saveCheckpoints, type FileCheckpoint } from './file-checkpoint.ts';
import { globMatches } from './file-glob.ts';
import { fileAppendRecordsMax, fileReadChunkBytes, filesTrackedMax, type FileTailConfig } from './file-tail-config.ts';
import { LineAssembler, type AssembledRecord } from './line-assembler.ts';

export * from './file-tail-config.ts';

export interface FileTailCounters {
  /** Records durable in the buffer. */
  buffered: number;
  /** Failed appends (the lines are read again from the checkpoint). */
  failed: number;
  /** Records the buffer refused for good (they are skipped). */
  rejected: number;
  /** Records cut to recordBytesMax. */
  truncated: number;
  /** Size shrank below the read offset (copytruncate): read again from 0. */
  truncations: number;
  /** Rotated-away files read to their end and closed. */
  rotationsFinished: number;
  /** Checkpoint entries discarded because the file at that identity is a different one. */
  checkpointMismatches: number;
}

export type FileTailEvent =
  | { kind: 'opened'; path: string; offset: number }
  | { kind: 'closed'; path: string }
  | { kind: 'truncated'; path: string }
  | { kind: 'append-failed'; path: string; code: string }
  | { kind: 'error'; detail: string };

export interface FileTailOptions {
  now?: () => number;
  onEvent?: (event: FileTailEvent) => void;
}

interface Tracked {
  id: string;
  /** The path the file was first found at: its source and partition key stay stable through rotation. */
  path: string;
  fd: FileHandle;
  assembler: LineAssembler;
  committed: number;
  headBytes: number;
  headHash: string;
  lastGrowthMs: number;
  orphanSinceMs: number | undefined;
}

interface Found {
  path: string;
  size: number;
}

function identity(st: { dev: bigint; ino: bigint }): string {
  return `${st.dev}:${st.ino}`;
}

export class FileTailInput {
  readonly #config: FileTailConfig;
  readonly #sink: RecordSink;
  readonly #now: () => number;
  readonly #onEvent: (event: FileTailEvent) => void;
  readonly #checkpointFile: string;
  readonly #counters: FileTailCounters = {
    buffered: 0, failed: 0, rejected: 0, truncated: 0, truncations: 0, rotationsFinished: 0, checkpointMismatches: 0,
  };
  readonly #tracked = new Map<string, Tracked>();
  #checkpoints = new Map<string, FileCheckpoint>();
  #firstScan = true;
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #started = false;
  #stopped = false;

  constructor(config: FileTailConfig, sink: RecordSink, options: FileTailOptions = {}) {
    this.#config = config;
    this.#sink = sink;
    this.#now = options.now ?? Date.now;
    this.#onEvent = options.onEvent ?? (() => {});
    this.#checkpointFile = path.join(config.stateDir, `file-tail-${config.name}.checkpoint.json`);
  }

  /** Loads the checkpoint, runs the first poll (so a broken state dir fails here), then polls on its own. */
  async start(): Promise<void> {
    if (this.#started) throw new Error('FileTailInput already started');
    this.#started = true;
    await fs.mkdir(this.#config.stateDir, { recursive: true, mode: 0o700 });
    this.#checkpoints = await loadCheckpoints(this.#checkpointFile);
    await this.#poll();
    this.#schedule();
  }

  /** Stops polling, saves the checkpoint and closes the files. Unemitted lines are read again next start. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    if (this.#dirty) await this.#save();
    for (const t of this.#tracked.values()) await t.fd.close();
    this.#tracked.clear();
  }

  counters(): Readonly<FileTailCounters> {
    return { ...this.#counters };
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#poll()
        .catch((err: unknown) => this.#onEvent({ kind: 'error', detail: (err as Error).message }))
        .finally(() => {
          this.#running = undefined;
          this.#schedule();
        });
    }, this.#config.pollIntervalMs);
  }

  async #poll(): Promise<void> {
    const found = await this.#scan();
    if (this.#firstScan) await this.#findRotatedWhileStopped(found);
    for (const [id, f] of found) {
      if (!this.#tracked.has(id)) await this.#guard(f.path, () => this.#open(id, f));
    }
    const now = this.#now();
    for (const t of this.#tracked.values()) t.orphanSinceMs = found.has(t.id) ? undefined : (t.orphanSinceMs ?? now);
    // Rotated-away files first: their lines were written before the new file's.
    const order = [...this.#tracked.values()].sort((a, b) =>
      (a.orphanSinceMs ?? Infinity) - (b.orphanSinceMs ?? Infinity) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    // A rotated file must be read to its end before the file that replaced it:
    // with a per-poll read budget, newer files wait while an older one is behind.
    let rotatedBehind = false;
    for (const t of order) {
      if (this.#stopped) break;
      if (rotatedBehind && t.orphanSinceMs === undefined) break;
      let caughtUp = false;
      await this.#guard(t.path, async () => {
        caughtUp = await this.#service(t);
      });
      if (t.orphanSinceMs !== undefined && !caughtUp) rotatedBehind = true;
    }
    this.#firstScan = false;
    this.#checkpoints.clear();
    if (this.#dirty) await this.#save();
  }

  /** One file's trouble (permissions, I/O errors) is reported and retried next poll; it must not starve the others. */
  async #guard(file: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      this.#onEvent({ kind: 'error', detail: `${file}: ${(err as Error).message}` });
    }
  }

  /** Files matching the globs now, by identity. */
  async #scan(): Promise<Map<string, Found>> {
    const found = new Map<string, Found>();
    for (const glob of this.#config.globs) {
      for (const name of await readDirOrEmpty(glob.dir)) {
        if (!globMatches(glob, name)) continue;
        const p = path.join(glob.dir, name);
        const st = await statOrUndefined(p);
        if (st?.isFile() && !found.has(identity(st))) found.set(identity(st), { path: p, size: Number(st.size) });
      }
    }
    return found;
  }

  /** A checkpointed file rotated while the agent was down may sit under a name the globs miss (app.log.1). */
  async #findRotatedWhileStopped(found: Map<string, Found>): Promise<void> {
    const missing = new Set([...this.#checkpoints.keys()].filter((id) => !found.has(id)));
    if (missing.size === 0) return;
    const dirs = new Set(this.#config.globs.map((g) => g.dir));
    for (const dir of dirs) {
      for (const name of (await readDirOrEmpty(dir)).slice(0, filesTrackedMax * 4)) {
        const p = path.join(dir, name);
        const st = await statOrUndefined(p);
        if (st?.isFile() && missing.delete(identity(st))) await this.#guard(p, () => this.#open(identity(st), { path: p, size: Number(st.size) }));
      }
    }
  }

  async #open(id: string, f: Found): Promise<void> {
    if (this.#tracked.size >= filesTrackedMax) {
      this.#onEvent({ kind: 'error', detail: `more than ${filesTrackedMax} files match; ${f.path} is not followed` });
      return;
    }
    const fd = await openOrUndefined(f.path);
    if (!fd) return;
    const st = await fd.stat({ bigint: true });
    const cp = this.#checkpoints.get(id);
    const recordPath = cp?.path ?? f.path;
    if (identity(st) !== id || Buffer.byteLength(`file:${recordPath}`) > bufferLimits.sourceBytesMax) {
      // Replaced between stat and open (seen again next poll), or a name too long for a record source.
      if (identity(st) === id) this.#onEvent({ kind: 'error', detail: `path too long for a record source: ${recordPath}` });
      await fd.close();
      return;
    }
    const size = Number(st.size);
    let offset = this.#firstScan && this.#config.startAt === 'end' ? size : 0;
    if (cp) {
      const sameFile = cp.offset <= size && fingerprint(await readHead(fd, cp.headBytes)) === cp.headHash;
      if (sameFile) offset = cp.offset;
      else this.#counters.checkpointMismatches++;
    }
    const head = await readHead(fd, fingerprintBytesMax);
    const now = this.#now();
    this.#tracked.set(id, {
      id, path: recordPath, fd, assembler: this.#assembler(offset), committed: offset, headBytes: head.length, headHash: fingerprint(head),
      lastGrowthMs: now, orphanSinceMs: undefined,
    });
    this.#dirty = true;
    this.#onEvent({ kind: 'opened', path: f.path, offset });
  }

  #assembler(offset: number): LineAssembler {
    return new LineAssembler({ recordBytesMax: this.#config.recordBytesMax, startPattern: this.#config.startPattern }, offset);
  }

  /** Reads what is new in one file, appends its records, and closes it when it is a finished rotated file. True when it read to the end. */
  async #service(t: Tracked): Promise<boolean> {
    const size = Number((await t.fd.stat()).size);
    // A shrink is a truncation; so is a changed head, which catches a file truncated and refilled between two polls.
    const headChanged = t.headBytes > 0 && size >= t.headBytes && fingerprint(await readHead(t.fd, t.headBytes)) !== t.headHash;
    if (size < t.assembler.offset || headChanged) await this.#restartTruncated(t);
    const records: AssembledRecord[] = [];
    let budget = this.#config.readBytesPerPoll;
    while (t.assembler.offset < size && budget > 0) {
      const want = Math.min(fileReadChunkBytes, size - t.assembler.offset, budget);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await t.fd.read(buf, 0, want, t.assembler.offset);
      if (bytesRead === 0) break;
      records.push(...t.assembler.push(buf.subarray(0, bytesRead)));
      budget -= bytesRead;
      t.lastGrowthMs = this.#now();
    }
    const now = this.#now();
    if (t.assembler.hasPending && now - t.lastGrowthMs >= this.#config.multilineFlushMs) records.push(...t.assembler.flushPending());
    const finished = t.orphanSinceMs !== undefined && t.assembler.offset >= size
      && now - Math.max(t.lastGrowthMs, t.orphanSinceMs) >= this.#config.rotateWaitMs;
    if (finished) records.push(...t.assembler.flushAll());
    if (!(await this.#deliver(t, records))) return false;
    if (t.headBytes < fingerprintBytesMax && size > t.headBytes) {
      const head = await readHead(t.fd, fingerprintBytesMax);
      t.headBytes = head.length;
      t.headHash = fingerprint(head);
    }
    if (finished) {
      await t.fd.close();
      this.#tracked.delete(t.id);
      this.#counters.rotationsFinished++;
      this.#dirty = true;
      this.#onEvent({ kind: 'closed', path: t.path });
    }
    return t.assembler.offset >= size;
  }

  /** copytruncate: the file shrank below what we read. Emit what was held back, then start again at 0. */
  async #restartTruncated(t: Tracked): Promise<void> {
    await this.#deliver(t, t.assembler.flushAll());
    t.assembler = this.#assembler(0);
    t.committed = 0;
    t.headBytes = 0;
    t.headHash = fingerprint(Buffer.alloc(0));
    this.#counters.truncations++;
    this.#dirty = true;
    this.#onEvent({ kind: 'truncated', path: t.path });
  }

  /** Appends in batches; the checkpoint advances only past durable records. False when an append failed. */
  async #deliver(t: Tracked, records: AssembledRecord[]): Promise<boolean> {
    const spec = this.#config.partitionKey;
    const sharedKey = 'fixed' in spec ? spec.fixed : 'fileName' in spec ? path.basename(t.path) : undefined;
    const source = `file:${t.path}`;
    for (let i = 0; i < records.length; i += fileAppendRecordsMax) {
      const batch = records.slice(i, i + fileAppendRecordsMax);
      const capturedAtMs = this.#now();
      const appendRecords: AppendRecord[] = batch.map((r) => ({ source, partitionKey: sharedKey ?? contentPartitionKey(r.data), data: r.data, capturedAtMs }));
      try {
        await this.#sink.append(appendRecords);
        this.#counters.buffered += batch.length;
        this.#counters.truncated += batch.filter((r) => r.truncated).length;
      } catch (err) {
        const code = String((err as { code?: unknown } | null)?.code ?? 'UNKNOWN');
        this.#onEvent({ kind: 'append-failed', path: t.path, code });
        if (!isPermanentAppendError(err)) {
          // Forget what was read past the checkpoint: the next poll reads it again from the file.
          this.#counters.failed++;
          t.assembler = this.#assembler(t.committed);
          return false;
        }
        this.#counters.rejected += batch.length;
      }
      t.committed = batch.at(-1)!.endOffset;
      this.#dirty = true;
    }
    if (t.assembler.safeOffset !== t.committed) {
      t.committed = t.assembler.safeOffset;
      this.#dirty = true;
    }
    return true;
  }

  /**
   * Stores the offsets. A failed write (a full disk) is reported and tried
   * again after the next poll: the records are durable already, and an older
   * checkpoint only means lines read twice after a crash.
   */
  async #save(): Promise<void> {
    const entries = new Map<string, FileCheckpoint>();
    for (const t of this.#tracked.values()) {
      entries.set(t.id, { path: t.path, offset: t.committed, headBytes: t.headBytes, headHash: t.headHash });
    }
    try {
      await saveCheckpoints(this.#checkpointFile, entries);
    } catch (err) {
      this.#onEvent({ kind: 'error', detail: `cannot save ${this.#checkpointFile}: ${(err as Error).message}` });
      return;
    }
    this.#dirty = false;
  }
}

async function readDirOrEmpty(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function statOrUndefined(p: string) {
  try {
    return await fs.stat(p, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // Rotated or deleted since readdir.
    throw err;
  }
}

async function openOrUndefined(p: string): Promise<FileHandle | undefined> {
  try {
    return await fs.open(p, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function readHead(fd: FileHandle, bytes: number): Promise<Buffer> {
  const buf = Buffer.alloc(bytes);
  const { bytesRead } = await fd.read(buf, 0, bytes, 0);
  return buf.subarray(0, bytesRead);
}
