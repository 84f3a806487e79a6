/**
 * Replay into a Firehose delivery stream: PutRecordBatch, one request in
 * flight per lane. Firehose has no producer idempotency, on AWS or here, so
 * a resumed run may store the requests that were in flight at the crash a
 * second time (at most one request per lane): at least once, not exactly
 * once (docs/replay.md). Partition keys only choose the lane (per-key order).
 */
import { putRecordBatchBytesMax, putRecordBatchEntriesMax, recordBytesMax } from '../../sdk/protocol/firehose/limits.ts';
import { RawRpc } from '../rpc.ts';
import type { Outcome, ReplayRecord, ReplayTarget } from '../types.ts';
import type { GatewayAccess } from './stream.ts';

const retryable = new Set(['ServiceUnavailableException', 'InternalFailure', 'ThrottlingException']);

interface PutRecordBatchAnswer {
  RequestResponses: Array<{ RecordId?: string; ErrorCode?: string; ErrorMessage?: string }>;
}

export class DeliveryStreamTarget implements ReplayTarget {
  readonly description: string;
  readonly batchRecordsMax = putRecordBatchEntriesMax;
  readonly batchBytesMax = putRecordBatchBytesMax;
  readonly exactlyOnce = false;
  private readonly rpc: RawRpc;
  private readonly nameJson: string;

  constructor(name: string, access: GatewayAccess, readonly lanes: number) {
    this.description = `delivery stream ${name}`;
    this.nameJson = JSON.stringify(name);
    this.rpc = new RawRpc({ ...access, service: 'firehose', targetPrefix: 'Firehose_20150804', sockets: lanes });
  }

  problem(r: ReplayRecord): string | undefined {
    return r.dataBytes > recordBytesMax ? `data is ${r.dataBytes} bytes, over the ${recordBytesMax}-byte Firehose record limit` : undefined;
  }

  state(): unknown {
    return null;
  }

  async send(_lane: number, _batch: number, records: ReplayRecord[]): Promise<Outcome[]> {
    const body = Buffer.from(`{"DeliveryStreamName":${this.nameJson},"Records":[${records.map((r) => `{"Data":"${r.data64}"}`).join(',')}]}`, 'utf8');
    const answer = await this.rpc.call<PutRecordBatchAnswer>('PutRecordBatch', body);
    if (!Array.isArray(answer.RequestResponses) || answer.RequestResponses.length !== records.length) throw new Error(`PutRecordBatch answered ${answer.RequestResponses?.length ?? 'no'} results for ${records.length} records`);
    return answer.RequestResponses.map((r): Outcome => {
      if (r.ErrorCode === undefined) return { kind: 'ok' };
      const reason = `${r.ErrorCode}: ${r.ErrorMessage ?? ''}`;
      return retryable.has(r.ErrorCode) ? { kind: 'retry', reason } : { kind: 'rejected', reason };
    });
  }

  close(): void {
    this.rpc.close();
  }
}
