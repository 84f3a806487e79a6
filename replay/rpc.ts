/**
 * A signed JSON 1.1 client that sends pre-built request bodies (replay
 * builds PutRecords bodies by concatenating the base64 it read, without an
 * object tree), with a keep-alive pool sized for the lanes.
 */
import http from 'node:http';
import https from 'node:https';
import { AwsError } from '../sdk/protocol/errors.ts';
import { signRequest } from '../sdk/protocol/sigv4.ts';
import { RetryableError } from './types.ts';

export interface RpcOptions {
  endpoint: string;
  region: string;
  service: 'kinesis' | 'firehose';
  targetPrefix: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  ca?: string;
  /** Client certificate and key (PEM) for gateways that require mutual TLS. */
  cert?: string;
  key?: string;
  sockets: number;
  timeoutMs?: number;
}

/** Request-level errors a resend can fix. */
const retryableTypes = new Set(['ProvisionedThroughputExceededException', 'LimitExceededException', 'ServiceUnavailableException', 'InternalFailure', 'KMSThrottlingException', 'ThrottlingException']);
const throttleTypes = new Set(['ProvisionedThroughputExceededException', 'LimitExceededException', 'ServiceUnavailableException', 'KMSThrottlingException', 'ThrottlingException']);

export class RawRpc {
  private readonly url: URL;
  private readonly agent: http.Agent;

  constructor(private readonly o: RpcOptions) {
    this.url = new URL(o.endpoint);
    this.agent = this.url.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, maxSockets: o.sockets, ...(o.ca ? { ca: o.ca } : {}), ...(o.cert ? { cert: o.cert, key: o.key } : {}) })
      : new http.Agent({ keepAlive: true, maxSockets: o.sockets });
  }

  /**
   * POSTs `body`; resolves with the parsed answer. Transport failures, 5xx
   * and throttling answers throw RetryableError; other AWS errors throw
   * AwsError (the run stops: a resend cannot fix them).
   */
  async call<T>(action: string, body: Buffer, extraHeaders: Record<string, string> = {}): Promise<T> {
    const headers = signRequest({
      method: 'POST', url: new URL('/', this.url), body,
      headers: { ...extraHeaders, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${this.o.targetPrefix}.${action}` },
      accessKeyId: this.o.credentials.accessKeyId, secretAccessKey: this.o.credentials.secretAccessKey,
      region: this.o.region, service: this.o.service, now: Date.now(),
    });
    const mod = this.url.protocol === 'https:' ? https : http;
    const timeoutMs = this.o.timeoutMs ?? 60_000;
    let reply: { status: number; text: string; errorType?: string };
    try {
      reply = await new Promise((resolve, reject) => {
        const req = mod.request(
          { host: this.url.hostname, port: this.url.port, path: '/', method: 'POST', agent: this.agent, headers: { ...headers, 'content-length': String(body.length) }, timeout: timeoutMs },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), errorType: res.headers['x-amzn-errortype'] as string | undefined }));
            res.on('error', reject);
          },
        );
        req.once('timeout', () => req.destroy(new Error(`no answer from ${this.url.host} within ${timeoutMs} ms`)));
        req.once('error', reject);
        req.end(body);
      });
    } catch (err) {
      throw new RetryableError(`${action}: ${(err as Error).message}`, false, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = reply.text ? JSON.parse(reply.text) : {};
    } catch {
      parsed = { message: reply.text };
    }
    if (reply.status === 200) return parsed as T;
    const err = AwsError.parse(reply.status, parsed, reply.errorType);
    if (reply.status >= 500 || retryableTypes.has(err.type)) throw new RetryableError(`${action}: ${err.type}: ${err.message}`, throttleTypes.has(err.type), { cause: err });
    throw err;
  }

  close(): void {
    this.agent.destroy();
  }
}
