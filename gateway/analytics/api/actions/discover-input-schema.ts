/**
 * DiscoverInputSchema: samples a data stream, a delivery stream or an object
 * of a bucket (S3Configuration; buckets are Firehose's, filesystem or
 * S3-compatible), runs an optional preprocessor over them and infers a
 * schema (discovery.ts).
 */
import { analyticsErrors } from '../../../../sdk/protocol/analytics/errors.ts';
import { checkPreprocessor, resourceName } from '../checks.ts';
import type { AnalyticsAction } from '../context.ts';
import { discoverySampleRecordsMax, inferSchema } from '../discovery.ts';
import type { ArnRole } from '../model.ts';
import { InputProcessingConfiguration, InputStartingPositionConfiguration, requestShape, ResourceARN, RoleARN, S3Configuration } from '../shapes.ts';

export const discoverInputSchema: AnalyticsAction = {
  shape: requestShape({ ResourceARN, RoleARN, InputStartingPositionConfiguration, S3Configuration, InputProcessingConfiguration }),
  async handle({ checks, discovery }, input) {
    const arn = input.ResourceARN as string | undefined;
    const s3 = input.S3Configuration as { BucketARN: string; FileKey: string } | undefined;
    if ((arn === undefined) === (s3 === undefined)) throw analyticsErrors.invalid('Specify either ResourceARN (with RoleARN and InputStartingPositionConfiguration) or S3Configuration.');
    const processor = (input.InputProcessingConfiguration as { InputLambdaProcessor: ArnRole } | undefined)?.InputLambdaProcessor;
    checkPreprocessor(checks, processor);
    let raw: Buffer[];
    let records: Buffer[];
    let source: string;
    if (arn !== undefined) {
      if (input.RoleARN === undefined) throw analyticsErrors.invalid('RoleARN is required with ResourceARN.');
      const position = (input.InputStartingPositionConfiguration as { InputStartingPosition?: 'NOW' | 'TRIM_HORIZON' | 'LAST_STOPPED_POINT' } | undefined)?.InputStartingPosition;
      if (position === undefined) throw analyticsErrors.invalid('InputStartingPositionConfiguration is required with ResourceARN.');
      const sampled = arn.includes(':firehose:')
        ? await discovery.fromDeliveryStream(resourceName(checks, arn, 'deliverystream', 'ResourceARN'), discoverySampleRecordsMax)
        : await discovery.fromStream(resourceName(checks, arn, 'stream', 'ResourceARN'), position, discoverySampleRecordsMax);
      if (!sampled) throw analyticsErrors.invalid(`${arn} does not exist.`);
      raw = records = sampled;
      source = arn;
    } else {
      resourceName(checks, s3!.BucketARN, 'bucket', 'S3Configuration.BucketARN');
      const object = await discovery.fromObject(s3!.BucketARN, s3!.FileKey);
      if (!object) throw analyticsErrors.invalid(`Object ${s3!.FileKey} does not exist in bucket ${s3!.BucketARN}.`);
      raw = [object];
      // An object's rows are its records (the S3 example returns the whole object as one raw record).
      records = [object];
      source = s3!.BucketARN;
    }
    const rawText = raw.map((b) => b.toString('utf8'));
    const processed = processor ? await discovery.preprocess(processor.ResourceARN, source, records) : records;
    const processedText = processor ? processed.map((b) => b.toString('utf8')) : [];
    if (processed.length === 0) throw analyticsErrors.unableToDetect(`Unable to detect schema: no records were found in ${source}.`, rawText, processedText);
    const found = inferSchema(processed.map((b) => b.toString('utf8')));
    if (!found) throw analyticsErrors.unableToDetect('Unable to detect schema: the records are neither JSON objects nor delimited text with the same number of columns in every row.', rawText, processedText);
    return {
      InputSchema: found.schema,
      ParsedInputRecords: found.parsed,
      ...(processor ? { ProcessedInputRecords: processedText } : {}),
      RawInputRecords: rawText,
    };
  },
};
