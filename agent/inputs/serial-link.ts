/**
 * One serial port's I/O, without a native serial library: resolve the
 * configured path (a device, a /dev/serial/by-id symlink, or a glob), open
 * it with O_RDWR | O_NOCTTY | O_NONBLOCK, set baud rate and raw mode with
 * `stty -F`, read through a `tty.ReadStream` (libuv polls the descriptor),
 * write through a second descriptor of our own. When reads end (EOF, EIO:
 * the device was unplugged or the pty's other side went away) or the path
 * vanishes or points elsewhere, the link closes and polls for the path with
 * backoff, resolving it again each time.
 *
 * Why two descriptors: for a pty slave, libuv's `uv_tty_init` reopens the
 * device and `dup2`s the new descriptor over ours, keeping its own; Node's
 * `tty.WriteStream` turns on blocking writes, which would then block reads
 * too. We keep the original (read) descriptor to close it ourselves when
 * libuv reopened, and write through an O_NONBLOCK descriptor with a bounded
 * queue, retrying on EAGAIN.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import tty from 'node:tty';
import { backoffMs } from './common.ts';
import { globMatches } from './file-glob.ts';
import { serialWriteQueueBytesMax, type SerialPortConfig } from './serial-config.ts';

export type SerialLinkEvent =
  | { kind: 'opened'; path: string }
  | { kind: 'closed'; path: string; reason: string }
  | { kind: 'open-failed'; path: string; detail: string }
  | { kind: 'waiting'; path: string };

export interface SerialLinkHandlers {
  onOpen(): void;
  onData(chunk: Buffer): void;
  onClose(): void;
  onEvent(event: SerialLinkEvent): void;
}

const openFlags = fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK;
const writeFlags = fs.constants.O_WRONLY | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK;
/** Retry delay for a write the tty refused with EAGAIN (its output queue is full). */
const writeRetryMs = 5;
const sttyTimeoutMs = 5000;

interface Open {
  device: string;
  stream: tty.ReadStream;
  /** Our descriptor from open(2), if libuv reopened the device and left it to us. */
  readFd: number | undefined;
  writeFd: number;
  closing: boolean;
}

/** Resolves the configured path to the device it names now, or undefined if there is none. */
export async function resolveSerialPath(config: Pick<SerialPortConfig, 'path' | 'glob'>): Promise<string | undefined> {
  let candidate = config.path;
  if (config.glob) {
    const glob = config.glob;
    const names = await fs.promises.readdir(glob.dir).catch(() => [] as string[]);
    const match = names.filter((n) => globMatches(glob, n)).sort()[0];
    if (match === undefined) return undefined;
    candidate = path.join(glob.dir, match);
  }
  try {
    return await fs.promises.realpath(candidate);
  } catch {
    return undefined; // Absent, or a by-id link left dangling by an unplug: both mean "not there yet".
  }
}

export class SerialLink {
  readonly #config: SerialPortConfig;
  readonly #h: SerialLinkHandlers;
  #open: Open | undefined;
  #stopped = false;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #pathTimer: NodeJS.Timeout | undefined;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #writing = false;
  /** Writes dropped because the queue was full or the port closed. */
  writesDropped = 0;
  opens = 0;

  constructor(config: SerialPortConfig, handlers: SerialLinkHandlers) {
    this.#config = config;
    this.#h = handlers;
  }

  get isOpen(): boolean {
    return this.#open !== undefined && !this.#open.closing;
  }

  get device(): string | undefined {
    return this.#open?.device;
  }

  start(): void {
    this.#schedule(0);
    this.#pathTimer = setInterval(() => void this.#checkPath(), this.#config.pathCheckMs);
    this.#pathTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#pathTimer);
    await this.#close('stopped');
  }

  /** Queues bytes for the MCU. Returns false (and drops them) when the port is closed or the queue is full. */
  write(bytes: Uint8Array): boolean {
    if (!this.isOpen || this.#queuedBytes + bytes.length > serialWriteQueueBytesMax) {
      this.writesDropped++;
      return false;
    }
    this.#queue.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.#queuedBytes += bytes.length;
    this.#pump();
    return true;
  }

  /** Stops reading (the buffer is behind); the tty and then the MCU hold the bytes meanwhile. */
  pause(): void {
    this.#open?.stream.pause();
  }

  resume(): void {
    this.#open?.stream.resume();
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#tryOpen(), delayMs);
  }

  #retry(): void {
    this.#schedule(backoffMs(this.#attempt++, this.#config.reopenMinMs, this.#config.reopenMaxMs));
  }

  async #tryOpen(): Promise<void> {
    if (this.#stopped || this.#open) return;
    const device = await resolveSerialPath(this.#config);
    if (device === undefined) {
      if (this.#attempt === 0) this.#h.onEvent({ kind: 'waiting', path: this.#config.path });
      this.#retry();
      return;
    }
    let readFd: number | undefined;
    let writeFd: number | undefined;
    try {
      readFd = await openFd(device, openFlags);
      if (!tty.isatty(readFd)) throw new Error(`${device} is not a terminal device`);
      await stty(this.#config, device);
      writeFd = await openFd(device, writeFlags);
    } catch (err) {
      for (const fd of [readFd, writeFd]) if (fd !== undefined) fs.close(fd, () => {});
      this.#h.onEvent({ kind: 'open-failed', path: device, detail: (err as Error).message });
      this.#retry();
      return;
    }
    if (this.#stopped) {
      fs.close(readFd, () => {});
      fs.close(writeFd, () => {});
      return;
    }
    this.#attach(device, readFd, writeFd);
  }

  #attach(device: string, fd: number, writeFd: number): void {
    const stream = new tty.ReadStream(fd);
    // When libuv reopened the device, the handle owns a new descriptor and the one we opened is ours to close.
    const handleFd = (stream as unknown as { _handle?: { fd?: number } })._handle?.fd;
    const open: Open = { device, stream, readFd: handleFd !== undefined && handleFd !== fd ? fd : undefined, writeFd, closing: false };
    this.#open = open;
    this.opens++;
    this.#attempt = 0;
    stream.on('data', (chunk: Buffer) => {
      if (this.#open === open && !open.closing) this.#h.onData(chunk);
    });
    stream.on('end', () => void this.#close('end of input', open));
    stream.on('close', () => void this.#close('closed', open));
    stream.on('error', (err: NodeJS.ErrnoException) => void this.#close(`read failed: ${err.code ?? err.message}`, open));
    this.#h.onEvent({ kind: 'opened', path: device });
    this.#h.onOpen();
  }

  async #close(reason: string, open = this.#open): Promise<void> {
    if (!open || open.closing || open !== this.#open) return;
    open.closing = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    open.stream.destroy();
    while (this.#writing) await new Promise((r) => setTimeout(r, writeRetryMs));
    await new Promise<void>((r) => fs.close(open.writeFd, () => r()));
    if (open.readFd !== undefined) await new Promise<void>((r) => fs.close(open.readFd!, () => r()));
    this.#open = undefined;
    this.#h.onEvent({ kind: 'closed', path: open.device, reason });
    this.#h.onClose();
    if (!this.#stopped) this.#retry();
  }

  /** Catches an unplug that produced no read error: the path is gone, or now names another device. */
  async #checkPath(): Promise<void> {
    const open = this.#open;
    if (!open || open.closing) return;
    const device = await resolveSerialPath(this.#config);
    if (device !== open.device) await this.#close(device === undefined ? 'path vanished' : `path now names ${device}`, open);
  }

  #pump(): void {
    const open = this.#open;
    if (this.#writing || !open || open.closing || this.#queue.length === 0) return;
    const chunk = Buffer.concat(this.#queue);
    this.#queue = [];
    this.#writing = true;
    fs.write(open.writeFd, chunk, 0, chunk.length, null, (err, written) => {
      this.#writing = false;
      if (open.closing) return;
      if (err && err.code !== 'EAGAIN') {
        void this.#close(`write failed: ${err.code ?? err.message}`, open);
        return;
      }
      const rest = chunk.subarray(err ? 0 : written);
      this.#queuedBytes -= chunk.length - rest.length;
      if (rest.length > 0) this.#queue.unshift(rest);
      if (rest.length > 0 && err) setTimeout(() => this.#pump(), writeRetryMs);
      else this.#pump();
    });
  }
}

function openFd(device: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => fs.open(device, flags, (err, fd) => (err ? reject(err) : resolve(fd))));
}

/** Baud rate, 8N1, raw (no echo, no line editing, no signals, no CR/LF translation), no flow control, ignore modem lines. */
function stty(config: SerialPortConfig, device: string): Promise<void> {
  const args = ['-F', device, String(config.baud), 'raw', '-echo', 'cs8', '-cstopb', '-parenb', 'clocal', '-crtscts', '-ixon', '-ixoff', '-hupcl'];
  return new Promise((resolve, reject) => {
    execFile(config.stty, args, { timeout: sttyTimeoutMs }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`stty failed: ${String(stderr).trim() || err.message}`, { cause: err }));
      else resolve();
    });
  });
}
