/**
 * AgentProducer: `StreamProducer`'s interface over the local agent's Unix
 * socket. Device applications hand records to the agent, which keeps them in
 * its durable buffer and sends them to the gateway on its own schedule, so
 * they survive the link being down. `put` resolves once the agent has the
 * record durably in its buffer (the agent answers only after its buffer
 * append resolved, under its fsync policy) — not when the gateway has it, so
 * there is no Kinesis sequence number yet: the result names the buffer
 * position instead (`destination`, `source`, `bufferSequence`).
 *
 * Records are batched into `put` frames (by count, bytes and linger time) and
 * pipelined: many frames may be unacknowledged at once. Memory is bounded:
 * past `inFlightRecordsMax` records or `inFlightBytesMax` bytes (queued plus
 * unacknowledged), `put` waits (`onFull: 'wait'`) or rejects. When the agent
 * restarts, the producer reconnects with backoff and sends the
 * unacknowledged batches again, each under its request id and in its
 * session (protocol version 2): an agent that had made a batch durable just
 * before it died recognizes it and stores it once, so delivery is exactly
 * once (with a version 1 agent, at-least-once: such a batch is buffered
 * twice). Records keep the order of `put` calls. See docs/agent-socket.md.
 *
 * @example
 * const producer = new AgentProducer({ destination: 'telemetry' });
 * const { bufferSequence } = await producer.put('{"t":21.5}', { partitionKey: 'dev-1' });
 * await producer.close();
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { TributaryError } from '../protocol/errors.ts';
import {
  AgentFrameDecoder, agentSocketBatchRecordsMax, agentSocketFrameBytesMax, agentSocketVersion, agentSocketVersionMin, encodeFrame,
  explicitHashKeyLengthMax, putFrameOverheadBytes, recordEncodedBytes, type AgentFrame, type AgentSocketRecord,
} from '../protocol/agent-socket.ts';
import * as limits from '../protocol/streams/limits.ts';

/**
 * Options of `AgentProducer`; every one has a default (`agentProducerDefaults`).
 *
 * @example
 * const options: AgentProducerOptions = { destination: 'telemetry', lingerMs: 20, onFull: 'reject' };
 */
export interface AgentProducerOptions {
  /** The agent's socket (`inputs.socket.path` in its config). */
  socketPath?: string;
  /** Buffer destination; the agent's default (`inputs.socket.destination`) when absent. */
  destination?: string;
  /** Names this application in the records' source, `socket:<clientName>`; default `pid-<pid>`. Keep it stable. */
  clientName?: string;
  /** Send a batch once this many records are queued... */
  batchRecordsMax?: number;
  /** ...or this many bytes... */
  batchBytesMax?: number;
  /** ...or when the oldest queued record has waited this long. */
  lingerMs?: number;
  /** Memory bound: records queued or waiting for the agent's ack. */
  inFlightRecordsMax?: number;
  /** Memory bound: bytes queued or waiting for the agent's ack. */
  inFlightBytesMax?: number;
  /** Past a bound, `put` waits for room or rejects with PRODUCER_FULL. */
  onFull?: 'wait' | 'reject';
  /** Reconnect backoff: doubles per failed attempt, half jittered. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Connection events (for logs); never carries payloads. */
  onEvent?: (event: AgentProducerEvent) => void;
}

/**
 * Connection events for the application's log.
 *
 * @example
 * new AgentProducer({ onEvent: (e) => console.log(JSON.stringify({ msg: 'agent-producer', ...e })) });
 */
export type AgentProducerEvent =
  | { kind: 'connected'; version: number; destination: string }
  | { kind: 'disconnected'; resentRecords: number; detail?: string }
  | { kind: 'agent-error'; code: string; message: string };

/**
 * Where the agent put a record: its buffer position, not yet a Kinesis sequence number.
 *
 * @example
 * const { destination, source, bufferSequence }: AgentPutResult = await producer.put('x', { partitionKey: 'k' });
 */
export interface AgentPutResult {
  /** The destination (buffer) the agent appended to. */
  destination: string;
  /** The record's source in the buffer, `socket:<clientName>`. */
  source: string;
  /** The record's sequence number within its source in the agent's buffer. */
  bufferSequence: number;
}

/**
 * The defaults of `AgentProducerOptions`.
 *
 * @example
 * new AgentProducer({ batchRecordsMax: agentProducerDefaults.batchRecordsMax / 2 });
 */
export const agentProducerDefaults = {
  socketPath: '/run/tributary/agent.sock',
  batchRecordsMax: 1000,
  batchBytesMax: 1024 * 1024,
  lingerMs: 5,
  inFlightRecordsMax: 50_000,
  inFlightBytesMax: 16 * 1024 * 1024,
  reconnectMinMs: 50,
  reconnectMaxMs: 5000,
} as const;

interface Pending {
  record: AgentSocketRecord;
  bytes: number;
  resolve(r: AgentPutResult): void;
  reject(err: Error): void;
}

type Resolved = Required<Omit<AgentProducerOptions, 'destination' | 'onEvent'>> & { destination: string };

/**
 * Hands records to the local agent; `put` resolves once the agent's buffer
 * has them durably. Connects on the first `put`; call `close()` to finish.
 *
 * @example
 * const producer = new AgentProducer({ socketPath: '/run/tributary/agent.sock', clientName: 'myapp' });
 * await Promise.all(readings.map((r) => producer.put(JSON.stringify(r), { partitionKey: r.sensor })));
 * await producer.close();
 */
export class AgentProducer {
  readonly #o: Resolved;
  readonly #onEvent: (event: AgentProducerEvent) => void;
  #queue: Pending[] = [];
  #queuedBytes = 0;
  /** Batches written and not yet acknowledged, in request order. */
  #sent = new Map<number, Pending[]>();
  /** Batches a lost connection left unacknowledged: sent again first, each under its request id. */
  #resend: Array<[number, Pending[]]> = [];
  /** This producer instance, for the agent's deduplication of resent batches (protocol version 2). */
  readonly #session = randomBytes(16).toString('base64url');
  #heldRecords = 0;
  #heldBytes = 0;
  #nextRequestId = 1;
  #socket: net.Socket | undefined;
  #welcome: { frameBytesMax: number; batchRecordsMax: number } | undefined;
  #writable = true;
  #attempt = 0;
  #lingerTimer: NodeJS.Timeout | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #spaceWaiters: Array<() => void> = [];
  #idleWaiters: Array<() => void> = [];
  #closed = false;

  constructor(options: AgentProducerOptions = {}) {
    const { onEvent, destination, ...rest } = options;
    this.#o = { clientName: `pid-${process.pid}`, onFull: 'wait', ...agentProducerDefaults, ...rest, destination: destination ?? '' };
    const o = this.#o;
    const bad = (why: string) => new TributaryError('PRODUCER_OPTIONS', why);
    if (!Number.isSafeInteger(o.batchRecordsMax) || o.batchRecordsMax < 1 || o.batchRecordsMax > agentSocketBatchRecordsMax) throw bad(`batchRecordsMax must be 1..${agentSocketBatchRecordsMax}`);
    if (!(o.batchBytesMax >= 1024 && o.batchBytesMax <= agentSocketFrameBytesMax)) throw bad(`batchBytesMax must be 1024..${agentSocketFrameBytesMax}`);
    if (!(o.inFlightRecordsMax >= o.batchRecordsMax)) throw bad('inFlightRecordsMax must be at least batchRecordsMax');
    if (!(o.inFlightBytesMax >= limits.recordDataBytesMax * 2)) throw bad(`inFlightBytesMax must be at least ${limits.recordDataBytesMax * 2}`);
    if (Buffer.byteLength(o.destination) > 255 || Buffer.byteLength(o.clientName) > 200) throw bad('destination and clientName must be short');
    this.#onEvent = onEvent ?? (() => {});
  }

  /**
   * Queues one record; resolves once the agent holds it durably in its buffer.
   * Rejects with the agent's code (BUFFER_FULL under reject-newest,
   * AGENT_DESTINATION_UNKNOWN, BUFFER_RECORD_INVALID, …) when it refuses the batch.
   */
  async put(data: Uint8Array | string, options: { partitionKey: string; explicitHashKey?: string }): Promise<AgentPutResult> {
    if (this.#closed) throw new TributaryError('PRODUCER_CLOSED', 'the producer is closed');
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const pk = options.partitionKey;
    if (typeof pk !== 'string' || pk.length < 1 || pk.length > limits.partitionKeyLengthMax) throw new TributaryError('PRODUCER_INVALID', `partition keys are 1..${limits.partitionKeyLengthMax} characters`);
    if (buf.length > limits.recordDataBytesMax) throw new TributaryError('PRODUCER_INVALID', `records are at most ${limits.recordDataBytesMax} bytes (got ${buf.length})`);
    const hk = options.explicitHashKey;
    if (hk !== undefined && (!/^\d{1,39}$/.test(hk) || hk.length > explicitHashKeyLengthMax || BigInt(hk) > limits.hashKeyMax)) {
      throw new TributaryError('PRODUCER_INVALID', `explicitHashKey must be a decimal in [0, 2^128-1] (got ${hk})`);
    }
    const record: AgentSocketRecord = { partitionKey: pk, data: buf, capturedAtMs: Date.now() };
    if (hk !== undefined) record.explicitHashKey = hk;
    const bytes = recordEncodedBytes(record);
    while (this.#heldRecords >= this.#o.inFlightRecordsMax || (this.#heldBytes + bytes > this.#o.inFlightBytesMax && this.#heldBytes > 0)) {
      if (this.#o.onFull === 'reject') {
        throw new TributaryError('PRODUCER_FULL', `${this.#heldRecords} records (${this.#heldBytes} bytes) are waiting for the agent`);
      }
      await new Promise<void>((r) => this.#spaceWaiters.push(r));
      if (this.#closed) throw new TributaryError('PRODUCER_CLOSED', 'the producer is closed');
    }
    return new Promise<AgentPutResult>((resolve, reject) => {
      this.#queue.push({ record, bytes, resolve, reject });
      this.#queuedBytes += bytes;
      this.#heldRecords++;
      this.#heldBytes += bytes;
      this.#connect();
      this.#schedule();
    });
  }

  /** Sends everything queued now; resolves when every put so far is acknowledged or refused. */
  async flush(): Promise<void> {
    if (this.#heldRecords === 0) return;
    const idle = new Promise<void>((r) => this.#idleWaiters.push(r));
    this.#pump(true);
    await idle;
  }

  /** Flushes, then closes the connection. Waits while the agent is away: a put is never dropped silently. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    clearTimeout(this.#lingerTimer);
    clearTimeout(this.#reconnectTimer);
    this.#socket?.end();
    this.#socket = undefined;
    for (const w of this.#spaceWaiters.splice(0)) w();
  }

  /** Whether the producer has a connection the agent has welcomed. */
  get connected(): boolean {
    return this.#welcome !== undefined;
  }

  #schedule(): void {
    if (this.#queue.length >= this.#o.batchRecordsMax || this.#queuedBytes >= this.#o.batchBytesMax) {
      this.#pump(false);
      return;
    }
    this.#lingerTimer ??= setTimeout(() => {
      this.#lingerTimer = undefined;
      this.#pump(true);
    }, this.#o.lingerMs);
  }

  /** Writes batches while the socket takes them. `force` sends a partial batch (linger, flush). */
  #pump(force: boolean): void {
    const w = this.#welcome;
    const socket = this.#socket;
    if (!w || !socket) return;
    const recordsMax = Math.min(this.#o.batchRecordsMax, w.batchRecordsMax);
    const overhead = putFrameOverheadBytes(this.#o.destination);
    const bytesMax = Math.min(this.#o.batchBytesMax, w.frameBytesMax - overhead);
    // What a lost connection left unacknowledged goes first, unchanged: the agent may hold it already.
    while (this.#writable && this.#resend.length > 0) {
      const [requestId, batch] = this.#resend.shift()!;
      this.#sent.set(requestId, batch);
      this.#writable = socket.write(encodeFrame({ type: 'put', requestId, destination: this.#o.destination, records: batch.map((p) => p.record) }));
    }
    while (this.#writable && this.#resend.length === 0 && this.#queue.length > 0) {
      if (!force && this.#queue.length < recordsMax && this.#queuedBytes < bytesMax) break;
      let n = 0;
      let bytes = 0;
      while (n < this.#queue.length && n < recordsMax) {
        const b = this.#queue[n]!.bytes;
        if (n > 0 && bytes + b > bytesMax) break;
        bytes += b;
        n++;
      }
      const batch = this.#queue.splice(0, n);
      this.#queuedBytes -= bytes;
      const requestId = this.#nextRequestId;
      this.#nextRequestId = (this.#nextRequestId % 0xffff_ffff) + 1;
      this.#sent.set(requestId, batch);
      const frame = encodeFrame({ type: 'put', requestId, destination: this.#o.destination, records: batch.map((p) => p.record) });
      this.#writable = socket.write(frame);
    }
    if (this.#queue.length > 0 && !this.#lingerTimer && this.#writable) this.#schedule();
  }

  #connect(): void {
    if (this.#socket || this.#reconnectTimer || this.#closed) return;
    const socket = net.createConnection({ path: this.#o.socketPath });
    this.#socket = socket;
    this.#writable = true;
    const decoder = new AgentFrameDecoder({ frameBytesMax: agentSocketFrameBytesMax });
    let detail: string | undefined;
    socket.on('connect', () => {
      socket.write(encodeFrame({ type: 'hello', versionMin: agentSocketVersionMin, versionMax: agentSocketVersion, pid: process.pid, clientName: this.#o.clientName }));
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of decoder.push(chunk)) this.#onFrame(f);
        if (decoder.error) throw decoder.error;
      } catch (err) {
        detail = (err as Error).message;
        socket.destroy();
      }
    });
    socket.on('drain', () => {
      this.#writable = true;
      this.#pump(true);
    });
    socket.on('error', (err) => {
      detail = err.message;
    });
    socket.on('close', () => this.#onClose(socket, detail));
  }

  #onFrame(f: AgentFrame): void {
    switch (f.type) {
      case 'welcome':
        if (f.version < agentSocketVersionMin || f.version > agentSocketVersion) throw new Error(`agent chose version ${f.version}`);
        this.#welcome = { frameBytesMax: Math.min(f.frameBytesMax, agentSocketFrameBytesMax), batchRecordsMax: Math.max(1, f.batchRecordsMax) };
        // Before any put: the agent keys what it remembers of our batches by this session.
        if (f.version >= 2) this.#socket!.write(encodeFrame({ type: 'session', sessionId: this.#session }));
        this.#attempt = 0;
        this.#onEvent({ kind: 'connected', version: f.version, destination: this.#o.destination || f.destination });
        this.#pump(true);
        return;
      case 'ack': {
        const batch = this.#take(f.requestId);
        if (batch.length !== f.count) throw new Error(`agent acked ${f.count} records of a batch of ${batch.length}`);
        batch.forEach((p, k) => p.resolve({ destination: f.destination, source: f.source, bufferSequence: f.firstSequence + k }));
        this.#released(batch);
        return;
      }
      case 'nack': {
        const batch = this.#take(f.requestId);
        const err = new TributaryError(f.code, `agent refused the batch: ${f.message}`);
        for (const p of batch) p.reject(err);
        this.#released(batch);
        return;
      }
      case 'error':
        this.#onEvent({ kind: 'agent-error', code: f.code, message: f.message });
        this.#failSentOnFatal(f.code, f.message);
        return;
      default:
        throw new Error(`unexpected ${f.type} frame from the agent`);
    }
  }

  #take(requestId: number): Pending[] {
    const batch = this.#sent.get(requestId);
    if (!batch) throw new Error(`agent answered unknown request ${requestId}`);
    this.#sent.delete(requestId);
    return batch;
  }

  /**
   * A fatal error about our own frames (garbage, oversize, version) would
   * repeat if we sent the same batches again: they fail. Shutting down and
   * connection limits are passing: the close handler sends them again.
   */
  #failSentOnFatal(code: string, message: string): void {
    if (code === 'AGENT_SHUTTING_DOWN' || code === 'AGENT_CONNECTIONS_MAX') return;
    const err = new TributaryError(code, `agent closed the connection: ${message}`);
    for (const batch of [...this.#sent.values(), ...this.#resend.map(([, b]) => b)]) {
      for (const p of batch) p.reject(err);
      this.#released(batch);
    }
    this.#sent.clear();
    this.#resend = [];
    if (code === 'AGENT_VERSION_UNSUPPORTED') {
      const queued = this.#queue.splice(0);
      this.#queuedBytes = 0;
      for (const p of queued) p.reject(err);
      this.#released(queued);
    }
  }

  #released(batch: Pending[]): void {
    this.#heldRecords -= batch.length;
    for (const p of batch) this.#heldBytes -= p.bytes;
    for (const w of this.#spaceWaiters.splice(0)) w();
    if (this.#heldRecords === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  /**
   * Unacknowledged batches are sent again on the next connection, first, in
   * order, each as it was and under its request id: an agent that made one
   * durable before the connection went stores it once (version 2).
   */
  #onClose(socket: net.Socket, detail: string | undefined): void {
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    const wasWelcomed = this.#welcome !== undefined;
    this.#welcome = undefined;
    const again = [...this.#sent];
    this.#sent.clear();
    this.#resend = [...again, ...this.#resend];
    let resentRecords = 0;
    for (const [, b] of this.#resend) resentRecords += b.length;
    if (wasWelcomed) this.#onEvent({ kind: 'disconnected', resentRecords, ...(detail ? { detail } : {}) });
    if (this.#closed || this.#heldRecords === 0) return;
    const base = Math.min(this.#o.reconnectMaxMs, this.#o.reconnectMinMs * 2 ** Math.min(this.#attempt++, 20));
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connect();
    }, Math.round(base / 2 + (Math.random() * base) / 2));
  }
}
