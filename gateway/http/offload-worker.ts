/** The offload worker: runs `preparePutRecords` for the main thread and transfers the result back. */
import { parentPort } from 'node:worker_threads';
import { putRecords } from '../streams/actions/put-records.ts';
import { preparePutRecords, type OffloadJob } from './offload.ts';

parentPort!.on('message', (msg: { id: number; job: OffloadJob }) => {
  const result = preparePutRecords(msg.job, putRecords.shape);
  const transfer = result.ok ? [result.value.data.buffer, result.value.hashKeys.buffer, result.value.hashKeyValid.buffer] : [];
  parentPort!.postMessage({ id: msg.id, result }, transfer as ArrayBuffer[]);
});

parentPort!.postMessage({ ready: true });
