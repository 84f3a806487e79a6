/**
 * The Redshift destination's API side: its input shapes (botocore
 * `firehose/2015-08-04/service-2.json`), the normalised form kept in the
 * delivery stream's metadata, UpdateDestination's merge, and
 * DescribeDeliveryStream's RedshiftDestinationDescription.
 *
 * A Redshift delivery stream keeps two parts: `meta.destination` is its
 * intermediate bucket (S3Configuration, with the Redshift configuration's
 * ProcessingConfiguration and S3 backup settings), which the delivery worker
 * writes as for ExtendedS3; `meta.redshift` holds the rest (cluster, COPY,
 * retry duration). The password is never stored or echoed: the PostgreSQL
 * connection's credentials come from the gateway config (`firehose.redshift`).
 */
import { AwsError } from '../../sdk/protocol/errors.ts';
import * as limits from '../../sdk/protocol/firehose/limits.ts';
import type { Shape } from '../http/validate.ts';
import { normaliseS3, s3Description, type DeliveryStreamMeta, type ExtendedS3Wire } from './model.ts';
import { jdbcKey, parseColumns, parseCopyOptions, parseTableName } from './redshift-copy.ts';
import { CloudWatchLoggingOptions, ProcessingConfiguration, RoleARN, S3DestinationConfiguration, S3DestinationUpdate } from './shapes.ts';

/** RedshiftDestinationConfiguration without S3Configuration, ProcessingConfiguration and S3 backup (those live in `meta.destination`). */
export interface RedshiftWire {
  RoleARN: string;
  ClusterJDBCURL: string;
  CopyCommand: { DataTableName: string; DataTableColumns?: string; CopyOptions?: string };
  Username?: string;
  RetryOptions: { DurationInSeconds: number };
  CloudWatchLoggingOptions: Record<string, unknown>;
  SecretsManagerConfiguration?: { Enabled: boolean; SecretARN?: string; RoleARN?: string };
}

const CopyCommand = {
  type: 'structure',
  members: {
    DataTableName: { type: 'string', required: true, min: 1, max: limits.redshiftTableNameLengthMax },
    DataTableColumns: { type: 'string', min: 0, max: limits.redshiftCopyTextLengthMax },
    CopyOptions: { type: 'string', min: 0, max: limits.redshiftCopyTextLengthMax },
  },
} as const satisfies Shape;

const SecretsManagerConfiguration = {
  type: 'structure',
  members: {
    SecretARN: { type: 'string', min: 1, max: limits.secretArnLengthMax, pattern: limits.secretArnPattern },
    RoleARN,
    Enabled: { type: 'boolean', required: true },
  },
} as const satisfies Shape;

const members = {
  RoleARN,
  ClusterJDBCURL: { type: 'string', min: 1, max: limits.redshiftJdbcUrlLengthMax, pattern: limits.redshiftJdbcUrlPattern },
  CopyCommand,
  Username: { type: 'string', min: 1, max: limits.redshiftUsernameLengthMax },
  Password: { type: 'string', min: limits.redshiftPasswordLengthMin, max: limits.redshiftPasswordLengthMax },
  RetryOptions: { type: 'structure', members: { DurationInSeconds: { type: 'integer', min: 0, max: limits.redshiftRetrySecondsMax } } },
  ProcessingConfiguration,
  S3BackupMode: { type: 'string', enum: ['Disabled', 'Enabled'] },
  CloudWatchLoggingOptions,
  SecretsManagerConfiguration,
} as const;

export const RedshiftDestinationConfiguration = {
  type: 'structure',
  members: {
    ...members,
    RoleARN: { ...RoleARN, required: true },
    ClusterJDBCURL: { ...members.ClusterJDBCURL, required: true },
    CopyCommand: { ...CopyCommand, required: true },
    S3Configuration: { ...S3DestinationConfiguration, required: true },
    S3BackupConfiguration: S3DestinationConfiguration,
  },
} as const satisfies Shape;

export const RedshiftDestinationUpdate = {
  type: 'structure',
  members: { ...members, S3Update: S3DestinationUpdate, S3BackupUpdate: S3DestinationUpdate },
} as const satisfies Shape;

/** The gateway config's `firehose.redshift`: Redshift JDBC URL (without `?parameters`) to PostgreSQL connection string. */
export type RedshiftConnections = Readonly<Record<string, string>>;

/** CreateDeliveryStream's RedshiftDestinationConfiguration, checked and split into its two parts. */
export function redshiftFromInput(input: Record<string, unknown>, connections: RedshiftConnections | undefined): { redshift: RedshiftWire; destination: ExtendedS3Wire } {
  const i = input as unknown as RedshiftWire & { Username?: string };
  const s3 = input.S3Configuration as Record<string, unknown>;
  const redshift: RedshiftWire = {
    RoleARN: i.RoleARN,
    ClusterJDBCURL: i.ClusterJDBCURL,
    CopyCommand: i.CopyCommand,
    ...(i.Username !== undefined ? { Username: i.Username } : {}),
    RetryOptions: { DurationInSeconds: (input.RetryOptions as { DurationInSeconds?: number } | undefined)?.DurationInSeconds ?? limits.redshiftRetrySecondsDefault },
    CloudWatchLoggingOptions: (input.CloudWatchLoggingOptions as Record<string, unknown> | undefined) ?? { Enabled: false },
    ...(i.SecretsManagerConfiguration !== undefined ? { SecretsManagerConfiguration: i.SecretsManagerConfiguration } : {}),
  };
  const destination = normaliseS3({
    ...s3,
    ...(input.ProcessingConfiguration !== undefined ? { ProcessingConfiguration: input.ProcessingConfiguration } : {}),
    ...(input.S3BackupMode !== undefined ? { S3BackupMode: input.S3BackupMode } : {}),
    ...(input.S3BackupConfiguration !== undefined ? { S3BackupConfiguration: input.S3BackupConfiguration } : {}),
  });
  const secrets = redshift.SecretsManagerConfiguration?.Enabled === true;
  if (!secrets && (input.Username === undefined || input.Password === undefined)) {
    throw new AwsError('InvalidArgumentException', 'Username and Password are required when SecretsManagerConfiguration is not enabled.');
  }
  if (secrets && (input.Username !== undefined || input.Password !== undefined)) {
    throw new AwsError('InvalidArgumentException', 'Username and Password must not be given when SecretsManagerConfiguration is enabled.');
  }
  checkRedshift(redshift, destination, connections);
  return { redshift, destination };
}

/** What this gateway can load: checked at create and after an update, so nothing accepted fails later for its configuration. */
export function checkRedshift(r: RedshiftWire, d: ExtendedS3Wire, connections: RedshiftConnections | undefined): void {
  if (connections?.[jdbcKey(r.ClusterJDBCURL)] === undefined) {
    throw new AwsError('InvalidArgumentException', `ClusterJDBCURL ${jdbcKey(r.ClusterJDBCURL)} is not mapped to a PostgreSQL database in the gateway config (firehose.redshift).`);
  }
  if (d.CompressionFormat !== 'UNCOMPRESSED' && d.CompressionFormat !== 'GZIP') {
    throw new AwsError('InvalidArgumentException', `Compression format ${d.CompressionFormat} is not supported for the Redshift destination; use UNCOMPRESSED or GZIP.`);
  }
  parseTableName(r.CopyCommand.DataTableName);
  parseColumns(r.CopyCommand.DataTableColumns);
  const spec = parseCopyOptions(r.CopyCommand.CopyOptions);
  if (spec.gzip !== (d.CompressionFormat === 'GZIP')) {
    throw new AwsError('InvalidArgumentException', 'CopyCommand.CopyOptions must include GZIP exactly when S3Configuration.CompressionFormat is GZIP.');
  }
  if (d.FileExtension !== undefined || d.DataFormatConversionConfiguration || d.DynamicPartitioningConfiguration) {
    throw new AwsError('InvalidArgumentException', 'The Redshift destination takes an S3DestinationConfiguration for its intermediate bucket.');
  }
}

/** Applies a RedshiftDestinationUpdate: given members replace; S3Update and S3BackupUpdate merge into the buckets. */
export function applyRedshiftUpdate(meta: DeliveryStreamMeta & { redshift: RedshiftWire }, update: Record<string, unknown>): { redshift: RedshiftWire; destination: ExtendedS3Wire } {
  const { S3Update, S3BackupUpdate, ProcessingConfiguration: processing, S3BackupMode, Password: _password, RetryOptions, ...rest } = update;
  const redshift: RedshiftWire = { ...meta.redshift, ...(rest as Partial<RedshiftWire>) };
  if (RetryOptions) redshift.RetryOptions = { ...meta.redshift.RetryOptions, ...(RetryOptions as Partial<RedshiftWire['RetryOptions']>) };
  if (rest.SecretsManagerConfiguration && (rest.SecretsManagerConfiguration as { Enabled?: boolean }).Enabled) delete redshift.Username;
  const s3 = (S3Update ?? {}) as Partial<ExtendedS3Wire>;
  const destination: ExtendedS3Wire = {
    ...meta.destination,
    ...s3,
    BufferingHints: { ...meta.destination.BufferingHints, ...(s3.BufferingHints ?? {}) },
    ...(processing !== undefined ? { ProcessingConfiguration: processing as ExtendedS3Wire['ProcessingConfiguration'] } : {}),
    ...(S3BackupMode !== undefined ? { S3BackupMode: S3BackupMode as ExtendedS3Wire['S3BackupMode'] } : {}),
  };
  if (S3BackupUpdate) destination.S3BackupConfiguration = { ...(meta.destination.S3BackupConfiguration ?? {}), ...(S3BackupUpdate as Record<string, unknown>) };
  return { redshift, destination };
}

/** DescribeDeliveryStream's destination entry for a Redshift delivery stream (no Password, as AWS). */
export function redshiftDestinationDescription(meta: DeliveryStreamMeta & { redshift: RedshiftWire }): Record<string, unknown> {
  const r = meta.redshift;
  const d = meta.destination;
  return {
    DestinationId: limits.destinationIdFirst,
    RedshiftDestinationDescription: {
      RoleARN: r.RoleARN,
      ClusterJDBCURL: r.ClusterJDBCURL,
      CopyCommand: r.CopyCommand,
      ...(r.Username !== undefined ? { Username: r.Username } : {}),
      RetryOptions: r.RetryOptions,
      S3DestinationDescription: s3Description(d),
      ProcessingConfiguration: d.ProcessingConfiguration ?? { Enabled: false, Processors: [] },
      S3BackupMode: d.S3BackupMode,
      ...(d.S3BackupConfiguration ? { S3BackupDescription: s3Description(normaliseS3(d.S3BackupConfiguration)) } : {}),
      CloudWatchLoggingOptions: r.CloudWatchLoggingOptions,
      ...(r.SecretsManagerConfiguration ? { SecretsManagerConfiguration: r.SecretsManagerConfiguration } : {}),
    },
  };
}
