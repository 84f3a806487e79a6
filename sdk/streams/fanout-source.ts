/**
 * FanOutShardSource: reads a shard with enhanced fan-out. It speaks
 * SubscribeToShard itself over one HTTP/2 connection (SigV4-signed, the
 * gateway's CA trusted), decodes the event stream (sdk/protocol/event-stream.ts)
 * and, each time a subscription ends (the service ends them after 5
 * minutes), subscribes again AFTER the last ContinuationSequenceNumber, so
 * no record is lost or repeated across renewals. The last event of a closed
 * shard carries its children; the read then ends with them.
 *
 * The consumer is registered on first use (RegisterStreamConsumer, then
 * waiting for ACTIVE) unless an ARN is given. Like the KCL, a subscription
 * refused with ResourceInUseException (another one is live, or one began
 * less than 5 s ago) is retried with backoff.
 */
import http2 from 'node:http2';
import { JsonRpcClient, type Credentials } from '../http/json-rpc-client.ts';
import { AwsError, TributaryError, type AwsErrorType } from '../protocol/errors.ts';
import { EventStreamDecoder, type EventMessage } from '../protocol/event-stream.ts';
import { signRequest } from '../protocol/sigv4.ts';
import type { ChildShardRef, ShardBatch, ShardSource, StartPosition, StreamRecord } from './shard-source.ts';

export interface FanOutShardSourceOptions {
  endpoint: string;
  region: string;
  credentials: Credentials;
  /** PEM CA certificate(s) to trust (the gateway's own CA). */
  ca?: string;
  /** Client certificate and key (PEM) for gateways that require mutual TLS. */
  cert?: string;
  key?: string;
  /** The consumer to read as: registered on each stream on first use unless `consumerArn` is given. */
  consumerName: string;
  /** Use this registered consumer (of the one stream it belongs to) instead of registering by name. */
  consumerArn?: string;
  /** Consecutive failed subscriptions before `read` gives up and throws. */
  attemptsMax?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How long to wait for a new consumer to become ACTIVE. */
  consumerActiveTimeoutMs?: number;
}

const attemptsMaxDefault = 12;
const retryBaseMsDefault = 200;
const retryMaxMsDefault = 5000;
const consumerActiveTimeoutMsDefault = 60_000;

/** Errors that a retry will not fix: the caller must hear about them. */
const permanentErrors = new Set(['ResourceNotFoundException', 'AccessDeniedException', 'InvalidArgumentException', 'ValidationException', 'UnrecognizedClientException', 'KMSAccessDeniedException']);

/** The wire `Consumer` / `ConsumerDescription`. */
export interface ConsumerDescription {
  ConsumerName: string;
  ConsumerARN: string;
  ConsumerStatus: 'CREATING' | 'ACTIVE' | 'DELETING';
  ConsumerCreationTimestamp: number;
  StreamARN?: string;
}

interface WireRecord {
  SequenceNumber: string;
  ApproximateArrivalTimestamp: number;
  Data: string;
  PartitionKey: string;
  EncryptionType?: string;
}

interface WireEvent {
  Records: WireRecord[];
  ContinuationSequenceNumber?: string;
  MillisBehindLatest?: number;
  ChildShards?: Array<{ ShardId: string; ParentShards: string[] }>;
}

/**
 * @example
 * const source = new FanOutShardSource({ endpoint, region: 'us-east-1', credentials, ca, consumerName: 'billing' });
 * for await (const batch of source.read('telemetry', 'shardId-000000000000', { type: 'LATEST' }, AbortSignal.timeout(60_000))) {
 *   console.log(batch.records.length, batch.millisBehindLatest);
 * }
 * source.close();
 */
export class FanOutShardSource implements ShardSource {
  private readonly client: JsonRpcClient;
  private readonly url: URL;
  private session: http2.ClientHttp2Session | undefined;
  private readonly consumers = new Map<string, Promise<string>>();
  private readonly attemptsMax: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;

  constructor(private readonly o: FanOutShardSourceOptions) {
    this.url = new URL(o.endpoint);
    this.client = new JsonRpcClient({
      endpoint: o.endpoint, region: o.region, service: 'kinesis', targetPrefix: 'Kinesis_20131202', credentials: o.credentials,
      ...(o.ca ? { ca: o.ca } : {}), ...(o.cert ? { cert: o.cert, key: o.key } : {}),
    });
    this.attemptsMax = o.attemptsMax ?? attemptsMaxDefault;
    this.retryBaseMs = o.retryBaseMs ?? retryBaseMsDefault;
    this.retryMaxMs = o.retryMaxMs ?? retryMaxMsDefault;
  }

  async *read(stream: string, shardId: string, start: StartPosition, signal: AbortSignal): AsyncIterable<ShardBatch> {
    try {
      yield* this.subscriptions(stream, shardId, start, signal);
    } catch (err) {
      // An abort ends the read quietly, whatever call it interrupted.
      if (!signal.aborted) throw err;
    }
  }

  private async *subscriptions(stream: string, shardId: string, start: StartPosition, signal: AbortSignal): AsyncIterable<ShardBatch> {
    const consumerArn = await this.consumerArnFor(stream);
    let position = start;
    for (let attempt = 1; !signal.aborted; ) {
      try {
        for await (const event of this.subscribe(consumerArn, shardId, position, signal)) {
          attempt = 1;
          const records = event.Records.map(fromWire);
          const millisBehindLatest = event.MillisBehindLatest ?? 0;
          if (event.ChildShards !== undefined && event.ContinuationSequenceNumber === undefined) {
            const childShards: ChildShardRef[] = event.ChildShards.map((c) => ({ shardId: c.ShardId, parentShards: c.ParentShards }));
            yield { records, millisBehindLatest, childShards };
            return;
          }
          if (event.ContinuationSequenceNumber !== undefined) position = { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: event.ContinuationSequenceNumber };
          // Empty events (the service's heartbeats) are passed on too: the consumer checkpoints and checks its lease on them.
          yield { records, millisBehindLatest };
        }
        // The subscription's lifetime ended: renew at once from where it stopped.
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof AwsError && permanentErrors.has(err.type)) throw err;
        if (attempt >= this.attemptsMax) throw err;
        const capMs = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (attempt - 1));
        attempt++;
        await sleep(capMs / 2 + Math.random() * (capMs / 2), signal);
      }
    }
  }

  /** One subscription: its SubscribeToShardEvents until the service ends the stream; exceptions in the stream are thrown. */
  private async *subscribe(consumerArn: string, shardId: string, p: StartPosition, signal: AbortSignal): AsyncIterable<WireEvent> {
    const startingPosition: Record<string, unknown> = { Type: p.type };
    if (p.type === 'AT_SEQUENCE_NUMBER' || p.type === 'AFTER_SEQUENCE_NUMBER') startingPosition.SequenceNumber = p.sequenceNumber;
    if (p.type === 'AT_TIMESTAMP') startingPosition.Timestamp = p.timestampMs / 1000;
    const body = Buffer.from(JSON.stringify({ ConsumerARN: consumerArn, ShardId: shardId, StartingPosition: startingPosition }), 'utf8');
    const headers = signRequest({
      method: 'POST', url: new URL('/', this.url), body,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.SubscribeToShard' },
      accessKeyId: this.o.credentials.accessKeyId, secretAccessKey: this.o.credentials.secretAccessKey,
      region: this.o.region, service: 'kinesis', now: Date.now(),
    });
    const req = this.connect().request({ ':method': 'POST', ':path': '/', ...headers, 'content-length': String(body.length) });
    const cancel = () => req.close(http2.constants.NGHTTP2_CANCEL);
    signal.addEventListener('abort', cancel, { once: true });
    try {
      req.end(body);
      const responseHeaders = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        req.once('response', resolve);
        req.once('error', reject);
        req.once('close', () => reject(new TributaryError('SUBSCRIPTION_CLOSED', 'the subscription stream closed before its response')));
      });
      const status = Number(responseHeaders[':status']);
      if (status !== 200) {
        const text = (await collect(req)).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : {};
        } catch {
          parsed = { message: text };
        }
        throw AwsError.parse(status, parsed, responseHeaders['x-amzn-errortype'] as string | undefined);
      }
      const decoder = new EventStreamDecoder();
      for await (const chunk of req as AsyncIterable<Buffer>) {
        for (const message of decoder.push(chunk)) {
          const event = eventOf(message);
          if (event) yield event;
        }
      }
      decoder.finish();
    } finally {
      signal.removeEventListener('abort', cancel);
      if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
    }
  }

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect(this.url, {
      ...(this.o.ca ? { ca: this.o.ca } : {}), ...(this.o.cert ? { cert: this.o.cert, key: this.o.key } : {}),
    });
    // A failed connection fails its streams; the next subscription opens a new one.
    session.on('error', () => undefined);
    session.once('close', () => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    return session;
  }

  /** The consumer ARN for a stream: the configured one, or the named consumer, registered if needed and ACTIVE. */
  consumerArnFor(stream: string): Promise<string> {
    if (this.o.consumerArn) return Promise.resolve(this.o.consumerArn);
    let p = this.consumers.get(stream);
    if (!p) {
      p = this.ensureConsumer(stream, this.o.consumerName);
      p.catch(() => this.consumers.delete(stream));
      this.consumers.set(stream, p);
    }
    return p;
  }

  private async ensureConsumer(stream: string, name: string): Promise<string> {
    const summary = await this.client.call<{ StreamDescriptionSummary: { StreamARN: string } }>('DescribeStreamSummary', { StreamName: stream });
    const streamArn = summary.StreamDescriptionSummary.StreamARN;
    let consumer: ConsumerDescription;
    try {
      consumer = await this.describeConsumer({ StreamARN: streamArn, ConsumerName: name });
    } catch (err) {
      if (!(err instanceof AwsError && err.type === 'ResourceNotFoundException')) throw err;
      consumer = await this.registerConsumer(streamArn, name);
    }
    const deadline = Date.now() + (this.o.consumerActiveTimeoutMs ?? consumerActiveTimeoutMsDefault);
    while (consumer.ConsumerStatus !== 'ACTIVE') {
      if (consumer.ConsumerStatus === 'DELETING' || Date.now() > deadline) {
        throw new TributaryError('CONSUMER_NOT_ACTIVE', `consumer ${name} of stream ${stream} is ${consumer.ConsumerStatus}`);
      }
      await sleep(100);
      consumer = await this.describeConsumer({ ConsumerARN: consumer.ConsumerARN });
    }
    return consumer.ConsumerARN;
  }

  /** RegisterStreamConsumer: the new consumer (CREATING). */
  async registerConsumer(streamArn: string, consumerName: string): Promise<ConsumerDescription> {
    const out = await this.client.call<{ Consumer: ConsumerDescription }>('RegisterStreamConsumer', { StreamARN: streamArn, ConsumerName: consumerName });
    return out.Consumer;
  }

  /** DescribeStreamConsumer, by `ConsumerARN` or by `StreamARN` and `ConsumerName`. */
  async describeConsumer(by: { ConsumerARN: string } | { StreamARN: string; ConsumerName: string }): Promise<ConsumerDescription> {
    const out = await this.client.call<{ ConsumerDescription: ConsumerDescription }>('DescribeStreamConsumer', by);
    return out.ConsumerDescription;
  }

  /** DeregisterStreamConsumer; its subscriptions end. */
  async deregisterConsumer(consumerArn: string): Promise<void> {
    await this.client.call('DeregisterStreamConsumer', { ConsumerARN: consumerArn });
    for (const [stream, p] of this.consumers) if ((await p.catch(() => undefined)) === consumerArn) this.consumers.delete(stream);
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
    this.client.close();
  }
}

/** A SubscribeToShardEvent, undefined for the initial response and unknown events; throws exceptions sent in the stream. */
function eventOf(message: EventMessage): WireEvent | undefined {
  const h = message.headers;
  const text = Buffer.from(message.body).toString('utf8');
  if (h[':message-type'] === 'exception') {
    const body = text ? (JSON.parse(text) as { message?: string }) : {};
    throw new AwsError(String(h[':exception-type']) as AwsErrorType, body.message);
  }
  if (h[':message-type'] === 'error') throw new AwsError(String(h[':error-code']) as AwsErrorType, String(h[':error-message'] ?? ''));
  if (h[':message-type'] !== 'event' || h[':event-type'] !== 'SubscribeToShardEvent') return undefined;
  return JSON.parse(text) as WireEvent;
}

function fromWire(r: WireRecord): StreamRecord {
  return {
    sequenceNumber: r.SequenceNumber,
    partitionKey: r.PartitionKey,
    data: Buffer.from(r.Data, 'base64'),
    approximateArrivalTimestampMs: Math.round(Number(r.ApproximateArrivalTimestamp) * 1000),
    ...(r.EncryptionType ? { encryptionType: r.EncryptionType } : {}),
  };
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
