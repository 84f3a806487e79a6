/**
 * JSON-lines sources: capture files (`tributary streams export`) and agent
 * buffer exports (`tributary-agent buffer export`), plain or gzip (detected
 * from the first bytes, not the name). Blank lines are not records.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { parseCaptureLine } from '../../sdk/protocol/capture.ts';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import type { ReplaySource, SourceItem } from '../types.ts';

/** Bytes of a bad line kept in the rejects file. */
export const rejectRawCharsMax = 4096;

/** Splits a byte stream into lines (LF, an optional CR before it dropped); the last line needs no newline. */
export async function* splitLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let carry: Buffer | undefined;
  for await (const chunk of chunks) {
    let buf = carry ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      const end = nl > start && buf[nl - 1] === 0x0d ? nl - 1 : nl;
      yield buf.toString('utf8', start, end);
      start = nl + 1;
    }
    carry = start < buf.length ? buf.subarray(start) : undefined;
    buf = Buffer.alloc(0);
  }
  if (carry && carry.length > 0) yield carry.toString('utf8');
}

export function isGzip(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(2);
    return fs.readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
}

export class LinesSource implements ReplaySource {
  readonly description: string;
  readonly state = null;
  readonly totalBytes: number;
  bytesRead = 0;

  constructor(private readonly file: string) {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (err) {
      throw new TributaryError('REPLAY_SOURCE_MISSING', `cannot read ${file}: ${(err as Error).message}`);
    }
    if (!st.isFile()) throw new TributaryError('REPLAY_SOURCE_INVALID', `${file} is not a file`);
    this.totalBytes = st.size;
    this.description = `file ${file}${isGzip(file) ? ' (gzip)' : ''}`;
  }

  async *items(skip: number): AsyncGenerator<SourceItem> {
    const raw = fs.createReadStream(this.file, { highWaterMark: 1 << 20 });
    raw.on('data', (c) => (this.bytesRead += c.length));
    const input = isGzip(this.file) ? raw.pipe(zlib.createGunzip()) : raw;
    let n = 0;
    try {
      for await (const line of splitLines(input as AsyncIterable<Buffer>)) {
        if (line.length === 0 || /^\s+$/.test(line)) continue;
        if (n++ < skip) {
          yield { kind: 'skipped' };
          continue;
        }
        const parsed = parseCaptureLine(line);
        if (parsed.kind === 'bad') yield { kind: 'bad', reason: parsed.reason, raw: line.slice(0, rejectRawCharsMax) };
        else yield { kind: 'record', record: parsed.record };
      }
    } finally {
      raw.destroy();
    }
  }
}
