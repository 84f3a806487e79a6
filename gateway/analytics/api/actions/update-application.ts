/**
 * UpdateApplication: code, inputs, outputs, reference data sources and
 * logging options in one versioned change. Every Update names the object it
 * changes by id and carries only the members that change. A running
 * application goes through UPDATING and keeps its input positions; its
 * reference data is loaded again (AWS: "If the data changes, you call the
 * UpdateApplication operation to trigger reloading of data").
 */
import { analyticsErrors } from '../../../../sdk/protocol/analytics/errors.ts';
import { checkInput, checkNames, checkOutput, checkReference } from '../checks.ts';
import { findInput, invalidId, schemaFrom, type AnalyticsAction, type AnalyticsContext } from '../context.ts';
import type { ApplicationMeta, ArnRole, OutputMeta, RecordFormatWire } from '../model.ts';
import { ApplicationName, ApplicationUpdate, ApplicationVersionId, required, requestShape } from '../shapes.ts';
import { checkLogging } from './create-application.ts';

type Wire = Record<string, unknown>;
type ArnRoleUpdate = { ResourceARNUpdate?: string; RoleARNUpdate?: string };

function applyArnRole(current: ArnRole | undefined, update: ArnRoleUpdate): ArnRole {
  const next = { ResourceARN: update.ResourceARNUpdate ?? current?.ResourceARN, RoleARN: update.RoleARNUpdate ?? current?.RoleARN };
  if (next.ResourceARN === undefined || next.RoleARN === undefined) throw analyticsErrors.invalid('A new source or destination needs both ResourceARNUpdate and RoleARNUpdate.');
  return next as ArnRole;
}

function updateInput(ctx: AnalyticsContext, app: ApplicationMeta, u: Wire): void {
  const input = findInput(app, u.InputId as string);
  if (u.NamePrefixUpdate !== undefined) input.NamePrefix = u.NamePrefixUpdate as string;
  if (u.KinesisStreamsInputUpdate) {
    input.KinesisStreamsInput = applyArnRole(input.KinesisStreamsInput, u.KinesisStreamsInputUpdate as ArnRoleUpdate);
    delete input.KinesisFirehoseInput;
  }
  if (u.KinesisFirehoseInputUpdate) {
    input.KinesisFirehoseInput = applyArnRole(input.KinesisFirehoseInput, u.KinesisFirehoseInputUpdate as ArnRoleUpdate);
    delete input.KinesisStreamsInput;
  }
  const processing = u.InputProcessingConfigurationUpdate as { InputLambdaProcessorUpdate: ArnRoleUpdate } | undefined;
  if (processing) input.InputProcessingConfiguration = { InputLambdaProcessor: applyArnRole(input.InputProcessingConfiguration?.InputLambdaProcessor, processing.InputLambdaProcessorUpdate) };
  const schema = u.InputSchemaUpdate as { RecordFormatUpdate?: RecordFormatWire; RecordEncodingUpdate?: string; RecordColumnUpdates?: unknown[] } | undefined;
  if (schema) {
    input.InputSchema = schemaFrom({
      RecordFormat: schema.RecordFormatUpdate ?? input.InputSchema.RecordFormat,
      RecordEncoding: schema.RecordEncodingUpdate ?? input.InputSchema.RecordEncoding,
      RecordColumns: schema.RecordColumnUpdates ?? input.InputSchema.RecordColumns,
    });
  }
  const parallelism = u.InputParallelismUpdate as { CountUpdate?: number } | undefined;
  if (parallelism?.CountUpdate !== undefined) input.InputParallelism = { Count: parallelism.CountUpdate };
  checkInput(ctx.checks, input);
}

function updateOutput(ctx: AnalyticsContext, app: ApplicationMeta, u: Wire): void {
  const output = app.outputs.find((o) => o.OutputId === u.OutputId);
  if (!output) throw invalidId('Output', u.OutputId as string, app.name);
  if (u.NameUpdate !== undefined) output.Name = u.NameUpdate as string;
  const targets: Array<[keyof OutputMeta & `${string}Output`, string]> = [
    ['KinesisStreamsOutput', 'KinesisStreamsOutputUpdate'],
    ['KinesisFirehoseOutput', 'KinesisFirehoseOutputUpdate'],
    ['LambdaOutput', 'LambdaOutputUpdate'],
  ];
  for (const [member, updateName] of targets) {
    const update = u[updateName] as ArnRoleUpdate | undefined;
    if (!update) continue;
    const next = applyArnRole(output[member], update);
    for (const [other] of targets) delete output[other];
    output[member] = next;
  }
  if (u.DestinationSchemaUpdate) output.DestinationSchema = { ...(u.DestinationSchemaUpdate as OutputMeta['DestinationSchema']) };
  checkOutput(ctx.checks, output);
}

function updateReference(ctx: AnalyticsContext, app: ApplicationMeta, u: Wire): void {
  const ref = app.references.find((r) => r.ReferenceId === u.ReferenceId);
  if (!ref) throw invalidId('Reference', u.ReferenceId as string, app.name);
  if (u.TableNameUpdate !== undefined) ref.TableName = u.TableNameUpdate as string;
  const s3 = u.S3ReferenceDataSourceUpdate as { BucketARNUpdate?: string; FileKeyUpdate?: string; ReferenceRoleARNUpdate?: string } | undefined;
  if (s3) {
    const cur = ref.S3ReferenceDataSource;
    const next = { BucketARN: s3.BucketARNUpdate ?? cur?.BucketARN, FileKey: s3.FileKeyUpdate ?? cur?.FileKey, ReferenceRoleARN: s3.ReferenceRoleARNUpdate ?? cur?.ReferenceRoleARN };
    if (!next.BucketARN || !next.FileKey || !next.ReferenceRoleARN) throw analyticsErrors.invalid('A new S3 reference data source needs BucketARNUpdate, FileKeyUpdate and ReferenceRoleARNUpdate.');
    ref.S3ReferenceDataSource = next as NonNullable<typeof cur>;
  }
  if (u.ReferenceSchemaUpdate) ref.ReferenceSchema = schemaFrom(u.ReferenceSchemaUpdate);
  checkReference(ctx.checks, ref);
}

function updateLogging(app: ApplicationMeta, u: Wire): void {
  const option = app.logging.find((l) => l.CloudWatchLoggingOptionId === u.CloudWatchLoggingOptionId);
  if (!option) throw invalidId('CloudWatch logging option', u.CloudWatchLoggingOptionId as string, app.name);
  if (u.LogStreamARNUpdate !== undefined) option.LogStreamARN = u.LogStreamARNUpdate as string;
  if (u.RoleARNUpdate !== undefined) option.RoleARN = u.RoleARNUpdate as string;
}

export const updateApplication: AnalyticsAction = {
  shape: requestShape({ ApplicationName: required(ApplicationName), CurrentApplicationVersionId: required(ApplicationVersionId), ApplicationUpdate: required(ApplicationUpdate) }),
  async handle(ctx, input) {
    const u = input.ApplicationUpdate as Record<string, Wire[] | string | undefined>;
    if (Object.values(u).every((v) => v === undefined)) throw analyticsErrors.invalid('ApplicationUpdate must contain at least one update.');
    await ctx.registry.update(input.ApplicationName as string, input.CurrentApplicationVersionId as number, (app) => {
      for (const x of (u.InputUpdates as Wire[] | undefined) ?? []) updateInput(ctx, app, x);
      if (u.ApplicationCodeUpdate !== undefined) app.code = u.ApplicationCodeUpdate as string;
      for (const x of (u.OutputUpdates as Wire[] | undefined) ?? []) updateOutput(ctx, app, x);
      for (const x of (u.ReferenceDataSourceUpdates as Wire[] | undefined) ?? []) updateReference(ctx, app, x);
      for (const x of (u.CloudWatchLoggingOptionUpdates as Wire[] | undefined) ?? []) updateLogging(app, x);
      checkNames(app.inputs, app.references);
      checkLogging(app);
    });
    return {};
  },
};
