/** What every Kinesis Data Analytics action gets: the registry and the checks' context. */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import type { StructureShape } from '../../http/validate.ts';
import type { CheckContext } from './checks.ts';
import type { DiscoverySources } from './discovery.ts';
import { nextId, type ApplicationMeta, type InputMeta, type OutputMeta, type ReferenceMeta, type SourceSchemaWire } from './model.ts';
import type { AnalyticsRegistry } from './registry.ts';
import { inputParallelismDefault } from '../../../sdk/protocol/analytics/limits.ts';

export interface AnalyticsContext {
  registry: AnalyticsRegistry;
  checks: CheckContext;
  discovery: DiscoverySources;
}

export interface AnalyticsAction {
  shape: StructureShape;
  handle(ctx: AnalyticsContext, input: Record<string, unknown>): unknown;
}

type Wire = Record<string, unknown>;

/** Drops members the validator left undefined and copies the rest (metadata stays plain JSON). */
function plain<T>(v: unknown): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

export function schemaFrom(wire: unknown): SourceSchemaWire {
  const s = plain<SourceSchemaWire>(wire);
  // AWS describes RecordEncoding as UTF-8 whether or not it was given.
  return { RecordFormat: s.RecordFormat, RecordEncoding: s.RecordEncoding ?? 'UTF-8', RecordColumns: s.RecordColumns };
}

export function inputFrom(app: ApplicationMeta, wire: Wire): InputMeta {
  const w = plain<Partial<InputMeta>>(wire);
  return {
    InputId: nextId(app, 'input'),
    NamePrefix: w.NamePrefix!,
    ...(w.InputProcessingConfiguration ? { InputProcessingConfiguration: w.InputProcessingConfiguration } : {}),
    ...(w.KinesisStreamsInput ? { KinesisStreamsInput: w.KinesisStreamsInput } : {}),
    ...(w.KinesisFirehoseInput ? { KinesisFirehoseInput: w.KinesisFirehoseInput } : {}),
    InputParallelism: { Count: w.InputParallelism?.Count ?? inputParallelismDefault },
    InputSchema: schemaFrom(wire.InputSchema),
  };
}

export function outputFrom(app: ApplicationMeta, wire: Wire): OutputMeta {
  const w = plain<Omit<OutputMeta, 'OutputId'>>(wire);
  return { OutputId: nextId(app, 'output'), ...w };
}

export function referenceFrom(app: ApplicationMeta, wire: Wire): ReferenceMeta {
  const w = plain<Omit<ReferenceMeta, 'ReferenceId'>>(wire);
  return { ReferenceId: nextId(app, 'reference'), TableName: w.TableName, ...(w.S3ReferenceDataSource ? { S3ReferenceDataSource: w.S3ReferenceDataSource } : {}), ReferenceSchema: schemaFrom(wire.ReferenceSchema) };
}

export function findInput(app: ApplicationMeta, id: string): InputMeta {
  const input = app.inputs.find((i) => i.InputId === id);
  if (!input) throw invalidId('Input', id, app.name);
  return input;
}

/** An id that names no sub-resource of the application. */
export function invalidId(kind: string, id: string, name: string): AwsError {
  return new AwsError('ResourceNotFoundException', `${kind} id ${id} was not found in application ${name}.`);
}
