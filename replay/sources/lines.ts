/**
 * JSON-lines sources: capture files (`tributary streams export`) and agent
 * buffer exports (`tributary-agent buffer export`), plain or gzip (detected
 * from the first bytes, not the name). Blank lines are not records.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { parseCaptureBytes, parseCaptureLine, type CaptureRecord } from '../../sdk/protocol/capture.ts';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import type { ReplaySource, SourceItem } from '../types.ts';

/** Bytes of a bad line kept in the rejects file. */
export const rejectRawCharsMax = 4096;

/** Splits a byte stream into lines (LF, an optional CR before it dropped): yields each line's bytes as (buffer, start, end). */
export async function* splitLineRanges(chunks: AsyncIterable<Buffer>): AsyncGenerator<[Buffer, number, number]> {
  let carry: Buffer | undefined;
  for await (const chunk of chunks) {
    const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      yield [buf, start, nl > start && buf[nl - 1] === 0x0d ? nl - 1 : nl];
      start = nl + 1;
    }
    carry = start < buf.length ? buf.subarray(start) : undefined;
  }
  if (carry && carry.length > 0) yield [carry, 0, carry.length];
}

const blank = (b: Buffer, start: number, end: number) => {
  for (let i = start; i < end; i++) if (b[i] !== 0x20 && b[i] !== 0x09 && b[i] !== 0x0d) return false;
  return true;
};

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
      for await (const [buf, start, end] of splitLineRanges(input as AsyncIterable<Buffer>)) {
        if (blank(buf, start, end)) continue;
        if (n++ < skip) {
          yield { kind: 'skipped' };
          continue;
        }
        // Straight from the bytes for lines in the writer's layout; anything else is parsed as JSON.
        const fast = parseCaptureBytes(buf, start, end);
        if (fast) {
          yield { kind: 'record', record: (fast as { record: CaptureRecord }).record };
          continue;
        }
        const line = buf.toString('utf8', start, end);
        const parsed = parseCaptureLine(line);
        if (parsed.kind === 'bad') yield { kind: 'bad', reason: parsed.reason, raw: line.slice(0, rejectRawCharsMax) };
        else yield { kind: 'record', record: parsed.record };
      }
    } finally {
      raw.destroy();
    }
  }
}
