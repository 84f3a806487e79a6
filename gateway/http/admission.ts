/**
 * Admission control for request bodies: how much request memory the front
 * door holds, for whom, and for how long (issue #11, item 1).
 *
 * - Bytes are charged as they arrive, never as declared: a client that says
 *   `Content-Length: 8388608` and sends nothing holds nothing.
 * - One budget for all connections (`requestBytesInFlightMax`), and a share
 *   of it per client address (a quarter), so one address cannot fill it.
 *   Past either, reading pauses (TCP or HTTP/2 flow control pushes back).
 * - The oldest body still being read may always continue (past its address's
 *   share, and past the budget by at most one request), so reading can never
 *   deadlock with every budget held by half-read bodies; memory stays below
 *   the budget plus one maximal request.
 * - Deadlines: a body whose sender falls silent for `bodyIdleMsMax` (while
 *   not paused by us) is cut off with 408; so is an unauthenticated body not
 *   complete within `unauthenticatedBodyMsMax`.
 *
 * Requests whose headers already fail authentication read under a second,
 * small budget (see server.ts): small bodies only, a short deadline.
 */
import type http from 'node:http';
import { pooledBytesMin } from './buffer-pool.ts';

/** An authenticated body may pause this long between chunks before it is cut off with 408. */
export const bodyIdleMsMax = 20_000;
/** A request whose headers fail authentication must deliver its whole body within this. */
export const unauthenticatedBodyMsMax = 5_000;
/** Bodies of requests whose headers fail authentication may be this large; larger ones are answered from the headers. */
export const unauthenticatedBodyBytesMax = 64 * 1024;
/** Memory for those bodies, across all clients. */
export const unauthenticatedBytesInFlightMax = 4 * 1024 * 1024;
/** The share of a budget one client address may hold. */
export const addressShare = 0.25;

/** A client address for per-address limits: IPv4 as is, IPv6 by its /64 (one host usually owns a whole /64). */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!address.includes(':')) return address;
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '').toLowerCase()).join(':') + '::/64';
}

/** One request's claim on a budget. */
export class Ticket {
  bytes = 0;
  reading = true;
  paused = false;
  released = false;
  constructor(
    readonly budget: Budget,
    readonly address: string,
    readonly resume: () => void,
  ) {}

  /** Records bytes that arrived; false when the sender must wait (the caller pauses the stream). */
  charge(n: number): boolean {
    this.bytes += n;
    this.budget.charged(this, n);
    if (this.budget.mayRead(this)) return true;
    this.paused = true;
    this.budget.waiting.add(this);
    return false;
  }

  /** The body is complete: this request no longer reads (its bytes stay charged until release). */
  finish(): void {
    if (!this.reading) return;
    this.reading = false;
    this.budget.stopReading(this);
  }

  /** The request is over: its bytes go back to the budget. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.finish();
    this.budget.release(this);
  }
}

/** A memory budget shared by all requests, with a share per client address. */
export class Budget {
  inFlight = 0;
  readonly byAddress = new Map<string, number>();
  /** Requests still reading their bodies, oldest first. */
  private readonly readers = new Set<Ticket>();
  readonly waiting = new Set<Ticket>();
  readonly addressBytesMax: number;

  constructor(readonly bytesMax: number, share = addressShare) {
    this.addressBytesMax = Math.max(1, Math.floor(bytesMax * share));
  }

  open(address: string, resume: () => void): Ticket {
    const t = new Ticket(this, address, resume);
    this.readers.add(t);
    return t;
  }

  charged(t: Ticket, n: number): void {
    this.inFlight += n;
    this.byAddress.set(t.address, (this.byAddress.get(t.address) ?? 0) + n);
  }

  /** Whether `t` may read more now. */
  mayRead(t: Ticket): boolean {
    const oldest = this.oldestReader();
    if (this.inFlight >= this.bytesMax && t !== oldest) return false;
    if ((this.byAddress.get(t.address) ?? 0) >= this.addressBytesMax && t !== this.oldestReader(t.address)) return false;
    return true;
  }

  stopReading(t: Ticket): void {
    this.readers.delete(t);
    this.waiting.delete(t);
    this.wake();
  }

  release(t: Ticket): void {
    this.inFlight -= t.bytes;
    const left = (this.byAddress.get(t.address) ?? 0) - t.bytes;
    if (left > 0) this.byAddress.set(t.address, left);
    else this.byAddress.delete(t.address);
    this.wake();
  }

  private oldestReader(address?: string): Ticket | undefined {
    for (const r of this.readers) if (address === undefined || r.address === address) return r;
    return undefined;
  }

  /** Resumes waiting readers that may read again, oldest first. */
  private wake(): void {
    for (const t of this.waiting) {
      if (!this.mayRead(t)) continue;
      this.waiting.delete(t);
      t.paused = false;
      t.resume();
    }
  }
}

export interface ReadBodyOptions {
  budget: Budget;
  address: string;
  /** Bodies past this are refused through `onTooLarge` as soon as they pass it. */
  bodyBytesMax: number;
  /** Longest silence between chunks (while not paused by the budget). */
  idleMsMax: number;
  /** Longest time for the whole body, paused or not (unauthenticated requests). */
  totalMsMax?: number;
  onTooLarge(): void;
  onTimeout(): void;
  onBody(body: Buffer): void;
  /** Where a body of several chunks is gathered (a pooled buffer of exactly that size, buffer-pool.ts); a new buffer otherwise. */
  bufferFor?(size: number): Buffer;
}

/**
 * Reads a request body under a budget: charges bytes as they arrive, pauses
 * when the budget says so, enforces the deadlines, and releases the bytes when
 * the response closes.
 */
export function readBody(req: http.IncomingMessage, res: http.ServerResponse, o: ReadBodyOptions): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  let idle: NodeJS.Timeout | undefined;
  const ticket = o.budget.open(o.address, () => {
    armIdle();
    req.resume();
  });
  const total = o.totalMsMax === undefined ? undefined : setTimeout(() => stop(o.onTimeout), o.totalMsMax);
  const disarm = () => {
    if (idle) clearTimeout(idle);
    if (total) clearTimeout(total);
    idle = undefined;
  };
  const armIdle = () => {
    if (idle) clearTimeout(idle);
    idle = setTimeout(() => stop(o.onTimeout), o.idleMsMax);
  };
  const stop = (answer: () => void) => {
    if (over) return;
    over = true;
    disarm();
    chunks.length = 0;
    ticket.release();
    answer();
  };
  res.once('close', () => {
    disarm();
    ticket.release();
  });
  if (!o.budget.mayRead(ticket)) {
    req.pause();
    ticket.paused = true;
    o.budget.waiting.add(ticket);
  } else armIdle();
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > o.bodyBytesMax) return stop(o.onTooLarge);
    chunks.push(chunk);
    if (ticket.charge(chunk.length)) armIdle();
    else {
      if (idle) clearTimeout(idle);
      idle = undefined;
      req.pause();
    }
  });
  req.on('end', () => {
    if (over) return;
    over = true;
    disarm();
    ticket.finish();
    if (chunks.length === 1) return o.onBody(chunks[0]!);
    if (!o.bufferFor || size < pooledBytesMin) return o.onBody(Buffer.concat(chunks, size));
    const body = o.bufferFor(size);
    let at = 0;
    for (const c of chunks) at += c.copy(body, at);
    o.onBody(body);
  });
}
