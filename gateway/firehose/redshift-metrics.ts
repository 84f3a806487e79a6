/**
 * The Redshift destination's metrics under their CloudWatch names
 * (DeliveryToRedshift.*), labelled by delivery stream. The intermediate
 * objects count in DeliveryToS3.* as for any bucket write.
 */
import { Counter } from '../metrics.ts';

export class RedshiftMetrics {
  readonly success = new Counter('tributary_firehose_DeliveryToRedshift_Success', 'Objects loaded into the table, or found loaded already (CloudWatch DeliveryToRedshift.Success is this over the attempts).');
  readonly attemptsFailed = new Counter('tributary_firehose_DeliveryToRedshift_FailedAttempts', 'Load attempts that failed and were retried or, past the retry duration, written to the redshift-failed manifest.');
  readonly records = new Counter('tributary_firehose_DeliveryToRedshift_Records', 'Rows inserted (CloudWatch DeliveryToRedshift.Records).');
  readonly bytes = new Counter('tributary_firehose_DeliveryToRedshift_Bytes', 'Object bytes loaded, uncompressed (CloudWatch DeliveryToRedshift.Bytes).');
  readonly skipped = new Counter('tributary_firehose_DeliveryToRedshift_SkippedObjects', 'Objects not loaded within the retry duration: listed in a redshift-failed manifest.');

  render(): string {
    return [this.success, this.attemptsFailed, this.records, this.bytes, this.skipped].map((m) => m.render()).join('');
  }
}
