/**
 * PollingShardSource: reads a shard the classic way, GetShardIterator once
 * and then GetRecords along the iterator chain, as the KCL's polling
 * retriever does. An iterator that expired (five minutes unused) is
 * re-obtained after the last sequence number delivered; throttling
 * (ProvisionedThroughputExceededException) and other transient failures back
 * off with jitter; the end of a closed shard (no NextShardIterator) yields
 * the shard's children.
 */
import { JsonRpcClient, type Credentials } from '../http/json-rpc-client.ts';
import { AwsError } from '../protocol/errors.ts';
import * as limits from '../protocol/streams/limits.ts';
import type { ChildShardRef, ShardBatch, ShardSource, StartPosition, StreamRecord } from './shard-source.ts';

export interface PollingShardSourceOptions {
  endpoint: string;
  region: string;
  credentials: Credentials;
  ca?: string;
  cert?: string;
  key?: string;
  /** Wait between GetRecords calls once caught up (the KCL's idleTimeBetweenReadsInMillis). */
  pollIntervalMs?: number;
  /** Records per GetRecords call (at most 10,000). */
  getRecordsLimit?: number;
  /** Consecutive failed calls before `read` gives up and throws. */
  attemptsMax?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export const pollIntervalMsDefault = 1000;
/** AWS Kinesis quotas: 5 GetRecords calls per second per shard, so never closer than 200 ms apart. */
export const readIntervalMsMin = 200;
const attemptsMaxDefault = 12;
const retryBaseMsDefault = 100;
const retryMaxMsDefault = 5000;

/** Errors that a retry will not fix: the caller must hear about them. */
const permanentErrors = new Set(['ResourceNotFoundException', 'AccessDeniedException', 'InvalidArgumentException', 'ValidationException', 'UnrecognizedClientException', 'KMSAccessDeniedException']);

interface WireRecord {
  SequenceNumber: string;
  ApproximateArrivalTimestamp: number;
  Data: string;
  PartitionKey: string;
  EncryptionType?: string;
}

interface GetRecordsOutput {
  Records: WireRecord[];
  NextShardIterator?: string;
  MillisBehindLatest?: number;
  ChildShards?: Array<{ ShardId: string; ParentShards: string[] }>;
}

/**
 * @example
 * const source = new PollingShardSource({ endpoint, region: 'us-east-1', credentials, pollIntervalMs: 500 });
 * for await (const batch of source.read('telemetry', 'shardId-000000000000', { type: 'TRIM_HORIZON' }, AbortSignal.timeout(10_000))) {
 *   console.log(batch.records.length, batch.millisBehindLatest);
 * }
 */
export class PollingShardSource implements ShardSource {
  private readonly client: JsonRpcClient;
  private readonly pollIntervalMs: number;
  private readonly limit: number;
  private readonly attemptsMax: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;

  constructor(o: PollingShardSourceOptions) {
    this.client = new JsonRpcClient({
      endpoint: o.endpoint, region: o.region, service: 'kinesis', targetPrefix: 'Kinesis_20131202', credentials: o.credentials,
      ...(o.ca ? { ca: o.ca } : {}), ...(o.cert ? { cert: o.cert, key: o.key } : {}),
    });
    this.pollIntervalMs = Math.max(readIntervalMsMin, o.pollIntervalMs ?? pollIntervalMsDefault);
    this.limit = o.getRecordsLimit ?? limits.getRecordsLimitMax;
    if (!Number.isInteger(this.limit) || this.limit < 1 || this.limit > limits.getRecordsLimitMax) throw new RangeError(`getRecordsLimit must be 1-${limits.getRecordsLimitMax}`);
    this.attemptsMax = o.attemptsMax ?? attemptsMaxDefault;
    this.retryBaseMs = o.retryBaseMs ?? retryBaseMsDefault;
    this.retryMaxMs = o.retryMaxMs ?? retryMaxMsDefault;
  }

  async *read(stream: string, shardId: string, start: StartPosition, signal: AbortSignal): AsyncIterable<ShardBatch> {
    try {
      yield* this.chain(stream, shardId, start, signal);
    } catch (err) {
      // An abort ends the read quietly, whatever call it interrupted.
      if (!signal.aborted) throw err;
    }
  }

  private async *chain(stream: string, shardId: string, start: StartPosition, signal: AbortSignal): AsyncIterable<ShardBatch> {
    let lastSequenceNumber: string | undefined;
    const position = (): StartPosition => (lastSequenceNumber ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: lastSequenceNumber } : start);
    let iterator = await this.retrying(signal, () => this.getIterator(stream, shardId, position()));
    while (iterator !== undefined && !signal.aborted) {
      const it: string = iterator;
      const out = await this.retrying(signal, async () => {
        try {
          return await this.client.call<GetRecordsOutput>('GetRecords', { ShardIterator: it, Limit: this.limit });
        } catch (err) {
          if (!(err instanceof AwsError && err.type === 'ExpiredIteratorException')) throw err;
          // The iterator outlived its five minutes: start a new chain where this one stopped.
          iterator = await this.getIterator(stream, shardId, position());
          return undefined;
        }
      });
      if (out === undefined) continue;
      const records = out.Records.map(fromWire);
      if (records.length > 0) lastSequenceNumber = records.at(-1)!.sequenceNumber;
      const millisBehindLatest = out.MillisBehindLatest ?? 0;
      if (out.NextShardIterator === undefined) {
        const childShards: ChildShardRef[] = (out.ChildShards ?? []).map((c) => ({ shardId: c.ShardId, parentShards: c.ParentShards }));
        yield { records, millisBehindLatest, childShards };
        return;
      }
      iterator = out.NextShardIterator;
      yield { records, millisBehindLatest };
      const caughtUp = records.length === 0 || millisBehindLatest === 0;
      await sleep(caughtUp ? this.pollIntervalMs : readIntervalMsMin, signal);
    }
  }

  close(): void {
    this.client.close();
  }

  private async getIterator(stream: string, shardId: string, p: StartPosition): Promise<string | undefined> {
    const input: Record<string, unknown> = { StreamName: stream, ShardId: shardId, ShardIteratorType: p.type };
    if (p.type === 'AT_SEQUENCE_NUMBER' || p.type === 'AFTER_SEQUENCE_NUMBER') input.StartingSequenceNumber = p.sequenceNumber;
    if (p.type === 'AT_TIMESTAMP') input.Timestamp = p.timestampMs / 1000;
    const out = await this.client.call<{ ShardIterator?: string }>('GetShardIterator', input);
    return out.ShardIterator;
  }

  /** Runs `f`, retrying throttling and transient failures with capped, jittered backoff; undefined when aborted. */
  private async retrying<T>(signal: AbortSignal, f: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await f();
      } catch (err) {
        if (signal.aborted) throw err;
        if (err instanceof AwsError && permanentErrors.has(err.type)) throw err;
        if (attempt >= this.attemptsMax) throw err;
        const capMs = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (attempt - 1));
        await sleep(capMs / 2 + Math.random() * (capMs / 2), signal);
        if (signal.aborted) throw new DOMException('aborted', 'AbortError');
      }
    }
  }
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

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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
