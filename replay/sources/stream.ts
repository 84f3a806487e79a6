/**
 * `stream:<name>`: a stream's own retained history (stream-history.ts),
 * between --from and --to. The upper bound defaults to the time of the first
 * run and is saved in the checkpoint, so a resumed run reads the same records.
 */
import type { JsonRpcClient } from '../../sdk/http/json-rpc-client.ts';
import { readStreamHistory, type Bound } from '../stream-history.ts';
import type { ReplaySource, SourceItem } from '../types.ts';

interface StreamSourceState {
  from?: Bound;
  to: Bound;
  shard?: string;
}

export class StreamSource implements ReplaySource {
  readonly description: string;
  readonly state: StreamSourceState;
  readonly totalBytes = undefined;
  bytesRead = 0;

  constructor(private readonly client: JsonRpcClient, private readonly stream: string, o: { from?: Bound; to?: Bound; shard?: string }, saved: unknown) {
    this.state = (saved as StreamSourceState | undefined) ?? {
      ...(o.from ? { from: o.from } : {}), to: o.to ?? { kind: 'time', ms: Date.now() }, ...(o.shard ? { shard: o.shard } : {}),
    };
    this.description = `stream ${stream}`;
  }

  async *items(skip: number): AsyncGenerator<SourceItem> {
    let n = 0;
    for await (const { record } of readStreamHistory(this.client, this.stream, this.state)) {
      this.bytesRead += record.Data.length;
      if (n++ < skip) {
        yield { kind: 'skipped' };
        continue;
      }
      yield {
        kind: 'record',
        record: { data64: record.Data, dataBytes: Buffer.byteLength(record.Data, 'base64'), partitionKey: record.PartitionKey, sequenceNumber: record.SequenceNumber, timeMs: Math.round(record.ApproximateArrivalTimestamp * 1000) },
      };
    }
  }

  close(): void {
    this.client.close();
  }
}
