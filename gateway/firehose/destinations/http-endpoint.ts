/**
 * One delivery request to an HTTP endpoint, as the Firehose developer
 * guide's "HTTP endpoint delivery request and response specifications"
 * defines it: a POST of `{requestId, timestamp, records: [{data}]}` (base64
 * data) with the `X-Amz-Firehose-*` headers, optionally gzip-encoded; the
 * endpoint must answer 200 with `{requestId, timestamp}` naming the same
 * request id within 3 minutes. Anything else is a failed attempt, thrown as
 * an HttpEndpointError whose `code` is AWS's error code
 * (`HttpEndpoint.DestinationException`, ...), which the error output records.
 */
import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { TributaryError } from '../../../sdk/protocol/errors.ts';
import * as limits from '../../../sdk/protocol/firehose/limits.ts';
import type { HttpEndpointWire } from '../http-endpoint-model.ts';

const gzip = promisify(zlib.gzip);

/** AWS's error codes for HTTP endpoint delivery (Developer Guide, Troubleshooting HTTP Endpoints). */
export type HttpEndpointErrorCode =
  | 'HttpEndpoint.DestinationException'
  | 'HttpEndpoint.InvalidResponseFromDestination'
  | 'HttpEndpoint.RequestTimeout'
  | 'HttpEndpoint.ConnectionFailed'
  | 'HttpEndpoint.ConnectionReset';

export class HttpEndpointError extends TributaryError {
  constructor(code: HttpEndpointErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'HttpEndpointError';
  }
}

export interface HttpDeliveryRequest {
  /** The same for every attempt of one request (the endpoint may deduplicate on it). */
  requestId: string;
  timestampMs: number;
  records: Buffer[];
  sourceArn: string;
}

/** The request's headers and body (pure: exported for tests). */
export async function buildRequest(config: HttpEndpointWire, req: HttpDeliveryRequest): Promise<{ headers: Record<string, string>; body: Buffer }> {
  const json = JSON.stringify({ requestId: req.requestId, timestamp: req.timestampMs, records: req.records.map((d) => ({ data: d.toString('base64') })) });
  const gzipped = config.RequestConfiguration.ContentEncoding === 'GZIP';
  const body = gzipped ? await gzip(json) : Buffer.from(json);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'Content-Length': String(body.length),
    'X-Amz-Firehose-Protocol-Version': '1.0',
    'X-Amz-Firehose-Request-Id': req.requestId,
    'X-Amz-Firehose-Source-Arn': req.sourceArn,
  };
  if (gzipped) headers['Content-Encoding'] = 'gzip';
  const key = config.EndpointConfiguration.AccessKey;
  if (key !== undefined && key !== '') headers['X-Amz-Firehose-Access-Key'] = key;
  const attrs = config.RequestConfiguration.CommonAttributes ?? [];
  if (attrs.length) headers['X-Amz-Firehose-Common-Attributes'] = JSON.stringify({ commonAttributes: Object.fromEntries(attrs.map((a) => [a.AttributeName, a.AttributeValue])) });
  return { headers, body };
}

/** Sends one request; resolves once the endpoint acknowledged it, throws HttpEndpointError otherwise. */
export async function postRecords(config: HttpEndpointWire, req: HttpDeliveryRequest, options: { timeoutMs?: number; allowed?: (url: string) => boolean } = {}): Promise<void> {
  if (options.allowed && !options.allowed(config.EndpointConfiguration.Url)) {
    // A delivery stream made before the operator narrowed firehose.httpEndpointsAllowed: it is not posted to; its records
    // go to the error output once the retry duration runs out, as for an endpoint that cannot be reached.
    throw new HttpEndpointError('HttpEndpoint.ConnectionFailed', `The endpoint URL is not in this gateway's firehose.httpEndpointsAllowed; nothing was sent.`);
  }
  const { headers, body } = await buildRequest(config, req);
  const url = new URL(config.EndpointConfiguration.Url);
  const { status, text } = await send(url, headers, body, options.timeoutMs ?? limits.httpEndpointResponseTimeoutMs);
  if (status !== 200) {
    // AWS logs the status and a truncated answer; 2xx other than 200 fail too.
    throw new HttpEndpointError('HttpEndpoint.DestinationException', `The following response was received from the endpoint destination. ${status}: ${text.slice(0, 1024)}`);
  }
  let answer: { requestId?: unknown };
  try {
    answer = JSON.parse(text) as { requestId?: unknown };
  } catch (err) {
    throw new HttpEndpointError('HttpEndpoint.InvalidResponseFromDestination', 'The response received from the endpoint is not valid JSON.', { cause: err });
  }
  if (answer?.requestId !== req.requestId) {
    throw new HttpEndpointError('HttpEndpoint.InvalidResponseFromDestination', `The response received from the endpoint names request id ${JSON.stringify(answer?.requestId)}, not ${req.requestId}.`);
  }
}

function send(url: URL, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<{ status: number; text: string }> {
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const r = lib.request(url, { method: 'POST', headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limits.httpEndpointResponseBytesMax) {
          res.destroy();
          reject(new HttpEndpointError('HttpEndpoint.InvalidResponseFromDestination', `The response received from the endpoint is larger than ${limits.httpEndpointResponseBytesMax} bytes.`));
        } else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => reject(connectionError(err)));
    });
    r.on('timeout', () => r.destroy(new HttpEndpointError('HttpEndpoint.RequestTimeout', `The endpoint did not answer within ${timeoutMs} ms.`)));
    r.on('error', (err) => reject(err instanceof HttpEndpointError ? err : connectionError(err)));
    r.end(body);
  });
}

function connectionError(err: Error): HttpEndpointError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNRESET' || code === 'EPIPE') return new HttpEndpointError('HttpEndpoint.ConnectionReset', `The connection to the endpoint was reset (${code}).`, { cause: err });
  return new HttpEndpointError('HttpEndpoint.ConnectionFailed', `Could not connect to the endpoint: ${err.message}`, { cause: err });
}
