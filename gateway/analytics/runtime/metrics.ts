/**
 * Analytics metrics under their CloudWatch names (AWS/KinesisAnalytics
 * namespace, dev/monitoring-metrics.html; a dot becomes an underscore),
 * labelled by application (and input or output id), appended to the
 * gateway's /metrics page.
 */
import { Counter, Gauge, Histogram } from '../../metrics.ts';

export class AnalyticsMetrics {
  readonly records = new Counter('tributary_analytics_Records', 'Records read from the input (CloudWatch Records), by application and input.');
  readonly bytes = new Counter('tributary_analytics_Bytes', 'Bytes read from the input (CloudWatch Bytes), by application and input.');
  readonly millisBehindLatest = new Gauge('tributary_analytics_MillisBehindLatest', 'Age in ms of the newest record the input read last (CloudWatch MillisBehindLatest).');
  readonly inputOk = new Counter('tributary_analytics_InputProcessing_OkRecords', 'Records the preprocessor returned Ok (CloudWatch InputProcessing.OkRecords).');
  readonly inputDropped = new Counter('tributary_analytics_InputProcessing_DroppedRecords', 'Records the preprocessor dropped (CloudWatch InputProcessing.DroppedRecords).');
  readonly inputFailed = new Counter('tributary_analytics_InputProcessing_ProcessingFailedRecords', 'Records the preprocessor failed (CloudWatch InputProcessing.ProcessingFailedRecords).');
  readonly outputRecords = new Counter('tributary_analytics_Output_Records', 'Output records delivered, by application and output (LambdaDelivery.OkRecords for Lambda outputs).');
  readonly outputBytes = new Counter('tributary_analytics_Output_Bytes', 'Output bytes delivered, by application and output.');
  readonly outputFailed = new Counter('tributary_analytics_Output_DeliveryFailedRecords', 'Output records that failed an attempt and were retried (LambdaDelivery.DeliveryFailedRecords for Lambda outputs).');
  readonly outputPending = new Gauge('tributary_analytics_Output_PendingRecords', 'Output records queued or in flight, by application and output.');
  readonly checkpoints = new Counter('tributary_analytics_Checkpoints', 'Checkpoints written, by application.');
  readonly inputToOutputSeconds = new Histogram('tributary_analytics_input_to_output_duration_seconds', 'From a record arriving in the source to the rows it produced reaching an output queue (continuous queries).', [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);

  render(): string {
    return [
      this.records, this.bytes, this.millisBehindLatest, this.inputOk, this.inputDropped, this.inputFailed,
      this.outputRecords, this.outputBytes, this.outputFailed, this.outputPending, this.checkpoints, this.inputToOutputSeconds,
    ].map((m) => m.render()).join('');
  }
}
