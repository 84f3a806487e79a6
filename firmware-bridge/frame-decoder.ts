/**
 * The streaming side of the codec: bytes arrive from the serial port in
 * chunks of any size, split anywhere, mixed with line noise; frames and
 * errors come out. Every 0x00 is a resynchronisation point, so one bad frame
 * costs exactly that frame. Pure: no I/O, no timers, bounded memory (one
 * encoded frame and one decoded frame, preallocated).
 */
import { cobsDecodeInto, cobsProblem } from './cobs.ts';
import { FrameError, type FrameErrorCode } from './errors.ts';
import { unpackFrame, type Frame } from './frame.ts';
import { frameBytesMax, frameEncodedBytesMax } from './limits.ts';

export type DecodedEvent =
  | { kind: 'frame'; frame: Frame }
  /** `bytes`: wire bytes thrown away for this error, delimiter excluded (for OVERSIZE, those seen so far; the rest count in `bytesDiscarded`). */
  | { kind: 'error'; code: FrameErrorCode; message: string; bytes: number };

export interface FrameDecoderCounters {
  framesOk: number;
  crcErrors: number;
  badCobs: number;
  tooShort: number;
  unknownVersion: number;
  oversize: number;
  /** Times the decoder dropped bytes and restarted at the next delimiter. */
  resyncs: number;
  /** Wire bytes that did not become a frame (bad frames, oversize runs, bytes skipped while hunting). */
  bytesDiscarded: number;
}

export interface FrameDecoderOptions {
  /**
   * Start by discarding everything up to the first 0x00: right after a port
   * opens, the first bytes are usually the tail of a frame. Default false
   * (the CRC rejects such a tail anyway; hunting only makes it quieter).
   */
  hunting?: boolean;
}

/**
 * Streaming frame decoder.
 * @example
 * const d = new FrameDecoder();
 * for (const ev of d.push(chunk)) if (ev.kind === 'frame') handle(ev.frame);
 */
export class FrameDecoder {
  readonly counters: FrameDecoderCounters = {
    framesOk: 0, crcErrors: 0, badCobs: 0, tooShort: 0, unknownVersion: 0, oversize: 0, resyncs: 0, bytesDiscarded: 0,
  };
  private readonly encoded = new Uint8Array(frameEncodedBytesMax);
  private readonly decoded = new Uint8Array(frameEncodedBytesMax);
  private length = 0;
  /** True while skipping bytes up to the next delimiter (after an oversize run, or when hunting). */
  private discarding: boolean;

  constructor(options: FrameDecoderOptions = {}) {
    this.discarding = options.hunting ?? false;
  }

  /** Bytes of a partial frame held, waiting for their delimiter. */
  get pending(): number {
    return this.length;
  }

  /** Feeds a chunk; returns the frames and errors it completed, in order. */
  push(chunk: Uint8Array): DecodedEvent[] {
    const events: DecodedEvent[] = [];
    let i = 0;
    while (i < chunk.length) {
      const zero = chunk.indexOf(0, i);
      const stop = zero < 0 ? chunk.length : zero;
      this.take(chunk, i, stop, events);
      if (zero < 0) break;
      if (this.discarding) this.discarding = false;
      else if (this.length > 0) events.push(this.finish());
      this.length = 0;
      i = zero + 1;
    }
    return events;
  }

  /**
   * Drops any partial frame and skips bytes up to the next delimiter: for
   * the port reader after a reopen or a baud-rate change.
   */
  resync(): void {
    if (this.length > 0) {
      this.counters.bytesDiscarded += this.length;
      this.counters.resyncs++;
    }
    this.length = 0;
    this.discarding = true;
  }

  private take(chunk: Uint8Array, start: number, stop: number, events: DecodedEvent[]): void {
    const n = stop - start;
    if (n === 0) return;
    if (this.discarding) {
      this.counters.bytesDiscarded += n;
      return;
    }
    if (this.length + n > frameEncodedBytesMax) {
      const bytes = this.length + n;
      this.counters.oversize++;
      this.counters.resyncs++;
      this.counters.bytesDiscarded += bytes;
      this.length = 0;
      this.discarding = true;
      events.push({ kind: 'error', code: 'OVERSIZE', message: `more than ${frameEncodedBytesMax} bytes without a delimiter`, bytes });
      return;
    }
    this.encoded.set(chunk.subarray(start, stop), this.length);
    this.length += n;
  }

  private finish(): DecodedEvent {
    const n = cobsDecodeInto(this.encoded, 0, this.length, this.decoded);
    if (n < 0) return this.fail('BAD_COBS', cobsProblem(this.encoded, 0, this.length));
    if (n > frameBytesMax) return this.fail('OVERSIZE', `frame of ${n} bytes is longer than the ${frameBytesMax}-byte maximum`);
    try {
      const frame = unpackFrame(this.decoded, n);
      this.counters.framesOk++;
      return { kind: 'frame', frame };
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      return this.fail(err.code, err.message);
    }
  }

  private fail(code: FrameErrorCode, message: string): DecodedEvent {
    const c = this.counters;
    if (code === 'CRC_MISMATCH') c.crcErrors++;
    else if (code === 'BAD_COBS') c.badCobs++;
    else if (code === 'TOO_SHORT') c.tooShort++;
    else if (code === 'UNKNOWN_VERSION') c.unknownVersion++;
    else if (code === 'OVERSIZE') c.oversize++;
    c.resyncs++;
    c.bytesDiscarded += this.length;
    return { kind: 'error', code, message, bytes: this.length };
  }
}
