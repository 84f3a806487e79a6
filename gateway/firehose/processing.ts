/**
 * The processing pipeline between the staging log and the destination: a
 * list of processors, each taking a batch of records and returning what goes
 * on (and what failed, with its error output type). Built from the
 * destination's ProcessingConfiguration. Only the built-in
 * AppendDelimiterToRecord runs today; Lambda / HTTP transformers, KPL
 * deaggregation and dynamic partitioning slot in here as further processors.
 */
import { AwsError } from '../../sdk/protocol/errors.ts';
import type { ErrorOutputType } from './object-key.ts';

export interface ProcessedRecord {
  /** The staging counter, for checkpoints and error reports. */
  counter: number;
  arrivalMs: number;
  data: Buffer;
}

export interface ProcessingResult {
  ok: ProcessedRecord[];
  failed: Array<ProcessedRecord & { errorOutputType: ErrorOutputType; errorCode: string; errorMessage: string }>;
}

export interface Processor {
  readonly type: string;
  process(records: ProcessedRecord[]): Promise<ProcessingResult> | ProcessingResult;
}

export interface ProcessingConfigurationWire {
  Enabled?: boolean;
  Processors?: Array<{ Type: string; Parameters?: Array<{ ParameterName: string; ParameterValue: string }> }>;
}

/** AppendDelimiterToRecord: a newline after every record. */
export const appendDelimiter: Processor = {
  type: 'AppendDelimiterToRecord',
  process(records) {
    const nl = Buffer.from('\n');
    return { ok: records.map((r) => ({ ...r, data: Buffer.concat([r.data, nl]) })), failed: [] };
  },
};

const builtIn: Record<string, Processor> = { AppendDelimiterToRecord: appendDelimiter };

/** Throws InvalidArgumentException for a processor this gateway cannot run (checked at create and update). */
export function checkProcessing(config: ProcessingConfigurationWire | undefined): void {
  if (!config?.Enabled) return;
  for (const p of config.Processors ?? []) {
    if (!builtIn[p.Type]) throw new AwsError('InvalidArgumentException', `Processor type ${p.Type} is not supported by this gateway.`);
  }
}

export function buildPipeline(config: ProcessingConfigurationWire | undefined): Processor[] {
  if (!config?.Enabled) return [];
  return (config.Processors ?? []).map((p) => builtIn[p.Type]!).filter(Boolean);
}

export async function runPipeline(pipeline: Processor[], records: ProcessedRecord[]): Promise<ProcessingResult> {
  let ok = records;
  const failed: ProcessingResult['failed'] = [];
  for (const p of pipeline) {
    const r = await p.process(ok);
    ok = r.ok;
    failed.push(...r.failed);
  }
  return { ok, failed };
}
