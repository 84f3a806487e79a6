/**
 * Kinesis Data Analytics for SQL (API version 2015-08-14) limits and
 * defaults, each cited to its source: the service model (botocore
 * `kinesisanalytics/2015-08-14/service-2.json`), the API Reference
 * (dev/API_*.html) and the Limits page of the SQL Developer Guide
 * (dev/limits.html).
 */
import assert from 'node:assert/strict';

/** Service model, ApplicationName: 1-128 characters of [a-zA-Z0-9_.-]. */
export const applicationNameLengthMax = 128;
export const applicationNamePattern = '[a-zA-Z0-9_.-]+';
/** Service model, ApplicationDescription: 0-1024 characters. */
export const applicationDescriptionLengthMax = 1024;
/** Service model, ApplicationCode: 0-102400 characters; dev/limits.html: "The SQL code in an application is limited to 100 KB". */
export const applicationCodeLengthMax = 102_400;
/** Service model, ApplicationVersionId: 1-999999999. */
export const applicationVersionIdMin = 1;
export const applicationVersionIdMax = 999_999_999;
/** Service model, Id (InputId, OutputId, ReferenceId, CloudWatchLoggingOptionId): 1-50 characters of [a-zA-Z0-9_.-]. */
export const idLengthMax = 50;
export const idPattern = '[a-zA-Z0-9_.-]+';
/** Service model, InAppStreamName and InAppTableName: 1-32 characters. */
export const inAppNameLengthMax = 32;
/** Service model, ResourceARN, BucketARN, LogStreamARN: 1-2048 characters starting `arn:`. */
export const arnLengthMax = 2048;
export const arnPattern = 'arn:.*';
/** Service model, RoleARN. */
export const roleArnPattern = 'arn:aws:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+';
/**
 * Service model, KinesisAnalyticsARN (TagResource, UntagResource,
 * ListTagsForResource): `...-\\d{1}+:\\d{12}+:...` there, whose `{n}+` is a
 * Java possessive quantifier; JavaScript has none, and for a fixed count it
 * matches the same strings as plain `{n}`.
 */
export const applicationArnPattern = 'arn:aws:kinesisanalytics:[a-z]{2}-[a-z]+-\\d{1}:\\d{12}:application/[a-zA-Z0-9_.-]{1,128}';
/** Service model, FileKey: 1-1024 characters. */
export const fileKeyLengthMax = 1024;
/** Service model, InputParallelismCount: 1-64; dev/limits.html: at most 64 in-application streams per input. */
export const inputParallelismMin = 1;
export const inputParallelismMax = 64;
export const inputParallelismDefault = 1;
/** Service model, RecordColumns: 1-1000 columns. */
export const recordColumnsMax = 1000;
/** Service model, RecordEncoding: only UTF-8. */
export const recordEncodingPattern = 'UTF-8';
/** Service model, ListApplicationsInputLimit: 1-50. */
export const listApplicationsLimitMax = 50;
/** Service model, Tags and TagKeys: 1-200 per call; TagKey 1-128, TagValue 0-256. */
export const tagsPerCallMax = 200;
export const tagKeyLengthMax = 128;
export const tagValueLengthMax = 256;
/** API Reference, TagResource: "The maximum number of user-defined application tags is 50." */
export const userTagsPerApplicationMax = 50;

/** dev/limits.html: "You can create up to 50 Kinesis Data Analytics applications per AWS Region in your account." (a soft limit: `analytics.applicationsMax`). */
export const applicationsPerRegionDefault = 50;
/** dev/limits.html: "Each application can have one streaming source and up to one reference data source." */
export const inputsPerApplicationMax = 1;
export const referenceDataSourcesPerApplicationMax = 1;
/** dev/limits.html: "You can configure up to three destinations for your Kinesis Data Analytics application." */
export const outputsPerApplicationMax = 3;
/** dev/limits.html: "The Amazon S3 object that stores reference data can be up to 1 GB in size." */
export const referenceObjectBytesMax = 1024 * 1024 * 1024;
/** dev/limits.html: "The size of a row in an in-application stream is limited to 512 KB." */
export const rowBytesMax = 512 * 1024;
/** dev/how-it-works-input.html: the in-application input stream name is `<NamePrefix>_001` (default prefix in the console: SOURCE_SQL_STREAM). */
export const inAppStreamSuffixDigits = 3;
/**
 * CloudWatch logging options per application. AWS publishes no number; this
 * gateway stores them (there is no CloudWatch here) and caps them so one
 * application cannot grow its metadata without bound.
 */
export const cloudWatchLoggingOptionsMax = 10;

export const applicationStatuses = ['DELETING', 'STARTING', 'STOPPING', 'READY', 'RUNNING', 'UPDATING'] as const;
export type ApplicationStatus = (typeof applicationStatuses)[number];
export const inputStartingPositions = ['NOW', 'TRIM_HORIZON', 'LAST_STOPPED_POINT'] as const;
export type InputStartingPosition = (typeof inputStartingPositions)[number];
export const recordFormatTypes = ['JSON', 'CSV'] as const;
export type RecordFormatType = (typeof recordFormatTypes)[number];

assert(userTagsPerApplicationMax <= tagsPerCallMax);
assert(inputParallelismDefault >= inputParallelismMin && inputParallelismDefault <= inputParallelismMax);
assert(outputsPerApplicationMax >= 1 && inputsPerApplicationMax === 1);
