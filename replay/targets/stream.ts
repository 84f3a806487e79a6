/**
 * Replay into a data stream: PutRecords, one request in flight per lane,
 * each request under the idempotency key `<producer>/<batch>`
 * (X-Tributary-Idempotency-Key, gateway/streams/idempotency.ts) with one
 * producer id per run and lane, as the agent's uplink does: a request resent
 * after a crash is answered from the gateway's memory, never stored twice.
 */
import { idempotencyHeader } from '../../sdk/protocol/idempotency.ts';
import { putRecordsBytesMax, putRecordsEntriesMax } from '../../sdk/protocol/streams/limits.ts';
import { streamRecordProblem } from '../../sdk/protocol/capture.ts';
import { RawRpc } from '../rpc.ts';
import type { Outcome, ReplayRecord, ReplayTarget } from '../types.ts';

export interface GatewayAccess {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  ca?: string;
  /** Client certificate and key (PEM) for gateways that require mutual TLS. */
  cert?: string;
  key?: string;
}

/** Per-record error codes that a later resend can get through. */
export const retryableRecordErrors = new Set(['ProvisionedThroughputExceededException', 'InternalFailure', 'KMSThrottlingException', 'ServiceUnavailableException']);

interface PutRecordsAnswer {
  Records: Array<{ SequenceNumber?: string; ErrorCode?: string; ErrorMessage?: string }>;
}

export class StreamTarget implements ReplayTarget {
  readonly description: string;
  readonly batchRecordsMax = putRecordsEntriesMax;
  readonly batchBytesMax = putRecordsBytesMax;
  readonly exactlyOnce = true;
  private readonly rpc: RawRpc;
  private readonly streamJson: string;

  constructor(private readonly stream: string, access: GatewayAccess, readonly lanes: number, private readonly producerPrefix: string) {
    this.description = `stream ${stream}`;
    this.streamJson = JSON.stringify(stream);
    this.rpc = new RawRpc({ ...access, service: 'kinesis', targetPrefix: 'Kinesis_20131202', sockets: lanes });
  }

  problem(r: ReplayRecord): string | undefined {
    return streamRecordProblem(r);
  }

  state(): unknown {
    return null;
  }

  async send(lane: number, batch: number, records: ReplayRecord[]): Promise<Outcome[]> {
    const body = putRecordsBody(this.streamJson, records);
    const answer = await this.rpc.call<PutRecordsAnswer>('PutRecords', body, { [idempotencyHeader]: `${this.producerPrefix}.${lane}/${batch}` });
    if (!Array.isArray(answer.Records) || answer.Records.length !== records.length) throw new Error(`PutRecords answered ${answer.Records?.length ?? 'no'} results for ${records.length} records`);
    return answer.Records.map((r): Outcome => {
      if (r.ErrorCode === undefined && typeof r.SequenceNumber === 'string') return { kind: 'ok' };
      const reason = `${r.ErrorCode ?? 'InternalFailure'}: ${r.ErrorMessage ?? ''}`;
      return retryableRecordErrors.has(r.ErrorCode ?? 'InternalFailure') ? { kind: 'retry', reason } : { kind: 'rejected', reason };
    });
  }

  close(): void {
    this.rpc.close();
  }
}

/**
 * The PutRecords body, written into one buffer: the base64 the source read
 * goes in as it is (latin1 is a byte copy for ASCII), keys as JSON strings.
 * No object tree, no intermediate string of the whole body.
 */
export function putRecordsBody(streamJson: string, records: ReplayRecord[]): Buffer {
  const keys = records.map((r) => JSON.stringify(r.partitionKey) + (r.explicitHashKey !== undefined ? `,"ExplicitHashKey":${JSON.stringify(r.explicitHashKey)}` : ''));
  const head = `{"StreamName":${streamJson},"Records":[`;
  let size = Buffer.byteLength(head) + 2;
  for (let i = 0; i < records.length; i++) size += 10 + records[i]!.data64.length + 17 + Buffer.byteLength(keys[i]!) + 1 + (i > 0 ? 1 : 0);
  const out = Buffer.allocUnsafe(size);
  let at = out.write(head, 0, 'utf8');
  for (let i = 0; i < records.length; i++) {
    at += out.write(i > 0 ? ',{"Data":"' : '{"Data":"', at, 'latin1');
    at += out.write(records[i]!.data64, at, 'latin1');
    at += out.write('","PartitionKey":', at, 'latin1');
    at += out.write(keys[i]!, at, 'utf8');
    at += out.write('}', at, 'latin1');
  }
  at += out.write(']}', at, 'latin1');
  return at === size ? out : out.subarray(0, at);
}
