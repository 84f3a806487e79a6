/**
 * A delivery stream as the gateway keeps it (persisted in
 * metadata/firehose.json) and as DescribeDeliveryStream shows it. Destination
 * configurations are kept in their wire shape with AWS's defaults filled in.
 */
import * as limits from '../../sdk/protocol/firehose/limits.ts';
import type { CompressionFormat, DeliveryStreamType } from '../../sdk/protocol/firehose/limits.ts';
import type { ProcessingConfigurationWire } from './processing.ts';
import type { HttpEndpointWire } from './http-endpoint-model.ts';
import type { RedshiftWire } from './redshift-model.ts';

export type DeliveryStreamStatus = 'CREATING' | 'CREATING_FAILED' | 'DELETING' | 'DELETING_FAILED' | 'ACTIVE';
export type EncryptionStatus = 'ENABLED' | 'ENABLING' | 'ENABLING_FAILED' | 'DISABLED' | 'DISABLING' | 'DISABLING_FAILED';

export interface BufferingHintsWire {
  SizeInMBs: number;
  IntervalInSeconds: number;
}

/** ExtendedS3DestinationConfiguration, normalised. */
export interface ExtendedS3Wire {
  RoleARN: string;
  BucketARN: string;
  Prefix?: string;
  ErrorOutputPrefix?: string;
  BufferingHints: BufferingHintsWire;
  CompressionFormat: CompressionFormat;
  EncryptionConfiguration: Record<string, unknown>;
  CloudWatchLoggingOptions: Record<string, unknown>;
  ProcessingConfiguration?: ProcessingConfigurationWire;
  S3BackupMode: 'Disabled' | 'Enabled';
  S3BackupConfiguration?: Record<string, unknown>;
  DataFormatConversionConfiguration?: Record<string, unknown>;
  DynamicPartitioningConfiguration?: Record<string, unknown>;
  FileExtension?: string;
  CustomTimeZone?: string;
}

export interface DeliveryStreamMeta {
  name: string;
  /** Directory under <dataDir>/firehose/: the name plus a creation id, so a re-created stream never sees old staging. */
  dir: string;
  status: DeliveryStreamStatus;
  statusUntilMs?: number;
  type: DeliveryStreamType;
  versionId: number;
  createdMs: number;
  updatedMs?: number;
  source?: { KinesisStreamARN: string; RoleARN: string };
  destination: ExtendedS3Wire;
  /** HTTP endpoint destination (http-endpoint-model.ts): `destination` is then its backup bucket with the endpoint's hints and processing. */
  httpEndpoint?: HttpEndpointWire;
  /** Redshift destination (redshift-model.ts): `destination` is then its intermediate bucket. */
  redshift?: RedshiftWire;
  encryption: { Status: EncryptionStatus; KeyType?: string; KeyARN?: string };
  /** Staging encryption at rest: key ids by slot; a staged record's flags name its slot (0: not encrypted). */
  stagingKeyIds?: string[];
  tags: Record<string, string>;
}

/** Fills AWS's defaults into an (Extended)S3DestinationConfiguration. */
export function normaliseS3(input: Record<string, unknown>): ExtendedS3Wire {
  const hints = (input.BufferingHints ?? {}) as Partial<BufferingHintsWire>;
  const out: ExtendedS3Wire = {
    ...(input as Partial<ExtendedS3Wire>),
    RoleARN: input.RoleARN as string,
    BucketARN: input.BucketARN as string,
    BufferingHints: {
      SizeInMBs: hints.SizeInMBs ?? limits.bufferSizeMiBDefault,
      IntervalInSeconds: hints.IntervalInSeconds ?? limits.bufferIntervalSecondsDefault,
    },
    CompressionFormat: (input.CompressionFormat as CompressionFormat | undefined) ?? 'UNCOMPRESSED',
    EncryptionConfiguration: (input.EncryptionConfiguration as Record<string, unknown> | undefined) ?? { NoEncryptionConfig: 'NoEncryption' },
    CloudWatchLoggingOptions: (input.CloudWatchLoggingOptions as Record<string, unknown> | undefined) ?? { Enabled: false },
    S3BackupMode: (input.S3BackupMode as 'Disabled' | 'Enabled' | undefined) ?? 'Disabled',
  };
  if (!out.ProcessingConfiguration) out.ProcessingConfiguration = { Enabled: false, Processors: [] };
  return out;
}

/** Applies an (Extended)S3DestinationUpdate: given members replace, BufferingHints merge member-wise. */
export function applyS3Update(current: ExtendedS3Wire, update: Record<string, unknown>): ExtendedS3Wire {
  const { S3BackupUpdate, BufferingHints, ...rest } = update as Record<string, unknown> & { BufferingHints?: Partial<BufferingHintsWire> };
  const next: ExtendedS3Wire = { ...current, ...(rest as Partial<ExtendedS3Wire>) };
  if (BufferingHints) next.BufferingHints = { ...current.BufferingHints, ...BufferingHints };
  if (S3BackupUpdate) next.S3BackupConfiguration = { ...(current.S3BackupConfiguration ?? {}), ...(S3BackupUpdate as Record<string, unknown>) };
  return next;
}

export function deliveryStreamArn(region: string, accountId: string, name: string): string {
  return `arn:aws:firehose:${region}:${accountId}:deliverystream/${name}`;
}

export function s3Description(d: ExtendedS3Wire): Record<string, unknown> {
  return {
    RoleARN: d.RoleARN,
    BucketARN: d.BucketARN,
    ...(d.Prefix !== undefined ? { Prefix: d.Prefix } : {}),
    ...(d.ErrorOutputPrefix !== undefined ? { ErrorOutputPrefix: d.ErrorOutputPrefix } : {}),
    BufferingHints: d.BufferingHints,
    CompressionFormat: d.CompressionFormat,
    EncryptionConfiguration: d.EncryptionConfiguration,
    CloudWatchLoggingOptions: d.CloudWatchLoggingOptions,
  };
}

/** DescribeDeliveryStream's DeliveryStreamDescription. */
export function describe(meta: DeliveryStreamMeta, region: string, accountId: string): Record<string, unknown> {
  const d = meta.destination;
  const { S3BackupConfiguration, ...extended } = d;
  return {
    DeliveryStreamName: meta.name,
    DeliveryStreamARN: deliveryStreamArn(region, accountId, meta.name),
    DeliveryStreamStatus: meta.status,
    DeliveryStreamEncryptionConfiguration: meta.encryption,
    DeliveryStreamType: meta.type,
    VersionId: String(meta.versionId),
    CreateTimestamp: meta.createdMs / 1000,
    ...(meta.updatedMs !== undefined ? { LastUpdateTimestamp: meta.updatedMs / 1000 } : {}),
    ...(meta.source
      ? { Source: { KinesisStreamSourceDescription: { ...meta.source, DeliveryStartTimestamp: meta.createdMs / 1000 } } }
      : {}),
    Destinations: [
      {
        DestinationId: limits.destinationIdFirst,
        S3DestinationDescription: s3Description(d),
        ExtendedS3DestinationDescription: {
          ...extended,
          ...(S3BackupConfiguration ? { S3BackupDescription: s3Description(normaliseS3(S3BackupConfiguration)) } : {}),
        },
      },
    ],
    HasMoreDestinations: false,
  };
}
