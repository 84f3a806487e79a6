/** The Firehose action table: `X-Amz-Target: Firehose_20150804.<name>`. */
import type { FirehoseAction } from '../shapes.ts';
import { createDeliveryStream } from './create-delivery-stream.ts';
import { deleteDeliveryStream } from './delete-delivery-stream.ts';
import { describeDeliveryStream } from './describe-delivery-stream.ts';
import { startDeliveryStreamEncryption, stopDeliveryStreamEncryption } from './encryption.ts';
import { listDeliveryStreams } from './list-delivery-streams.ts';
import { putRecord } from './put-record.ts';
import { putRecordBatch } from './put-record-batch.ts';
import { listTagsForDeliveryStream, tagDeliveryStream, untagDeliveryStream } from './tags.ts';
import { updateDestination } from './update-destination.ts';

export const firehoseTargetPrefix = 'Firehose_20150804';
export const firehoseSigningName = 'firehose';

export const firehoseActions: Record<string, FirehoseAction> = {
  CreateDeliveryStream: createDeliveryStream,
  DeleteDeliveryStream: deleteDeliveryStream,
  DescribeDeliveryStream: describeDeliveryStream,
  ListDeliveryStreams: listDeliveryStreams,
  ListTagsForDeliveryStream: listTagsForDeliveryStream,
  PutRecord: putRecord,
  PutRecordBatch: putRecordBatch,
  StartDeliveryStreamEncryption: startDeliveryStreamEncryption,
  StopDeliveryStreamEncryption: stopDeliveryStreamEncryption,
  TagDeliveryStream: tagDeliveryStream,
  UntagDeliveryStream: untagDeliveryStream,
  UpdateDestination: updateDestination,
};

/** The resource a call acts on, for policies: `deliverystream/<name>`, or `*` for ListDeliveryStreams. */
export function firehoseResourceOf(action: string, input: Record<string, unknown>): string {
  if (action === 'ListDeliveryStreams' || typeof input.DeliveryStreamName !== 'string') return '*';
  return `deliverystream/${input.DeliveryStreamName}`;
}
