/**
 * Appending lines to a file or standard output, plain or gzip. Writes are
 * synchronous (fs.writeSync), so the byte length a checkpoint records is
 * exactly what is on disk: a resumed replay truncates the file back to it.
 * Gzip output is written as one gzip member per flush (RFC 1952 2.2: a gzip
 * file is a series of members; gunzip, zcat and Node's zlib read them as one
 * stream), so that a truncation at a recorded length cuts between members.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';

export class LineOutput {
  private readonly fd: number;
  private pending: string[] = [];
  private pendingChars = 0;
  private bytesWritten: number;

  /**
   * `file` '-' is standard output (no resume: nothing to truncate).
   * `truncateTo` cuts an existing file back to a checkpointed length; without it the file starts empty.
   */
  constructor(readonly file: string, private readonly o: { gzip?: boolean; truncateTo?: number; flushChars?: number } = {}) {
    if (file === '-') {
      this.fd = 1;
      this.bytesWritten = 0;
      return;
    }
    if (o.truncateTo !== undefined && fs.existsSync(file)) {
      this.fd = fs.openSync(file, 'r+', 0o600);
      fs.ftruncateSync(this.fd, o.truncateTo);
      this.bytesWritten = o.truncateTo;
    } else {
      this.fd = fs.openSync(file, 'w', 0o600);
      this.bytesWritten = 0;
    }
  }

  /** Bytes on disk after the last flush. */
  get bytes(): number {
    return this.bytesWritten;
  }

  /** Queues a line (without its newline); flushes when the queue is large. */
  push(line: string): void {
    this.pending.push(line);
    this.pendingChars += line.length + 1;
    if (this.pendingChars >= (this.o.flushChars ?? 1 << 20)) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const text = Buffer.from(this.pending.join('\n') + '\n', 'utf8');
    this.pending = [];
    this.pendingChars = 0;
    const bytes = this.o.gzip ? zlib.gzipSync(text, { level: 6 }) : text;
    let at = 0;
    while (at < bytes.length) at += fs.writeSync(this.fd, bytes, at, bytes.length - at, this.fd === 1 ? null : this.bytesWritten + at);
    this.bytesWritten += bytes.length;
  }

  sync(): void {
    if (this.fd !== 1) fs.fsyncSync(this.fd);
  }

  close(): void {
    this.flush();
    if (this.fd !== 1) {
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
    }
  }
}
