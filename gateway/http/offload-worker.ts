/**
 * The offload worker: runs `prepareOffloaded` (PutRecords, PutRecordBatch) for the main thread and
 * transfers the result back, with the request body (the main thread reuses it for a later request).
 * PutRecords frames go into the spare buffers the main thread sends along (buffer-pool.ts).
 */
import { parentPort } from 'node:worker_threads';
import { putRecords } from '../streams/actions/put-records.ts';
import { putRecordBatch } from '../firehose/actions/put-record-batch.ts';
import { BufferPool, pooledBytesMin } from './buffer-pool.ts';
import { prepareOffloaded, transferOf } from './offload-kinds.ts';
import type { OffloadJob } from './offload.ts';

const frameSpares = new BufferPool(8, 8 * 1024 * 1024);
const framesBuffer = (size: number) => (size >= pooledBytesMin ? frameSpares.take(size) : Buffer.allocUnsafeSlow(size));

parentPort!.on('message', (msg: { id: number; job: OffloadJob; spare?: ArrayBuffer }) => {
  if (msg.spare) frameSpares.give(msg.spare);
  const { job } = msg;
  const firehose = job.kind === 'firehose.PutRecordBatch';
  const result = prepareOffloaded(job, firehose ? putRecordBatch.shape : putRecords.shape, firehose ? {} : { framesBuffer });
  // Nothing in the result refers to the body (its records are copied out), so it goes back too.
  const transfer = transferOf(result);
  const body = job.body.buffer as ArrayBuffer;
  const bodyBack = !transfer.includes(body);
  parentPort!.postMessage({ id: msg.id, result, ...(bodyBack ? { body: job.body } : {}) }, bodyBack ? [...transfer, body] : transfer);
});

parentPort!.postMessage({ ready: true });
