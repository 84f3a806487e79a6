/**
 * REST-JSON services on the front door (Kinesis Video Streams: `POST
 * /createStream`, `POST /putMedia`, ...): a path names the action, the body
 * (or, for streaming actions, the headers) carries the input. `restRoutes`
 * turns services into path handlers for the front door's `routes`, and runs
 * every request through the same fixed order as the JSON-RPC path:
 *
 *   size cap, authentication (SigV4), shape check, authorization (policy), action.
 *
 * Two kinds of action:
 * - `json`: the body is read (up to `jsonBytesMax`), signed with the body's
 *   hash, parsed and validated; the action answers a value (JSON, status 200)
 *   or a `RestStream` (a streamed body such as GetMedia's MKV).
 * - `stream`: nothing of the body is read before the signature over the
 *   headers checks out (`UNSIGNED-PAYLOAD`, as the Kinesis Video producers
 *   sign PutMedia); the input comes from the headers; the action reads the
 *   request and writes the response itself.
 *
 * Errors follow AWS's REST-JSON services: the type in `x-amzn-ErrorType`,
 * the status the type is modelled with, and a JSON body with `Message` (the
 * capital M is what Kinesis Video answers, as its producer SDKs log it;
 * SigV4 failures come from AWS's front end with a lowercase `message`).
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { AwsError, type AwsErrorType } from '../../sdk/protocol/errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { verifySigV4 } from './auth.ts';
import { checkCertificateBinding } from './client-certificate.ts';
import type { Caller, Guard } from './server.ts';
import { validateInput, type StructureShape } from './validate.ts';

/** A streamed response body (GetMedia): written with backpressure; `cancel` runs when the client goes. */
export interface RestStream {
  contentType: string;
  headers?: Record<string, string>;
  body: AsyncIterable<Uint8Array>;
  cancel?(): void;
}

export function isRestStream(v: unknown): v is RestStream {
  return typeof v === 'object' && v !== null && 'body' in v && 'contentType' in v && typeof (v as RestStream).body?.[Symbol.asyncIterator] === 'function';
}

export interface RestCall {
  /** The validated input: the JSON body, or for `stream` actions what `inputOf` read from the headers. */
  input: Record<string, unknown>;
  caller: Caller;
  req: http.IncomingMessage;
  res: http.ServerResponse;
  requestId: string;
  /** Aborts when the client disconnects. */
  signal: AbortSignal;
}

export interface RestAction {
  /** The action's name (`CreateStream`): policy action `<iamPrefix>:<name>`, metrics. */
  name: string;
  shape: StructureShape;
  /** `json` (default) or `stream` (see the module comment). */
  body?: 'json' | 'stream';
  /** For `stream` actions: the input, from the request headers (validated against `shape`). */
  inputOf?(req: http.IncomingMessage): Record<string, unknown>;
  /**
   * JSON actions return the output value (or a RestStream); stream actions
   * return nothing once they have answered through `res`.
   */
  handle(call: RestCall): unknown;
}

export interface RestService {
  signingName: string;
  iamPrefix: string;
  /** Path (`/createStream`) to action. */
  actions: Record<string, RestAction>;
  /** The policy resource an action acts on (`videostream/<name>`, or `*`). */
  resourceOf(action: string, input: Record<string, unknown>): string;
  /** The type shape and constraint errors of this service are reported as (Kinesis Video: InvalidArgumentException). */
  validationErrorType: AwsErrorType;
}

export interface RestOptions {
  guard: Guard;
  log: Logger;
  metrics: Metrics;
  /** JSON bodies beyond this are refused with 413 before they are read whole. */
  jsonBytesMax: number;
  now?: () => number;
}

/** Control-plane and archive requests are small; AWS does not publish a bound, this is ours. */
export const restJsonBytesMaxDefault = 1024 * 1024;

type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** The front-door routes of REST services: one handler per path. */
export function restRoutes(services: RestService[], o: RestOptions): Record<string, RouteHandler> {
  const routes: Record<string, RouteHandler> = {};
  for (const service of services) {
    for (const [path, action] of Object.entries(service.actions)) {
      if (routes[path]) throw new Error(`two REST actions on ${path}`);
      routes[path] = (req, res) => {
        void serve(service, action, req, res, o).catch((err) => {
          o.log.error('unhandled REST error', { path, err: String((err as Error)?.stack ?? err) });
          if (!res.headersSent) sendRestError(res, new AwsError('InternalFailure', 'Internal failure', 500));
          else res.destroy();
        });
      };
    }
  }
  return routes;
}

async function serve(service: RestService, action: RestAction, req: http.IncomingMessage, res: http.ServerResponse, o: RestOptions): Promise<void> {
  const started = process.hrtime.bigint();
  const requestId = String(res.getHeader('x-amzn-RequestId') ?? randomUUID());
  if (req.headers.origin) {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', 'x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date');
  }
  const abort = new AbortController();
  res.once('close', () => abort.abort());
  let outcome = 'ok';
  try {
    if (req.method !== 'POST') throw new AwsError('InvalidArgumentException', `${req.method} is not supported on ${req.url?.split('?')[0]}; use POST.`, 405);
    const streaming = action.body === 'stream';
    // 1. Size cap (JSON bodies only; a streaming action bounds what it buffers itself).
    const body = streaming ? Buffer.alloc(0) : await readCapped(req, res, o.jsonBytesMax);
    // 2. Authentication.
    const caller = authenticate(req, body, service, streaming, o);
    // 3. Shape.
    const input = checkShape(service, action, streaming ? action.inputOf?.(req) ?? {} : parseJson(service, body));
    // 4. Authorization.
    try {
      o.guard.authorize(caller, `${service.iamPrefix}:${action.name}`, service.resourceOf(action.name, input));
    } catch (err) {
      // AWS answers a denied IAM check on Kinesis Video with 403 (the producer SDKs log it so).
      if (err instanceof AwsError && err.type === 'AccessDeniedException') throw new AwsError(err.type, err.message, 403);
      throw err;
    }
    // 5. The action.
    const output = await action.handle({ input, caller, req, res, requestId, signal: abort.signal });
    if (streaming) return;
    if (isRestStream(output)) await pipeStream(res, output, abort.signal);
    else sendJson(res, 200, output ?? {});
  } catch (err) {
    if (err instanceof BodyTooLarge) {
      outcome = 'RequestEntityTooLarge';
      return;
    }
    const aws = err instanceof AwsError ? err : internal(o, requestId, action, err);
    outcome = aws.type;
    if (!res.headersSent) sendRestError(res, aws);
    else res.destroy();
  } finally {
    o.metrics.requests.inc({ service: service.iamPrefix, action: action.name, outcome });
    o.metrics.requestSeconds.observe({ action: action.name }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}

function internal(o: RestOptions, requestId: string, action: RestAction, err: unknown): AwsError {
  o.log.error('action failed', { requestId, action: action.name, err: String((err as Error)?.stack ?? err) });
  return new AwsError('InternalFailure', 'Internal failure', 500);
}

/** SigV4 failures are the front end's: 403 with a lowercase `message`, whatever their JSON-RPC status. */
function authenticate(req: http.IncomingMessage, body: Buffer, service: RestService, streaming: boolean, o: RestOptions): Caller {
  try {
    const { accessKeyId } = verifySigV4({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers }, body, {
      service: service.signingName,
      region: o.guard.region,
      now: (o.now ?? Date.now)(),
      allowUnsignedPayload: streaming,
      lookupSecret: (id) => o.guard.secretOf(id),
    });
    const caller = o.guard.callerOf(accessKeyId);
    checkCertificateBinding(req, caller);
    return caller;
  } catch (err) {
    if (err instanceof AwsError) throw new AuthError(err.type, err.message, 403);
    throw err;
  }
}

/** An authentication failure, sent with the lowercase `message` of AWS's front end. */
class AuthError extends AwsError {}

function parseJson(service: RestService, body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new AwsError(service.validationErrorType, 'The request body is not valid JSON.', 400);
  }
}

function checkShape(service: RestService, action: RestAction, raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new AwsError(service.validationErrorType, 'The request body must be a JSON object.', 400);
  try {
    return validateInput(action.shape, raw);
  } catch (err) {
    // Type and constraint errors keep their (Coral-style) wording under the service's own type.
    if (err instanceof AwsError && (err.type === 'ValidationException' || err.type === 'SerializationException')) {
      throw new AwsError(service.validationErrorType, err.message, 400);
    }
    throw err;
  }
}

class BodyTooLarge extends Error {}

/** Reads the whole body, refusing with 413 (and closing) as soon as it passes `max`. */
function readCapped(req: http.IncomingMessage, res: http.ServerResponse, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const refuse = () => {
      req.removeAllListeners('data');
      req.resume();
      if (!res.headersSent) {
        res.writeHead(413, { Connection: 'close', 'Content-Length': 0 });
        res.end();
      }
      setTimeout(() => req.socket.destroy(), 1000).unref();
      reject(new BodyTooLarge());
    };
    if (declared > max) return refuse();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) return refuse();
      chunks.push(c);
    });
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  // Timestamps go as epoch seconds, as the AWS SDKs send and read them (Date.toJSON runs before a replacer sees the value).
  const body = Buffer.from(JSON.stringify(value, function (this: Record<string, unknown>, k, v) {
    const raw = this[k];
    return raw instanceof Date ? raw.getTime() / 1000 : v;
  }), 'utf8');
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}

/** An AWS error as Kinesis Video sends it: `x-amzn-ErrorType`, the modelled status, `{"Message": ...}`. */
export function sendRestError(res: http.ServerResponse, err: AwsError): void {
  res.setHeader('x-amzn-ErrorType', err.type);
  sendJson(res, err.status, err instanceof AuthError ? { message: err.message } : { Message: err.message });
}

/** Writes a streamed body chunk by chunk, waiting for drain; stops and cancels when the client goes. */
async function pipeStream(res: http.ServerResponse, s: RestStream, signal: AbortSignal): Promise<void> {
  res.writeHead(200, { 'Content-Type': s.contentType, ...(s.headers ?? {}) });
  // A live answer may have no body for a while; the client gets its status at once.
  res.flushHeaders();
  const onAbort = () => s.cancel?.();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of s.body) {
      if (signal.aborted) break;
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.once('drain', done);
          res.once('close', done);
        });
      }
    }
    if (!signal.aborted) res.end();
  } finally {
    signal.removeEventListener('abort', onAbort);
    s.cancel?.();
  }
}
