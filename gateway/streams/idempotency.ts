/**
 * Idempotent PutRecords: a producer that sends the optional header
 * `X-Tributary-Idempotency-Key: <producer>/<batch number>` gets the same
 * answer, and no second copy of the records, when it sends that batch again
 * (after a timeout, a dropped connection, or its own crash). Stock clients
 * never send the header and pay nothing.
 *
 * What is remembered: for each (caller, stream incarnation, producer), the
 * last batch: its number, a CRC-32C of its request body, and its answer in
 * compact form (the shard groups the write path appended, and per record the
 * group it went to or the error it got). A producer sends one batch at a time,
 * with increasing numbers, and reuses a number only to resend the same batch,
 * so remembering the last one deduplicates every resend, and a number below
 * it is a copy from the past (a dead connection's request, delivered late
 * after a resend was answered), refused so it cannot store its records a
 * second time; memory grows with the number of producers,
 * not with traffic. Entries are kept for `windowMs` (24 h by default) after
 * their last use.
 *
 * Durability: the answer is appended to `idempotency.log` (CRC per line,
 * group-committed, fsync per the gateway's policy) after the records are
 * durable and before the response is sent. At start-up an entry is kept only
 * if every record it names is in its shard log (a torn tail can lose records
 * whose answer was never sent), so a replayed answer never names a record that
 * does not exist. A gateway crash between the records' fsync and the entry's
 * leaves a window of one fsync in which a resend stores the records twice;
 * docs/streams.md says so.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AwsError } from '../../sdk/protocol/errors.ts';
import { idempotencyHeader, staleBatchMessage } from '../../sdk/protocol/idempotency.ts';
import { crc32cRange } from '../storage/local/crc.ts';
import type { FsyncPolicy } from '../storage/types.ts';
import type { ShardRuntime, StreamRuntime } from './model.ts';
import { PutRecordsReply } from './put-reply.ts';
import type { PutResult } from './write-path.ts';

export { idempotencyHeader };
export const idempotencyWindowMsDefault = 24 * 3600_000;

/** `<producer>/<batch>`: producer 1-200 of [A-Za-z0-9._:@/-], batch a decimal up to 2^53 - 1. */
const keyPattern = /^([A-Za-z0-9._:@/-]{1,200})\/(\d{1,16})$/;

export interface IdempotencyKey {
  producer: string;
  batch: number;
  text: string;
}

export function parseIdempotencyKey(text: string): IdempotencyKey {
  const m = keyPattern.exec(text);
  const batch = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(batch)) {
    throw new AwsError('InvalidArgumentException', `Invalid ${idempotencyHeader} header '${text.slice(0, 64)}': expected <producer>/<batch number>, the producer 1-200 of [A-Za-z0-9._:@/-] and the batch number a decimal integer below 2^53.`);
  }
  return { producer: m[1]!, batch, text };
}

/** One shard's part of a PutRecords: records `firstCounter..` in request order, all with `arrivalMs`. */
export interface PutGroup {
  shardId: string;
  firstCounter: number;
  count: number;
  arrivalMs: number;
}

/** What the write path reports for one request: the groups, and per record a group index or an error. */
export interface PutTrace {
  groups: PutGroup[];
  /** Per record: the index into `groups`, or -1 - (index into `errors`). */
  slots: Int32Array;
  errors: Array<[code: string, message: string]>;
}

interface Entry {
  /** Bytes of this entry's line in the log (for deciding when to compact). */
  bytes: number;
  batch: number;
  bodyCrc: number;
  atMs: number;
  stream: string;
  streamDir: string;
  trace: PutTrace;
  encryptionType: string;
}

export interface PutRecordsAnswer {
  FailedRecordCount: number;
  Records: PutResult[];
  EncryptionType: string;
}

interface Options {
  windowMs: number;
  fsync: FsyncPolicy;
  now: () => number;
  /** Looks up the live stream runtime for a remembered entry (undefined: gone). */
  stream(name: string): StreamRuntime | undefined;
  /** Log size from which a rewrite is considered (default 16 MiB). */
  compactBytesMin?: number;
}

/** Past this many bytes (and twice the live entries), the log is rewritten with only the live entries. */
const compactBytesMinDefault = 16 * 1024 * 1024;

export class IdempotencyTable {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, { batch: number; bodyCrc: number; answer: Promise<PutRecordsAnswer> }>();
  private fd: number;
  private logBytes = 0;
  private liveBytes = 0;
  private pending: Array<{ line: Buffer; done: (err?: Error) => void }> = [];
  private flushing: Promise<void> | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Resends answered from the table, for metrics. */
  replays = 0;
  /** Batches refused as older than their producer's last one. */
  stale = 0;
  /** Entries dropped at start-up because their records were not all in the shard logs. */
  discarded = 0;

  private constructor(private readonly file: string, private readonly o: Options) {
    this.fd = -1;
  }

  static async open(dir: string, o: Options): Promise<IdempotencyTable> {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const t = new IdempotencyTable(path.join(dir, 'idempotency.log'), o);
    t.load();
    t.rewrite();
    // Entries past the window leave memory (and the log) at least hourly.
    t.expiryTimer = setInterval(() => t.expire(), Math.min(3600_000, o.windowMs));
    t.expiryTimer.unref();
    if (o.fsync.kind === 'interval') {
      t.syncTimer = setInterval(() => {
        if (!t.closed) fs.fdatasync(t.fd, () => {});
      }, o.fsync.intervalMs);
      t.syncTimer.unref();
    }
    return t;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Bytes in the log file now (for tests and metrics). */
  get logFileBytes(): number {
    return this.logBytes;
  }

  /** Drops entries past the window now (also done hourly and on compaction). */
  expire(): void {
    if (!this.closed && !this.flushing && this.pending.length === 0) this.rewrite();
  }

  /**
   * Runs `execute` once per (scope, producer, batch): a resend of the
   * remembered batch gets the remembered answer; a batch number reused for
   * different bytes is refused.
   */
  async run(scope: string, rt: StreamRuntime, key: IdempotencyKey, bodyCrc: number, execute: (trace: PutTrace) => Promise<PutRecordsAnswer>): Promise<PutRecordsAnswer> {
    const id = `${scope}\0${rt.meta.dir}\0${key.producer}`;
    const running = this.inflight.get(id);
    if (running && running.batch === key.batch) {
      this.mustMatch(running.bodyCrc, bodyCrc, key);
      this.replays++;
      return running.answer;
    }
    const now = this.o.now();
    const last = this.entries.get(id);
    if (last && now - last.atMs < this.o.windowMs && last.batch === key.batch) {
      this.mustMatch(last.bodyCrc, bodyCrc, key);
      const answer = this.answerOf(last, rt);
      if (answer) {
        last.atMs = now;
        this.replays++;
        return answer;
      }
    }
    if (last && now - last.atMs < this.o.windowMs && key.batch < last.batch) {
      // A request from the past: a copy that a dead connection delivered late, after the producer
      // had its answer (from a resend) and moved on. Running it would store its records twice.
      this.stale++;
      throw new AwsError('InvalidArgumentException', staleBatchMessage(key.text, last.batch));
    }
    const trace: PutTrace = { groups: [], slots: new Int32Array(0), errors: [] };
    const answer = (async () => {
      const out = await execute(trace);
      const entry: Entry = { bytes: 0, batch: key.batch, bodyCrc, atMs: this.o.now(), stream: rt.meta.name, streamDir: rt.meta.dir, trace, encryptionType: out.EncryptionType };
      // In the table before the line is durable, so that a log rewrite meanwhile keeps it.
      const line = this.encode(id, entry);
      entry.bytes = line.length;
      const previous = this.entries.get(id);
      this.setEntry(id, entry);
      try {
        await this.append(line);
      } catch (err) {
        if (this.entries.get(id) === entry) {
          if (previous) this.setEntry(id, previous);
          else this.deleteEntry(id);
        }
        throw err;
      }
      return out;
    })();
    this.inflight.set(id, { batch: key.batch, bodyCrc, answer });
    try {
      return await answer;
    } finally {
      if (this.inflight.get(id)?.answer === answer) this.inflight.delete(id);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flushing;
    this.closed = true;
    clearInterval(this.syncTimer);
    clearInterval(this.expiryTimer);
    if (this.o.fsync.kind !== 'never') fs.fdatasyncSync(this.fd);
    fs.closeSync(this.fd);
  }

  private setEntry(id: string, e: Entry): void {
    this.liveBytes += e.bytes - (this.entries.get(id)?.bytes ?? 0);
    this.entries.set(id, e);
  }

  private deleteEntry(id: string): void {
    this.liveBytes -= this.entries.get(id)?.bytes ?? 0;
    this.entries.delete(id);
  }

  private mustMatch(remembered: number, got: number, key: IdempotencyKey): void {
    if (remembered !== got) {
      throw new AwsError('InvalidArgumentException', `${idempotencyHeader} ${key.text} was already used for a different request; use a new batch number for new records.`);
    }
  }

  /** The remembered answer, rebuilt from the shard groups; undefined when a shard is gone (then the batch runs again). */
  private answerOf(e: Entry, rt: StreamRuntime): PutRecordsAnswer | undefined {
    if (rt.meta.dir !== e.streamDir) return undefined;
    const shards = e.trace.groups.map((g) => rt.shards.find((s) => s.id === g.shardId));
    if (shards.some((s) => s === undefined)) return undefined;
    return new PutRecordsReply(e.trace, shards as ShardRuntime[], e.encryptionType);
  }

  private encode(id: string, e: Entry): Buffer {
    const doc = {
      id, b: e.batch, c: e.bodyCrc, t: e.atMs, s: e.stream, d: e.streamDir, x: e.encryptionType,
      g: e.trace.groups.map((g) => [g.shardId, g.firstCounter, g.count, g.arrivalMs]),
      r: Buffer.from(e.trace.slots.buffer, e.trace.slots.byteOffset, e.trace.slots.byteLength).toString('base64'),
      e: e.trace.errors,
    };
    const json = Buffer.from(JSON.stringify(doc), 'utf8');
    return Buffer.concat([Buffer.from(crc32cRange(json, 0, json.length).toString(16).padStart(8, '0') + ' '), json, Buffer.from('\n')]);
  }

  private append(line: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the idempotency table is closed'));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, done: (err) => (err ? reject(err) : resolve()) });
      this.flushing ??= this.flush();
    });
  }

  /** Group commit: one write and one fdatasync for every line queued meanwhile. */
  private async flush(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending;
      this.pending = [];
      const bytes = Buffer.concat(batch.map((p) => p.line));
      try {
        await new Promise<void>((resolve, reject) => fs.write(this.fd, bytes, 0, bytes.length, null, (err) => (err ? reject(err) : resolve())));
        if (this.o.fsync.kind === 'always') await new Promise<void>((resolve, reject) => fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())));
        this.logBytes += bytes.length;
        for (const p of batch) p.done();
      } catch (err) {
        for (const p of batch) p.done(err as Error);
      }
    }
    this.flushing = undefined;
    const min = this.o.compactBytesMin ?? compactBytesMinDefault;
    if (this.logBytes > min && this.logBytes > 2 * this.liveBytes + min / 2) this.rewrite();
  }

  /** Reads the log: later lines replace earlier ones; torn or corrupt lines are skipped; records must exist. */
  private load(): void {
    let text: Buffer;
    try {
      text = fs.readFileSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const now = this.o.now();
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf(0x0a, start);
      if (end < 0) break; // A torn last line: its answer was never sent.
      const line = text.subarray(start, end);
      start = end + 1;
      if (line.length < 10 || line[8] !== 0x20) continue;
      const json = line.subarray(9);
      if (parseInt(line.subarray(0, 8).toString('latin1'), 16) !== crc32cRange(json, 0, json.length)) continue;
      let doc: { id: string; b: number; c: number; t: number; s: string; d: string; x: string; g: Array<[string, number, number, number]>; r: string; e: Array<[string, string]> };
      try {
        doc = JSON.parse(json.toString('utf8'));
      } catch {
        continue;
      }
      if (now - doc.t >= this.o.windowMs) {
        this.deleteEntry(doc.id);
        continue;
      }
      const raw = Buffer.from(doc.r, 'base64');
      const slots = new Int32Array(raw.length / 4);
      Buffer.from(slots.buffer).set(raw);
      const entry: Entry = {
        bytes: line.length + 1, batch: doc.b, bodyCrc: doc.c, atMs: doc.t, stream: doc.s, streamDir: doc.d, encryptionType: doc.x,
        trace: { groups: doc.g.map(([shardId, firstCounter, count, arrivalMs]) => ({ shardId, firstCounter, count, arrivalMs })), slots, errors: doc.e },
      };
      if (this.recordsExist(entry)) this.setEntry(doc.id, entry);
      else {
        this.deleteEntry(doc.id);
        this.discarded++;
      }
    }
  }

  private recordsExist(e: Entry): boolean {
    const rt = this.o.stream(e.stream);
    if (!rt || rt.meta.dir !== e.streamDir) return false;
    return e.trace.groups.every((g) => {
      const shard = rt.shards.find((s) => s.id === g.shardId);
      return shard !== undefined && g.firstCounter + g.count <= shard.log.nextCounter;
    });
  }

  /** Writes the live, unexpired entries to a fresh log and swaps it in. */
  private rewrite(): void {
    const now = this.o.now();
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    let bytes = 0;
    for (const [id, e] of this.entries) {
      if (now - e.atMs >= this.o.windowMs) {
        this.deleteEntry(id);
        continue;
      }
      const line = this.encode(id, e);
      this.liveBytes += line.length - e.bytes;
      e.bytes = line.length;
      fs.writeSync(fd, line);
      bytes += line.length;
    }
    if (this.o.fsync.kind !== 'never') fs.fdatasyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, this.file);
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = fs.openSync(this.file, 'a', 0o600);
    this.logBytes = bytes;
  }
}
