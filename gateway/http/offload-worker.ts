/** The offload worker: runs `prepareOffloaded` (PutRecords, PutRecordBatch) for the main thread and transfers the result back. */
import { parentPort } from 'node:worker_threads';
import { putRecords } from '../streams/actions/put-records.ts';
import { putRecordBatch } from '../firehose/actions/put-record-batch.ts';
import { prepareOffloaded, transferOf } from './offload-kinds.ts';
import type { OffloadJob } from './offload.ts';

parentPort!.on('message', (msg: { id: number; job: OffloadJob }) => {
  const result = prepareOffloaded(msg.job, msg.job.kind === 'firehose.PutRecordBatch' ? putRecordBatch.shape : putRecords.shape);
  parentPort!.postMessage({ id: msg.id, result }, transferOf(result));
});

parentPort!.postMessage({ ready: true });
