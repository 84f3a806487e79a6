/**
 * Connection limits for the gateway's one port (issue #11, item 6): no
 * connection may hold a file descriptor for long without doing its part.
 *
 * - A new connection must send its first bytes within `firstBytesMsMax`,
 *   finish a TLS handshake within `handshakeMsMax`, and send its first request
 *   within `firstRequestMsMax` of connecting; otherwise it is closed.
 * - Connections are capped per client address (IPv6: per /64) and in total;
 *   the total defaults to three quarters of the process's descriptor limit,
 *   so that the shard logs, metadata writes and real devices keep descriptors
 *   when a crowd connects. Past a cap, new connections are closed at once.
 * - HTTP/2 rapid reset (CVE-2023-44487): a session whose client cancels more
 *   than `resetsBurstMax` streams (refilled at `resetsPerSecondMax`) gets
 *   GOAWAY with ENHANCE_YOUR_CALM and is closed.
 * - Shedding is logged once per episode, not once per connection: the first
 *   shed connection logs a warning, later ones are counted and summarised at
 *   most once a minute.
 */
import fs from 'node:fs';
import http2 from 'node:http2';
import type net from 'node:net';
import type { Logger } from '../log.ts';
import { TokenBucket } from '../streams/throttle.ts';
import { addressKey } from './admission.ts';

/** A connection must send something within this after it is accepted. */
export const firstBytesMsMax = 10_000;
/** A TLS handshake must complete within this. */
export const handshakeMsMax = 10_000;
/** The first request must arrive within this after the connection is accepted. */
export const firstRequestMsMax = 15_000;
/** HTTP/1.1: the request headers must be complete within this of their first byte. */
export const headersMsMax = 20_000;
/** Connections one client address may hold (devices behind one NAT share an address). */
export const connectionsPerAddressMaxDefault = 256;
/** HTTP/2 streams a client may open at once on one connection. */
export const streamsPerSessionMax = 100;
/** HTTP/2 streams a client may cancel in a burst, and per second after it. */
export const resetsBurstMax = 200;
export const resetsPerSecondMax = 20;
/** Shedding summaries are logged at most this often. */
const shedLogIntervalMs = 60_000;

/** The process's soft limit on open files (Linux /proc/self/limits), or undefined where unknown. */
export function openFilesLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Three quarters of the descriptor limit (the rest for files and the gateway's own sockets), at most 10,000. */
export function connectionsMaxDefault(): number {
  const limit = openFilesLimit();
  return limit === undefined ? 10_000 : Math.max(16, Math.min(10_000, Math.floor(limit * 0.75)));
}

export type ShedReason = 'total' | 'per_address' | 'idle' | 'handshake' | 'rapid_reset';

export interface ConnectionGuardOptions {
  connectionsMax: number;
  connectionsPerAddressMax: number;
  log: Logger;
  onShed?(reason: ShedReason): void;
}

interface Tracked {
  address: string;
  timer: NodeJS.Timeout | undefined;
}

export class ConnectionGuard {
  private readonly byAddress = new Map<string, number>();
  /** By `<remote address>:<remote port>`: the same for the raw socket, its TLS socket and an HTTP/2 session's proxy. */
  private readonly pending = new Map<string, Tracked>();
  private shedSince: number | undefined;
  private readonly shedCounts = new Map<ShedReason, number>();
  private summary: NodeJS.Timeout | undefined;

  constructor(private readonly o: ConnectionGuardOptions) {}

  /** A new connection: false (and closed) when a cap is reached; otherwise its first-bytes and first-request deadlines start. */
  admit(socket: net.Socket): boolean {
    const address = addressKey(socket.remoteAddress);
    const count = this.byAddress.get(address) ?? 0;
    if (count >= this.o.connectionsPerAddressMax) {
      socket.destroy();
      this.shed('per_address', { address, connections: count });
      return false;
    }
    this.byAddress.set(address, count + 1);
    const key = connKey(socket);
    const tracked: Tracked = { address, timer: setTimeout(() => this.expire(socket, 'idle'), firstRequestMsMax) };
    tracked.timer!.unref();
    this.pending.set(key, tracked);
    socket.once('close', () => {
      const left = (this.byAddress.get(address) ?? 1) - 1;
      if (left > 0) this.byAddress.set(address, left);
      else this.byAddress.delete(address);
      this.settle(key);
    });
    return true;
  }

  /** Before its first bytes: a connection that stays silent is closed sooner. */
  firstBytesDeadline(socket: net.Socket): () => void {
    const timer = setTimeout(() => this.expire(socket, 'idle'), firstBytesMsMax);
    timer.unref();
    return () => clearTimeout(timer);
  }

  /** A request arrived on the connection (any protocol): its first-request deadline is met. */
  active(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): void {
    this.settle(connKey(socket));
  }

  /** A TLS handshake failed or timed out. */
  handshakeFailed(socket: net.Socket, timedOut: boolean): void {
    socket.destroy();
    if (timedOut) this.shed('handshake', { address: addressKey(socket.remoteAddress) });
  }

  /** Watches an HTTP/2 session for rapid reset. */
  watchSession(session: http2.ServerHttp2Session): void {
    const resets = new TokenBucket(resetsPerSecondMax, resetsBurstMax, Date.now());
    session.on('stream', (stream) => {
      // A stream the client reset (the gateway's own resets, after an answer, say NO_ERROR).
      stream.once('close', () => {
        if (stream.rstCode === http2.constants.NGHTTP2_NO_ERROR) return;
        if (resets.tryTake(1, Date.now()) || session.destroyed || session.closed) return;
        const address = addressKey(session.socket?.remoteAddress);
        session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
        setTimeout(() => session.destroy(), 100).unref();
        this.shed('rapid_reset', { address });
      });
    });
  }

  get connectionsByAddress(): ReadonlyMap<string, number> {
    return this.byAddress;
  }

  /** Records a shed connection: logged at once when an episode starts, summarised later. */
  shed(reason: ShedReason, fields: Record<string, unknown> = {}): void {
    this.o.onShed?.(reason);
    this.shedCounts.set(reason, (this.shedCounts.get(reason) ?? 0) + 1);
    if (this.shedSince !== undefined) return;
    this.shedSince = Date.now();
    this.shedCounts.clear();
    this.o.log.warn('shedding connections', { reason, ...fields, connectionsMax: this.o.connectionsMax, connectionsPerAddressMax: this.o.connectionsPerAddressMax });
    this.summary = setTimeout(() => this.summarise(), shedLogIntervalMs);
    this.summary.unref();
  }

  private summarise(): void {
    this.summary = undefined;
    const counts = Object.fromEntries(this.shedCounts);
    this.shedCounts.clear();
    if (Object.keys(counts).length === 0) {
      this.shedSince = undefined; // the episode is over; the next shed logs at once again
      return;
    }
    this.o.log.warn('shed connections', { since: new Date(this.shedSince!).toISOString(), ...counts });
    this.shedSince = Date.now();
    this.summary = setTimeout(() => this.summarise(), shedLogIntervalMs);
    this.summary.unref();
  }

  private expire(socket: net.Socket, reason: ShedReason): void {
    if (socket.destroyed) return;
    socket.destroy();
    this.shed(reason, { address: addressKey(socket.remoteAddress) });
  }

  private settle(key: string): void {
    const t = this.pending.get(key);
    if (!t) return;
    clearTimeout(t.timer);
    this.pending.delete(key);
  }

  close(): void {
    if (this.summary) clearTimeout(this.summary);
    for (const t of this.pending.values()) clearTimeout(t.timer);
    this.pending.clear();
  }
}

function connKey(s: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${s.remoteAddress}:${s.remotePort}`;
}
