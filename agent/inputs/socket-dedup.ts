/**
 * The socket input's memory of put frames it has appended (issue #15), so
 * that a frame the producer sends again after a reconnect (same session,
 * same request id) is stored once. The producer resends every batch it has
 * no answer for; without this, a batch the agent made durable just before a
 * kill -9 was buffered twice.
 *
 * For each (source, session), the recent request ids and where their
 * records went: destination, first buffer sequence number, count. An entry
 * is written (to an append-only log in the input's state directory, no
 * fsync: a kill -9 leaves the page cache, which is what this is for) before
 * the append that it describes, with the sequence numbers the buffer is
 * about to assign (appends take their numbers synchronously, in call order).
 * After a restart an entry is trusted by asking the buffer: the frame's
 * records are durable if the buffer's next sequence number for the source
 * is past them (the buffer's own recovery makes them durable), missing if
 * it is not past their first, and a prefix of them is there if in between.
 * An append the buffer refused writes a removal line at once, so a refused
 * frame never passes for a stored one; while a line cannot be written (a
 * full disk), no frame is appended (the input refuses it), so the log never
 * lags the buffer in the direction that would lose a record. An entry from
 * another boot is not
 * trusted (a power cut can lose page-cache records that the checkpoint
 * counted): such a frame is appended again, a duplicate at worst.
 *
 * Bounded: `entriesPerSessionMax` per session (the producer resends at
 * most what it had unanswered, and the input answers at most
 * `batchesInFlightMax` frames at a time), `sessionsMax` sessions (least
 * recently used go first). The log is rewritten compactly at start and when
 * it grows past `logBytesMax`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../../sdk/fs/atomic-file.ts';

export const dedupLogFileName = 'socket-dedup.log';
export const entriesPerSessionMax = 512;
export const sessionsMax = 64;
export const logBytesMax = 4 * 1024 * 1024;

export interface PlannedFrame {
  destination: string;
  /** Buffer sequence number of the frame's first record (per source, per destination). */
  firstSeq: number;
  count: number;
}

interface Session {
  source: string;
  session: string;
  requests: Map<number, PlannedFrame & { boot: string }>;
  usedAtMs: number;
}

type Line =
  | { op: 'put'; source: string; session: string; requestId: number; destination: string; firstSeq: number; count: number; boot: string }
  | { op: 'del'; source: string; session: string; requestId: number };

export class SocketDedup {
  readonly file: string;
  readonly #sessions = new Map<string, Session>();
  #fd: number | undefined;
  #logBytes = 0;
  /** Removal lines not yet on disk; no frame is planned until they are. */
  #pendingDels: string[] = [];
  /** Set when a log write failed (a full disk): the input carries on at-least-once, and says so once. */
  writeError: Error | undefined;

  constructor(stateDir: string, private readonly boot: string, private readonly now: () => number = Date.now) {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.file = path.join(stateDir, dedupLogFileName);
  }

  /** Loads the log (a torn last line is skipped) and rewrites it compactly. */
  open(): void {
    let text = '';
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const raw of text.split('\n')) {
      if (!raw) continue;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        continue; // The torn tail of a kill -9.
      }
      this.#apply(line);
    }
    this.#compact();
  }

  close(): void {
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** What was recorded for this frame, with the boot it was recorded in. */
  lookup(source: string, session: string, requestId: number): (PlannedFrame & { sameBoot: boolean }) | undefined {
    const s = this.#sessions.get(key(source, session));
    const e = s?.requests.get(requestId);
    if (!e) return undefined;
    s!.usedAtMs = this.now();
    return { destination: e.destination, firstSeq: e.firstSeq, count: e.count, sameBoot: e.boot === this.boot };
  }

  /**
   * Records that the frame's records are about to get sequence numbers
   * `firstSeq...`: call just before the append. False when the log cannot
   * be written: then the frame must not be appended.
   */
  planned(source: string, session: string, requestId: number, frame: PlannedFrame): boolean {
    if (!this.#flushDels()) return false;
    const line: Line = { op: 'put', source, session, requestId, ...frame, boot: this.boot };
    if (!this.#append(JSON.stringify(line) + '\n')) return false;
    this.#apply(line);
    if (this.#logBytes > logBytesMax) this.#compact();
    return true;
  }

  /** The append was refused: the frame's records are not in the buffer. */
  removed(source: string, session: string, requestId: number): void {
    if (!this.#sessions.get(key(source, session))?.requests.has(requestId)) return;
    const line: Line = { op: 'del', source, session, requestId };
    this.#apply(line);
    this.#pendingDels.push(JSON.stringify(line) + '\n');
    this.#flushDels();
  }

  #flushDels(): boolean {
    while (this.#pendingDels.length > 0) {
      if (!this.#append(this.#pendingDels[0]!)) return false;
      this.#pendingDels.shift();
    }
    return true;
  }

  #apply(line: Line): void {
    const k = key(line.source, line.session);
    let s = this.#sessions.get(k);
    if (line.op === 'del') {
      s?.requests.delete(line.requestId);
      return;
    }
    if (!s) {
      if (this.#sessions.size >= sessionsMax) this.#evictSession();
      s = { source: line.source, session: line.session, requests: new Map(), usedAtMs: this.now() };
      this.#sessions.set(k, s);
    }
    s.usedAtMs = this.now();
    s.requests.delete(line.requestId);
    s.requests.set(line.requestId, { destination: line.destination, firstSeq: line.firstSeq, count: line.count, boot: line.boot });
    // Insertion order is request order: the oldest go first.
    while (s.requests.size > entriesPerSessionMax) s.requests.delete(s.requests.keys().next().value!);
  }

  #evictSession(): void {
    let oldest: [string, Session] | undefined;
    for (const e of this.#sessions) if (!oldest || e[1].usedAtMs < oldest[1].usedAtMs) oldest = e;
    if (oldest) this.#sessions.delete(oldest[0]);
  }

  /** Appends a line to the log; false (and `writeError`) when the disk refused. */
  #append(text: string): boolean {
    try {
      this.#fd ??= fs.openSync(this.file, 'a', 0o600);
      const bytes = Buffer.from(text);
      let done = 0;
      while (done < bytes.length) done += fs.writeSync(this.#fd, bytes, done, bytes.length - done);
      this.#logBytes += bytes.length;
      this.writeError = undefined;
    } catch (err) {
      this.writeError = err as Error;
      return false;
    }
    return true;
  }

  /** Rewrites the log with what is remembered now (atomically), and appends to the new one. */
  #compact(): void {
    const lines: string[] = [];
    for (const s of this.#sessions.values()) {
      for (const [requestId, e] of s.requests) lines.push(JSON.stringify({ op: 'put', source: s.source, session: s.session, requestId, ...e }));
    }
    const text = lines.length > 0 ? lines.join('\n') + '\n' : '';
    try {
      writeFileAtomicSync(this.file, text, { sync: false });
    } catch (err) {
      // The old log stays (it only grows); compaction is tried again later.
      this.writeError = err as Error;
      return;
    }
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
    this.#logBytes = Buffer.byteLength(text);
    this.#pendingDels = []; // The new log holds no entry they would remove.
  }
}

function key(source: string, session: string): string {
  return `${source}\u0000${session}`;
}
