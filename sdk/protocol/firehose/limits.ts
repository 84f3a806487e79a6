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
