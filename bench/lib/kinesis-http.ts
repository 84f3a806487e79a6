/**
 * A deliberately thin Kinesis JSON 1.1 client for load generation: node:http
 * (or node:https, HTTP/1.1 by ALPN, trusting one CA) with a keep-alive agent,
 * pre-built request bodies, SigV4 with each body's hash computed once, and no
 * SDK, so that the benchmark process spends its CPU on sending rather than on
 * serializing.
 */
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import { algorithm, amzDateOf, canonicalRequest, sha256Hex, signature, signingKey, stringToSign } from '../../sdk/protocol/sigv4.ts';

export const contentTypeJson = 'application/x-amz-json-1.1';
export const streamsTargetPrefix = 'Kinesis_20131202';
/** A request that takes longer than this is treated as a failure, so a hung server cannot hang the benchmark. */
const requestTimeoutMs = 30_000;
const signedHeaderNames = ['content-type', 'host', 'x-amz-date', 'x-amz-target'];

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/**
 * For servers that check no signature: kinesalite only insists that an
 * Authorization header with Credential, SignedHeaders and Signature and an
 * X-Amz-Date be present; the ceiling ignores them. Every server is still sent
 * a real signature, so the client does the same work against each.
 */
export const anyCredentials: Credentials = Object.freeze({ accessKeyId: 'AKIDBENCHMARK', secretAccessKey: 'benchmark', region: 'us-east-1' });

export interface Endpoint {
  port: number;
  credentials: Credentials;
  /** HTTPS to 127.0.0.1 (an IP SAN of the gateway's certificate, so no SNI), trusting only this CA; plain HTTP without it. */
  tls?: { ca: Buffer };
}

/** What a TLS connection negotiated, as seen by the client. */
export interface TlsInfo {
  alpnProtocol: string | false | null;
  protocol: string | null;
  cipher: string;
}

/** The only ALPN protocol the client offers: the load is HTTP/1.1 keep-alive for every server. */
const alpnProtocols = ['http/1.1'];

/** SigV4 in header form for POST / on one host, with the signing key and each body's hash cached. */
export class Signer {
  readonly #payloadHashes = new WeakMap<Buffer, string>();
  #second = -1;
  #amzDate = '';
  #key: Buffer = Buffer.alloc(0);
  #keyDate = '';

  constructor(
    readonly host: string,
    readonly credentials: Credentials,
  ) {}

  headers(target: string, body: Buffer): http.OutgoingHttpHeaders {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#amzDate = amzDateOf(second * 1000);
    }
    const amzDate = this.#amzDate;
    const date = amzDate.slice(0, 8);
    const { accessKeyId, secretAccessKey, region } = this.credentials;
    if (date !== this.#keyDate) {
      this.#key = signingKey(secretAccessKey, date, region, 'kinesis');
      this.#keyDate = date;
    }
    let payloadHash = this.#payloadHashes.get(body);
    if (payloadHash === undefined) {
      payloadHash = sha256Hex(body);
      this.#payloadHashes.set(body, payloadHash);
    }
    const headers = { 'content-type': contentTypeJson, host: this.host, 'x-amz-date': amzDate, 'x-amz-target': target };
    const canonical = canonicalRequest({ method: 'POST', path: '/', query: [], headers, signedHeaders: signedHeaderNames, payloadHash });
    const scope = `${date}/${region}/kinesis/aws4_request`;
    const sig = signature(this.#key, stringToSign(amzDate, scope, canonical));
    return {
      ...headers,
      authorization: `${algorithm} Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaderNames.join(';')}, Signature=${sig}`,
      'content-length': body.length,
    };
  }
}

export interface Reply {
  status: number;
  body: Buffer;
}

export class KinesisHttp {
  readonly agent: http.Agent;
  readonly port: number;
  /** Set from the first answer over TLS. */
  tlsInfo: TlsInfo | undefined;
  readonly #signer: Signer;
  readonly #request: typeof http.request;
  readonly #tls: boolean;

  constructor(endpoint: Endpoint, options: { socketsMax: number }) {
    this.port = endpoint.port;
    this.#tls = endpoint.tls !== undefined;
    if (endpoint.tls) {
      this.agent = new https.Agent({ keepAlive: true, maxSockets: options.socketsMax, ca: endpoint.tls.ca, ALPNProtocols: alpnProtocols });
      this.#request = https.request;
    } else {
      this.agent = new http.Agent({ keepAlive: true, maxSockets: options.socketsMax });
      this.#request = http.request;
    }
    this.#signer = new Signer(`127.0.0.1:${endpoint.port}`, endpoint.credentials);
  }

  /** POSTs a body, signed; resolves with any HTTP answer, rejects only on transport errors. */
  send(action: string, body: Buffer): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const headers = this.#signer.headers(`${streamsTargetPrefix}.${action}`, body);
      const req = this.#request({ host: '127.0.0.1', port: this.port, method: 'POST', path: '/', agent: this.agent, headers }, (res) => {
        if (this.#tls && this.tlsInfo === undefined) {
          const socket = res.socket as tls.TLSSocket;
          this.tlsInfo = { alpnProtocol: socket.alpnProtocol, protocol: socket.getProtocol(), cipher: socket.getCipher().name };
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.setTimeout(requestTimeoutMs, () => req.destroy(new Error(`${action} timed out after ${requestTimeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** A JSON call for setup steps; a non-200 answer throws with the body's text. */
  async call<T>(action: string, input: object): Promise<T> {
    const reply = await this.send(action, Buffer.from(JSON.stringify(input)));
    const text = reply.body.toString('utf8');
    if (reply.status !== 200) throw new Error(`${action} answered ${reply.status}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Creates a stream and polls DescribeStreamSummary until it is ACTIVE; over TLS, returns what the connection negotiated. */
export async function createStreamActive(endpoint: Endpoint, streamName: string, shardCount: number, timeoutMs: number): Promise<TlsInfo | undefined> {
  const client = new KinesisHttp(endpoint, { socketsMax: 1 });
  try {
    await client.call('CreateStream', { StreamName: streamName, ShardCount: shardCount });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await client.call<{ StreamDescriptionSummary: { StreamStatus: string } }>('DescribeStreamSummary', { StreamName: streamName });
      if (r.StreamDescriptionSummary.StreamStatus === 'ACTIVE') return client.tlsInfo;
      if (Date.now() > deadline) throw new Error(`stream ${streamName} still ${r.StreamDescriptionSummary.StreamStatus} after ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 25));
    }
  } finally {
    client.close();
  }
}

/** Error text for a report: the status and the start of the body, or the transport error. */
export function describeFailure(reply: Reply | Error): string {
  if (reply instanceof Error) return `${reply.name}: ${reply.message}${'code' in reply ? ` (${String(reply.code)})` : ''}`;
  return `HTTP ${reply.status}: ${reply.body.toString('utf8', 0, Math.min(reply.body.length, 300))}`;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}
