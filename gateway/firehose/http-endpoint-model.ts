/**
 * The HTTP endpoint destination's configuration: the API shapes
 * (HttpEndpointDestinationConfiguration / ...Update, as the AWS service
 * model declares them), the normalised form kept in the delivery stream's
 * metadata with AWS's defaults filled in, and DescribeDeliveryStream's
 * HttpEndpointDestinationDescription.
 *
 * The delivery worker reads `meta.destination` (an ExtendedS3Wire) for the
 * buffering hints, processing and the backup bucket; for an HTTP endpoint
 * delivery stream that is `deliveryView()`: the S3Configuration (the backup
 * bucket, its prefixes and compression) with the endpoint's hints and
 * processing.
 */
import { AwsError } from '../../sdk/protocol/errors.ts';
import * as limits from '../../sdk/protocol/firehose/limits.ts';
import type { Shape } from '../http/validate.ts';
import { applyS3Update, normaliseS3, type BufferingHintsWire, type ExtendedS3Wire } from './model.ts';
import type { ProcessingConfigurationWire } from './processing.ts';
import { CloudWatchLoggingOptions, ProcessingConfiguration, RoleARN, S3DestinationConfiguration, S3DestinationUpdate } from './shapes.ts';

export type ContentEncoding = 'NONE' | 'GZIP';
export type HttpS3BackupMode = 'FailedDataOnly' | 'AllData';

export interface HttpEndpointWire {
  EndpointConfiguration: { Url: string; Name?: string; AccessKey?: string };
  BufferingHints: BufferingHintsWire;
  CloudWatchLoggingOptions: Record<string, unknown>;
  RequestConfiguration: { ContentEncoding: ContentEncoding; CommonAttributes?: Array<{ AttributeName: string; AttributeValue: string }> };
  ProcessingConfiguration: ProcessingConfigurationWire;
  RoleARN?: string;
  RetryOptions: { DurationInSeconds: number };
  S3BackupMode: HttpS3BackupMode;
  /** The backup bucket, normalised as an S3 destination. */
  S3Configuration: ExtendedS3Wire;
  SecretsManagerConfiguration?: { Enabled: boolean; SecretARN?: string; RoleARN?: string };
}

/**
 * AWS requires `https://` (port 443); a self-hosted gateway also delivers to
 * plain `http://` endpoints on its own network, so the pattern admits both.
 */
const endpointMembers = {
  Url: { type: 'string', min: 1, max: limits.httpEndpointUrlLengthMax, pattern: '^https?://.*' },
  Name: { type: 'string', min: 1, max: limits.httpEndpointNameLengthMax, pattern: '^(?!\\s*$).+' },
  AccessKey: { type: 'string', min: 0, max: limits.httpAccessKeyLengthMax, pattern: '.*' },
} as const;

const httpMembers = {
  EndpointConfiguration: { type: 'structure', members: { ...endpointMembers, Url: { ...endpointMembers.Url, required: true } } },
  BufferingHints: {
    type: 'structure',
    members: {
      SizeInMBs: { type: 'integer', min: limits.bufferSizeMiBMin, max: limits.httpBufferSizeMiBMax },
      IntervalInSeconds: { type: 'integer', min: limits.bufferIntervalSecondsMin, max: limits.bufferIntervalSecondsMax },
    },
  },
  CloudWatchLoggingOptions,
  RequestConfiguration: {
    type: 'structure',
    members: {
      ContentEncoding: { type: 'string', enum: ['NONE', 'GZIP'] },
      CommonAttributes: {
        type: 'list',
        min: 0,
        max: limits.httpCommonAttributesMax,
        member: {
          type: 'structure',
          members: {
            AttributeName: { type: 'string', required: true, min: 1, max: limits.httpCommonAttributeNameLengthMax, pattern: '^(?!\\s*$).+' },
            AttributeValue: { type: 'string', required: true, min: 0, max: limits.httpCommonAttributeValueLengthMax, pattern: '.*' },
          },
        },
      },
    },
  },
  ProcessingConfiguration,
  RoleARN,
  RetryOptions: { type: 'structure', members: { DurationInSeconds: { type: 'integer', min: 0, max: limits.httpRetrySecondsMax } } },
  S3BackupMode: { type: 'string', enum: ['FailedDataOnly', 'AllData'] },
  SecretsManagerConfiguration: {
    type: 'structure',
    members: { SecretARN: { type: 'string', min: 1, max: 2048 }, RoleARN, Enabled: { type: 'boolean', required: true } },
  },
} as const;

export const HttpEndpointDestinationConfiguration = {
  type: 'structure',
  members: {
    ...httpMembers,
    EndpointConfiguration: { ...httpMembers.EndpointConfiguration, required: true },
    S3Configuration: { ...S3DestinationConfiguration, required: true },
  },
} as const satisfies Shape;

export const HttpEndpointDestinationUpdate = {
  type: 'structure',
  members: { ...httpMembers, S3Update: S3DestinationUpdate },
} as const satisfies Shape;

/** Fills AWS's defaults into a HttpEndpointDestinationConfiguration. */
export function normaliseHttp(input: Record<string, unknown>): HttpEndpointWire {
  const hints = (input.BufferingHints ?? {}) as Partial<BufferingHintsWire>;
  const req = (input.RequestConfiguration ?? {}) as Partial<HttpEndpointWire['RequestConfiguration']>;
  const retry = (input.RetryOptions ?? {}) as Partial<HttpEndpointWire['RetryOptions']>;
  return {
    ...(input as Partial<HttpEndpointWire>),
    EndpointConfiguration: input.EndpointConfiguration as HttpEndpointWire['EndpointConfiguration'],
    BufferingHints: {
      SizeInMBs: hints.SizeInMBs ?? limits.bufferSizeMiBDefault,
      IntervalInSeconds: hints.IntervalInSeconds ?? limits.bufferIntervalSecondsDefault,
    },
    CloudWatchLoggingOptions: (input.CloudWatchLoggingOptions as Record<string, unknown> | undefined) ?? { Enabled: false },
    RequestConfiguration: { ...req, ContentEncoding: req.ContentEncoding ?? 'NONE' },
    ProcessingConfiguration: (input.ProcessingConfiguration as ProcessingConfigurationWire | undefined) ?? { Enabled: false, Processors: [] },
    RetryOptions: { DurationInSeconds: retry.DurationInSeconds ?? limits.httpRetrySecondsDefault },
    S3BackupMode: (input.S3BackupMode as HttpS3BackupMode | undefined) ?? 'FailedDataOnly',
    S3Configuration: normaliseS3(input.S3Configuration as Record<string, unknown>),
  };
}

/** Applies a HttpEndpointDestinationUpdate: given members replace; hints, endpoint and S3Update merge member-wise. */
export function applyHttpUpdate(current: HttpEndpointWire, update: Record<string, unknown>): HttpEndpointWire {
  const { S3Update, BufferingHints, EndpointConfiguration, ...rest } = update as Record<string, unknown> & {
    BufferingHints?: Partial<BufferingHintsWire>;
    EndpointConfiguration?: Partial<HttpEndpointWire['EndpointConfiguration']>;
  };
  const next: HttpEndpointWire = { ...current, ...(rest as Partial<HttpEndpointWire>) };
  if (BufferingHints) next.BufferingHints = { ...current.BufferingHints, ...BufferingHints };
  if (EndpointConfiguration) next.EndpointConfiguration = { ...current.EndpointConfiguration, ...EndpointConfiguration };
  if (rest.RequestConfiguration) next.RequestConfiguration = { ContentEncoding: 'NONE', ...(rest.RequestConfiguration as Partial<HttpEndpointWire['RequestConfiguration']>) };
  if (rest.RetryOptions) next.RetryOptions = { DurationInSeconds: limits.httpRetrySecondsDefault, ...(rest.RetryOptions as Partial<HttpEndpointWire['RetryOptions']>) };
  if (S3Update) next.S3Configuration = applyS3Update(current.S3Configuration, S3Update as Record<string, unknown>);
  return next;
}

/** What the delivery worker runs on: the backup bucket with the endpoint's hints and processing. */
export function deliveryView(h: HttpEndpointWire): ExtendedS3Wire {
  return { ...h.S3Configuration, BufferingHints: h.BufferingHints, ProcessingConfiguration: h.ProcessingConfiguration };
}

/** What this gateway can deliver to an endpoint, checked at create and after an update so that nothing accepted fails later. */
export function checkHttp(h: HttpEndpointWire): void {
  if (h.SecretsManagerConfiguration?.Enabled) throw new AwsError('InvalidArgumentException', 'SecretsManagerConfiguration is not supported by this gateway; use EndpointConfiguration.AccessKey.');
  try {
    new URL(h.EndpointConfiguration.Url);
  } catch {
    throw new AwsError('InvalidArgumentException', `EndpointConfiguration.Url ${h.EndpointConfiguration.Url} is not a valid URL.`);
  }
  const names = (h.RequestConfiguration.CommonAttributes ?? []).map((a) => a.AttributeName);
  if (new Set(names).size !== names.length) throw new AwsError('InvalidArgumentException', 'CommonAttributes must have unique AttributeName values.');
}

/** The normalised and checked HttpEndpointDestinationConfiguration of a CreateDeliveryStream input, if it has one (the caller checks `deliveryView` as any S3 destination). */
export function httpEndpointFrom(input: Record<string, unknown>): HttpEndpointWire | undefined {
  const given = input.HttpEndpointDestinationConfiguration as Record<string, unknown> | undefined;
  if (!given) return undefined;
  const h = normaliseHttp(given);
  checkHttp(h);
  return h;
}

/** DescribeDeliveryStream's HttpEndpointDestinationDescription: the access key is never shown. */
export function describeHttp(h: HttpEndpointWire): Record<string, unknown> {
  const s3 = h.S3Configuration;
  return {
    EndpointConfiguration: { Url: h.EndpointConfiguration.Url, ...(h.EndpointConfiguration.Name !== undefined ? { Name: h.EndpointConfiguration.Name } : {}) },
    BufferingHints: h.BufferingHints,
    CloudWatchLoggingOptions: h.CloudWatchLoggingOptions,
    RequestConfiguration: h.RequestConfiguration,
    ProcessingConfiguration: h.ProcessingConfiguration,
    ...(h.RoleARN !== undefined ? { RoleARN: h.RoleARN } : {}),
    RetryOptions: h.RetryOptions,
    S3BackupMode: h.S3BackupMode,
    S3DestinationDescription: {
      RoleARN: s3.RoleARN,
      BucketARN: s3.BucketARN,
      ...(s3.Prefix !== undefined ? { Prefix: s3.Prefix } : {}),
      ...(s3.ErrorOutputPrefix !== undefined ? { ErrorOutputPrefix: s3.ErrorOutputPrefix } : {}),
      BufferingHints: s3.BufferingHints,
      CompressionFormat: s3.CompressionFormat,
      EncryptionConfiguration: s3.EncryptionConfiguration,
      CloudWatchLoggingOptions: s3.CloudWatchLoggingOptions,
    },
    ...(h.SecretsManagerConfiguration ? { SecretsManagerConfiguration: h.SecretsManagerConfiguration } : {}),
  };
}

/**
 * UpdateDestination's effect on an HTTP endpoint delivery stream, or a
 * switch between S3 and HTTP endpoint: `undefined` when neither is involved.
 * As on AWS, a switch of destination type merges nothing, so the update must
 * give everything the new destination needs.
 */
export function httpUpdate(
  meta: { destination: ExtendedS3Wire; httpEndpoint?: HttpEndpointWire | undefined },
  input: Record<string, unknown>,
): { destination: ExtendedS3Wire; httpEndpoint: HttpEndpointWire | undefined } | undefined {
  const update = input.HttpEndpointDestinationUpdate as Record<string, unknown> | undefined;
  if (update) {
    let h: HttpEndpointWire;
    if (meta.httpEndpoint) h = applyHttpUpdate(meta.httpEndpoint, update);
    else {
      const { S3Update, ...rest } = update as { S3Update?: Record<string, unknown> };
      if (!(rest as Record<string, unknown>).EndpointConfiguration || !S3Update?.BucketARN || !S3Update.RoleARN) {
        throw new AwsError('InvalidArgumentException', 'Changing the destination type to HttpEndpoint needs EndpointConfiguration and an S3Update with RoleARN and BucketARN.');
      }
      h = normaliseHttp({ ...rest, S3Configuration: S3Update });
    }
    checkHttp(h);
    return { destination: deliveryView(h), httpEndpoint: h };
  }
  if (!meta.httpEndpoint) return undefined;
  const s3 = (input.ExtendedS3DestinationUpdate ?? input.S3DestinationUpdate) as Record<string, unknown> | undefined;
  if (!s3) return { destination: meta.destination, httpEndpoint: meta.httpEndpoint };
  if (!s3.BucketARN || !s3.RoleARN) throw new AwsError('InvalidArgumentException', 'Changing the destination type to S3 needs RoleARN and BucketARN.');
  return { destination: normaliseS3(s3), httpEndpoint: undefined };
}
