/**
 * The gateway's HTTP front door. Every request goes through the same fixed
 * order: size cap, method, target, content type, parse, authentication
 * (SigV4), shape check, authorization (policy), action. The order matters: it is the order in which AWS
 * reports problems, and it keeps hostile input from reaching the actions.
 *
 * Observed AWS behaviour this copies (via kinesalite, which records it):
 * a non-POST gets an XML AccessDeniedException; a body that is not JSON/CBOR
 * gets an XML UnknownOperationException with 404; an empty body gets a bare
 * SerializationException (or UnknownOperationException for an unknown
 * target); every response carries x-amzn-RequestId.
 */
import http from 'node:http';
import { CborError, cborDecode } from '../../sdk/protocol/cbor.ts';
import { AwsError } from '../../sdk/protocol/errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { crc32cRange } from '../storage/local/crc.ts';
import { ArrivalOrder } from './arrival-order.ts';
import { RequestIds } from './request-ids.ts';
import { accessKeyIdOf, offloadError, type OffloadJob } from './offload.ts';
import { offloadedInput, prepareOffloaded, type OffloadKind } from './offload-kinds.ts';
import type { OffloadPool } from './offload-pool.ts';
import { contentTypeEventStream, EventStreamReply } from './event-stream-reply.ts';
import { admitClientCertificate, checkCertificateBinding, type CertificateOwnerOf } from './client-certificate.ts';
import { addressKey, bodyIdleMsMax, Budget, readBody, unauthenticatedBodyBytesMax, unauthenticatedBodyMsMax, unauthenticatedBytesInFlightMax } from './admission.ts';
import { validateInput, type StructureShape } from './validate.ts';
import { contentTypeCbor, contentTypeJson, encodeBody, jsonPiecesOf, type WireFormat } from './wire.ts';

/** Who made a request, once its signature checks out. */
export interface Caller {
  accessKeyId: string;
  name: string;
  kind: 'operator' | 'device';
}

/** Request details some actions use beyond their input. */
export interface RequestExtras {
  /** `X-Tributary-Idempotency-Key` (PutRecords); stock clients never send it. */
  idempotencyKey?: string;
  /** CRC-32C of the body, computed only when an idempotency key came with it. */
  bodyCrc?: number;
}

/** The extras of a request: read off its headers, hashing the body only when they ask for it. */
function extrasOf(req: http.IncomingMessage, body: Buffer): RequestExtras {
  const key = req.headers['x-tributary-idempotency-key'];
  if (typeof key !== 'string') return {};
  return { idempotencyKey: key, bodyCrc: crc32cRange(body, 0, body.length) };
}

/** A JSON-RPC service mounted on the front door (Data Streams now; Firehose and Analytics later). */
export interface RpcService {
  targetPrefix: string;
  /** The SigV4 signing name requests must be scoped to. */
  signingName: string;
  /** The service prefix of policy action names (`kinesis:PutRecord`). */
  iamPrefix: string;
  actions: Record<string, {
    shape: StructureShape;
    handle(input: Record<string, unknown>, caller: Caller, request: RequestExtras): unknown;
    offload?: boolean | OffloadKind;
    /** A write whose records must be applied in arrival order with the other ordered writes (arrival-order.ts); offloaded actions always are. */
    ordered?: boolean;
  }>;
  /** The resource a call acts on, for policies: `stream/<name>`, or `*` for account-level calls. */
  resourceOf(action: string, input: Record<string, unknown>): string;
  /** Further (action, resource) pairs a call touches and must be allowed (a delivery stream's source stream and buckets). */
  requirementsOf?(action: string, input: Record<string, unknown>): Array<{ action: string; resource: string }>;
}

/** Authentication and authorization, injected so the front door stays protocol-only. */
export interface Guard {
  authenticate(req: http.IncomingMessage, body: Buffer, service: RpcService): Caller;
  /** What can be checked before the body arrives (admission.ts): throws the AwsError authentication will end with. */
  authenticateHeaders(req: http.IncomingMessage, service: RpcService): void;
  /** For verification done elsewhere (the offload workers): the secret to check against, and the caller once checked. */
  secretOf(accessKeyId: string): string | undefined;
  callerOf(accessKeyId: string): Caller;
  region: string;
  /** Throws AccessDeniedException unless the caller's policy grants the action on the resource. */
  authorize(caller: Caller, action: string, resource: string): void;
}

export interface FrontDoorOptions {
  services: RpcService[];
  /** Larger bodies are refused with 413 before they are buffered whole. */
  requestBytesMax: number;
  /** Request body bytes held across all connections, charged as they arrive; past it, reading pauses (admission.ts). */
  requestBytesInFlightMax?: number;
  log: Logger;
  metrics: Metrics;
  guard: Guard;
  /** Workers for the CPU-heavy half of offloadable actions (PutRecords); none: all inline. */
  offloadPool?: OffloadPool;
  /**
   * Mutual TLS: requests other than the open routes need a client certificate
   * from the gateway's CA, issued to an active principal (this lookup), and
   * signed by that principal (client-certificate.ts).
   */
  clientCertificateOwner?: CertificateOwnerOf;
  /** Routes reachable without a client certificate under mutual TLS. */
  openRoutes?: string[];
  /** Extra routes by path (metrics, health, pairing); they do their own checks. */
  routes?: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>;
}

/** AWS refuses request bodies beyond this; PutRecords' 5 MiB of data is about 6.7 MiB as base64 JSON. */
export const requestBytesMaxDefault = 8 * 1024 * 1024;
/** Bounds the memory all clients together can make the gateway buffer: 16 maximal requests. */
export const requestBytesInFlightMaxDefault = 16 * requestBytesMaxDefault;

export function createFrontDoor(options: FrontDoorOptions): http.RequestListener {
  const targets = new Map<string, Target>();
  for (const svc of options.services) {
    for (const [action, impl] of Object.entries(svc.actions)) targets.set(`${svc.targetPrefix}.${action}`, { ...impl, service: svc, action });
  }
  const { log, metrics } = options;
  // Request memory (admission.ts): one budget for requests whose headers pass
  // authentication, a small one for the rest.
  const admitted = new Budget(options.requestBytesInFlightMax ?? requestBytesInFlightMaxDefault);
  const unauthenticated = new Budget(unauthenticatedBytesInFlightMax);
  // Writes apply in the order their bodies completed, whichever thread prepared them first.
  const arrivals = new ArrivalOrder();
  // Authenticated bodies of several chunks are gathered in buffers the offload workers hand back (buffer-pool.ts).
  const pool = options.offloadPool;
  const bodies = pool ? (size: number) => pool.bodies.take(size) : undefined;

  // x-amzn-RequestId and x-amz-id-2, cut from a block of random bytes drawn for many requests at once.
  const ids = new RequestIds();

  return (req, res) => {
    const started = process.hrtime.bigint();
    const requestId = ids.requestId();
    res.setHeader('x-amzn-RequestId', requestId);
    // kinesalite's captures: x-amz-id-2 decodes to 64-80 bytes, and a CORS preflight carries none.
    if (req.method !== 'OPTIONS' || !req.headers.origin) res.setHeader('x-amz-id-2', ids.extendedId());
    req.on('error', (err) => log.debug('request stream error', { requestId, err: err.message }));

    const pathname = (req.url ?? '/').split('?')[0]!;
    if (options.clientCertificateOwner && !options.openRoutes?.includes(pathname)) {
      const refusal = admitClientCertificate(req, options.clientCertificateOwner);
      if (refusal) {
        metrics.requestsCutOff.inc({ reason: 'client_certificate' });
        closeAfterResponse(req, res);
        return sendAwsError(res, 'json', refusal);
      }
    }
    const route = options.routes?.[pathname];
    if (route && (req.method === 'GET' || (req.method === 'POST' && !req.headers['x-amz-target']))) return route(req, res);

    // 1. Size cap: refuse before buffering when the length is declared (and, in readBody, once a body passes it).
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > options.requestBytesMax) return refuseTooLarge(req, res);

    const address = addressKey(req.socket.remoteAddress);
    const onBody = (body: Buffer) => {
      handle(req, res, body, requestId, started).catch((err) => {
        log.error('unhandled gateway error', { requestId, err: String((err as Error)?.stack ?? err) });
        if (!res.headersSent) sendAwsError(res, 'json', new AwsError('InternalFailure', undefined, 500));
      });
    };
    const onTimeout = () => {
      metrics.requestsCutOff.inc({ reason: 'body_timeout' });
      hangUp(req, res, 408);
    };
    // Who is asking, from the headers alone: a request that cannot pass
    // authentication gets only a small body, briefly; larger ones are answered
    // from their headers without reading the body.
    const refusal = refusalFromHeaders(req);
    if (refusal) {
      const answer = () => {
        metrics.requestsCutOff.inc({ reason: 'unauthenticated' });
        answerFromHeaders(req, res, refusal);
      };
      if (declared > unauthenticatedBodyBytesMax) return answer();
      return readBody(req, res, {
        budget: unauthenticated, address, bodyBytesMax: unauthenticatedBodyBytesMax, idleMsMax: unauthenticatedBodyMsMax, totalMsMax: unauthenticatedBodyMsMax,
        onTooLarge: answer, onTimeout, onBody,
      });
    }
    readBody(req, res, {
      budget: admitted, address, bodyBytesMax: options.requestBytesMax, idleMsMax: bodyIdleMsMax,
      onTooLarge: () => refuseTooLarge(req, res), onTimeout, onBody, ...(bodies ? { bufferFor: bodies } : {}),
    });
  };

  /** The error a request will get whatever its body, when its headers already fail authentication (or name no operation). */
  function refusalFromHeaders(req: http.IncomingMessage): AwsError | undefined {
    const target = targets.get(String(req.headers['x-amz-target'] ?? ''));
    if (!target || req.method !== 'POST') return new AwsError('UnknownOperationException');
    try {
      options.guard.authenticateHeaders(req, target.service);
      return undefined;
    } catch (err) {
      if (err instanceof AwsError) return err;
      throw err;
    }
  }

  /** Answers without the body: the protocol errors the headers determine, else the authentication error; then hangs up. */
  function answerFromHeaders(req: http.IncomingMessage, res: http.ServerResponse, refusal: AwsError): void {
    closeAfterResponse(req, res);
    const checked = protocolCheck(req, res, undefined);
    if (!checked) return;
    sendAwsError(res, checked.format, checked.target ? refusal : new AwsError('UnknownOperationException'));
  }

  /**
   * Steps 2 and 3, method, then target and content type: answers and returns
   * undefined when they fail. An empty body is judged here too (it depends on
   * the target), and the deprecated plain-JSON protocol's answer; everything
   * else about the body comes after. `body` is undefined when it was not read.
   */
  function protocolCheck(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer | undefined): { format: WireFormat; target: Target | undefined } | undefined {
    if (req.method === 'OPTIONS' && req.headers.origin) return void sendCorsPreflight(req, res);
    if (req.headers.origin) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Expose-Headers', 'x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date');
    }
    if (req.method !== 'POST') return void sendXmlError(res, 403, 'AccessDeniedException', 'Unable to determine service/operation name to be authorized');
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const format: WireFormat | undefined = contentType === contentTypeJson ? 'json' : contentType === contentTypeCbor ? 'cbor' : undefined;
    const targetHeader = String(req.headers['x-amz-target'] ?? '');
    const target = targets.get(targetHeader);
    const [service, operation] = targetHeader.split('.');
    if (body?.length === 0) {
      return void sendAwsError(res, format ?? 'cbor', new AwsError(target ? 'SerializationException' : 'UnknownOperationException'));
    }
    if (!format) {
      if (contentType === 'application/json') return void sendLegacyJson(res, body);
      if (!service || !operation) return void sendXmlError(res, 403, 'AccessDeniedException', 'Unable to determine service/operation name to be authorized');
      return void sendXmlError(res, 404, 'UnknownOperationException');
    }
    return { format, target };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, requestId: string, started: bigint): Promise<void> {
    // 2. Method, 3. target and content type.
    const proto = protocolCheck(req, res, body);
    if (!proto) return;
    const { format, target } = proto;
    if (target?.offload && format === 'json') return offloaded(req, res, body, target, requestId, started);

    // 4. Parse.
    let input: unknown;
    try {
      input = format === 'cbor' ? cborDecode(body) : JSON.parse(body.toString('utf8'));
    } catch (err) {
      if (!(err instanceof SyntaxError) && !(err instanceof CborError)) throw err;
      input = undefined;
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return sendAwsError(res, format, new AwsError('SerializationException'));
    }
    if (!target) return sendAwsError(res, format, new AwsError('UnknownOperationException'));

    // 5. Authentication, 6. shape check, 7. authorization, 8. the action.
    await runAction(res, format, target, requestId, started, async () => {
      const turn = target.ordered ? arrivals.take() : undefined;
      try {
        const caller = options.guard.authenticate(req, body, target.service);
        checkCertificateBinding(req, caller);
        const checked = validateInput(target.shape, input);
        authorizeAll(caller, target, checked);
        if (turn?.ready) await turn.ready;
        // The action appends synchronously when called; its answer waits for durability after the turn is done.
        return target.handle(checked, caller, extrasOf(req, body));
      } finally {
        turn?.done();
      }
    });
  }

  /** 7. Authorization: the call's own resource, then every other resource it touches (issue #11, item 3). */
  function authorizeAll(caller: Caller, target: Target, input: Record<string, unknown>): void {
    options.guard.authorize(caller, `${target.service.iamPrefix}:${target.action}`, target.service.resourceOf(target.action, input));
    for (const r of target.service.requirementsOf?.(target.action, input) ?? []) options.guard.authorize(caller, r.action, r.resource);
  }

  /** Runs an action's steps and answers: its output, or the AWS error (unexpected errors become InternalFailure); records metrics. */
  async function runAction(res: http.ServerResponse, format: WireFormat, target: Target, requestId: string, started: bigint, steps: () => Promise<unknown>): Promise<void> {
    let outcome = 'ok';
    let stream: EventStreamReply | undefined;
    let pieces: { size: number; pieces: Iterable<Buffer> } | undefined;
    try {
      const output = await steps();
      if (output instanceof EventStreamReply) stream = output;
      else if (format === 'json' && (pieces = jsonPiecesOf(output))) res.writeHead(200, { 'Content-Type': contentTypeJson, 'Content-Length': pieces.size });
      // Actions without an output shape (CreateStream, MergeShards, ...) answer 200 with an empty body, as AWS does.
      else if (output === undefined) sendEmpty(res, format);
      else sendBody(res, format, 200, output);
    } catch (err) {
      if (!(err instanceof AwsError)) {
        log.error('action failed', { requestId, action: target.action, err: String((err as Error)?.stack ?? err) });
        err = new AwsError('InternalFailure', undefined, 500);
      }
      outcome = (err as AwsError).type;
      sendAwsError(res, format, err as AwsError);
    } finally {
      metrics.requests.inc({ service: target.service.iamPrefix, action: target.action, outcome });
      metrics.requestSeconds.observe({ action: target.action }, Number(process.hrtime.bigint() - started) / 1e9);
    }
    if (stream) await pipeEventStream(res, stream, requestId);
    if (pieces) await writePieces(res, pieces.pieces, requestId);
  }

  /** Writes an answer piece by piece, the next one made only once the socket has taken the last (drain). */
  async function writePieces(res: http.ServerResponse, pieces: Iterable<Buffer>, requestId: string): Promise<void> {
    let closed = false;
    const onClose = () => (closed = true);
    res.once('close', onClose);
    try {
      for (const piece of pieces) {
        if (closed) return;
        if (!res.write(piece)) await drainOrClose(res);
      }
      if (!closed) res.end();
    } catch (err) {
      log.error('answer failed while being written', { requestId, err: String((err as Error)?.stack ?? err) });
      destroyResponse(res);
    } finally {
      res.off('close', onClose);
    }
  }

  /** Writes a streaming answer frame by frame, waiting for drain; cancels the source when the client goes. */
  async function pipeEventStream(res: http.ServerResponse, reply: EventStreamReply, requestId: string): Promise<void> {
    let closed = false;
    const onClose = () => {
      closed = true;
      reply.cancel();
    };
    res.once('close', onClose);
    res.writeHead(200, { 'Content-Type': contentTypeEventStream });
    try {
      for await (const frame of reply.frames) {
        if (closed) break;
        if (!res.write(frame)) await drainOrClose(res);
      }
      if (!closed) res.end();
    } catch (err) {
      log.error('event stream failed', { requestId, err: String((err as Error)?.stack ?? err) });
      destroyResponse(res);
    } finally {
      res.off('close', onClose);
      reply.cancel();
    }
  }

  /**
   * PutRecords and Firehose PutRecordBatch over JSON: parse, SigV4, shape
   * check, base64 (and PutRecords' MD5) run in an offload worker (or inline when the workers are busy) — the same steps in
   * the same order as the generic path; policy and the action stay here.
   */
  async function offloaded(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, target: Target, requestId: string, started: bigint): Promise<void> {
    await runAction(res, 'json', target, requestId, started, async () => {
      // The turn is taken as the body completes (this runs synchronously from onBody) and done once the records are appended.
      const turn = arrivals.take();
      let applied: { answer: unknown };
      try {
        applied = await prepareAndApply(turn.ready);
      } finally {
        turn.done();
      }
      return applied.answer;
    });

    /** Prepares the request (in a worker or here), waits for its turn, and applies it; the answer is left to settle. */
    async function prepareAndApply(ready: Promise<void> | undefined): Promise<{ answer: unknown }> {
      const url = req.url ?? '/';
      const accessKeyId = accessKeyIdOf(req.headers, url);
      const secret = accessKeyId ? options.guard.secretOf(accessKeyId) : undefined;
      const extras = extrasOf(req, body); // Before the body moves to a worker.
      const kind: OffloadKind = typeof target.offload === 'string' ? target.offload : 'kinesis.PutRecords';
      const job: OffloadJob = {
        method: req.method ?? 'POST', url, headers: { ...req.headers }, body,
        ...(accessKeyId ? { accessKeyId } : {}), ...(secret !== undefined ? { secret } : {}),
        service: target.service.signingName, region: options.guard.region, now: Date.now(), kind,
      };
      const queued = options.offloadPool?.run(job);
      const result = queued ? await queued : prepareOffloaded(job, target.shape);
      if (ready) await ready;
      if (!result.ok) throw offloadError(result);
      const caller = options.guard.callerOf(result.value.accessKeyId);
      checkCertificateBinding(req, caller);
      const input = offloadedInput(kind, result.value, pool && ((ab) => pool.recycleFrames(ab)));
      authorizeAll(caller, target, input);
      // Not awaited here: the action appends as it is called, and the turn passes on before durability.
      return { answer: target.handle(input, caller, extras) };
    }
  }
}

/** The action wrapper the front door keeps per target. */
type Target = RpcService['actions'][string] & { service: RpcService; action: string };

function sendBody(res: http.ServerResponse, format: WireFormat, status: number, value: unknown): void {
  const body = encodeBody(format, value);
  res.writeHead(status, { 'Content-Type': format === 'cbor' ? contentTypeCbor : contentTypeJson, 'Content-Length': body.length });
  res.end(body);
}

export function sendAwsError(res: http.ServerResponse, format: WireFormat, err: AwsError): void {
  res.setHeader('x-amzn-ErrorType', err.type);
  sendBody(res, format, err.status, err.toWire());
}

function sendEmpty(res: http.ServerResponse, format: WireFormat): void {
  res.writeHead(200, { 'Content-Type': format === 'cbor' ? contentTypeCbor : contentTypeJson, 'Content-Length': 0 });
  res.end();
}

/**
 * Plain `application/json` is AWS's deprecated protocol: kinesalite's captures
 * show a 200 whose body names the problem, `SerializationException` (with a
 * null `Message`) when the body is not a JSON object, otherwise
 * `UnknownOperationException` (with a null `message`); no action runs.
 */
function sendLegacyJson(res: http.ServerResponse, body: Buffer | undefined): void {
  // A body too large to read unauthenticated (admission.ts) is taken to be an object.
  let parsed: unknown = {};
  try {
    if (body) parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    parsed = undefined;
  }
  const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  const output = isObject
    ? { __type: 'com.amazon.coral.service#UnknownOperationException', message: null }
    : { __type: 'com.amazon.coral.service#SerializationException', Message: null };
  sendJsonRaw(res, 200, { Output: output, Version: '1.0' });
}

function sendJsonRaw(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendXmlError(res: http.ServerResponse, status: number, type: string, message?: string): void {
  const body = message === undefined ? `<${type}/>\n` : `<${type}>\n  <Message>${message}</Message>\n</${type}>\n`;
  res.writeHead(status, { 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function refuseTooLarge(req: http.IncomingMessage, res: http.ServerResponse): void {
  hangUp(req, res, 413);
}

/** Answers with an empty `status` and stops reading: the rest of the body never reaches memory. */
function hangUp(req: http.IncomingMessage, res: http.ServerResponse, status: number): void {
  if (res.headersSent) return void res.destroy();
  closeAfterResponse(req, res);
  res.writeHead(status, { 'Content-Length': 0 });
  res.end();
}

/**
 * Arranges for the connection (HTTP/1) or the stream (HTTP/2) to close once
 * the response is sent, for answers given without reading the body.
 */
function closeAfterResponse(req: http.IncomingMessage, res: http.ServerResponse): void {
  const h2stream = (req as unknown as { stream?: { close(code?: number): void } }).stream;
  if (req.httpVersionMajor === 2) {
    // Closing the stream (not the session) refuses the rest of this body only. NO_ERROR, as RFC 9113
    // section 8.1 asks after a complete response (and so that it never counts as a client's reset, connections.ts).
    res.once('finish', () => h2stream?.close(0x0));
    return;
  }
  res.setHeader('Connection', 'close');
  // The client may still be sending; it gets a second to read the answer.
  res.once('finish', () => setTimeout(() => req.socket.destroy(), 1000).unref());
}

function sendCorsPreflight(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  const h = req.headers['access-control-request-headers'];
  const m = req.headers['access-control-request-method'];
  if (h) res.setHeader('Access-Control-Allow-Headers', h);
  if (m) res.setHeader('Access-Control-Allow-Methods', m);
  res.setHeader('Access-Control-Max-Age', '172800');
  res.writeHead(200, { 'Content-Length': 0 });
  res.end();
}

/** Resolves once the socket has taken what was written (drain), or the client went (close). */
function drainOrClose(res: http.ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/** Cuts an answer short: an HTTP/2 compatibility response has no destroy(); its stream does. */
function destroyResponse(res: http.ServerResponse): void {
  const h2 = (res as unknown as { stream?: { destroy(): void } }).stream;
  if (h2) h2.destroy();
  else res.destroy();
}
