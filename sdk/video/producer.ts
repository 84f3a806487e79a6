/**
 * VideoProducer: sends MKV to a Kinesis Video stream with PutMedia (the
 * gateway's, or AWS's) from a byte stream, a file or an ffmpeg process it
 * runs (`putFfmpeg`), tracks the acknowledgements of every fragment, and
 * survives lost connections.
 *
 * How resume works: the producer reads its source with the same MKV reader
 * as the gateway, so it knows each fragment (Cluster) and the stream header
 * before it. It keeps every fragment not yet acknowledged at `ackLevel`
 * (PERSISTED by default) in memory, bounded by `bufferBytesMax` (the source
 * is not read further while the bound is reached). When a connection fails —
 * a network error, a retryable ERROR ack (5000, 5001, 4000), or an answer
 * that ends before every fragment was acknowledged — it reconnects with
 * backoff and sends the stream header and every unacknowledged fragment
 * again, in order, with the same timecodes and the same producer start time.
 *
 * That is idempotent because the gateway identifies a fragment by its
 * producer timestamp: a fragment it already stored is acknowledged with its
 * existing number and not stored twice. (AWS itself would store it twice; the
 * gateway's rule is documented in docs/video.md.)
 *
 * Timecodes: a source whose first Cluster timecode is epoch milliseconds
 * (ffmpeg's `-output_ts_offset <now>` or `-copyts` of a live input) is sent
 * ABSOLUTE; otherwise RELATIVE to `producerStartMs` (fixed when the producer
 * is made, so resends carry the same times).
 *
 * @example
 * const producer = new VideoProducer({ endpoint: 'https://gateway:4567', region: 'us-east-1', credentials, streamName: 'cam-front' });
 * const { fragments } = await producer.put(fs.createReadStream('clip.mkv'));
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { AwsError, TributaryError } from '../protocol/errors.ts';
import { concat, MkvId, MkvReader, type MkvEvent } from '../protocol/mkv/index.ts';
import { encodeId, unknownSize8 } from '../protocol/mkv/vint.ts';
import { signRequest, unsignedPayload } from '../protocol/sigv4.ts';
import { AckDecoder, isRetryableAck, type Ack } from '../protocol/video/acks.ts';
import { locateFfmpeg, type FfmpegLocation } from './ffmpeg.ts';

export interface VideoProducerOptions {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  streamName?: string;
  streamArn?: string;
  /** PEM CA to trust (the gateway's own CA), and a client certificate for mutual TLS. */
  ca?: string;
  cert?: string;
  key?: string;
  /** When a fragment counts as delivered: PERSISTED (default), or RECEIVED for streams without retention. */
  ackLevel?: 'PERSISTED' | 'RECEIVED';
  /** Default: ABSOLUTE when the first Cluster timecode looks like epoch milliseconds, else RELATIVE. */
  timecodeType?: 'ABSOLUTE' | 'RELATIVE';
  /** The producer start time RELATIVE timecodes count from (default: when the producer is made). */
  producerStartMs?: number;
  /** Consecutive failed connections before `put` gives up (default 8). */
  reconnectAttemptsMax?: number;
  /** Unacknowledged bytes kept for resending; past it the source is not read (default 256 MiB). */
  bufferBytesMax?: number;
  onAck?(ack: Ack): void;
  /**
   * Paces the request body (a link shared with other traffic, or capped):
   * called before each piece of at most `writePieceBytes` of a fragment is
   * written (the stream header goes with the first piece), and the piece
   * waits for the promise; a rejection fails the upload. While it is given,
   * the source is read at most one fragment ahead of the body. Without it,
   * each fragment is written whole as soon as it is read.
   */
  beforeWrite?(piece: { bytes: number; timecode: number; first: boolean }): Promise<void> | void;
  /** With `beforeWrite`: the largest piece written at a time (default 64 KiB). */
  writePieceBytes?: number;
}

export interface PutResult {
  fragments: Array<{ timecode: number; fragmentNumber: string }>;
  /** Connections opened after the first. */
  reconnects: number;
}

interface Pending {
  timecode: number;
  header: Uint8Array;
  cluster: Uint8Array;
  number?: string;
}

/** Epoch milliseconds after 2001: a Cluster timecode this large is absolute producer time. */
const absoluteTimecodeMin = 1e12;
const backoffMsMax = 5_000;

export class VideoProducer {
  readonly producerStartMs: number;
  constructor(private readonly o: VideoProducerOptions) {
    if ((o.streamName === undefined) === (o.streamArn === undefined)) throw new TypeError('give exactly one of streamName and streamArn');
    this.producerStartMs = o.producerStartMs ?? Date.now();
  }

  /** Sends a file of MKV. */
  putFile(file: string): Promise<PutResult> {
    return this.put(fs.createReadStream(file, { highWaterMark: 256 * 1024 }));
  }

  /** Sends an MKV byte stream (a file, stdin, ffmpeg's stdout); resolves once every fragment is acknowledged. */
  async put(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<PutResult> {
    return new Upload(this.o, this.producerStartMs).run(source);
  }

  /**
   * Runs ffmpeg and sends what it encodes. `args` are its input and encoding
   * options; the producer adds the output: MKV on stdout with one Cluster per
   * keyframe (`-f matroska -cluster_time_limit ... -cluster_size_limit ...
   * pipe:1`), so a GOP is a fragment. Resolves once ffmpeg has finished and
   * every fragment is acknowledged; rejects with FFMPEG_FAILED (the end of its
   * stderr) when ffmpeg fails, and stops ffmpeg when the upload fails. For a
   * source that never ends (a camera), `signal` stops it: ffmpeg is asked to
   * finish (SIGINT: it closes the last Cluster), the rest is sent, and the
   * promise resolves.
   *
   * @example
   * const stop = new AbortController();
   * const done = producer.putFfmpeg(['-f', 'v4l2', '-i', '/dev/video0', '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '60'], { signal: stop.signal });
   * // later: stop.abort(); const { fragments } = await done;
   */
  async putFfmpeg(args: readonly string[], o: { signal?: AbortSignal; ffmpeg?: FfmpegLocation } = {}): Promise<PutResult> {
    const ff = o.ffmpeg ?? locateFfmpeg();
    const child = spawn(ff.ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args, ...ffmpegMkvOutputArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4000)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    let stopped = false;
    const stop = () => {
      stopped = true;
      child.kill('SIGINT');
    };
    if (o.signal?.aborted) stop();
    o.signal?.addEventListener('abort', stop, { once: true });
    async function* encoded(): AsyncGenerator<Uint8Array> {
      for await (const chunk of child.stdout) yield chunk as Buffer;
      const r = await exited;
      // Asked to stop, ffmpeg exits with 255 once it has written the end of its output.
      if (r.error || (r.code !== 0 && !(stopped && r.code === 255)) || (r.signal && !stopped)) {
        throw new TributaryError('FFMPEG_FAILED', `${path.basename(ff.ffmpeg)} ${r.error ? `could not start: ${r.error.message}` : `exited with ${r.code ?? r.signal}`}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`, r.error ? { cause: r.error } : undefined);
      }
    }
    try {
      return await this.put(encoded());
    } finally {
      o.signal?.removeEventListener('abort', stop);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }
}

/** ffmpeg output options for PutMedia: MKV on stdout, a new Cluster at every keyframe (never earlier: the limits are out of reach). */
export const ffmpegMkvOutputArgs: readonly string[] = Object.freeze(['-f', 'matroska', '-cluster_time_limit', '100000', '-cluster_size_limit', '100000000', 'pipe:1']);

/** One `put`: the source's fragments, the connection, and the acks. */
class Upload {
  private readonly reader = new MkvReader();
  private headerParts: { ebml?: Uint8Array; info?: Uint8Array; tracks?: Uint8Array } = {};
  private header: Uint8Array | undefined;
  private readonly pending: Pending[] = [];
  private pendingBytes = 0;
  private readonly done: PutResult['fragments'] = [];
  private timecodeType: 'ABSOLUTE' | 'RELATIVE' | undefined;
  private conn: Connection | undefined;
  private sourceDone = false;
  private failure: Error | undefined;
  private failures = 0;
  private reconnects = -1;
  private wake: (() => void) | undefined;

  constructor(
    private readonly o: VideoProducerOptions,
    private readonly producerStartMs: number,
  ) {
    this.timecodeType = o.timecodeType;
  }

  async run(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<PutResult> {
    try {
      for await (const chunk of source) {
        this.accept(this.reader.push(chunk));
        while ((this.pendingBytes > (this.o.bufferBytesMax ?? 256 * 1024 * 1024) || this.writeBehind()) && !this.failure) await this.changed();
        if (this.failure) throw this.failure;
      }
      this.accept(this.reader.end());
      this.sourceDone = true;
      this.conn?.endBody();
      while (this.pending.length && !this.failure) {
        if (!this.conn) this.connect();
        await this.changed();
      }
      if (this.failure) throw this.failure;
      return { fragments: this.done, reconnects: Math.max(0, this.reconnects) };
    } finally {
      this.conn?.destroy();
    }
  }

  /** A paced body is more than one fragment behind the source. */
  private writeBehind(): boolean {
    if (!this.o.beforeWrite) return false;
    return (this.conn ? this.conn.unwritten : this.pending.length) > 1;
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private accept(events: MkvEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'ebml') {
        this.headerParts = { ebml: ev.raw };
        this.header = undefined;
      } else if (ev.type === 'info') this.headerParts.info = ev.raw;
      else if (ev.type === 'tracks') this.headerParts.tracks = ev.raw;
      else if (ev.type === 'cluster') this.enqueue(ev.timecode, ev.raw);
    }
  }

  private enqueue(timecode: number, cluster: Uint8Array): void {
    if (!this.header) {
      const { ebml, info, tracks } = this.headerParts;
      if (!ebml || !info || !tracks) throw new TributaryError('INVALID_MKV', 'the MKV source has a Cluster before its EBML header, Info and Tracks');
      this.header = concat([ebml, encodeId(MkvId.Segment), unknownSize8, info, tracks]);
    }
    this.timecodeType ??= timecode >= absoluteTimecodeMin ? 'ABSOLUTE' : 'RELATIVE';
    const p: Pending = { timecode, header: this.header, cluster };
    this.pending.push(p);
    this.pendingBytes += cluster.length;
    if (!this.conn) this.connect();
    else this.conn.send(p);
  }

  private connect(): void {
    if (this.failure) return;
    this.reconnects++;
    const conn = new Connection(this.o, this.timecodeType ?? 'RELATIVE', this.producerStartMs, {
      ack: (ack) => this.onAck(ack),
      closed: (err) => this.onClosed(conn, err),
      written: () => this.notify(),
      failed: (err) => this.fail(err),
    });
    this.conn = conn;
    for (const p of this.pending) conn.send(p);
    if (this.sourceDone) conn.endBody();
  }

  private onAck(ack: Ack): void {
    this.o.onAck?.(ack);
    if (ack.EventType === 'ERROR') {
      if (!isRetryableAck(ack)) this.fail(new TributaryError('PUT_MEDIA_ERROR', `PutMedia failed: ${ack.ErrorCode ?? 'error'} (ErrorId ${ack.ErrorId}) at fragment timecode ${ack.FragmentTimecode}`));
      else this.conn?.destroy(); // Reconnects and resends on close.
      return;
    }
    if (ack.EventType !== 'RECEIVED' && ack.EventType !== 'PERSISTED') return;
    const i = this.pending.findIndex((p) => p.timecode === ack.FragmentTimecode);
    if (i < 0) return;
    const p = this.pending[i]!;
    if (ack.FragmentNumber) p.number = ack.FragmentNumber;
    if (ack.EventType === (this.o.ackLevel ?? 'PERSISTED')) {
      this.pending.splice(i, 1);
      this.pendingBytes -= p.cluster.length;
      this.done.push({ timecode: p.timecode, fragmentNumber: p.number! });
      this.failures = 0;
      if (this.sourceDone && this.pending.length === 0) this.conn?.endBody();
      this.notify();
    }
  }

  private onClosed(conn: Connection, err: Error | undefined): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    if (err instanceof AwsError && err.type !== 'ClientLimitExceededException') return this.fail(err);
    if (this.pending.length === 0) return this.notify();
    if (++this.failures > (this.o.reconnectAttemptsMax ?? 8)) {
      return this.fail(new TributaryError('PUT_MEDIA_UNREACHABLE', `PutMedia failed ${this.failures} times in a row; last: ${err?.message ?? 'the answer ended before every fragment was acknowledged'}`, { cause: err }));
    }
    const wait = Math.min(backoffMsMax, 200 * 2 ** (this.failures - 1));
    setTimeout(() => {
      if (!this.conn && !this.failure) this.connect();
      this.notify();
    }, wait).unref();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.conn?.destroy();
    this.notify();
  }
}

/** One PutMedia request: writes fragments to its body, parses acks from its answer. */
interface ConnectionEvents {
  ack(a: Ack): void;
  closed(err?: Error): void;
  /** A paced fragment is written whole. */
  written(): void;
  /** `beforeWrite` rejected. */
  failed(err: Error): void;
}

class Connection {
  private readonly req: http.ClientRequest;
  private lastHeader: Uint8Array | undefined;
  private closed = false;
  private ended = false;
  /** Paced: fragments not yet written whole, the first being written; the body ends after them. */
  private readonly queue: Pending[] = [];
  private pumping = false;
  private endWanted = false;

  constructor(private readonly o: VideoProducerOptions, timecodeType: 'ABSOLUTE' | 'RELATIVE', producerStartMs: number, private readonly on: ConnectionEvents) {
    const url = new URL('/putMedia', o.endpoint);
    const headers = signRequest({
      method: 'POST', url, body: '', payloadHash: unsignedPayload,
      headers: {
        ...(o.streamName !== undefined ? { 'x-amzn-stream-name': o.streamName } : { 'x-amzn-stream-arn': o.streamArn! }),
        'x-amzn-fragment-timecode-type': timecodeType,
        'x-amzn-producer-start-timestamp': (producerStartMs / 1000).toFixed(3),
        'x-amzn-fragment-acknowledgment-required': '1',
        'x-amz-content-sha256': unsignedPayload,
      },
      accessKeyId: o.credentials.accessKeyId, secretAccessKey: o.credentials.secretAccessKey, region: o.region, service: 'kinesisvideo', now: Date.now(),
    });
    const mod = url.protocol === 'https:' ? https : http;
    this.req = mod.request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' },
      agent: false, ...(o.ca ? { ca: o.ca } : {}), ...(o.cert ? { cert: o.cert, key: o.key } : {}),
    });
    let error: Error | undefined;
    const close = () => {
      if (this.closed) return;
      this.closed = true;
      on.closed(error);
    };
    this.req.on('response', (res) => {
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let body: unknown = {};
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = { message: Buffer.concat(chunks).toString('utf8') };
          }
          error = AwsError.parse(res.statusCode ?? 0, body, res.headers['x-amzn-errortype'] as string | undefined);
          close();
        });
        return;
      }
      const decoder = new AckDecoder();
      res.on('data', (c: Buffer) => {
        try {
          for (const ack of decoder.push(c)) on.ack(ack);
        } catch (err) {
          error = err as Error;
          this.destroy();
        }
      });
      res.on('end', () => {
        for (const ack of decoder.end()) on.ack(ack);
        close();
      });
      res.on('error', (err) => {
        error = err;
        close();
      });
      res.on('close', close);
    });
    this.req.on('error', (err) => {
      error = err;
      close();
    });
    this.req.on('close', () => setImmediate(close));
  }

  /** Fragments not yet written whole (paced bodies; 0 otherwise). */
  get unwritten(): number {
    return this.queue.length;
  }

  send(p: Pending): void {
    if (this.closed || this.ended || this.endWanted) return;
    if (this.o.beforeWrite) {
      this.queue.push(p);
      void this.pump();
      return;
    }
    if (p.header !== this.lastHeader) {
      this.req.write(p.header);
      this.lastHeader = p.header;
    }
    this.req.write(p.cluster);
  }

  /** Writes the queued fragments piece by piece, each when `beforeWrite` lets it, and waits for the socket to drain. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    const size = Math.max(1, this.o.writePieceBytes ?? 64 * 1024);
    try {
      while (this.queue.length > 0 && !this.closed) {
        const p = this.queue[0]!;
        for (let off = 0; off < p.cluster.length; off += size) {
          const piece = p.cluster.subarray(off, off + size);
          const header = off === 0 && p.header !== this.lastHeader ? p.header : undefined;
          await this.o.beforeWrite!({ bytes: piece.length + (header?.length ?? 0), timecode: p.timecode, first: off === 0 });
          if (this.closed) return;
          if (header) {
            this.req.write(header);
            this.lastHeader = header;
          }
          if (!this.req.write(piece)) await this.drained();
          if (this.closed) return;
        }
        this.queue.shift();
        this.on.written();
      }
      if (this.endWanted) this.endBody();
    } catch (err) {
      this.on.failed(err as Error);
    } finally {
      this.pumping = false;
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.req.off('drain', done);
        this.req.off('close', done);
        resolve();
      };
      this.req.once('drain', done);
      this.req.once('close', done);
    });
  }

  /** No more fragments: ends the request body once what is queued is written (acks keep coming). */
  endBody(): void {
    if (this.ended || this.closed) return;
    if (this.queue.length > 0) {
      this.endWanted = true;
      return;
    }
    this.ended = true;
    this.req.end();
  }

  destroy(): void {
    this.req.destroy();
  }
}
