/** Raw HTTP/1.1 requests to a test gateway, signed with SigV4 as the AWS SDKs sign them unless asked not to. */
import http from 'node:http';
import { signRequest } from '../../sdk/protocol/sigv4.ts';
import { testOperator } from './gateway.ts';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Every header line as sent, for headers that may repeat. */
  rawHeaders: string[];
  body: Buffer;
}

export interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Leave the request unsigned (requests are SigV4-signed for `service` otherwise). */
  unsigned?: boolean;
  service?: string;
  /** Sign with these keys instead of the test operator's. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Sends one request on its own connection and resolves with the whole response. */
export function rawRequest(port: number, req: RawRequest): Promise<RawResponse> {
  const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
  let headers: Record<string, string | number> = { ...req.headers };
  if (!req.unsigned) {
    headers = signRequest({
      method: req.method ?? 'POST', url: new URL(`http://127.0.0.1:${port}${req.path ?? '/'}`), headers: { ...req.headers },
      body: body ?? Buffer.alloc(0), ...(req.credentials ?? testOperator), region: 'us-east-1', service: req.service ?? 'kinesis', now: Date.now(),
    });
    headers.host = `127.0.0.1:${port}`;
  }
  if (body) headers['Content-Length'] = body.length;
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, method: req.method ?? 'POST', path: req.path ?? '/', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
}

/** A signed JSON 1.1 call of a Data Streams action. */
export function callJson(port: number, action: string, input: unknown, extra: Partial<RawRequest> = {}): Promise<RawResponse> {
  return rawRequest(port, {
    ...extra,
    headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `Kinesis_20131202.${action}`, ...extra.headers },
    body: JSON.stringify(input),
  });
}
