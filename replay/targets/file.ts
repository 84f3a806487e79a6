/**
 * Replay into a file: format conversion. `capture` writes capture lines
 * (sdk/protocol/capture.ts; the record's original time goes into
 * ApproximateArrivalTimestamp); `agent` writes `tributary-agent buffer
 * export` lines, which keep the device's capture time, source and sequence
 * number. A name ending in .gz is gzip. One lane, so the file keeps the
 * source's order. Exactly once on resume: the checkpoint holds the file's
 * length before each batch, and a resumed run cuts the file back to it.
 */
import { formatAgentLine, formatCaptureLine } from '../../sdk/protocol/capture.ts';
import { LineOutput } from '../line-output.ts';
import type { Outcome, ReplayRecord, ReplayTarget } from '../types.ts';

export type FileFormat = 'capture' | 'agent';

/** Records per file write: the batch a checkpoint covers. */
const fileBatchRecordsMax = 1000;

export class FileTarget implements ReplayTarget {
  readonly description: string;
  readonly lanes = 1;
  readonly batchRecordsMax = fileBatchRecordsMax;
  readonly batchBytesMax = 8 * 1024 * 1024;
  readonly exactlyOnce = true;
  private readonly out: LineOutput;

  constructor(file: string, private readonly format: FileFormat, resumeState: unknown) {
    this.description = `file ${file} (${format} lines${file.endsWith('.gz') ? ', gzip' : ''})`;
    const length = (resumeState as { bytes?: number } | null)?.bytes;
    this.out = new LineOutput(file, { gzip: file.endsWith('.gz'), ...(typeof length === 'number' ? { truncateTo: length } : {}), flushChars: Number.MAX_SAFE_INTEGER });
  }

  problem(): string | undefined {
    return undefined;
  }

  state(): unknown {
    return { bytes: this.out.bytes };
  }

  async send(_lane: number, _batch: number, records: ReplayRecord[]): Promise<Outcome[]> {
    for (const r of records) this.out.push(this.format === 'agent' ? formatAgentLine(r) : formatCaptureLine(r));
    this.out.flush();
    return records.map(() => ({ kind: 'ok' }));
  }

  close(): void {
    this.out.close();
  }
}
