/**
 * Processing metrics: what the processors did to each delivered buffer.
 * CloudWatch has SucceedProcessing.Records (Ok and Dropped count as
 * processed successfully); the dropped and failed counts are ours, so that
 * a transformer that drops or fails records shows up without reading the
 * error prefix.
 */
import { Counter } from '../metrics.ts';

export interface ProcessingCounts {
  /** Records the pipeline passed on or a transformer dropped. */
  succeeded: number;
  /** Records a transformer answered Dropped for. */
  dropped: number;
  /** Records sent to the error prefix by a processor or by dynamic partitioning. */
  failed: number;
}

export class ProcessingMetrics {
  readonly succeeded = new Counter('tributary_firehose_SucceedProcessing_Records', 'Records processed successfully, Dropped included (CloudWatch SucceedProcessing.Records).');
  readonly dropped = new Counter('tributary_firehose_Processing_DroppedRecords', 'Records a Lambda transformer answered Dropped for (counted, delivered nowhere).');
  readonly failed = new Counter('tributary_firehose_Processing_FailedRecords', 'Records sent to the error prefix by a processor, dynamic partitioning or format conversion.');

  note(labels: { delivery_stream: string }, c: ProcessingCounts): void {
    if (c.succeeded) this.succeeded.inc(labels, c.succeeded);
    if (c.dropped) this.dropped.inc(labels, c.dropped);
    if (c.failed) this.failed.inc(labels, c.failed);
  }

  render(): string {
    return [this.succeeded, this.dropped, this.failed].map((m) => m.render()).join('');
  }
}
