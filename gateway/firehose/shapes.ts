/**
 * Input shapes shared by the Firehose actions, with the constraints of the
 * AWS service model (botocore `firehose/2015-08-04/service-2.json`).
 * Destinations this gateway does not deliver to yet are declared as open
 * structures so that the actions can refuse them by name.
 */
import * as limits from '../../sdk/protocol/firehose/limits.ts';
import type { Shape, StructureShape } from '../http/validate.ts';
import type { FirehoseRegistry } from './registry.ts';
import { DataFormatConversionConfigurationShape } from './format-conversion.ts';

export const DeliveryStreamName = { type: 'string', min: 1, max: limits.deliveryStreamNameLengthMax, pattern: limits.deliveryStreamNamePattern } as const satisfies Shape;
export const DeliveryStreamType = { type: 'string', enum: [...limits.deliveryStreamTypes] } as const satisfies Shape;
export const RoleARN = { type: 'string', min: 1, max: limits.roleArnLengthMax, pattern: limits.roleArnPattern } as const satisfies Shape;
export const BucketARN = { type: 'string', min: 1, max: limits.bucketArnLengthMax, pattern: limits.bucketArnPattern } as const satisfies Shape;
export const Prefix = { type: 'string', min: 0, max: limits.prefixLengthMax } as const satisfies Shape;
export const KMSKeyARN = { type: 'string', min: 1, max: limits.kmsKeyArnLengthMax, pattern: limits.kmsKeyArnPattern } as const satisfies Shape;
export const TagKey = { type: 'string', min: 1, max: limits.tagKeyLengthMax } as const satisfies Shape;
export const TagValue = { type: 'string', min: 0, max: limits.tagValueLengthMax } as const satisfies Shape;
export const Tag = { type: 'structure', members: { Key: { ...TagKey, required: true }, Value: TagValue } } as const satisfies Shape;
export const TagList = { type: 'list', min: 1, max: limits.tagsPerCallMax, member: Tag } as const satisfies Shape;
export const VersionId = { type: 'string', min: 1, max: limits.versionIdLengthMax, pattern: '[0-9]+' } as const satisfies Shape;
export const DestinationId = { type: 'string', min: 1, max: limits.destinationIdLengthMax } as const satisfies Shape;
export const RecordData = { type: 'blob', min: 0, max: limits.recordBytesMax } as const satisfies Shape;
export const Record = { type: 'structure', members: { Data: { ...RecordData, required: true } } } as const satisfies Shape;

export const BufferingHints = {
  type: 'structure',
  members: {
    SizeInMBs: { type: 'integer', min: limits.bufferSizeMiBMin, max: limits.bufferSizeMiBMax },
    IntervalInSeconds: { type: 'integer', min: limits.bufferIntervalSecondsMin, max: limits.bufferIntervalSecondsMax },
  },
} as const satisfies Shape;

export const EncryptionConfiguration = {
  type: 'structure',
  members: {
    NoEncryptionConfig: { type: 'string', enum: ['NoEncryption'] },
    KMSEncryptionConfig: { type: 'structure', members: { AWSKMSKeyARN: { ...KMSKeyARN, required: true } } },
  },
} as const satisfies Shape;

export const CloudWatchLoggingOptions = {
  type: 'structure',
  members: { Enabled: { type: 'boolean' }, LogGroupName: { type: 'string', max: 512 }, LogStreamName: { type: 'string', max: 512 } },
} as const satisfies Shape;

export const processorTypes = ['RecordDeAggregation', 'Decompression', 'CloudWatchLogProcessing', 'Lambda', 'MetadataExtraction', 'AppendDelimiterToRecord'] as const;
export const processorParameterNames = [
  'LambdaArn', 'NumberOfRetries', 'MetadataExtractionQuery', 'JsonParsingEngine', 'RoleArn', 'BufferSizeInMBs',
  'BufferIntervalInSeconds', 'SubRecordType', 'Delimiter', 'CompressionFormat', 'DataMessageExtraction',
] as const;

export const ProcessingConfiguration = {
  type: 'structure',
  members: {
    Enabled: { type: 'boolean' },
    Processors: {
      type: 'list',
      member: {
        type: 'structure',
        members: {
          Type: { type: 'string', required: true, enum: [...processorTypes] },
          Parameters: {
            type: 'list',
            member: {
              type: 'structure',
              members: {
                ParameterName: { type: 'string', required: true, enum: [...processorParameterNames] },
                ParameterValue: { type: 'string', required: true, min: 1, max: limits.processorParameterValueLengthMax, pattern: '^(?!\\s*$).+' },
              },
            },
          },
        },
      },
    },
  },
} as const satisfies Shape;

/** S3DestinationConfiguration (the plain S3 destination, also the backup). */
const s3Members = {
  RoleARN,
  BucketARN,
  Prefix,
  ErrorOutputPrefix: Prefix,
  BufferingHints,
  CompressionFormat: { type: 'string', enum: [...limits.compressionFormats] },
  EncryptionConfiguration,
  CloudWatchLoggingOptions,
} as const;

export const S3DestinationConfiguration = {
  type: 'structure',
  members: { ...s3Members, RoleARN: { ...RoleARN, required: true }, BucketARN: { ...BucketARN, required: true } },
} as const satisfies Shape;
export const S3DestinationUpdate = { type: 'structure', members: s3Members } as const satisfies Shape;

/** Members accepted and echoed back but not acted on yet (see docs/firehose.md). */
const open = { type: 'structure', members: {} } as const;
const extendedMembers = {
  ...s3Members,
  ProcessingConfiguration,
  S3BackupMode: { type: 'string', enum: ['Disabled', 'Enabled'] },
  S3BackupConfiguration: S3DestinationConfiguration,
  DataFormatConversionConfiguration: DataFormatConversionConfigurationShape,
  DynamicPartitioningConfiguration: {
    type: 'structure',
    members: { Enabled: { type: 'boolean' }, RetryOptions: { type: 'structure', members: { DurationInSeconds: { type: 'integer', min: 0, max: 7200 } } } },
  },
  FileExtension: { type: 'string', min: 0, max: limits.fileExtensionLengthMax, pattern: "^$|\\.[0-9a-z!\\-_.*'()]+" },
  CustomTimeZone: { type: 'string', min: 0, max: 50 },
} as const;

export const ExtendedS3DestinationConfiguration = {
  type: 'structure',
  members: { ...extendedMembers, RoleARN: { ...RoleARN, required: true }, BucketARN: { ...BucketARN, required: true } },
} as const satisfies Shape;
export const ExtendedS3DestinationUpdate = {
  type: 'structure',
  members: { ...extendedMembers, S3BackupUpdate: S3DestinationUpdate },
} as const satisfies Shape;

/** Destinations the API accepts but this gateway does not deliver to (yet). */
export const unsupportedDestinations = [
  'ElasticsearchDestinationConfiguration', 'AmazonopensearchserviceDestinationConfiguration',
  'SplunkDestinationConfiguration', 'AmazonOpenSearchServerlessDestinationConfiguration',
  'SnowflakeDestinationConfiguration', 'IcebergDestinationConfiguration',
] as const;
export const unsupportedUpdates = [
  'ElasticsearchDestinationUpdate', 'AmazonopensearchserviceDestinationUpdate', 'SplunkDestinationUpdate',
  'AmazonOpenSearchServerlessDestinationUpdate', 'SnowflakeDestinationUpdate', 'IcebergDestinationUpdate',
] as const;
export const openMembers = (names: readonly string[]): Record<string, typeof open> => Object.fromEntries(names.map((n) => [n, open]));

export const DeliveryStreamEncryptionConfigurationInput = {
  type: 'structure',
  members: { KeyARN: KMSKeyARN, KeyType: { type: 'string', required: true, enum: ['AWS_OWNED_CMK', 'CUSTOMER_MANAGED_CMK'] } },
} as const satisfies Shape;

export const KinesisStreamSourceConfiguration = {
  type: 'structure',
  members: {
    KinesisStreamARN: { type: 'string', required: true, min: 1, max: 512, pattern: limits.kinesisStreamArnPattern },
    RoleARN: { ...RoleARN, required: true },
  },
} as const satisfies Shape;

export interface FirehoseContext {
  registry: FirehoseRegistry;
}

export interface FirehoseAction {
  shape: StructureShape;
  handle(ctx: FirehoseContext, input: Record<string, unknown>): unknown;
}

export function structure(members: Record<string, Shape>): StructureShape {
  return { type: 'structure', members };
}
