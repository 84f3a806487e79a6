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
import { putRecordBatchEntriesMax, recordBytesMax as firehoseRecordBytesMax } from '../../sdk/protocol/firehose/limits.ts';
import { checkScannedMembers, preparePutRecords, putRecordsInput, verifyJob, type OffloadJob, type OffloadResult, type PrepareOptions, type PreparedPutRecords } from './offload.ts';
import { base64DecodedLength, decodeBase64Into, scanBody, type BodyLayout, type ScannedBody } from './offload-scan.ts';
import { validateInput, type StructureShape } from './validate.ts';

/** Which action an offloaded request is for (absent on a job: PutRecords). */
export type OffloadKind = 'kinesis.PutRecords' | 'firehose.PutRecordBatch';

/** Firehose PutRecordBatch decoded: record data concatenated in one buffer; record i is data[offsets[i], offsets[i + 1]). */
export interface PreparedRecordBatch {
  accessKeyId: string;
  input: Record<string, unknown>;
  data: Uint8Array;
  offsets: Int32Array;
}

/** Runs the job's kind of preparation (`scan: false`, for tests and the benchmark: the general path for every body). */
export function prepareOffloaded(job: OffloadJob, shape: StructureShape, options: PrepareOptions = {}): OffloadResult {
  return job.kind === 'firehose.PutRecordBatch' ? prepareRecordBatch(job, shape, options) : preparePutRecords(job, shape, options);
}

/** The action input rebuilt on the main thread from a prepared job of `kind`; `recycle` gets PutRecords' frames buffer back once stored. */
export function offloadedInput(kind: OffloadKind, value: PreparedPutRecords | PreparedRecordBatch, recycle?: (ab: ArrayBuffer) => void): Record<string, unknown> {
  if (kind === 'firehose.PutRecordBatch') return recordBatchInput(value as PreparedRecordBatch);
  return putRecordsInput(value as PreparedPutRecords, recycle);
}

/** The buffers a result transfers (not copies) back to the main thread: every typed array at its top level (each owns its ArrayBuffer). */
export function transferOf(result: OffloadResult): ArrayBuffer[] {
  if (!result.ok) return [];
  return Object.values(result.value).filter((v): v is ArrayBufferView => ArrayBuffer.isView(v)).map((v) => v.buffer as ArrayBuffer);
}

const recordBatchLayout: BodyLayout = { topStrings: ['DeliveryStreamName'], list: 'Records', recordStrings: ['Data'], recordsMax: putRecordBatchEntriesMax };

/**
 * Parse, SigV4 and shape check (base64 included) for a PutRecordBatch body,
 * in the front door's order: the usual body through the scanner
 * (offload-scan.ts), decoded straight into the result's buffer; any other
 * through JSON.parse and validateInput, which word every error.
 */
function prepareRecordBatch(job: OffloadJob, shape: StructureShape, options: { scan?: boolean } = {}): OffloadResult {
  try {
    const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
    const scanned = options.scan === false ? undefined : scanBody(body, recordBatchLayout, 0);
    const fast = scanned && recordBatchFromScan(body, scanned, shape);
    if (fast) {
      fast.accessKeyId = verifyJob(job, body);
      return { ok: true, value: fast };
    }
    // The same order as the front door: parse, authenticate, then check the shape.
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, type: 'SerializationException', status: 400 };
    const accessKeyId = verifyJob(job, body);
    const input = validateInput(shape, parsed);
    const entries = input.Records as Array<{ Data: Buffer }>;
    const n = entries.length;
    const offsets = new Int32Array(new ArrayBuffer(4 * (n + 1)));
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + entries[i]!.Data.length;
    // Not from Node's pool: this buffer is transferred to the main thread whole.
    const data = Buffer.allocUnsafeSlow(offsets[n]!);
    for (let i = 0; i < n; i++) entries[i]!.Data.copy(data, offsets[i]!);
    const { Records: _records, ...rest } = input;
    return { ok: true, value: { accessKeyId, input: rest, data, offsets } };
  } catch (err) {
    if (err instanceof AwsError) return { ok: false, type: err.type, ...(err.hasMessage ? { message: err.message } : {}), status: err.status };
    return { ok: false, type: 'InternalFailure', status: 500, message: String((err as Error)?.message ?? err) };
  }
}

/** The decoded records of a scanned body, or undefined when validateInput would find anything to report. */
function recordBatchFromScan(body: Buffer, scan: ScannedBody, shape: StructureShape): PreparedRecordBatch | undefined {
  const input = checkScannedMembers(shape, scan.members);
  if (!input) return undefined;
  const n = scan.count;
  const [dataStart] = scan.starts as [Int32Array];
  const [dataEnd] = scan.ends as [Int32Array];
  const offsets = new Int32Array(new ArrayBuffer(4 * (n + 1)));
  for (let i = 0; i < n; i++) {
    if (dataStart[i]! < 0) return undefined; // Data missing
    const len = base64DecodedLength(body, dataStart[i]!, dataEnd[i]!);
    if (len < 0 || len > firehoseRecordBytesMax) return undefined;
    offsets[i + 1] = offsets[i]! + len;
  }
  const data = Buffer.allocUnsafeSlow(offsets[n]!);
  for (let i = 0; i < n; i++) if (decodeBase64Into(body, dataStart[i]!, dataEnd[i]!, data, offsets[i]!) < 0) return undefined;
  return { accessKeyId: '', input, data, offsets };
}

function recordBatchInput(p: PreparedRecordBatch): Record<string, unknown> {
  const data = Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength);
  const Records = new Array<{ Data: Buffer }>(p.offsets.length - 1);
  for (let i = 0; i < Records.length; i++) Records[i] = { Data: data.subarray(p.offsets[i]!, p.offsets[i + 1]!) };
  return { ...p.input, Records };
}
