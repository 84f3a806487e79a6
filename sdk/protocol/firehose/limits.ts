/**
 * Amazon Data Firehose limits and defaults, each cited to the AWS page it
 * comes from (Firehose API Reference, "Amazon Data Firehose Quota", and the
 * service model, botocore `firehose/2015-08-04/service-2.json`).
 */
import assert from 'node:assert/strict';

const KiB = 1024;
const MiB = 1024 * KiB;

/** API Reference, CreateDeliveryStream: DeliveryStreamName, 1-64 characters of [a-zA-Z0-9_.-]. */
export const deliveryStreamNameLengthMax = 64;
export const deliveryStreamNamePattern = '[a-zA-Z0-9_.-]+';
/** Service model, DeliveryStreamARN. */
export const deliveryStreamArnLengthMax = 512;
export const deliveryStreamArnPattern = 'arn:.*:firehose:[a-zA-Z0-9\\-]+:\\d{12}:deliverystream/[a-zA-Z0-9._-]+';
/** Service model, BucketARN. */
export const bucketArnLengthMax = 2048;
export const bucketArnPattern = 'arn:.*:s3:::[\\w\\.\\-]{1,255}';
/** Service model, RoleARN. */
export const roleArnLengthMax = 512;
export const roleArnPattern = 'arn:.*:iam::\\d{12}:role/[a-zA-Z_0-9+=,.@\\-_/]+';
/** Service model, AWSKMSKeyARN / KeyARN. */
export const kmsKeyArnLengthMax = 512;
export const kmsKeyArnPattern = 'arn:.*:kms:[a-zA-Z0-9\\-]+:\\d{12}:(key|alias)/[a-zA-Z_0-9+=,.@\\-_/]+';
/** Service model, RedshiftDestinationConfiguration: ClusterJDBCURL, 1-512 characters of this pattern (a Redshift cluster or Serverless host). */
export const redshiftJdbcUrlLengthMax = 512;
export const redshiftJdbcUrlPattern = 'jdbc:(redshift|postgresql)://((?!-)[A-Za-z0-9-]{1,63}(?<!-)\\.)+(redshift(-serverless)?)\\.([a-zA-Z0-9\\.\\-]+):\\d{1,5}/[a-zA-Z0-9_$-]+';
/** Service model: Username 1-512, Password 6-512; CopyCommand DataTableName 1-512, DataTableColumns and CopyOptions 0-204800. */
export const redshiftUsernameLengthMax = 512;
export const redshiftPasswordLengthMin = 6;
export const redshiftPasswordLengthMax = 512;
export const redshiftTableNameLengthMax = 512;
export const redshiftCopyTextLengthMax = 204_800;
/** Service model, SecretARN: 1-2048 characters. */
export const secretArnLengthMax = 2048;
export const secretArnPattern = 'arn:.*:secretsmanager:[a-zA-Z0-9\\-]+:\\d{12}:secret:[a-zA-Z0-9\\-/_+=.@!]+';
/** API Reference, RedshiftRetryOptions: DurationInSeconds 0-7200, default 3600. */
export const redshiftRetrySecondsMax = 7200;
export const redshiftRetrySecondsDefault = 3600;
/** Service model, KinesisStreamARN. */
export const kinesisStreamArnPattern = 'arn:.*:kinesis:[a-zA-Z0-9\\-]+:\\d{12}:stream/[a-zA-Z0-9_.-]+';
/** Service model, Prefix and ErrorOutputPrefix: up to 1024 characters. */
export const prefixLengthMax = 1024;

/** API Reference, PutRecord / PutRecordBatch: a record's data blob is at most 1,000 KiB before base64. */
export const recordBytesMax = 1000 * KiB;
/** API Reference, PutRecordBatch: up to 500 records per call... */
export const putRecordBatchEntriesMax = 500;
/** ...and up to 4 MiB for the whole request. */
export const putRecordBatchBytesMax = 4 * MiB;

/** API Reference, BufferingHints: SizeInMBs 1-128, default 5 (S3 destinations). */
export const bufferSizeMiBMin = 1;
export const bufferSizeMiBMax = 128;
export const bufferSizeMiBDefault = 5;
/** API Reference, BufferingHints: IntervalInSeconds 0-900, default 300 (S3 destinations). */
export const bufferIntervalSecondsMin = 0;
export const bufferIntervalSecondsMax = 900;
export const bufferIntervalSecondsDefault = 300;

/** API Reference, ListDeliveryStreams: Limit 1-10000, default 10. */
export const listDeliveryStreamsLimitMax = 10_000;
export const listDeliveryStreamsLimitDefault = 10;
/** API Reference, DescribeDeliveryStream: Limit (destinations) 1-10000. */
export const describeDestinationsLimitMax = 10_000;
/** API Reference, TagDeliveryStream / CreateDeliveryStream: 1-50 tags per call; a delivery stream holds at most 50. */
export const tagsPerCallMax = 50;
export const tagsPerDeliveryStreamMax = 50;
/** API Reference, ListTagsForDeliveryStream: Limit 1-50, default 50. */
export const listTagsLimitMax = 50;
/** API Reference, Tag: keys 1-128 characters, values 0-256. */
export const tagKeyLengthMax = 128;
export const tagValueLengthMax = 256;
/** Service model, DeliveryStreamVersionId: 1-50 digits. */
export const versionIdLengthMax = 50;
/** Service model, DestinationId: 1-100 characters. */
export const destinationIdLengthMax = 100;
/** The one destination a delivery stream has. */
export const destinationIdFirst = 'destinationId-000000000001';
/** Amazon Data Firehose Quota: 5,000 delivery streams per Region by default. */
export const deliveryStreamsPerAccountMax = 5000;
/** Service model, ProcessorParameter ParameterValue: 1-5120 characters. */
export const processorParameterValueLengthMax = 5120;
/** Service model, FileExtension: up to 128 characters. */
export const fileExtensionLengthMax = 128;

export const compressionFormats = ['UNCOMPRESSED', 'GZIP', 'ZIP', 'Snappy', 'HADOOP_SNAPPY'] as const;
export type CompressionFormat = (typeof compressionFormats)[number];
export const deliveryStreamTypes = ['DirectPut', 'KinesisStreamAsSource', 'MSKAsSource', 'DatabaseAsSource'] as const;
export type DeliveryStreamType = (typeof deliveryStreamTypes)[number];

assert.ok(putRecordBatchEntriesMax * 1 <= putRecordBatchBytesMax);
assert.ok(recordBytesMax <= putRecordBatchBytesMax);
assert.ok(bufferSizeMiBDefault >= bufferSizeMiBMin && bufferSizeMiBDefault <= bufferSizeMiBMax);
assert.ok(bufferIntervalSecondsDefault >= bufferIntervalSecondsMin && bufferIntervalSecondsDefault <= bufferIntervalSecondsMax);

// HTTP endpoint destination (issue #6).
/** API Reference, HttpEndpointBufferingHints: SizeInMBs 1-64, default 5; IntervalInSeconds 0-900, default 300. */
export const httpBufferSizeMiBMax = 64;
/** API Reference, HttpEndpointRetryOptions: DurationInSeconds 0-7200; the console and CloudFormation default is 300. */
export const httpRetrySecondsMax = 7200;
export const httpRetrySecondsDefault = 300;
/** API Reference, HttpEndpointConfiguration: Url 1-1000 characters, Name 1-256, AccessKey 0-4096. */
export const httpEndpointUrlLengthMax = 1000;
export const httpEndpointNameLengthMax = 256;
export const httpAccessKeyLengthMax = 4096;
/** API Reference, HttpEndpointCommonAttribute: name 1-256, value 0-1024; HttpEndpointRequestConfiguration: at most 50. */
export const httpCommonAttributeNameLengthMax = 256;
export const httpCommonAttributeValueLengthMax = 1024;
export const httpCommonAttributesMax = 50;
/** Developer Guide, HTTP endpoint delivery request and response specifications: 3 minutes to answer. */
export const httpEndpointResponseTimeoutMs = 180_000;
/** Our cap on the endpoint's answer (it is a small JSON object); a larger one is a failed attempt. */
export const httpEndpointResponseBytesMax = 64 * KiB;
/** Developer Guide, Handle data delivery failures: S3 delivery is retried for up to 24 hours. */
export const s3RetryMsDefault = 24 * 3600_000;

assert.ok(httpBufferSizeMiBMax <= bufferSizeMiBMax && httpRetrySecondsDefault <= httpRetrySecondsMax);
