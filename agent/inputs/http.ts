/**
 * The localhost HTTP input, for scripts: `curl -d @reading.json
 * 'http://127.0.0.1:8787/v1/records?partitionKey=dev-1'`. Off by default.
 * A request body is one record, or with `Content-Type: application/x-ndjson`
 * one record per line; the whole request is one buffer append, and the
 * answer (200 with the count) comes only after that append resolved, i.e.
 * once the records are durable. Listens on 127.0.0.1 only: there is no
 * authentication, anyone on the device who can reach the port can write.
 * See docs/agent-inputs.md.
 */
import http from 'node:http';
import type { AppendRecord } from '../buffer/index.ts';
import { bufferLimits } from '../buffer/index.ts';
import { configError, intField, objectWithKeys, stringField, type RecordSink } from './common.ts';

export const httpPortDefault = 8787;
/** A request body: one record of at most 1 MiB, or NDJSON lines of at most 1 MiB each, this much in all. */
export const httpBodyBytesMaxDefault = 5 * 1024 * 1024;
export const httpHost = '127.0.0.1';
export const httpSource = 'http';
const ndjsonType = 'application/x-ndjson';
/** Scripts do not keep connections for long; a stalled client must not hold a socket forever. */
const requestTimeoutMs = 30_000;

export interface HttpInputConfig {
  readonly port: number;
  /** Where requests without `?destination=` go; undefined: they must name one. */
  readonly destination: string | undefined;
  readonly bodyBytesMax: number;
}

/** Parses `inputs.http` once at startup into a frozen config (port 0 picks a free one, for tests). */
export function parseHttpInputConfig(raw: unknown, where = 'inputs.http'): HttpInputConfig {
  const o = objectWithKeys(where, raw, ['enabled', 'port', 'destination', 'bodyBytesMax']);
  return Object.freeze({
    port: intField(`${where}.port`, o.port, httpPortDefault, 0, 65_535),
    destination: o.destination === undefined ? undefined : stringField(`${where}.destination`, o.destination),
    bodyBytesMax: intField(`${where}.bodyBytesMax`, o.bodyBytesMax, httpBodyBytesMaxDefault, bufferLimits.recordDataBytesMax, 64 * 1024 * 1024),
  });
}

export interface HttpInputCounters {
  requests: number;
  /** Records durable in a buffer. */
  buffered: number;
  /** Requests answered 4xx or 5xx. */
  refusedRequests: number;
}

export type HttpInputEvent =
  | { kind: 'listening'; port: number }
  | { kind: 'append-failed'; destination: string; code: string }
  | { kind: 'error'; detail: string };

export interface HttpInputOptions {
  now?: () => number;
  onEvent?: (event: HttpInputEvent) => void;
}

/** An answer other than 200: status, stable code and a message for the script's author. */
class Refusal {
  constructor(readonly status: number, readonly code: string, readonly message: string) {}
}

const statusByBufferCode: Record<string, number> = {
  BUFFER_FULL: 503, BUFFER_RECORD_INVALID: 400, BUFFER_RECORD_TOO_LARGE: 413, BUFFER_CLOSED: 503,
};

export class HttpInput {
  readonly #config: HttpInputConfig;
  readonly #sinks: ReadonlyMap<string, RecordSink>;
  readonly #now: () => number;
  readonly #onEvent: (event: HttpInputEvent) => void;
  readonly #counters: HttpInputCounters = { requests: 0, buffered: 0, refusedRequests: 0 };
  #server: http.Server | undefined;
  #port: number | undefined;

  constructor(config: HttpInputConfig, sinks: ReadonlyMap<string, RecordSink>, options: HttpInputOptions = {}) {
    if (config.destination !== undefined && !sinks.has(config.destination)) {
      throw configError('inputs.http.destination', `no buffer for destination ${config.destination}`);
    }
    this.#config = config;
    this.#sinks = sinks;
    this.#now = options.now ?? Date.now;
    this.#onEvent = options.onEvent ?? (() => {});
  }

  async start(): Promise<void> {
    if (this.#server) throw new Error('HttpInput already started');
    const server = http.createServer({ requestTimeout: requestTimeoutMs }, (req, res) => void this.#handle(req, res));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#config.port, httpHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.#onEvent({ kind: 'error', detail: err.message }));
    this.#port = (server.address() as { port: number }).port;
    this.#onEvent({ kind: 'listening', port: this.#port });
  }

  /** The port listened on (the configured one, or the one picked for port 0). */
  get port(): number | undefined {
    return this.#port;
  }

  /** Stops accepting; requests in flight finish their appends and get their answers. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server?.listening) return;
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeIdleConnections();
    await closed;
  }

  counters(): Readonly<HttpInputCounters> {
    return { ...this.#counters };
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.#counters.requests++;
    try {
      const out = await this.#accept(req);
      this.#counters.buffered += out.count;
      reply(res, 200, out);
    } catch (err) {
      this.#counters.refusedRequests++;
      const r = err instanceof Refusal ? err : new Refusal(500, 'AGENT_INTERNAL', (err as Error).message);
      // A refused body may be half read: closing is the only way to stay in step with the client.
      if (!req.complete) res.setHeader('Connection', 'close');
      if (r.status === 405) res.setHeader('Allow', 'POST');
      if (r.status === 503) res.setHeader('Retry-After', '5');
      reply(res, r.status, { error: { code: r.code, message: r.message } });
      if (!req.complete) req.resume();
    }
  }

  async #accept(req: http.IncomingMessage): Promise<{ count: number; destination: string; source: string; firstSequence: number }> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/v1/records') throw new Refusal(404, 'NOT_FOUND', `no such path ${url.pathname}; POST records to /v1/records`);
    if (req.method !== 'POST') throw new Refusal(405, 'METHOD_NOT_ALLOWED', `use POST /v1/records (got ${req.method})`);
    const destination = url.searchParams.get('destination') ?? this.#config.destination;
    if (destination === undefined) throw new Refusal(400, 'DESTINATION_REQUIRED', 'no destination: add ?destination=<name> (the input has no default)');
    const sink = this.#sinks.get(destination);
    if (!sink) throw new Refusal(400, 'AGENT_DESTINATION_UNKNOWN', `no destination ${destination} (known: ${[...this.#sinks.keys()].join(', ')})`);
    const partitionKey = url.searchParams.get('partitionKey');
    if (!partitionKey || partitionKey.length > bufferLimits.partitionKeyLengthMax) {
      throw new Refusal(400, 'PARTITION_KEY_INVALID', `partitionKey query parameter must be 1 to ${bufferLimits.partitionKeyLengthMax} characters`);
    }
    const explicitHashKey = url.searchParams.get('explicitHashKey') ?? undefined;
    const ndjson = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === ndjsonType;
    const limit = ndjson ? this.#config.bodyBytesMax : bufferLimits.recordDataBytesMax;
    const body = await readBody(req, limit, ndjson ? 'request body' : 'record (send NDJSON for more than one)');
    const datas = ndjson ? splitLines(body) : [body];
    if (datas.length === 0 || (!ndjson && body.length === 0)) throw new Refusal(400, 'BODY_EMPTY', ndjson ? 'no records: the body has no non-empty lines' : 'empty body: send the record as the body (curl -d)');
    if (datas.length > bufferLimits.appendRecordsMax) throw new Refusal(413, 'TOO_MANY_RECORDS', `at most ${bufferLimits.appendRecordsMax} records per request (got ${datas.length})`);
    const oversize = datas.findIndex((d) => d.length > bufferLimits.recordDataBytesMax);
    if (oversize >= 0) throw new Refusal(413, 'BUFFER_RECORD_TOO_LARGE', `line ${oversize + 1} is over ${bufferLimits.recordDataBytesMax} bytes`);
    const now = this.#now();
    const records = datas.map((data): AppendRecord => ({
      source: httpSource, partitionKey, data, capturedAtMs: now, ...(explicitHashKey !== undefined ? { explicitHashKey } : {}),
    }));
    let result: unknown;
    try {
      result = await sink.append(records);
    } catch (err) {
      const code = String((err as { code?: unknown } | null)?.code ?? 'AGENT_INTERNAL');
      this.#onEvent({ kind: 'append-failed', destination, code });
      throw new Refusal(statusByBufferCode[code] ?? 500, code, (err as Error).message);
    }
    const firstSequence = (result as { seqs?: number[] } | undefined)?.seqs?.[0] ?? 0;
    return { count: records.length, destination, source: httpSource, firstSequence };
  }
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
}

/** Reads the body up to `limit` bytes; past it (by Content-Length or by counting) answers 413 without reading on. */
async function readBody(req: http.IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const tooLarge = (n: number | string) => new Refusal(413, 'BODY_TOO_LARGE', `${what} of ${n} bytes is over ${limit} bytes`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(declared);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= limit) {
        chunks.push(chunk);
        return;
      }
      // Not destroyed: the 413 still has to reach the client. The rest is read and dropped.
      req.off('data', onData);
      req.resume();
      reject(tooLarge(`more than ${limit}`));
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, bytes)));
    req.once('error', reject);
  });
}

/** NDJSON: one record per line, `\n` or `\r\n`; empty lines are skipped. Lines are kept as bytes, unparsed. */
function splitLines(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(0x0a, start);
    if (end < 0) end = body.length;
    let stop = end;
    if (stop > start && body[stop - 1] === 0x0d) stop--;
    if (stop > start) out.push(body.subarray(start, stop));
    start = end + 1;
  }
  return out;
}
