/**
 * The actions whose CPU-heavy front half runs in the offload workers
 * (offload.ts): Data Streams' PutRecords and Firehose's PutRecordBatch. Both
 * follow the front door's order — parse, SigV4, shape check (which decodes
 * the base64 data) — and hand back the decoded records in one transferred
 * buffer; policy and the action stay on the main thread.
 *
 * `prepareOffloaded` is what the worker runs and what the main thread runs
 * inline when the workers are busy or absent, so both paths answer alike.
 */
import { AwsError } from '../../sdk/protocol/errors.ts';
import { verifySigV4 } from './auth.ts';
import { preparePutRecords, putRecordsInput, type OffloadJob, type OffloadResult, type PreparedPutRecords } from './offload.ts';
import { validateInput, type StructureShape } from './validate.ts';

/** Which action an offloaded request is for (absent on a job: PutRecords). */
export type OffloadKind = 'kinesis.PutRecords' | 'firehose.PutRecordBatch';

/** Firehose PutRecordBatch decoded: record data concatenated in one buffer, each record's place in it. */
export interface PreparedRecordBatch {
  accessKeyId: string;
  input: Record<string, unknown>;
  data: Uint8Array;
  records: Array<{ off: number; len: number }>;
}

/** Runs the job's kind of preparation. */
export function prepareOffloaded(job: OffloadJob, shape: StructureShape): OffloadResult {
  return job.kind === 'firehose.PutRecordBatch' ? prepareRecordBatch(job, shape) : preparePutRecords(job, shape);
}

/** The action input rebuilt on the main thread from a prepared job of `kind`. */
export function offloadedInput(kind: OffloadKind, value: PreparedPutRecords | PreparedRecordBatch): Record<string, unknown> {
  if (kind === 'firehose.PutRecordBatch') return recordBatchInput(value as PreparedRecordBatch);
  return putRecordsInput(value as PreparedPutRecords);
}

/** The buffers a result transfers (not copies) back to the main thread: every typed array at its top level (each owns its ArrayBuffer). */
export function transferOf(result: OffloadResult): ArrayBuffer[] {
  if (!result.ok) return [];
  return Object.values(result.value).filter((v): v is ArrayBufferView => ArrayBuffer.isView(v)).map((v) => v.buffer as ArrayBuffer);
}

function prepareRecordBatch(job: OffloadJob, shape: StructureShape): OffloadResult {
  try {
    const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
    // The same order as the front door: parse, authenticate, then check the shape.
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, type: 'SerializationException', status: 400 };
    const { accessKeyId } = verifySigV4({ method: job.method, url: job.url, headers: job.headers }, body, {
      service: job.service,
      region: job.region,
      now: job.now,
      allowUnsignedPayload: false,
      lookupSecret: (id) => (id === job.accessKeyId ? job.secret : undefined),
    });
    const input = validateInput(shape, parsed);
    const entries = input.Records as Array<{ Data: Buffer }>;
    let total = 0;
    for (const e of entries) total += e.Data.length;
    // Not from Node's pool: this buffer is transferred to the main thread whole.
    const data = new Uint8Array(new ArrayBuffer(total));
    const records: PreparedRecordBatch['records'] = [];
    let off = 0;
    for (const e of entries) {
      data.set(e.Data, off);
      records.push({ off, len: e.Data.length });
      off += e.Data.length;
    }
    const { Records: _records, ...rest } = input;
    return { ok: true, value: { accessKeyId, input: rest, data, records } };
  } catch (err) {
    if (err instanceof AwsError) return { ok: false, type: err.type, ...(err.hasMessage ? { message: err.message } : {}), status: err.status };
    return { ok: false, type: 'InternalFailure', status: 500, message: String((err as Error)?.message ?? err) };
  }
}

function recordBatchInput(p: PreparedRecordBatch): Record<string, unknown> {
  const data = Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength);
  return { ...p.input, Records: p.records.map((r) => ({ Data: data.subarray(r.off, r.off + r.len) })) };
}
