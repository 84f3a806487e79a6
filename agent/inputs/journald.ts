/**
 * The journald input: follows `journalctl --output=json --follow` (the system
 * journal, or a directory or files of journal files), optionally filtered by
 * units and field matches, and appends one record per journal entry to one
 * destination's buffer. The last durable entry's cursor is checkpointed
 * (atomically) only after its append resolved; a restart starts journalctl
 * at that cursor and skips the entry itself, so nothing is lost and, after a
 * clean stop, nothing comes twice. journalctl is restarted with backoff when
 * it exits. See docs/agent-inputs.md.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { bufferLimits, type AppendRecord } from '../buffer/index.ts';
import {
  backoffMs, clampPartitionKey, configError, contentPartitionKey, destinationField, inputError, intField, isPermanentAppendError, objectWithKeys,
  stringField, type RecordSink,
} from './common.ts';
import { writeFileAtomic } from '../../sdk/fs/atomic-file.ts';

export const journalctlPathDefault = 'journalctl';
export const journaldRestartMinMsDefault = 500;
export const journaldRestartMaxMsDefault = 30_000;
/** Records per append: one admission decision, one group commit, one checkpoint write. */
export const journaldAppendRecordsMax = 500;
export const journaldAppendBytesMax = 4 * 1024 * 1024;
/** Parsed entries held before journalctl's stdout is paused (the pipe then blocks journalctl). */
export const journaldPendingEntriesMax = 2 * journaldAppendRecordsMax;
/** A journalctl line longer than this is dropped unread (memory cap); its entry is skipped. */
export const journaldLineBytesMax = 16 * 1024 * 1024;
/** journalctl's own JSON_THRESHOLD: over-long records keep fields up to this size and null the rest. */
export const journaldFieldBytesMaxWhenTruncated = 4096;
export const journaldStderrLinesPerRun = 20;
/** How long stop waits for journalctl to exit on SIGTERM before SIGKILL. */
export const journaldKillWaitMs = 5000;
/** Units and field matches given to journalctl. */
export const journaldFiltersMax = 64;
const checkpointVersion = 1;
/** Fields a truncated record keeps when nulling the long ones was not enough. */
const truncatedKeepFields = [
  '__CURSOR', '__REALTIME_TIMESTAMP', '__MONOTONIC_TIMESTAMP', '_BOOT_ID', '_HOSTNAME', '_SYSTEMD_UNIT', 'UNIT', 'PRIORITY',
  'SYSLOG_IDENTIFIER', '_PID', '_COMM',
];

/**
 * `hash` (the default): a hash of the entry, so a backlog spreads over the
 * stream's shards; `unit` / `hostname`: one key per unit or host, so their
 * entries stay in order; `fixed`: one key for all.
 */
export type JournaldPartitionKeySpec = { readonly unit: true } | { readonly hostname: true } | { readonly fixed: string } | { readonly hash: true };

/** `per-unit`: a unit's entries reach the stream in journal order; `none`: no order promised, load spread. */
export type JournaldOrder = 'per-unit' | 'none';

export interface JournaldInputConfig {
  readonly name: string;
  readonly destination: string;
  readonly units: readonly string[];
  readonly matches: readonly string[];
  /** `--directory`; with neither this nor `files`, the system journal. */
  readonly directory: string | undefined;
  /** `--file`, each absolute (journalctl watches the file's directory; a bare name breaks --follow). */
  readonly files: readonly string[];
  readonly partitionKey: JournaldPartitionKeySpec;
  readonly order: JournaldOrder;
  readonly startAt: 'beginning' | 'end';
  readonly stateDir: string;
  readonly journalctl: string;
  readonly restartMinMs: number;
  readonly restartMaxMs: number;
}

/** Parses the `inputs.journald` section once at startup into a frozen config; unknown keys are errors. */
export function parseJournaldInputConfig(raw: unknown, where = 'inputs.journald'): JournaldInputConfig {
  const o = objectWithKeys(where, raw, [
    'name', 'destination', 'units', 'matches', 'directory', 'files', 'partitionKey', 'order', 'startAt', 'stateDir', 'journalctl',
    'restartMinMs', 'restartMaxMs',
  ]);
  const units = stringList(`${where}.units`, o.units, /^[A-Za-z0-9:_.\\@*?[\]-]{1,256}$/, 'a unit name or glob');
  const matches = stringList(`${where}.matches`, o.matches, /^(\+|[A-Z0-9_]{1,64}=.{0,4096})$/s, 'FIELD=value or +');
  if (units.length + matches.length > journaldFiltersMax) throw configError(where, `at most ${journaldFiltersMax} units and matches`);
  const files = stringList(`${where}.files`, o.files, /^\/.+$/, 'an absolute path (globs allowed)');
  const directory = o.directory === undefined ? undefined : stringField(`${where}.directory`, o.directory);
  if (directory !== undefined && !path.isAbsolute(directory)) throw configError(`${where}.directory`, `must be an absolute path (got ${directory})`);
  if (directory !== undefined && files.length > 0) throw configError(where, 'takes directory or files, not both');
  const name = stringField(`${where}.name`, o.name, 'journald');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw configError(`${where}.name`, `must be 1 to 64 of A-Z a-z 0-9 . _ - (got ${name})`);
  const startAt = o.startAt ?? 'beginning';
  if (startAt !== 'beginning' && startAt !== 'end') throw configError(`${where}.startAt`, `must be beginning or end (got ${String(startAt)})`);
  const restartMinMs = intField(`${where}.restartMinMs`, o.restartMinMs, journaldRestartMinMsDefault, 10, 600_000);
  const order = o.order ?? 'none';
  if (order !== 'per-unit' && order !== 'none') throw configError(`${where}.order`, `must be per-unit or none (got ${String(order)})`);
  const partitionKey = parsePartitionKey(`${where}.partitionKey`, o.partitionKey ?? (order === 'per-unit' ? { unit: true } : { hash: true }));
  if (order === 'per-unit' && 'hash' in partitionKey) {
    throw configError(`${where}.partitionKey`, 'hash spreads a unit\'s entries over shards, which order: per-unit forbids (use unit, hostname or fixed)');
  }
  return Object.freeze({
    name,
    destination: destinationField(`${where}.destination`, o.destination),
    units: Object.freeze(units),
    matches: Object.freeze(matches),
    directory,
    files: Object.freeze(files),
    partitionKey,
    order,
    startAt,
    stateDir: stringField(`${where}.stateDir`, o.stateDir),
    journalctl: stringField(`${where}.journalctl`, o.journalctl, journalctlPathDefault),
    restartMinMs,
    restartMaxMs: intField(`${where}.restartMaxMs`, o.restartMaxMs, Math.max(restartMinMs, journaldRestartMaxMsDefault), restartMinMs, 3_600_000),
  });
}

function stringList(where: string, raw: unknown, pattern: RegExp, hint: string): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw configError(where, 'must be a list');
  return raw.map((v, i) => {
    if (typeof v !== 'string' || !pattern.test(v)) throw configError(`${where}[${i}]`, `must be ${hint} (got ${String(v)})`);
    return v;
  });
}

function parsePartitionKey(where: string, raw: unknown): JournaldPartitionKeySpec {
  const o = objectWithKeys(where, raw, ['unit', 'hostname', 'fixed', 'hash']);
  if (Object.keys(o).length !== 1) throw configError(where, 'must have exactly one of unit, hostname, fixed, hash');
  for (const flag of ['unit', 'hostname', 'hash'] as const) {
    if (o[flag] === undefined) continue;
    if (o[flag] !== true) throw configError(`${where}.${flag}`, 'must be true');
    return Object.freeze(flag === 'unit' ? { unit: true } : flag === 'hostname' ? { hostname: true } : { hash: true });
  }
  const fixed = stringField(`${where}.fixed`, o.fixed);
  if (fixed.length > bufferLimits.partitionKeyLengthMax) throw configError(`${where}.fixed`, 'is longer than 256 characters');
  return Object.freeze({ fixed });
}

/** journalctl's arguments: source, position, filters. A cursor is started at (inclusive) and its entry skipped by the caller. */
export function journalctlArgs(config: JournaldInputConfig, cursor: string | undefined): string[] {
  // --merge: journalctl 252's --follow otherwise implies --boot (the latest boot only), which would skip what an
  // earlier boot logged after the checkpoint, and fails on a directory without journal files yet.
  const args = ['--output=json', '--all', '--follow', '--merge', '--no-pager'];
  if (config.directory !== undefined) args.push(`--directory=${config.directory}`);
  for (const f of config.files) args.push(`--file=${f}`);
  // --cursor rather than --after-cursor: journalctl's --after-cursor skips one entry blindly, losing one when the
  // cursor's own entry does not match the current filters (units changed between runs).
  args.push(cursor === undefined ? '--no-tail' : `--cursor=${cursor}`);
  for (const u of config.units) args.push(`--unit=${u}`);
  if (config.matches.length > 0) args.push('--', ...config.matches);
  return args;
}

export interface JournaldInputCounters {
  /** Entries parsed from journalctl (re-reads after a failed append count again). */
  received: number;
  /** Records durable in the buffer. */
  buffered: number;
  /** Failed appends (journalctl is restarted at the checkpoint and the entries read again). */
  failed: number;
  /** Records the buffer refused for good (skipped). */
  rejected: number;
  /** Records over the buffer's record limit: long fields nulled. */
  truncated: number;
  /** Lines over journaldLineBytesMax or not JSON with a cursor: skipped. */
  skipped: number;
  /** journalctl runs after the first. */
  restarts: number;
}

export type JournaldInputEvent =
  | { kind: 'started'; pid: number | undefined; cursor: string | undefined }
  | { kind: 'exited'; code: number | null; signal: string | null; stderr: string }
  | { kind: 'stderr'; line: string }
  | { kind: 'append-failed'; code: string }
  | { kind: 'error'; detail: string };

export interface JournaldInputOptions {
  now?: () => number;
  onEvent?: (event: JournaldInputEvent) => void;
}

interface Pending {
  cursor: string;
  record: AppendRecord;
}

interface Run {
  child: ChildProcess;
  exited: Promise<void>;
  partial: Buffer[];
  partialBytes: number;
  /** Inside a line over the cap: drop bytes up to the next newline. */
  discarding: boolean;
  stderrLines: number;
  stderrTail: string;
}

export class JournaldInput {
  readonly #config: JournaldInputConfig;
  readonly #sink: RecordSink;
  readonly #now: () => number;
  readonly #onEvent: (event: JournaldInputEvent) => void;
  readonly #checkpointFile: string;
  readonly #counters: JournaldInputCounters = { received: 0, buffered: 0, failed: 0, rejected: 0, truncated: 0, skipped: 0, restarts: 0 };
  readonly #runs = new Set<Run>();
  #run: Run | undefined;
  /** Cursor of the last durable (or rejected) entry: where the next journalctl run starts. */
  #committed: string | undefined;
  /** The first entry of a run started at a cursor is that cursor's entry, already durable. */
  #skipCursor: string | undefined;
  #pending: Pending[] = [];
  #pump: Promise<void> | undefined;
  #attempt = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #restartScheduled = false;
  #started = false;
  #stopped = false;

  constructor(config: JournaldInputConfig, sink: RecordSink, options: JournaldInputOptions = {}) {
    this.#config = config;
    this.#sink = sink;
    this.#now = options.now ?? Date.now;
    this.#onEvent = options.onEvent ?? (() => {});
    this.#checkpointFile = path.join(config.stateDir, `journald-${config.name}.cursor.json`);
  }

  /** Loads the checkpoint and starts journalctl; fails when the state is unreadable or journalctl cannot run. */
  async start(): Promise<void> {
    if (this.#started) throw new Error('JournaldInput already started');
    this.#started = true;
    await fs.mkdir(this.#config.stateDir, { recursive: true, mode: 0o700 });
    this.#committed = await loadCursor(this.#checkpointFile);
    if (this.#committed === undefined && this.#config.startAt === 'end') {
      this.#committed = await this.#tailCursor();
      if (this.#committed !== undefined) await saveCursor(this.#checkpointFile, this.#committed);
    }
    const run = this.#spawn();
    try {
      await once(run.child, 'spawn');
    } catch (err) {
      this.#stopped = true;
      clearTimeout(this.#restartTimer);
      throw inputError('INPUT_CONFIG_INVALID', `${this.#config.name}: cannot run ${this.#config.journalctl}: ${(err as Error).message}`, err);
    }
  }

  /** Kills journalctl and waits for it and for the append in flight. Entries read but not appended are read again next start. */
  async stop(): Promise<void> {
    if (this.#stopped || !this.#started) return;
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    this.#run = undefined;
    for (const r of this.#runs) r.child.kill('SIGTERM');
    const hung = setTimeout(() => {
      for (const r of this.#runs) r.child.kill('SIGKILL');
    }, journaldKillWaitMs);
    await Promise.all([...this.#runs].map((r) => r.exited));
    clearTimeout(hung);
    await this.#pump;
    this.#pending = [];
  }

  counters(): Readonly<JournaldInputCounters> {
    return { ...this.#counters };
  }

  /** The cursor whose entry is durable: where a restart continues. */
  committedCursor(): string | undefined {
    return this.#committed;
  }

  /** startAt: end without a checkpoint: the journal's current last entry, so entries written before the first one we see are kept. */
  async #tailCursor(): Promise<string | undefined> {
    const args = journalctlArgs(this.#config, undefined).filter((a) => a !== '--follow' && a !== '--no-tail');
    args.splice(args.indexOf('--no-pager') + 1, 0, '--lines=0', '--show-cursor');
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(this.#config.journalctl, args, { timeout: 60_000, maxBuffer: 1 << 20 }, (err, out, stderr) => {
        // An empty journal (no files yet) exits non-zero: start from its beginning, which is its end.
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') reject(err);
        else {
          if (err && stderr.trim() !== '') this.#onEvent({ kind: 'stderr', line: stderr.trim().slice(0, 500) });
          resolve(out);
        }
      });
    }).catch((err: unknown) => {
      throw inputError('INPUT_CONFIG_INVALID', `${this.#config.name}: cannot run ${this.#config.journalctl}: ${(err as Error).message}`, err);
    });
    return /^-- cursor: (\S+)$/m.exec(stdout)?.[1];
  }

  #spawn(): Run {
    const cursor = this.#committed;
    this.#skipCursor = cursor;
    const child = spawn(this.#config.journalctl, journalctlArgs(this.#config, cursor), { stdio: ['ignore', 'pipe', 'pipe'] });
    let ended: () => void = () => {};
    const run: Run = {
      child, exited: new Promise((resolve) => { ended = resolve; }), partial: [], partialBytes: 0, discarding: false,
      stderrLines: 0, stderrTail: '',
    };
    this.#run = run;
    this.#runs.add(run);
    child.on('spawn', () => this.#onEvent({ kind: 'started', pid: child.pid, cursor }));
    // 'close' follows a process that ran; a failed spawn (journalctl missing) reports only 'error'.
    const finish = (code: number | null, signal: string | null) => {
      if (!this.#runs.delete(run)) return;
      ended();
      this.#onEvent({ kind: 'exited', code, signal, stderr: run.stderrTail });
      if (this.#run === run) this.#restart(false);
    };
    child.on('error', (err) => {
      this.#onEvent({ kind: 'error', detail: `${this.#config.journalctl}: ${err.message}` });
      if (child.pid === undefined) finish(null, null);
    });
    child.once('close', finish);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (this.#run === run) this.#onStdout(run, chunk);
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => this.#onStderr(run, text));
    return run;
  }

  #onStderr(run: Run, text: string): void {
    run.stderrTail = (run.stderrTail + text).slice(-2048);
    for (const line of text.split('\n')) {
      if (line.trim() === '' || run.stderrLines >= journaldStderrLinesPerRun) continue;
      run.stderrLines++;
      this.#onEvent({ kind: 'stderr', line: line.slice(0, 500) });
    }
  }

  /** Splits journalctl's output into lines (each a JSON entry), queues their records and pauses the pipe when enough wait. */
  #onStdout(run: Run, chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (run.discarding) {
        run.discarding = false;
        continue;
      }
      const line = run.partialBytes === 0 ? piece : Buffer.concat([...run.partial, piece]);
      run.partial = [];
      run.partialBytes = 0;
      this.#onLine(line);
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0 && !run.discarding) {
      run.partial.push(rest);
      run.partialBytes += rest.length;
      if (run.partialBytes > journaldLineBytesMax) {
        run.partial = [];
        run.partialBytes = 0;
        run.discarding = true;
        this.#counters.skipped++;
        this.#onEvent({ kind: 'error', detail: `journal entry over ${journaldLineBytesMax} bytes of JSON skipped` });
      }
    }
    if (this.#pending.length >= journaldPendingEntriesMax) run.child.stdout!.pause();
    this.#kick();
  }

  #onLine(line: Buffer): void {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line.toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      this.#counters.skipped++;
      this.#onEvent({ kind: 'error', detail: `journalctl printed a line that is not JSON: ${(err as Error).message}` });
      return;
    }
    const cursor = entry.__CURSOR;
    if (typeof cursor !== 'string') {
      this.#counters.skipped++;
      this.#onEvent({ kind: 'error', detail: 'journal entry without __CURSOR skipped' });
      return;
    }
    const skip = this.#skipCursor;
    this.#skipCursor = undefined;
    if (cursor === skip) return;
    this.#counters.received++;
    let data = line;
    if (data.length > bufferLimits.recordDataBytesMax) {
      data = truncateEntry(entry);
      this.#counters.truncated++;
    }
    this.#pending.push({ cursor, record: toRecord(entry, data, this.#config.partitionKey, this.#now) });
  }

  #kick(): void {
    if (this.#pump || this.#stopped || this.#pending.length === 0) return;
    this.#pump = this.#deliverAll().finally(() => {
      this.#pump = undefined;
    });
  }

  /** Appends queued entries in batches; the checkpoint advances only past durable (or refused) records. */
  async #deliverAll(): Promise<void> {
    while (this.#pending.length > 0 && !this.#stopped) {
      let n = 0;
      let bytes = 0;
      while (n < this.#pending.length && n < journaldAppendRecordsMax && (n === 0 || bytes + this.#pending[n]!.record.data.length <= journaldAppendBytesMax)) {
        bytes += this.#pending[n]!.record.data.length;
        n++;
      }
      const batch = this.#pending.slice(0, n);
      try {
        await this.#sink.append(batch.map((p) => p.record));
        this.#counters.buffered += n;
        this.#attempt = 0;
      } catch (err) {
        const code = String((err as { code?: unknown } | null)?.code ?? 'UNKNOWN');
        this.#onEvent({ kind: 'append-failed', code });
        if (!isPermanentAppendError(err)) {
          this.#counters.failed++;
          this.#restart(true);
          return;
        }
        this.#counters.rejected += n;
      }
      this.#pending.splice(0, n);
      this.#committed = batch.at(-1)!.cursor;
      try {
        await saveCursor(this.#checkpointFile, this.#committed);
      } catch (err) {
        // The records are durable; an older checkpoint only means duplicates after a crash. Retried with the next batch.
        this.#onEvent({ kind: 'error', detail: `cannot save ${this.#checkpointFile}: ${(err as Error).message}` });
      }
      if (this.#pending.length < journaldPendingEntriesMax / 2) this.#run?.child.stdout!.resume();
    }
  }

  /**
   * Ends the current journalctl run and starts another at the checkpoint after a backoff. After a failed append the
   * queued entries are dropped (they are read again); after journalctl exited they are still delivered first.
   */
  #restart(discardPending: boolean): void {
    if (discardPending) this.#pending = [];
    if (this.#stopped || this.#restartScheduled) return;
    this.#restartScheduled = true;
    this.#run?.child.kill('SIGTERM');
    this.#run = undefined;
    const delay = backoffMs(this.#attempt++, this.#config.restartMinMs, this.#config.restartMaxMs);
    this.#restartTimer = setTimeout(() => {
      void this.#respawnWhenDrained();
    }, delay);
  }

  async #respawnWhenDrained(): Promise<void> {
    while (this.#pump) await this.#pump;
    this.#restartScheduled = false;
    if (this.#stopped) return;
    this.#counters.restarts++;
    this.#spawn();
  }
}

/** A field's text: journalctl prints binary values as byte arrays and repeated fields as arrays; the first value counts. */
export function fieldText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value) || value.length === 0) return undefined;
  if (typeof value[0] === 'number') return Buffer.from(value as number[]).toString('utf8');
  return fieldText(value[0]);
}

/** The unit an entry belongs to: the process's unit, else the unit systemd (PID 1) is talking about. */
export function entryUnit(entry: Record<string, unknown>): string | undefined {
  return fieldText(entry._SYSTEMD_UNIT) ?? fieldText(entry.UNIT) ?? fieldText(entry._SYSTEMD_USER_UNIT) ?? fieldText(entry.USER_UNIT);
}

function toRecord(entry: Record<string, unknown>, data: Buffer, spec: JournaldPartitionKeySpec, now: () => number): AppendRecord {
  const unit = entryUnit(entry);
  const hostname = fieldText(entry._HOSTNAME);
  const key = 'hash' in spec ? contentPartitionKey(data) : 'fixed' in spec ? spec.fixed : 'unit' in spec ? unit ?? hostname : hostname ?? unit;
  const realtimeUs = Number(fieldText(entry.__REALTIME_TIMESTAMP));
  return {
    source: clampBytes(unit === undefined ? 'journald' : `journald:${unit}`, bufferLimits.sourceBytesMax),
    partitionKey: clampPartitionKey(key || 'journald'),
    data,
    capturedAtMs: Number.isSafeInteger(realtimeUs) && realtimeUs > 0 ? Math.floor(realtimeUs / 1000) : now(),
  };
}

/** An entry over the record limit: fields longer than journalctl's own threshold become null, like `journalctl -o json` without --all. */
function truncateEntry(entry: Record<string, unknown>): Buffer {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) out[k] = JSON.stringify(v).length > journaldFieldBytesMaxWhenTruncated ? null : v;
  out.TRIBUTARY_TRUNCATED = true;
  let data = Buffer.from(JSON.stringify(out));
  if (data.length > bufferLimits.recordDataBytesMax) {
    data = Buffer.from(JSON.stringify(Object.fromEntries(truncatedKeepFields.filter((k) => k in out).map((k) => [k, out[k]]).concat([['TRIBUTARY_TRUNCATED', true]]))));
  }
  return data;
}

function clampBytes(s: string, max: number): string {
  let out = s;
  while (Buffer.byteLength(out) > max) out = out.slice(0, -1);
  return out;
}

async function loadCursor(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let o: { version?: unknown; cursor?: unknown };
  try {
    o = JSON.parse(text) as typeof o;
  } catch (err) {
    throw inputError('INPUT_STATE_INVALID', `${file}: not JSON; move it aside to start over (startAt then applies)`, err);
  }
  // journalctl refuses a malformed cursor and would exit on every restart.
  if (o.version !== checkpointVersion || typeof o.cursor !== 'string' || !/^[a-z]=[^;\s]+(;[a-z]=[^;\s]+)*$/.test(o.cursor)) {
    throw inputError('INPUT_STATE_INVALID', `${file}: not a version ${checkpointVersion} journald checkpoint; move it aside to start over`);
  }
  return o.cursor;
}

function saveCursor(file: string, cursor: string): Promise<void> {
  return writeFileAtomic(file, JSON.stringify({ version: checkpointVersion, cursor }));
}
