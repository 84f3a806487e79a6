/**
 * A small signed client for the Kinesis Video Streams control plane
 * (REST-JSON, signing name `kinesisvideo`: /createStream, /describeStream,
 * /listStreams, /deleteStream, ...) on node:http/https, so that the gateway's
 * own CA can be trusted per client. The CLI uses it; the stock
 * @aws-sdk/client-kinesis-video works just as well.
 *
 * @example
 * const client = new VideoClient({ endpoint: 'https://127.0.0.1:4567', region: 'us-east-1', credentials, ca });
 * const { StreamARN } = await client.call<{ StreamARN: string }>('/createStream', { StreamName: 'cam-1', DataRetentionInHours: 24 });
 * client.close();
 */
import http from 'node:http';
import https from 'node:https';
import { AwsError } from '../protocol/errors.ts';
import { signRequest } from '../protocol/sigv4.ts';

export interface VideoClientOptions {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** PEM CA certificate(s) to trust for https endpoints. */
  ca?: string;
  /** Client certificate and key (PEM) for gateways that require mutual TLS. */
  cert?: string;
  key?: string;
  timeoutMs?: number;
}

export class VideoClient {
  private readonly url: URL;
  private readonly agent: http.Agent;

  constructor(private readonly o: VideoClientOptions) {
    this.url = new URL(o.endpoint);
    this.agent = this.url.protocol === 'https:' ? new https.Agent({ keepAlive: true, ...(o.ca ? { ca: o.ca } : {}), ...(o.cert ? { cert: o.cert, key: o.key } : {}) }) : new http.Agent({ keepAlive: true });
  }

  /** One action by path (`/describeStream`); errors come back as AwsError. */
  call<T = Record<string, unknown>>(path: string, input: unknown): Promise<T> {
    const body = Buffer.from(JSON.stringify(input), 'utf8');
    const target = new URL(path, this.url);
    const headers = signRequest({
      method: 'POST', url: target, headers: { 'content-type': 'application/json' }, body,
      accessKeyId: this.o.credentials.accessKeyId, secretAccessKey: this.o.credentials.secretAccessKey, region: this.o.region, service: 'kinesisvideo', now: Date.now(),
    });
    const mod = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        { host: this.url.hostname, port: this.url.port, path, method: 'POST', agent: this.agent, headers: { ...headers, 'content-length': String(body.length) }, timeout: this.o.timeoutMs ?? 30_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = {};
            try {
              parsed = text ? JSON.parse(text) : {};
            } catch {
              parsed = { message: text };
            }
            if (res.statusCode === 200) resolve(parsed as T);
            else reject(AwsError.parse(res.statusCode ?? 0, parsed, res.headers['x-amzn-errortype'] as string | undefined));
          });
        },
      );
      req.once('timeout', () => req.destroy(new Error(`no answer from ${this.url.host} within ${this.o.timeoutMs ?? 30_000} ms`)));
      req.once('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
