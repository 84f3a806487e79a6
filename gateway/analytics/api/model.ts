/**
 * An application as the gateway keeps it (metadata/analytics.json) and as
 * DescribeApplication shows it. Configuration objects are kept in their wire
 * form (Input, Output, ReferenceDataSource, CloudWatchLoggingOption, each
 * with the id the service gave it), so the descriptions are projections and
 * nothing is renamed on the way through.
 */
import { inAppStreamSuffixDigits, inputParallelismDefault, type ApplicationStatus, type InputStartingPosition, type RecordFormatType } from '../../../sdk/protocol/analytics/limits.ts';

export interface ArnRole {
  ResourceARN: string;
  RoleARN: string;
}

export interface RecordColumnWire {
  Name: string;
  Mapping?: string;
  SqlType: string;
}

export interface RecordFormatWire {
  RecordFormatType: RecordFormatType;
  MappingParameters?: {
    JSONMappingParameters?: { RecordRowPath: string };
    CSVMappingParameters?: { RecordRowDelimiter: string; RecordColumnDelimiter: string };
  };
}

export interface SourceSchemaWire {
  RecordFormat: RecordFormatWire;
  RecordEncoding?: string;
  RecordColumns: RecordColumnWire[];
}

export interface InputMeta {
  InputId: string;
  NamePrefix: string;
  InputProcessingConfiguration?: { InputLambdaProcessor: ArnRole };
  KinesisStreamsInput?: ArnRole;
  KinesisFirehoseInput?: ArnRole;
  InputParallelism: { Count: number };
  InputSchema: SourceSchemaWire;
  /** Where the last StartApplication asked this input to begin. */
  InputStartingPositionConfiguration?: { InputStartingPosition?: InputStartingPosition };
}

export interface OutputMeta {
  OutputId: string;
  Name: string;
  KinesisStreamsOutput?: ArnRole;
  KinesisFirehoseOutput?: ArnRole;
  LambdaOutput?: ArnRole;
  DestinationSchema: { RecordFormatType: RecordFormatType };
}

export interface ReferenceMeta {
  ReferenceId: string;
  TableName: string;
  S3ReferenceDataSource?: { BucketARN: string; FileKey: string; ReferenceRoleARN: string };
  ReferenceSchema: SourceSchemaWire;
}

export interface LoggingMeta {
  CloudWatchLoggingOptionId: string;
  LogStreamARN: string;
  RoleARN: string;
}

export interface ApplicationMeta {
  name: string;
  description?: string;
  status: ApplicationStatus;
  createMs: number;
  updateMs: number;
  versionId: number;
  code: string;
  inputs: InputMeta[];
  outputs: OutputMeta[];
  references: ReferenceMeta[];
  logging: LoggingMeta[];
  tags: Record<string, string>;
  /** Id counters per kind: ids are `<n>.1` as AWS writes them. */
  ids: { input: number; output: number; reference: number; logging: number };
  /** The runtime's directory under <dataDir>/analytics/ (a new one per incarnation of a name). */
  dir: string;
  /** Whether the application ever ran (LAST_STOPPED_POINT needs a stopped point). */
  everStarted: boolean;
}

export function applicationArn(region: string, account: string, name: string): string {
  return `arn:aws:kinesisanalytics:${region}:${account}:application/${name}`;
}

/** The application name an ARN of this Region and account names, if it is one. */
export function nameOfArn(arn: string, region: string, account: string): string | undefined {
  const prefix = `arn:aws:kinesisanalytics:${region}:${account}:application/`;
  return arn.startsWith(prefix) ? arn.slice(prefix.length) : undefined;
}

export function nextId(app: ApplicationMeta, kind: keyof ApplicationMeta['ids']): string {
  app.ids[kind]++;
  return `${app.ids[kind]}.1`;
}

/** The in-application streams an input feeds: `<NamePrefix>_001` ... (dev/how-it-works-input.html). */
export function inAppStreamNames(input: Pick<InputMeta, 'NamePrefix' | 'InputParallelism'>): string[] {
  const n = input.InputParallelism?.Count ?? inputParallelismDefault;
  return Array.from({ length: n }, (_, i) => `${input.NamePrefix}_${String(i + 1).padStart(inAppStreamSuffixDigits, '0')}`);
}

const seconds = (ms: number) => ms / 1000;

export function summaryOf(app: ApplicationMeta, region: string, account: string): Record<string, unknown> {
  return { ApplicationName: app.name, ApplicationARN: applicationArn(region, account, app.name), ApplicationStatus: app.status };
}

export function detailOf(app: ApplicationMeta, region: string, account: string): Record<string, unknown> {
  return {
    ApplicationName: app.name,
    ...(app.description !== undefined ? { ApplicationDescription: app.description } : {}),
    ApplicationARN: applicationArn(region, account, app.name),
    ApplicationStatus: app.status,
    CreateTimestamp: seconds(app.createMs),
    LastUpdateTimestamp: seconds(app.updateMs),
    InputDescriptions: app.inputs.map(inputDescription),
    OutputDescriptions: app.outputs.map(outputDescription),
    ReferenceDataSourceDescriptions: app.references.map(referenceDescription),
    CloudWatchLoggingOptionDescriptions: app.logging.map((l) => ({ ...l })),
    ApplicationCode: app.code,
    ApplicationVersionId: app.versionId,
  };
}

function inputDescription(i: InputMeta): Record<string, unknown> {
  return {
    InputId: i.InputId,
    NamePrefix: i.NamePrefix,
    InAppStreamNames: inAppStreamNames(i),
    ...(i.InputProcessingConfiguration ? { InputProcessingConfigurationDescription: { InputLambdaProcessorDescription: { ...i.InputProcessingConfiguration.InputLambdaProcessor } } } : {}),
    ...(i.KinesisStreamsInput ? { KinesisStreamsInputDescription: { ...i.KinesisStreamsInput } } : {}),
    ...(i.KinesisFirehoseInput ? { KinesisFirehoseInputDescription: { ...i.KinesisFirehoseInput } } : {}),
    InputSchema: i.InputSchema,
    InputParallelism: { Count: i.InputParallelism.Count },
    InputStartingPositionConfiguration: i.InputStartingPositionConfiguration ?? {},
  };
}

function outputDescription(o: OutputMeta): Record<string, unknown> {
  return {
    OutputId: o.OutputId,
    Name: o.Name,
    ...(o.KinesisStreamsOutput ? { KinesisStreamsOutputDescription: { ...o.KinesisStreamsOutput } } : {}),
    ...(o.KinesisFirehoseOutput ? { KinesisFirehoseOutputDescription: { ...o.KinesisFirehoseOutput } } : {}),
    ...(o.LambdaOutput ? { LambdaOutputDescription: { ...o.LambdaOutput } } : {}),
    DestinationSchema: o.DestinationSchema,
  };
}

function referenceDescription(r: ReferenceMeta): Record<string, unknown> {
  return {
    ReferenceId: r.ReferenceId,
    TableName: r.TableName,
    ...(r.S3ReferenceDataSource ? { S3ReferenceDataSourceDescription: { ...r.S3ReferenceDataSource } } : {}),
    ReferenceSchema: r.ReferenceSchema,
  };
}
