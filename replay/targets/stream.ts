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
    const parts: string[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      parts[i] = `{"Data":"${r.data64}","PartitionKey":${JSON.stringify(r.partitionKey)}${r.explicitHashKey !== undefined ? `,"ExplicitHashKey":${JSON.stringify(r.explicitHashKey)}` : ''}}`;
    }
    const body = Buffer.from(`{"StreamName":${this.streamJson},"Records":[${parts.join(',')}]}`, 'utf8');
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
