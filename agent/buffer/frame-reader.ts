/**
 * Streams the frames of one segment file through a bounded buffer. Replaying
 * a 2 GiB backlog must not load it into memory: the reader holds one chunk
 * (plus, rarely, one frame larger than a chunk) at a time.
 */
import fs from 'node:fs';
import { frameCrcOk, frameHeaderBytes, frameLengthAt } from './frame-codec.ts';

const read = (fd: number, buffer: Buffer, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => fs.read(fd, buffer, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));

export type FrameEvent =
  /** A complete frame with a good CRC; `frame` is valid until the next event. */
  | { kind: 'frame'; offset: number; frame: Buffer }
  /** Bytes at `offset` can never be a frame: a bad length or a bad CRC. */
  | { kind: 'corrupt'; offset: number; reason: string }
  /** The file ends inside a frame that starts at `offset`. */
  | { kind: 'torn'; offset: number };

export interface FrameReadOptions {
  /** First byte to read (a frame boundary). */
  from: number;
  /** Stop at this byte (the end of the segment's known frames, or the file size). */
  limit: number;
  chunkBytes: number;
  /** Frames claiming more than this are corruption. */
  frameBytesLimit: number;
}

/** Yields the frames of `fd` in [from, limit); stops after a corrupt or torn event. */
export async function* readFrames(fd: number, o: FrameReadOptions): AsyncGenerator<FrameEvent> {
  let buf: Buffer = Buffer.allocUnsafe(o.chunkBytes);
  let bufStart = o.from; // file offset of buf[0]
  let bufLen = 0;
  let off = 0;
  let pos = o.from;
  for (;;) {
    const avail = bufLen - off;
    let need = 4;
    if (avail >= 4) {
      const total = frameLengthAt(buf, off, o.frameBytesLimit);
      if (typeof total === 'string') {
        yield { kind: 'corrupt', offset: bufStart + off, reason: total };
        return;
      }
      need = total;
      if (avail >= total) {
        const frame = buf.subarray(off, off + total);
        if (!frameCrcOk(frame)) {
          yield { kind: 'corrupt', offset: bufStart + off, reason: 'CRC mismatch' };
          return;
        }
        yield { kind: 'frame', offset: bufStart + off, frame };
        off += total;
        continue;
      }
    }
    if (pos >= o.limit) {
      if (avail > 0) yield { kind: 'torn', offset: bufStart + off };
      return;
    }
    // Keep the partial frame, then fill the rest of the buffer from disk.
    if (need > buf.length) {
      // Only for a frame larger than the chunk: a one-off buffer of exactly its size.
      const bigger = Buffer.allocUnsafe(Math.max(need, frameHeaderBytes));
      buf.copy(bigger, 0, off, bufLen);
      buf = bigger;
    } else if (off > 0) buf.copy(buf, 0, off, bufLen);
    bufStart += off;
    bufLen = avail;
    off = 0;
    const n = await read(fd, buf, bufLen, Math.min(buf.length - bufLen, o.limit - pos), pos);
    if (n === 0) {
      // The file ends before `limit`: shorter than the buffer knew it to be.
      yield { kind: 'torn', offset: bufStart };
      return;
    }
    pos += n;
    bufLen += n;
    // Return to the normal chunk size once an oversized frame has been consumed.
    if (buf.length > o.chunkBytes && need <= o.chunkBytes) buf = shrink(buf, bufLen, o.chunkBytes);
  }
}

function shrink(buf: Buffer, bufLen: number, chunkBytes: number): Buffer {
  if (bufLen > chunkBytes) return buf;
  const small = Buffer.allocUnsafe(chunkBytes);
  buf.copy(small, 0, 0, bufLen);
  return small;
}
