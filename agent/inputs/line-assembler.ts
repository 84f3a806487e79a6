/**
 * Turns a file's bytes into records, pure: lines split on "\n" (a trailing
 * "\r" dropped), optional multiline grouping by a start pattern, and a cap on
 * record size with the cut marked. It tracks file offsets so the tailer can
 * checkpoint exactly the bytes whose records are durable.
 */

export interface AssembledRecord {
  data: Buffer;
  /** File offset just past the last byte this record covers: safe to checkpoint once it is durable. */
  endOffset: number;
  /** Content was cut at recordBytesMax and the marker appended. */
  truncated: boolean;
}

export interface AssemblerOptions {
  /** Bytes of content kept per record (a line, or a multiline group); the rest is dropped and marked. */
  recordBytesMax: number;
  /** Lines not matching it continue the previous record. */
  startPattern: RegExp | undefined;
}

export function truncationMarker(droppedBytes: number): Buffer {
  return Buffer.from(`…[truncated ${droppedBytes} bytes]`);
}

/** The longest prefix of `buf` within `len` bytes that does not end inside a UTF-8 sequence. */
export function utf8PrefixLength(buf: Buffer, len: number): number {
  if (len >= buf.length) return buf.length;
  // A cut is on a boundary when the next byte is not a continuation byte (10xxxxxx); back up at most 3 (invalid input).
  let i = len;
  while (i > 0 && len - i < 3 && (buf[i]! & 0xc0) === 0x80) i--;
  return i;
}

interface Group {
  parts: Buffer[];
  bytes: number;
  dropped: number;
  startOffset: number;
  endOffset: number;
}

export class LineAssembler {
  readonly #opts: AssemblerOptions;
  #offset: number;
  /** Offset just past the last complete line. */
  #lineEnd: number;
  #lineParts: Buffer[] = [];
  #lineBytes = 0;
  #lineDropped = 0;
  #pending: Group | undefined;

  constructor(options: AssemblerOptions, startOffset: number) {
    this.#opts = options;
    this.#offset = startOffset;
    this.#lineEnd = startOffset;
  }

  /** Bytes consumed: where the next chunk starts in the file. */
  get offset(): number {
    return this.#offset;
  }

  /** Everything before this offset has been emitted as records (or was an empty line). */
  get safeOffset(): number {
    return this.#pending ? this.#pending.startOffset : this.#lineEnd;
  }

  get hasPending(): boolean {
    return this.#pending !== undefined;
  }

  /** Feeds the next bytes of the file; returns the records they complete. */
  push(chunk: Buffer): AssembledRecord[] {
    const out: AssembledRecord[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(10, pos);
      const end = nl === -1 ? chunk.length : nl;
      this.#addToLine(chunk.subarray(pos, end));
      this.#offset += end - pos;
      if (nl === -1) break;
      this.#offset += 1;
      this.#finishLine(out);
      pos = nl + 1;
    }
    return out;
  }

  /** Emits a pending multiline record (idle timeout); a partial last line stays. */
  flushPending(): AssembledRecord[] {
    const out: AssembledRecord[] = [];
    this.#emitPending(out);
    return out;
  }

  /** The file is final (rotated away, or truncated): emits everything, a last line without "\n" included. */
  flushAll(): AssembledRecord[] {
    const out = this.flushPending();
    if (this.#lineBytes > 0 || this.#lineDropped > 0) {
      const line = this.#takeLine();
      this.#lineEnd = this.#offset;
      out.push(this.#record([line.data], line.dropped, this.#offset));
    }
    return out;
  }

  #addToLine(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const room = this.#opts.recordBytesMax - this.#lineBytes;
    if (room >= bytes.length && this.#lineDropped === 0) {
      this.#lineParts.push(bytes);
      this.#lineBytes += bytes.length;
      return;
    }
    const keep = this.#lineDropped > 0 ? 0 : utf8PrefixLength(bytes, Math.max(0, room));
    if (keep > 0) this.#lineParts.push(bytes.subarray(0, keep));
    this.#lineBytes += keep;
    this.#lineDropped += bytes.length - keep;
  }

  #takeLine(): { data: Buffer; dropped: number } {
    let data = Buffer.concat(this.#lineParts, this.#lineBytes);
    const dropped = this.#lineDropped;
    if (dropped === 0 && data.length > 0 && data[data.length - 1] === 13) data = data.subarray(0, -1);
    this.#lineParts = [];
    this.#lineBytes = 0;
    this.#lineDropped = 0;
    return { data, dropped };
  }

  #finishLine(out: AssembledRecord[]): void {
    const start = this.#lineEnd;
    const line = this.#takeLine();
    this.#lineEnd = this.#offset;
    const pattern = this.#opts.startPattern;
    if (!pattern) {
      if (line.data.length > 0 || line.dropped > 0) out.push(this.#record([line.data], line.dropped, this.#offset));
      return;
    }
    const p = this.#pending;
    if (!p || pattern.test(line.data.toString('utf8'))) {
      this.#emitPending(out);
      this.#pending = { parts: [line.data], bytes: line.data.length, dropped: line.dropped, startOffset: start, endOffset: this.#offset };
      return;
    }
    const piece = Buffer.concat([Buffer.from('\n'), line.data]);
    const room = this.#opts.recordBytesMax - p.bytes;
    const keep = p.dropped > 0 ? 0 : utf8PrefixLength(piece, Math.max(0, room));
    if (keep > 0) p.parts.push(piece.subarray(0, keep));
    p.bytes += keep;
    p.dropped += piece.length - keep + line.dropped;
    p.endOffset = this.#offset;
  }

  #emitPending(out: AssembledRecord[]): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = undefined;
    out.push(this.#record(p.parts, p.dropped, p.endOffset));
  }

  #record(parts: Buffer[], dropped: number, endOffset: number): AssembledRecord {
    const data = dropped > 0 ? Buffer.concat([...parts, truncationMarker(dropped)]) : Buffer.concat(parts);
    return { data, endOffset, truncated: dropped > 0 };
  }
}
