/**
 * A small signed client for the Kinesis Video archived-media API (REST-JSON,
 * signing name `kinesisvideo`) on node:http/https, so that a private CA (the
 * gateway's) can be trusted per client: session URLs, clips and images. The
 * stock @aws-sdk/client-kinesis-video-archived-media works too; this one
 * keeps the CLI and devices free of the AWS SDK.
 *
 * @example
 * const client = new ArchivedMediaClient({ endpoint: 'https://127.0.0.1:4567', region: 'us-east-1', credentials, ca });
 * const { HLSStreamingSessionURL } = await client.call('/getHLSStreamingSessionURL', { StreamName: 'cam-1', PlaybackMode: 'LIVE' });
 * const mp4 = await client.clip({ StreamName: 'cam-1', ClipFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: 1767000000, EndTimestamp: 1767000060 } } });
 */
import http from 'node:http';
import https from 'node:https';
import { AwsError } from '../protocol/errors.ts';
import { signRequest } from '../protocol/sigv4.ts';

export interface ArchivedMediaClientOptions {
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

/** The paths of the archived-media actions this client calls. */
export type ArchivedMediaPath = '/getHLSStreamingSessionURL' | '/getDASHStreamingSessionURL' | '/getImages' | '/getClip' | '/listFragments';

export class ArchivedMediaClient {
  private readonly url: URL;
  private readonly agent: http.Agent;

  constructor(private readonly o: ArchivedMediaClientOptions) {
    this.url = new URL(o.endpoint);
    this.agent = this.url.protocol === 'https:' ? new https.Agent({ keepAlive: true, ...(o.ca ? { ca: o.ca } : {}), ...(o.cert ? { cert: o.cert, key: o.key } : {}) }) : new http.Agent({ keepAlive: true });
  }

  /** A JSON action; timestamps in the input are epoch seconds, as the AWS SDKs send them. */
  async call<T = Record<string, unknown>>(path: ArchivedMediaPath, input: unknown): Promise<T> {
    const { body } = await this.post(path, input);
    return (body.length ? JSON.parse(body.toString('utf8')) : {}) as T;
  }

  /** GetClip: the MP4 bytes. */
  async clip(input: unknown): Promise<Buffer> {
    return (await this.post('/getClip', input)).body;
  }

  private post(path: ArchivedMediaPath, input: unknown): Promise<{ body: Buffer; contentType: string | undefined }> {
    const body = Buffer.from(JSON.stringify(input), 'utf8');
    const target = new URL(path, this.url);
    const headers = signRequest({
      method: 'POST', url: target, headers: { 'content-type': 'application/json' }, body,
      accessKeyId: this.o.credentials.accessKeyId, secretAccessKey: this.o.credentials.secretAccessKey, region: this.o.region, service: 'kinesisvideo', now: Date.now(),
    });
    const mod = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        { host: this.url.hostname, port: this.url.port, path, method: 'POST', agent: this.agent, headers: { ...headers, 'content-length': String(body.length) }, timeout: this.o.timeoutMs ?? 60_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const data = Buffer.concat(chunks);
            if (res.statusCode === 200) return resolve({ body: data, contentType: res.headers['content-type'] });
            let parsed: unknown;
            try {
              parsed = JSON.parse(data.toString('utf8'));
            } catch {
              parsed = { message: data.toString('utf8') };
            }
            reject(AwsError.parse(res.statusCode ?? 0, parsed, res.headers['x-amzn-errortype'] as string | undefined));
          });
        },
      );
      req.once('timeout', () => req.destroy(new Error(`no answer from ${this.url.host} within ${this.o.timeoutMs ?? 60_000} ms`)));
      req.once('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
