/**
 * Input shapes of the Kinesis Data Analytics (SQL) actions, with the
 * constraints of the service model (botocore
 * `kinesisanalytics/2015-08-14/service-2.json`), for the front door's
 * type and constraint stages (gateway/http/validate.ts).
 */
import * as limits from '../../../sdk/protocol/analytics/limits.ts';
import type { Shape, StructureShape } from '../../http/validate.ts';

export const ApplicationName = { type: 'string', min: 1, max: limits.applicationNameLengthMax, pattern: limits.applicationNamePattern } as const satisfies Shape;
export const ApplicationDescription = { type: 'string', min: 0, max: limits.applicationDescriptionLengthMax } as const satisfies Shape;
export const ApplicationCode = { type: 'string', min: 0, max: limits.applicationCodeLengthMax } as const satisfies Shape;
export const ApplicationVersionId = { type: 'long', min: limits.applicationVersionIdMin, max: limits.applicationVersionIdMax } as const satisfies Shape;
export const Id = { type: 'string', min: 1, max: limits.idLengthMax, pattern: limits.idPattern } as const satisfies Shape;
export const InAppStreamName = { type: 'string', min: 1, max: limits.inAppNameLengthMax } as const satisfies Shape;
export const InAppTableName = { type: 'string', min: 1, max: limits.inAppNameLengthMax } as const satisfies Shape;
export const ResourceARN = { type: 'string', min: 1, max: limits.arnLengthMax, pattern: limits.arnPattern } as const satisfies Shape;
export const BucketARN = ResourceARN;
export const LogStreamARN = ResourceARN;
export const RoleARN = { type: 'string', min: 1, max: limits.arnLengthMax, pattern: limits.roleArnPattern } as const satisfies Shape;
export const KinesisAnalyticsARN = { type: 'string', min: 1, max: limits.arnLengthMax, pattern: limits.applicationArnPattern } as const satisfies Shape;
export const FileKey = { type: 'string', min: 1, max: limits.fileKeyLengthMax } as const satisfies Shape;
export const InputParallelismCount = { type: 'integer', min: limits.inputParallelismMin, max: limits.inputParallelismMax } as const satisfies Shape;
export const RecordFormatType = { type: 'string', enum: [...limits.recordFormatTypes] } as const satisfies Shape;
export const InputStartingPosition = { type: 'string', enum: [...limits.inputStartingPositions] } as const satisfies Shape;

const required = <S extends Shape>(s: S) => ({ ...s, required: true }) as S & { required: true };
const structure = (members: Record<string, Shape>) => ({ type: 'structure', members }) as const;

/** A stream, delivery stream or function with the role to reach it (every *Input and *Output). */
const ArnAndRole = structure({ ResourceARN: required(ResourceARN), RoleARN: required(RoleARN) });
const ArnAndRoleUpdate = structure({ ResourceARNUpdate: ResourceARN, RoleARNUpdate: RoleARN });

export const RecordColumn = structure({
  Name: { type: 'string', required: true },
  Mapping: { type: 'string' },
  SqlType: { type: 'string', required: true, min: 1 },
});
export const RecordColumns = { type: 'list', min: 1, max: limits.recordColumnsMax, member: RecordColumn } as const satisfies Shape;
export const RecordFormat = structure({
  RecordFormatType: required(RecordFormatType),
  MappingParameters: structure({
    JSONMappingParameters: structure({ RecordRowPath: { type: 'string', required: true, min: 1 } }),
    CSVMappingParameters: structure({ RecordRowDelimiter: { type: 'string', required: true, min: 1 }, RecordColumnDelimiter: { type: 'string', required: true, min: 1 } }),
  }),
});
export const RecordEncoding = { type: 'string', pattern: limits.recordEncodingPattern } as const satisfies Shape;
export const SourceSchema = structure({ RecordFormat: required(RecordFormat), RecordEncoding, RecordColumns: required(RecordColumns) });

export const InputLambdaProcessor = ArnAndRole;
export const InputProcessingConfiguration = structure({ InputLambdaProcessor: required(InputLambdaProcessor) });
export const InputStartingPositionConfiguration = structure({ InputStartingPosition });

export const Input = structure({
  NamePrefix: required(InAppStreamName),
  InputProcessingConfiguration,
  KinesisStreamsInput: ArnAndRole,
  KinesisFirehoseInput: ArnAndRole,
  InputParallelism: structure({ Count: InputParallelismCount }),
  InputSchema: required(SourceSchema),
});
export const Inputs = { type: 'list', member: Input } as const satisfies Shape;

export const DestinationSchema = structure({ RecordFormatType: required(RecordFormatType) });
export const Output = structure({
  Name: required(InAppStreamName),
  KinesisStreamsOutput: ArnAndRole,
  KinesisFirehoseOutput: ArnAndRole,
  LambdaOutput: ArnAndRole,
  DestinationSchema: required(DestinationSchema),
});
export const Outputs = { type: 'list', member: Output } as const satisfies Shape;

export const S3ReferenceDataSource = structure({ BucketARN: required(BucketARN), FileKey: required(FileKey), ReferenceRoleARN: required(RoleARN) });
export const ReferenceDataSource = structure({ TableName: required(InAppTableName), S3ReferenceDataSource, ReferenceSchema: required(SourceSchema) });

export const CloudWatchLoggingOption = structure({ LogStreamARN: required(LogStreamARN), RoleARN: required(RoleARN) });
export const CloudWatchLoggingOptions = { type: 'list', member: CloudWatchLoggingOption } as const satisfies Shape;

export const TagKey = { type: 'string', min: 1, max: limits.tagKeyLengthMax } as const satisfies Shape;
export const Tag = structure({ Key: required(TagKey), Value: { type: 'string', min: 0, max: limits.tagValueLengthMax } });
export const Tags = { type: 'list', min: 1, max: limits.tagsPerCallMax, member: Tag } as const satisfies Shape;
export const TagKeys = { type: 'list', min: 1, max: limits.tagsPerCallMax, member: TagKey } as const satisfies Shape;

export const InputUpdate = structure({
  InputId: required(Id),
  NamePrefixUpdate: InAppStreamName,
  InputProcessingConfigurationUpdate: structure({ InputLambdaProcessorUpdate: required(ArnAndRoleUpdate) }),
  KinesisStreamsInputUpdate: ArnAndRoleUpdate,
  KinesisFirehoseInputUpdate: ArnAndRoleUpdate,
  InputSchemaUpdate: structure({ RecordFormatUpdate: RecordFormat, RecordEncodingUpdate: RecordEncoding, RecordColumnUpdates: RecordColumns }),
  InputParallelismUpdate: structure({ CountUpdate: InputParallelismCount }),
});
export const OutputUpdate = structure({
  OutputId: required(Id),
  NameUpdate: InAppStreamName,
  KinesisStreamsOutputUpdate: ArnAndRoleUpdate,
  KinesisFirehoseOutputUpdate: ArnAndRoleUpdate,
  LambdaOutputUpdate: ArnAndRoleUpdate,
  DestinationSchemaUpdate: DestinationSchema,
});
export const ReferenceDataSourceUpdate = structure({
  ReferenceId: required(Id),
  TableNameUpdate: InAppTableName,
  S3ReferenceDataSourceUpdate: structure({ BucketARNUpdate: BucketARN, FileKeyUpdate: FileKey, ReferenceRoleARNUpdate: RoleARN }),
  ReferenceSchemaUpdate: SourceSchema,
});
export const CloudWatchLoggingOptionUpdate = structure({ CloudWatchLoggingOptionId: required(Id), LogStreamARNUpdate: LogStreamARN, RoleARNUpdate: RoleARN });
export const ApplicationUpdate = structure({
  InputUpdates: { type: 'list', member: InputUpdate },
  ApplicationCodeUpdate: ApplicationCode,
  OutputUpdates: { type: 'list', member: OutputUpdate },
  ReferenceDataSourceUpdates: { type: 'list', member: ReferenceDataSourceUpdate },
  CloudWatchLoggingOptionUpdates: { type: 'list', member: CloudWatchLoggingOptionUpdate },
});

export const S3Configuration = structure({ RoleARN: required(RoleARN), BucketARN: required(BucketARN), FileKey: required(FileKey) });

export function requestShape(members: Record<string, Shape>): StructureShape {
  return { type: 'structure', members };
}
export { required };
