/**
 * A small signed client for AWS-style JSON 1.1 RPC services (Kinesis,
 * Firehose, the gateway's admin API), on node:http/https so that a private
 * CA and client certificates (mutual TLS) can be given per client. Errors
 * come back as `AwsError`s.
 *
 * @example
 * const client = new JsonRpcClient({
 *   endpoint: 'https://127.0.0.1:4567', region: 'us-east-1', service: 'kinesis',
 *   targetPrefix: 'Kinesis_20131202', credentials: { accessKeyId, secretAccessKey }, ca,
 * });
 * const { StreamNames } = await client.call('ListStreams', {});
 */
import http from 'node:http';
import https from 'node:https';
import { AwsError } from '../protocol/errors.ts';
import { signRequest } from '../protocol/sigv4.ts';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface JsonRpcClientOptions {
  endpoint: string;
  region: string;
  /** SigV4 signing name: `kinesis`, `firehose`, `tributary`. */
  service: string;
  /** `Kinesis_20131202` and the like. */
  targetPrefix: string;
  credentials?: Credentials;
  /** PEM CA certificate(s) to trust for https endpoints (the gateway's own CA). */
  ca?: string;
  /** Client certificate and key (PEM) for gateways that require mutual TLS. */
  cert?: string;
  key?: string;
  timeoutMs?: number;
  now?: () => number;
}

export class JsonRpcClient {
  private readonly url: URL;
  private readonly agent: http.Agent;

  constructor(private readonly o: JsonRpcClientOptions) {
    this.url = new URL(o.endpoint);
    this.agent = this.url.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, ...(o.ca ? { ca: o.ca } : {}), ...(o.cert ? { cert: o.cert, key: o.key } : {}) })
      : new http.Agent({ keepAlive: true });
  }

  /** One signed call; `extraHeaders` (lower-case names) are sent and signed too. */
  async call<T = Record<string, unknown>>(action: string, input: unknown, extraHeaders: Record<string, string> = {}): Promise<T> {
    const body = Buffer.from(JSON.stringify(input), 'utf8');
    let headers: Record<string, string> = {
      ...extraHeaders,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `${this.o.targetPrefix}.${action}`,
    };
    if (this.o.credentials) {
      headers = signRequest({
        method: 'POST', url: new URL('/', this.url), headers, body,
        accessKeyId: this.o.credentials.accessKeyId, secretAccessKey: this.o.credentials.secretAccessKey,
        region: this.o.region, service: this.o.service, now: (this.o.now ?? Date.now)(),
      });
    }
    const mod = this.url.protocol === 'https:' ? https : http;
    const { status, text, errorType } = await new Promise<{ status: number; text: string; errorType?: string }>((resolve, reject) => {
      const req = mod.request(
        { host: this.url.hostname, port: this.url.port, path: '/', method: 'POST', agent: this.agent, headers: { ...headers, 'content-length': String(body.length) }, timeout: this.o.timeoutMs ?? 30_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), errorType: res.headers['x-amzn-errortype'] as string | undefined }));
          res.on('error', reject);
        },
      );
      req.once('timeout', () => req.destroy(new Error(`no answer from ${this.url.host} within ${this.o.timeoutMs ?? 30_000} ms`)));
      req.once('error', reject);
      req.end(body);
    });
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { message: text };
    }
    if (status !== 200) throw AwsError.parse(status, parsed, errorType);
    return parsed as T;
  }

  close(): void {
    this.agent.destroy();
  }
}
