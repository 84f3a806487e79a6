/**
 * The local socket input: a Unix socket where device applications, through
 * the SDK's `AgentProducer`, hand records to the agent (protocol in
 * sdk/protocol/agent-socket.ts). Each `put` frame is one buffer append; the
 * agent answers `ack` only after that append resolved (the records are
 * durable under the buffer's fsync policy), `nack` with the buffer's code
 * when it refused. Frames of one connection are appended in arrival order
 * and answered in that order. A garbage or oversized frame closes that
 * connection with an `error` frame; other connections carry on. With a
 * state directory, a put frame sent again after a reconnect (same producer
 * session and request id, protocol version 2) is recognized and stored once
 * (socket-dedup.ts). See docs/agent-socket.md.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { AppendRecord } from '../buffer/index.ts';
import { bufferLimits } from '../buffer/index.ts';
import {
  AgentFrameDecoder, agentSocketBatchRecordsMax, agentSocketFrameBytesMax, agentSocketVersion, agentSocketVersionMin, encodeFrame, type AgentFrame,
  type PutFrame,
} from '../../sdk/protocol/agent-socket.ts';
import { bootId } from '../status.ts';
import { configError, inputError, intField, objectWithKeys, stringField, type RecordSink } from './common.ts';
import { SocketDedup } from './socket-dedup.ts';

export const socketPathDefault = '/run/tributary/agent.sock';
/** Owner and group may write: put the device applications' users in the agent's group. */
export const socketModeDefault = 0o660;
export const socketConnectionsMaxDefault = 64;
/** Put frames appended but not yet answered, per connection; past it the input stops reading that connection. */
export const socketBatchesInFlightMaxDefault = 32;
/** Record bytes appended but not yet answered, per connection: with the frame limit, what one client can make the agent hold. */
export const socketBytesInFlightMaxDefault = 16 * 1024 * 1024;
/** A connection told to close gets this long to read its last answers before it is cut. */
const closeGraceMs = 2000;
const sourcePrefix = 'socket:';

export interface SocketInputConfig {
  readonly path: string;
  readonly mode: number;
  /** Where put frames without a destination go; undefined: they must name one. */
  readonly destination: string | undefined;
  readonly frameBytesMax: number;
  readonly connectionsMax: number;
  readonly batchesInFlightMax: number;
  readonly bytesInFlightMax: number;
  /** Where put frames appended are remembered, so a resent one is stored once; none: at-least-once. */
  readonly stateDir: string | undefined;
}

/** Parses `inputs.socket` once at startup into a frozen config; unknown keys are errors. */
export function parseSocketInputConfig(raw: unknown, where = 'inputs.socket'): SocketInputConfig {
  const o = objectWithKeys(where, raw, ['enabled', 'path', 'mode', 'destination', 'frameBytesMax', 'connectionsMax', 'batchesInFlightMax', 'bytesInFlightMax', 'stateDir']);
  const p = stringField(`${where}.path`, o.path, socketPathDefault);
  if (!path.isAbsolute(p)) throw configError(`${where}.path`, `must be an absolute path (got ${p})`);
  // Linux sun_path holds 108 bytes with its terminating NUL.
  if (Buffer.byteLength(p) > 107) throw configError(`${where}.path`, `must be at most 107 bytes (a Unix socket path; got ${Buffer.byteLength(p)})`);
  let mode = o.mode ?? socketModeDefault;
  if (typeof mode === 'string' && /^0?[0-7]{3}$/.test(mode)) mode = parseInt(mode, 8);
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o777) throw configError(`${where}.mode`, `must be an octal mode like "0660" (got ${String(o.mode)})`);
  return Object.freeze({
    path: p,
    mode,
    destination: o.destination === undefined ? undefined : stringField(`${where}.destination`, o.destination),
    frameBytesMax: intField(`${where}.frameBytesMax`, o.frameBytesMax, agentSocketFrameBytesMax, bufferLimits.recordDataBytesMax + 64 * 1024, agentSocketFrameBytesMax),
    connectionsMax: intField(`${where}.connectionsMax`, o.connectionsMax, socketConnectionsMaxDefault, 1, 4096),
    batchesInFlightMax: intField(`${where}.batchesInFlightMax`, o.batchesInFlightMax, socketBatchesInFlightMaxDefault, 1, 1024),
    bytesInFlightMax: intField(`${where}.bytesInFlightMax`, o.bytesInFlightMax, socketBytesInFlightMaxDefault, 1024 * 1024, 1024 ** 3),
    stateDir: o.stateDir === undefined ? undefined : stringField(`${where}.stateDir`, o.stateDir),
  });
}

export interface SocketInputCounters {
  /** Connections accepted (refused ones not counted). */
  connections: number;
  /** Connections open now. */
  connectionsOpen: number;
  /** Put frames answered with ack. */
  batches: number;
  /** Records durable in a buffer. */
  buffered: number;
  /** Records in batches answered with nack (buffer full, unknown destination, invalid). */
  refused: number;
  /** Connections closed for garbage, oversize or a version we do not speak. */
  protocolErrors: number;
  /** Records of put frames sent again that were stored already: acknowledged, not stored twice. */
  duplicateRecords: number;
}

export type SocketInputEvent =
  | { kind: 'listening'; path: string }
  | { kind: 'connected'; source: string; pid: number }
  | { kind: 'disconnected'; source: string }
  | { kind: 'append-failed'; source: string; destination: string; code: string }
  | { kind: 'protocol-error'; source: string; code: string; detail: string }
  | { kind: 'duplicate'; source: string; records: number }
  | { kind: 'error'; detail: string };

export interface SocketInputOptions {
  /** Arrival clock for records that carry no capture time. */
  now?: () => number;
  onEvent?: (event: SocketInputEvent) => void;
}

interface Connection {
  socket: net.Socket;
  decoder: AgentFrameDecoder;
  source: string | undefined;
  /** The version the welcome chose. */
  version: number;
  /** The producer's session (version 2): put frames are deduplicated within it. */
  session: string | undefined;
  /** Answers go out in request order: each waits for the one before. */
  answers: Promise<void>;
  unanswered: number;
  unansweredBytes: number;
  /** Frames decoded but not yet handled: the connection is at its bound. At most one read's worth. */
  waiting: AgentFrame[];
  /** The stream went bad after the frames in `waiting`: close once they are handled. */
  garbage: { code: string; detail: string } | undefined;
  closing: boolean;
}

/** Codes the buffer gives that the client may act on; anything else is AGENT_INTERNAL. */
const passedCodes = new Set(['BUFFER_FULL', 'BUFFER_RECORD_INVALID', 'BUFFER_RECORD_TOO_LARGE', 'BUFFER_CLOSED']);

export class SocketInput {
  readonly #config: SocketInputConfig;
  readonly #sinks: ReadonlyMap<string, RecordSink>;
  readonly #now: () => number;
  readonly #onEvent: (event: SocketInputEvent) => void;
  readonly #counters: SocketInputCounters = { connections: 0, connectionsOpen: 0, batches: 0, buffered: 0, refused: 0, protocolErrors: 0, duplicateRecords: 0 };
  readonly #connections = new Set<Connection>();
  readonly #dedup: SocketDedup | undefined;
  /** Appends of frames in a session not yet settled, so that a resend arriving meanwhile waits for the original. */
  readonly #inFlight = new Map<string, Promise<unknown>>();
  #server: net.Server | undefined;
  #stopped = false;

  constructor(config: SocketInputConfig, sinks: ReadonlyMap<string, RecordSink>, options: SocketInputOptions = {}) {
    if (config.destination !== undefined && !sinks.has(config.destination)) {
      throw configError('inputs.socket.destination', `no buffer for destination ${config.destination}`);
    }
    this.#config = config;
    this.#sinks = sinks;
    this.#now = options.now ?? Date.now;
    this.#onEvent = options.onEvent ?? (() => {});
    this.#dedup = config.stateDir === undefined ? undefined : new SocketDedup(config.stateDir, bootId(), this.#now);
  }

  /** Creates the parent directory, replaces a stale socket file, listens and sets the socket's mode. */
  async start(): Promise<void> {
    if (this.#server) throw new Error('SocketInput already started');
    const p = this.#config.path;
    fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
    this.#dedup?.open();
    await removeStaleSocket(p);
    const server = net.createServer((socket) => this.#onConnection(socket));
    this.#server = server;
    server.on('error', (err) => this.#onEvent({ kind: 'error', detail: err.message }));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: p, backlog: 128 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    fs.chmodSync(p, this.#config.mode);
    this.#onEvent({ kind: 'listening', path: p });
  }

  /**
   * Stops accepting, answers every put frame already read (their appends
   * finish), tells each client AGENT_SHUTTING_DOWN and removes the socket
   * file. Unread frames are not lost: their clients send them again.
   */
  async stop(): Promise<void> {
    if (this.#stopped || !this.#server) return;
    this.#stopped = true;
    const closed = new Promise<void>((r) => this.#server!.close(() => r()));
    await Promise.all([...this.#connections].map((c) => this.#closeWith(c, 'AGENT_SHUTTING_DOWN', 'the agent is stopping')));
    await closed;
    fs.rmSync(this.#config.path, { force: true });
    this.#dedup?.close();
  }

  counters(): Readonly<SocketInputCounters> {
    return { ...this.#counters, connectionsOpen: this.#connections.size };
  }

  #onConnection(socket: net.Socket): void {
    if (this.#stopped || this.#connections.size >= this.#config.connectionsMax) {
      socket.on('error', () => {}); // The peer may be gone already; nothing to report.
      socket.end(encodeFrame({ type: 'error', code: this.#stopped ? 'AGENT_SHUTTING_DOWN' : 'AGENT_CONNECTIONS_MAX', message: `at most ${this.#config.connectionsMax} connections` }));
      return;
    }
    const c: Connection = {
      socket, decoder: new AgentFrameDecoder({ frameBytesMax: this.#config.frameBytesMax }), source: undefined, version: 0, session: undefined,
      answers: Promise.resolve(), unanswered: 0, unansweredBytes: 0, waiting: [], garbage: undefined, closing: false,
    };
    this.#connections.add(c);
    this.#counters.connections++;
    socket.on('data', (chunk: Buffer) => this.#onData(c, chunk));
    // ECONNRESET and EPIPE: the client went away; 'close' follows and cleans up.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#connections.delete(c);
      if (c.source) this.#onEvent({ kind: 'disconnected', source: c.source });
    });
  }

  /** Decoded frames wait in `waiting` while the connection is at its bound, so the bound holds however many frames one read brings. */
  #onData(c: Connection, chunk: Buffer): void {
    if (c.closing || c.garbage) return;
    try {
      c.waiting.push(...c.decoder.push(chunk));
    } catch (err) {
      c.garbage = { code: (err as { code?: string }).code ?? 'AGENT_PROTOCOL_INVALID', detail: (err as Error).message };
    }
    const late = c.decoder.error;
    if (late) c.garbage = { code: late.code, detail: late.message };
    this.#drain(c);
  }

  /** Handles waiting frames up to the bound; frames read before garbage are handled before the error closes the connection. */
  #drain(c: Connection): void {
    while (!c.closing && c.waiting.length > 0 && !this.#full(c)) {
      const f = c.waiting.shift()!;
      if (f.type === 'put' && c.source !== undefined) this.#onPut(c, f);
      else if (f.type === 'hello' && c.source === undefined) this.#onHello(c, f);
      else if (f.type === 'session' && c.version >= 2 && c.session === undefined && c.unanswered === 0) c.session = f.sessionId;
      else this.#protocolError(c, 'AGENT_PROTOCOL_INVALID', c.source === undefined ? `expected hello, got ${f.type}` : `unexpected ${f.type} frame from a client`);
    }
    if (c.closing) return;
    if (c.waiting.length === 0 && c.garbage) {
      this.#protocolError(c, c.garbage.code, c.garbage.detail);
      return;
    }
    if (c.waiting.length > 0 || this.#full(c)) c.socket.pause();
    else if (c.socket.isPaused()) c.socket.resume();
  }

  #onHello(c: Connection, f: Extract<AgentFrame, { type: 'hello' }>): void {
    const version = Math.min(agentSocketVersion, f.versionMax);
    if (version < Math.max(agentSocketVersionMin, f.versionMin)) {
      this.#protocolError(c, 'AGENT_VERSION_UNSUPPORTED', `the agent speaks versions ${agentSocketVersionMin} to ${agentSocketVersion}; the client offers ${f.versionMin} to ${f.versionMax}`);
      return;
    }
    c.source = sourceFor(f.clientName, f.pid);
    c.version = version;
    c.socket.write(encodeFrame({
      type: 'welcome', version, frameBytesMax: this.#config.frameBytesMax,
      batchRecordsMax: Math.min(agentSocketBatchRecordsMax, bufferLimits.appendRecordsMax), destination: this.#config.destination ?? '',
    }));
    this.#onEvent({ kind: 'connected', source: c.source, pid: f.pid });
  }

  /** Calls append at once (so frames are appended in arrival order), answers once it resolved, in request order. */
  #onPut(c: Connection, f: PutFrame): void {
    if (f.records.length > bufferLimits.appendRecordsMax) {
      this.#protocolError(c, 'AGENT_PROTOCOL_INVALID', `put frame of ${f.records.length} records; the agent announced at most ${bufferLimits.appendRecordsMax}`);
      return;
    }
    const source = c.source!;
    const destination = f.destination || this.#config.destination;
    const sink = destination === undefined ? undefined : this.#sinks.get(destination);
    let appended: Promise<unknown>;
    if (!sink) {
      const why = destination === undefined ? 'the put names no destination and the socket has no default' : `no destination ${destination} (known: ${[...this.#sinks.keys()].join(', ')})`;
      appended = Promise.reject(inputError('INPUT_CONFIG_INVALID', why));
    } else {
      const now = this.#now();
      const records: AppendRecord[] = f.records.map((r) => {
        const a: AppendRecord = { source, partitionKey: r.partitionKey, data: r.data, capturedAtMs: r.capturedAtMs ?? now };
        if (r.explicitHashKey !== undefined) a.explicitHashKey = r.explicitHashKey;
        return a;
      });
      appended = c.session !== undefined && this.#dedup && sink.nextSequence ? this.#appendOnce(c, f, destination!, sink, records) : callAppend(sink, records);
    }
    // Handled below, in order; this keeps an early rejection from counting as unhandled meanwhile.
    appended.catch(() => {});
    const count = f.records.length;
    let bytes = 0;
    for (const r of f.records) bytes += r.data.length;
    c.unanswered++;
    c.unansweredBytes += bytes;
    c.answers = c.answers.then(() => appended.then(
      (result) => {
        this.#counters.batches++;
        this.#counters.buffered += count;
        const firstSequence = (result as { seqs?: number[] } | undefined)?.seqs?.[0] ?? 0;
        this.#answer(c, bytes, encodeFrame({ type: 'ack', requestId: f.requestId, destination: destination!, source, firstSequence, count }));
      },
      (err: unknown) => {
        const raw = (err as { code?: unknown } | null)?.code;
        const code = !sink ? 'AGENT_DESTINATION_UNKNOWN' : typeof raw === 'string' && passedCodes.has(raw) ? raw : 'AGENT_INTERNAL';
        this.#counters.refused += count;
        this.#onEvent({ kind: 'append-failed', source, destination: destination ?? '', code });
        this.#answer(c, bytes, encodeFrame({ type: 'nack', requestId: f.requestId, code, message: (err as Error).message }));
      },
    ));
  }

  /**
   * Appends a put frame of a session once (socket-dedup.ts): a frame seen
   * before is answered from what the buffer holds (waiting for the original
   * append when it is still running), a frame whose records are only partly
   * there (a kill -9 mid-write) gets the rest, and a new one is written down
   * before its append, with the sequence numbers the buffer will give it.
   */
  #appendOnce(c: Connection, f: PutFrame, destination: string, sink: RecordSink, records: AppendRecord[]): Promise<unknown> {
    const dedup = this.#dedup!;
    const source = c.source!;
    const session = c.session!;
    const id = `${source}\u0000${session}\u0000${f.requestId}`;
    const running = this.#inFlight.get(id);
    if (running) return running;
    const known = dedup.lookup(source, session, f.requestId);
    if (known && known.sameBoot && known.destination === destination && known.count === records.length) {
      const have = sink.nextSequence!(source) - known.firstSeq;
      if (have >= known.count) {
        this.#counters.duplicateRecords += known.count;
        this.#onEvent({ kind: 'duplicate', source, records: known.count });
        return Promise.resolve({ seqs: [known.firstSeq] });
      }
      if (have > 0) {
        // The rest gets the very numbers the entry names (appends number in order): the entry stays right, even if refused.
        this.#counters.duplicateRecords += have;
        return this.#track(id, callAppend(sink, records.slice(have)).then(() => ({ seqs: [known.firstSeq] })));
      }
    }
    const firstSeq = sink.nextSequence!(source);
    if (!dedup.planned(source, session, f.requestId, { destination, firstSeq, count: records.length })) {
      return Promise.reject(Object.assign(new Error(`cannot write ${dedup.file} (${dedup.writeError?.message}): refusing what could not be deduplicated`), { code: 'BUFFER_FULL' }));
    }
    const appended = callAppend(sink, records);
    // Refused at once (the buffer numbers records synchronously): the entry goes before any other append can reuse its numbers.
    if (sink.nextSequence!(source) === firstSeq) dedup.removed(source, session, f.requestId);
    appended.catch(() => dedup.removed(source, session, f.requestId));
    return this.#track(id, appended);
  }

  #track(id: string, appended: Promise<unknown>): Promise<unknown> {
    this.#inFlight.set(id, appended);
    const done = () => void (this.#inFlight.get(id) === appended && this.#inFlight.delete(id));
    appended.then(done, done);
    return appended;
  }

  #answer(c: Connection, bytes: number, frame: Buffer): void {
    c.unanswered--;
    c.unansweredBytes -= bytes;
    if (!c.socket.destroyed) c.socket.write(frame);
    if (!c.closing) this.#drain(c);
  }

  /** Past either bound the connection is not read: the client's writes back up, and its producer waits. */
  #full(c: Connection): boolean {
    return c.unanswered >= this.#config.batchesInFlightMax || c.unansweredBytes >= this.#config.bytesInFlightMax;
  }

  #protocolError(c: Connection, code: string, detail: string): void {
    this.#counters.protocolErrors++;
    this.#onEvent({ kind: 'protocol-error', source: c.source ?? 'unknown', code, detail });
    void this.#closeWith(c, code, detail);
  }

  /** Answers what was already read, then sends the error frame and closes; cuts the connection if the client does not. */
  async #closeWith(c: Connection, code: string, message: string): Promise<void> {
    if (c.closing) return;
    c.closing = true;
    // Frames not yet handled are dropped unanswered: their client sends them again.
    c.waiting = [];
    c.socket.pause();
    await c.answers;
    if (c.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => c.socket.destroy(), closeGraceMs);
      c.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      // Resume so the client's FIN (and any bytes after the garbage) are read and dropped.
      c.socket.resume();
      c.socket.end(encodeFrame({ type: 'error', code, message }));
    });
  }
}

function callAppend(sink: RecordSink, records: AppendRecord[]): Promise<unknown> {
  try {
    return sink.append(records);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** `socket:<client name>` (or `socket:pid-<pid>`), printable ASCII, within the buffer's source limit. */
function sourceFor(clientName: string, pid: number): string {
  const name = clientName.length > 0 ? clientName : `pid-${pid}`;
  const clean = name.replace(/[^\x21-\x7e]/g, '_');
  return sourcePrefix + clean.slice(0, bufferLimits.sourceBytesMax - sourcePrefix.length);
}

/** A socket file left by a dead agent is removed; a live one, or anything that is not a socket, is an error. */
async function removeStaleSocket(p: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) throw configError('inputs.socket.path', `${p} exists and is not a socket; refusing to replace it`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.createConnection({ path: p });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw configError('inputs.socket.path', `another process is listening on ${p} (a second agent?)`);
  fs.rmSync(p, { force: true });
}
