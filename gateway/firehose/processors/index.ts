/**
 * The processors beyond the built-in AppendDelimiterToRecord: checks at
 * create/update and construction for delivery, by ProcessingConfiguration
 * `Type`. processing.ts dispatches here.
 */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import type { Processor } from '../processing.ts';
import { checkDeaggregation, deaggregationProcessor } from './deaggregation.ts';
import { checkLambdaProcessor, lambdaProcessor, type LambdaContext, type LambdaTarget } from './lambda.ts';
import { checkMetadataExtraction, metadataExtractionProcessor } from './metadata-extraction.ts';
import { partitionKeyProcessor } from '../partitioning.ts';

export type { LambdaTarget } from './lambda.ts';

/** What the checks need from the gateway: the Lambda ARNs it can invoke. */
export interface ProcessingOptions {
  lambdas?: Readonly<Record<string, LambdaTarget>>;
}

/**
 * What running processors needs: the Lambda mapping and the invocation
 * event's stream ARN and Region; with dynamic partitioning on, the Prefix
 * whose partition keys every record must have.
 */
export type PipelineContext = LambdaContext & { partitionPrefix?: string };

/**
 * AWS's fixed order, whatever the order of the list: de-aggregation, the
 * Lambda transformation, partition keys (developer guide, "Apply dynamic
 * partitioning to aggregated data"); the delimiter goes on last so that the
 * transformer and the jq query see the record as it was put.
 */
export const processorOrder: readonly string[] = ['RecordDeAggregation', 'Lambda', 'MetadataExtraction', 'PartitionKeys', 'AppendDelimiterToRecord'];

type ProcessorWire = { Type: string; Parameters?: Array<{ ParameterName: string; ParameterValue: string }> };

/** Checks one processor of a type handled here; false for a type this module does not know. */
export function checkProcessor(p: ProcessorWire, options: ProcessingOptions): boolean {
  if (p.Type === 'Lambda') checkLambdaProcessor(p.Parameters, options.lambdas ?? {});
  else if (p.Type === 'RecordDeAggregation') checkDeaggregation(p.Parameters);
  else if (p.Type === 'MetadataExtraction') checkMetadataExtraction(p.Parameters);
  else return false;
  return true;
}

/** Refuses a processor type given twice (AWS allows one Lambda processor per destination). */
export function checkProcessorList(processors: readonly ProcessorWire[]): void {
  const seen = new Set<string>();
  for (const p of processors) {
    if (seen.has(p.Type)) throw new AwsError('InvalidArgumentException', `Only one processor of type ${p.Type} is allowed.`);
    seen.add(p.Type);
  }
}

export function buildProcessor(p: ProcessorWire, ctx: PipelineContext | undefined): Processor | undefined {
  if (p.Type === 'Lambda') return lambdaProcessor(p.Parameters, ctx ?? { lambdas: {}, deliveryStreamArn: '', region: '' });
  if (p.Type === 'RecordDeAggregation') return deaggregationProcessor(p.Parameters);
  if (p.Type === 'MetadataExtraction') return metadataExtractionProcessor(p.Parameters);
  return undefined;
}

/** Steps the configuration implies rather than lists: the partition key check of dynamic partitioning. */
export function impliedProcessors(ctx: PipelineContext | undefined): Processor[] {
  return ctx?.partitionPrefix !== undefined ? [partitionKeyProcessor(ctx.partitionPrefix)] : [];
}

/** Sorts processors into AWS's order (stable for types outside the list). */
export function inProcessorOrder<T extends { type: string }>(processors: T[]): T[] {
  const rank = (t: string) => {
    const i = processorOrder.indexOf(t);
    return i < 0 ? processorOrder.length : i;
  };
  return [...processors].sort((a, b) => rank(a.type) - rank(b.type));
}
