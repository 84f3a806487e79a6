/**
 * `tributary streams export`: a stream's history as capture lines
 * (sdk/protocol/capture.ts), shard by shard in lineage order.
 */
import type { JsonRpcClient } from '../sdk/http/json-rpc-client.ts';
import { formatCaptureLine } from '../sdk/protocol/capture.ts';
import { LineOutput } from './line-output.ts';
import { readStreamHistory, type HistoryOptions } from './stream-history.ts';

export interface ExportSummary {
  stream: string;
  records: number;
  shards: number;
  bytes: number;
  file: string;
}

/** Writes the records of `stream` within the bounds to `file` ('-': standard output; `.gz`: gzip). */
export async function exportStream(client: JsonRpcClient, stream: string, file: string, o: HistoryOptions = {}): Promise<ExportSummary> {
  const out = new LineOutput(file, { gzip: file.endsWith('.gz') });
  const shards = new Set<string>();
  let records = 0;
  let bytes = 0;
  try {
    for await (const { shardId, record } of readStreamHistory(client, stream, o)) {
      shards.add(shardId);
      out.push(formatCaptureLine({ data64: record.Data, partitionKey: record.PartitionKey, sequenceNumber: record.SequenceNumber, timeMs: Math.round(record.ApproximateArrivalTimestamp * 1000) }));
      records++;
      bytes += Math.floor((record.Data.length * 3) / 4);
    }
  } finally {
    out.close();
  }
  return { stream, records, shards: shards.size, bytes, file };
}
