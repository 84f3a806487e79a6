/**
 * The processing pipeline between the staging log and the destination: a
 * list of processors, each taking a batch of records and returning what goes
 * on (and what failed, with its error output type). Built from the
 * destination's ProcessingConfiguration, in AWS's fixed order:
 * RecordDeAggregation, Lambda (an HTTP or local-module transformer),
 * MetadataExtraction (jq partition keys), then AppendDelimiterToRecord. The
 * processors other than the delimiter live in processors/.
 */
import { AwsError } from '../../sdk/protocol/errors.ts';
import type { ErrorOutputType } from './object-key.ts';
import { buildProcessor, checkProcessor, checkProcessorList, impliedProcessors, inProcessorOrder, type PipelineContext, type ProcessingOptions } from './processors/index.ts';

export interface ProcessedRecord {
  /** The staging counter, for checkpoints and error reports. */
  counter: number;
  arrivalMs: number;
  data: Buffer;
  /** Dynamic partitioning keys from MetadataExtraction (`query`) and the Lambda's metadata (`lambda`). */
  partitionKeys?: { query?: Record<string, string>; lambda?: Record<string, string> };
}

export interface ProcessingResult {
  ok: ProcessedRecord[];
  failed: Array<ProcessedRecord & { errorOutputType: ErrorOutputType; errorCode: string; errorMessage: string; attemptsMade?: number; lambdaArn?: string }>;
  /** Records a transformer answered `Dropped` for: processed successfully, delivered nowhere. */
  dropped?: number;
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
export function checkProcessing(config: ProcessingConfigurationWire | undefined, options: ProcessingOptions = {}): void {
  if (!config?.Enabled) return;
  checkProcessorList(config.Processors ?? []);
  for (const p of config.Processors ?? []) {
    if (!builtIn[p.Type] && !checkProcessor(p, options)) throw new AwsError('InvalidArgumentException', `Processor type ${p.Type} is not supported by this gateway.`);
  }
}

export function buildPipeline(config: ProcessingConfigurationWire | undefined, ctx?: PipelineContext): Processor[] {
  if (!config?.Enabled) return [];
  return inProcessorOrder([...(config.Processors ?? []).map((p) => builtIn[p.Type] ?? buildProcessor(p, ctx)!).filter(Boolean), ...impliedProcessors(ctx)]);
}

export async function runPipeline(pipeline: Processor[], records: ProcessedRecord[]): Promise<ProcessingResult> {
  let ok = records;
  const failed: ProcessingResult['failed'] = [];
  let dropped = 0;
  for (const p of pipeline) {
    const r = await p.process(ok);
    ok = r.ok;
    failed.push(...r.failed);
    dropped += r.dropped ?? 0;
  }
  return { ok, failed, dropped };
}
