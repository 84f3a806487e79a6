/**
 * Metrics for batches that do not end as one object in the S3 destination:
 * HTTP endpoint delivery, the AllData backup and the error output, under
 * CloudWatch's names (DeliveryToHttpEndpoint.*, BackupToS3.*; a dot becomes
 * an underscore). Records routed to the error output are counted too, so a
 * destination that stays down never loses records without a trace.
 */
import { Counter, PeakGauge } from '../metrics.ts';
import type { DeliveryEvent } from './delivery.ts';

type Labels = { delivery_stream: string };

export class RoutedDeliveryMetrics {
  readonly httpRecords = new Counter('tributary_firehose_DeliveryToHttpEndpoint_Records', 'Records the HTTP endpoint acknowledged (CloudWatch DeliveryToHttpEndpoint.Records).');
  readonly httpBytes = new Counter('tributary_firehose_DeliveryToHttpEndpoint_Bytes', 'Record bytes the HTTP endpoint acknowledged, before processing (CloudWatch DeliveryToHttpEndpoint.Bytes).');
  readonly httpSuccess = new Counter('tributary_firehose_DeliveryToHttpEndpoint_Success', 'Requests the HTTP endpoint acknowledged (CloudWatch DeliveryToHttpEndpoint.Success is this over the attempts).');
  readonly httpAttempts = new Counter('tributary_firehose_DeliveryToHttpEndpoint_Attempts', 'Attempts to deliver a request or its backup, successful or not.');
  readonly httpDataFreshness = new PeakGauge('tributary_firehose_DeliveryToHttpEndpoint_DataFreshness', 'Age in seconds of the oldest record of the last acknowledged request (CloudWatch DeliveryToHttpEndpoint.DataFreshness).');
  readonly backupRecords = new Counter('tributary_firehose_BackupToS3_Records', 'Records written to the backup bucket with S3BackupMode AllData (HTTP endpoint) or Enabled (source record backup) (CloudWatch BackupToS3.Records).');
  readonly backupSuccess = new Counter('tributary_firehose_BackupToS3_Success', 'Backup objects written (CloudWatch BackupToS3.Success).');
  readonly errorRecords = new Counter('tributary_firehose_DeliveryToErrorOutput_Records', 'Records written to the error prefix after the retry duration ran out, by error_output_type.');

  /** Counts one delivered batch that `routeBatch` handled. */
  record(l: Labels, e: DeliveryEvent): void {
    const r = e.routed;
    if (!r) return;
    if (r.httpRecords !== undefined) {
      this.httpRecords.inc(l, r.httpRecords);
      this.httpBytes.inc(l, e.bytes);
      this.httpSuccess.inc(l);
      this.httpAttempts.inc(l); // The answered attempt; the failed ones are counted as they fail.
      this.httpDataFreshness.set(l, e.oldestAgeMs / 1000);
    }
    if (r.backupRecords !== undefined) {
      this.backupRecords.inc(l, r.backupRecords);
      this.backupSuccess.inc(l);
    }
    if (r.errorOutput) this.errorRecords.inc({ ...l, error_output_type: r.errorOutput.type }, r.errorOutput.records);
  }

  render(): string {
    return [this.httpRecords, this.httpBytes, this.httpSuccess, this.httpAttempts, this.httpDataFreshness, this.backupRecords, this.backupSuccess, this.errorRecords]
      .map((m) => m.render())
      .join('');
  }
}
