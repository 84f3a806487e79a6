/**
 * Semantic checks of configuration objects (stage 3 of request validation,
 * after the shapes): what AWS refuses with InvalidArgumentException, and what
 * this gateway must be able to carry out later (an ARN of this Region and
 * account, a Lambda that the gateway config maps). Existence of the streams
 * an application reads and writes is checked when it starts
 * (InvalidApplicationConfigurationException), as their creation may follow.
 */
import { analyticsErrors } from '../../../sdk/protocol/analytics/errors.ts';
import * as limits from '../../../sdk/protocol/analytics/limits.ts';
import type { ArnRole, InputMeta, OutputMeta, ReferenceMeta, SourceSchemaWire } from './model.ts';

export interface CheckContext {
  region: string;
  accountId: string;
  /** Lambda ARNs this gateway can invoke (analytics.lambdas, then firehose.lambdas). */
  lambdaMapped(arn: string): boolean;
}

export type ArnKind = 'stream' | 'deliverystream' | 'function' | 'bucket';

const arnPatterns: Record<ArnKind, RegExp> = {
  stream: /^arn:aws[a-z-]*:kinesis:([a-z0-9-]+):(\d{12}):stream\/([a-zA-Z0-9_.-]{1,128})$/,
  deliverystream: /^arn:aws[a-z-]*:firehose:([a-z0-9-]+):(\d{12}):deliverystream\/([a-zA-Z0-9_.-]{1,64})$/,
  function: /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([\w-]+(?::[\w$-]+)?)$/,
  bucket: /^arn:aws[a-z-]*:s3:::()()([\w.-]{1,255})$/,
};

/** The resource name an ARN gives (stream, delivery stream, function or bucket), checked against this gateway's Region and account. */
export function resourceName(ctx: CheckContext, arn: string, kind: ArnKind, field: string): string {
  const m = arnPatterns[kind].exec(arn);
  if (!m) throw analyticsErrors.invalid(`${field} ${arn} is not a valid ${kindName[kind]} ARN.`);
  if (kind !== 'bucket' && (m[1] !== ctx.region || m[2] !== ctx.accountId)) {
    throw analyticsErrors.invalid(`${field} ${arn} is not in this Region (${ctx.region}) and account (${ctx.accountId}).`);
  }
  return m[3]!;
}

const kindName: Record<ArnKind, string> = { stream: 'Kinesis stream', deliverystream: 'Kinesis Firehose delivery stream', function: 'AWS Lambda function', bucket: 'Amazon S3 bucket' };

export function checkSchema(schema: SourceSchemaWire, field: string): void {
  const format = schema.RecordFormat.RecordFormatType;
  const mapping = schema.RecordFormat.MappingParameters;
  if (format === 'CSV' && !mapping?.CSVMappingParameters) throw analyticsErrors.invalid(`${field}: CSVMappingParameters are required for RecordFormatType CSV.`);
  if (format === 'CSV' && mapping?.JSONMappingParameters) throw analyticsErrors.invalid(`${field}: JSONMappingParameters are not allowed for RecordFormatType CSV.`);
  if (format === 'JSON' && mapping?.CSVMappingParameters) throw analyticsErrors.invalid(`${field}: CSVMappingParameters are not allowed for RecordFormatType JSON.`);
  const rowPath = mapping?.JSONMappingParameters?.RecordRowPath;
  if (format === 'JSON' && rowPath !== undefined && !rowPath.startsWith('$')) throw analyticsErrors.invalid(`${field}: RecordRowPath ${rowPath} is not a JSONPath (it must start with $).`);
  const seen = new Set<string>();
  for (const c of schema.RecordColumns) {
    if (c.Name.length === 0) throw analyticsErrors.invalid(`${field}: a record column has an empty name.`);
    // Input columns are created quoted, so names that differ in case are different columns.
    if (seen.has(c.Name)) throw analyticsErrors.invalid(`${field}: column ${c.Name} is defined more than once.`);
    seen.add(c.Name);
    if (format === 'JSON' && c.Mapping === undefined) throw analyticsErrors.invalid(`${field}: column ${c.Name} needs a Mapping (a JSONPath) because RecordFormatType is JSON.`);
    if (format === 'JSON' && !c.Mapping!.startsWith('$')) throw analyticsErrors.invalid(`${field}: Mapping ${c.Mapping} of column ${c.Name} is not a JSONPath (it must start with $).`);
  }
}

function checkSource(ctx: CheckContext, input: Partial<InputMeta>): void {
  const sources = [input.KinesisStreamsInput, input.KinesisFirehoseInput].filter(Boolean);
  if (sources.length !== 1) throw analyticsErrors.invalid('Exactly one of KinesisStreamsInput and KinesisFirehoseInput must be specified.');
  if (input.KinesisStreamsInput) resourceName(ctx, input.KinesisStreamsInput.ResourceARN, 'stream', 'KinesisStreamsInput.ResourceARN');
  if (input.KinesisFirehoseInput) resourceName(ctx, input.KinesisFirehoseInput.ResourceARN, 'deliverystream', 'KinesisFirehoseInput.ResourceARN');
}

export function checkPreprocessor(ctx: CheckContext, processor: ArnRole | undefined): void {
  if (!processor) return;
  resourceName(ctx, processor.ResourceARN, 'function', 'InputLambdaProcessor.ResourceARN');
  if (!ctx.lambdaMapped(processor.ResourceARN)) {
    throw analyticsErrors.invalid(`Lambda function ${processor.ResourceARN} is not mapped to an endpoint on this gateway (analytics.lambdas in the gateway config).`);
  }
}

export function checkInput(ctx: CheckContext, input: InputMeta): void {
  checkSource(ctx, input);
  checkPreprocessor(ctx, input.InputProcessingConfiguration?.InputLambdaProcessor);
  checkSchema(input.InputSchema, 'InputSchema');
}

export function checkOutput(ctx: CheckContext, output: OutputMeta): void {
  const targets = [output.KinesisStreamsOutput, output.KinesisFirehoseOutput, output.LambdaOutput].filter(Boolean);
  if (targets.length !== 1) throw analyticsErrors.invalid('Exactly one of KinesisStreamsOutput, KinesisFirehoseOutput and LambdaOutput must be specified.');
  if (output.KinesisStreamsOutput) resourceName(ctx, output.KinesisStreamsOutput.ResourceARN, 'stream', 'KinesisStreamsOutput.ResourceARN');
  if (output.KinesisFirehoseOutput) resourceName(ctx, output.KinesisFirehoseOutput.ResourceARN, 'deliverystream', 'KinesisFirehoseOutput.ResourceARN');
  if (output.LambdaOutput) {
    resourceName(ctx, output.LambdaOutput.ResourceARN, 'function', 'LambdaOutput.ResourceARN');
    if (!ctx.lambdaMapped(output.LambdaOutput.ResourceARN)) {
      throw analyticsErrors.invalid(`Lambda function ${output.LambdaOutput.ResourceARN} is not mapped to an endpoint on this gateway (analytics.lambdas in the gateway config).`);
    }
  }
}

export function checkOutputs(outputs: readonly OutputMeta[]): void {
  if (outputs.length > limits.outputsPerApplicationMax) {
    throw analyticsErrors.invalid(`An application can have at most ${limits.outputsPerApplicationMax} outputs.`);
  }
}

export function checkReference(ctx: CheckContext, ref: ReferenceMeta): void {
  if (!ref.S3ReferenceDataSource) throw analyticsErrors.invalid('S3ReferenceDataSource is required: reference data comes from a bucket.');
  resourceName(ctx, ref.S3ReferenceDataSource.BucketARN, 'bucket', 'S3ReferenceDataSource.BucketARN');
  checkSchema(ref.ReferenceSchema, 'ReferenceSchema');
}

/** In-application names must not collide: an input's streams, the reference tables. */
export function checkNames(inputs: readonly InputMeta[], references: readonly ReferenceMeta[]): void {
  if (inputs.length > limits.inputsPerApplicationMax) throw analyticsErrors.invalid(`An application can have at most ${limits.inputsPerApplicationMax} streaming source.`);
  if (references.length > limits.referenceDataSourcesPerApplicationMax) {
    throw analyticsErrors.invalid(`An application can have at most ${limits.referenceDataSourcesPerApplicationMax} reference data source.`);
  }
  const prefixes = new Set(inputs.map((i) => i.NamePrefix));
  for (const r of references) {
    if (prefixes.has(r.TableName) || [...prefixes].some((p) => r.TableName.startsWith(`${p}_`))) {
      throw analyticsErrors.invalid(`Reference table name ${r.TableName} collides with the in-application input streams.`);
    }
  }
}
