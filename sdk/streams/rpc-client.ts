/**
 * A minimal Kinesis Data Streams JSON 1.1 client on `fetch`, for the CLI and
 * device apps that want no AWS SDK. It speaks the same wire format the
 * gateway serves and turns error bodies back into `AwsError`s.
 *
 * @example
 * const client = new StreamsRpcClient({ endpoint: 'http://127.0.0.1:4567' });
 * await client.call('ListStreams', {});
 */
import { AwsError } from '../protocol/errors.ts';

export interface StreamsRpcClientOptions {
  endpoint: string;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Extra headers (authentication, once the gateway requires it). */
  headers?: Record<string, string>;
}

export class StreamsRpcClient {
  private readonly endpoint: string;
  constructor(private readonly options: StreamsRpcClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '') + '/';
  }

  /** Calls `Kinesis_20131202.<action>`; blobs in `input` must already be base64 strings. */
  async call<T = Record<string, unknown>>(action: string, input: Record<string, unknown>): Promise<T> {
    const res = await fetch(this.endpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': `Kinesis_20131202.${action}`,
        ...this.options.headers,
      },
      body: JSON.stringify(input),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = { message: text };
    }
    if (!res.ok) throw AwsError.parse(res.status, body, res.headers.get('x-amzn-errortype') ?? undefined);
    return body as T;
  }
}
