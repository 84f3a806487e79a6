/**
 * Firehose metrics under their CloudWatch names (AWS/Firehose namespace; a
 * dot becomes an underscore), labelled by delivery stream, appended to the
 * gateway's /metrics page.
 */
import { Counter, PeakGauge } from '../metrics.ts';
import { RoutedDeliveryMetrics } from './delivery-metrics.ts';
import { RedshiftMetrics } from './redshift-metrics.ts';
import { ProcessingMetrics } from './processing-metrics.ts';

export class FirehoseMetrics {
  readonly incomingRecords = new Counter('tributary_firehose_IncomingRecords', 'Records accepted by PutRecord/PutRecordBatch or read from a source stream (CloudWatch IncomingRecords).');
  readonly incomingBytes = new Counter('tributary_firehose_IncomingBytes', 'Data bytes accepted (CloudWatch IncomingBytes).');
  readonly incomingPutRequests = new Counter('tributary_firehose_IncomingPutRequests', 'PutRecord and PutRecordBatch requests (CloudWatch IncomingPutRequests).');
  readonly throttledRecords = new Counter('tributary_firehose_ThrottledRecords', 'Records refused because staging is at its cap (CloudWatch ThrottledRecords).');
  readonly deliveryRecords = new Counter('tributary_firehose_DeliveryToS3_Records', 'Records delivered (CloudWatch DeliveryToS3.Records).');
  readonly deliveryBytes = new Counter('tributary_firehose_DeliveryToS3_Bytes', 'Record bytes delivered, before compression (CloudWatch DeliveryToS3.Bytes).');
  readonly deliveryObjectBytes = new Counter('tributary_firehose_DeliveryToS3_ObjectBytes', 'Object bytes written, after compression.');
  readonly deliverySuccess = new Counter('tributary_firehose_DeliveryToS3_Success', 'Objects written (CloudWatch DeliveryToS3.Success is this over the attempts).');
  readonly deliveryAttempts = new Counter('tributary_firehose_DeliveryToS3_Attempts', 'Attempts to write an object, successful or not.');
  readonly dataFreshness = new PeakGauge('tributary_firehose_DeliveryToS3_DataFreshness', 'Age in seconds of the oldest record of the last delivered object (CloudWatch DeliveryToS3.DataFreshness).');

  /** HTTP endpoint, AllData backup and error output (delivery-metrics.ts). */
  readonly routed = new RoutedDeliveryMetrics();
  /** Redshift destination (redshift-metrics.ts). */
  readonly redshift = new RedshiftMetrics();
  /** Processors: succeeded, dropped and failed records (processing-metrics.ts). */
  readonly processing = new ProcessingMetrics();

  render(): string {
    return this.routed.render() + this.redshift.render() + this.processing.render() + [
      this.incomingRecords, this.incomingBytes, this.incomingPutRequests, this.throttledRecords, this.deliveryRecords, this.deliveryBytes,
      this.deliveryObjectBytes, this.deliverySuccess, this.deliveryAttempts, this.dataFreshness,
    ].map((m) => m.render()).join('');
  }
}
