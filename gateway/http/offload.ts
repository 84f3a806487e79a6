/**
 * The CPU-heavy front half of a PutRecords request — SigV4 verification
 * (a SHA-256 of the whole body), JSON parsing, shape validation, base64
 * decoding and the MD5 of every partition key — done off the main thread.
 * The main thread keeps the HTTP I/O and everything stateful (policies,
 * routing, the shard logs); a worker does this pure part and hands back the
 * decoded records in one transferred buffer, so a second core shares the load.
 *
 * `preparePutRecords` is the pure function both sides can run: the pool uses
 * it in its worker, and the front door runs it inline when the pool is busy
 * or absent, so behaviour is identical either way.
 */
import { AwsError } from '../../sdk/protocol/errors.ts';
import { hashKeyFromDecimal } from '../../sdk/protocol/streams/hash-key.ts';
import { hashKeyPattern, partitionKeyLengthMax, putRecordsEntriesMax } from '../../sdk/protocol/streams/limits.ts';
import { crc32cRange } from '../storage/local/crc.ts';
import { frameHeaderBytes, frameTemplate } from '../storage/local/record-codec.ts';
import { framesOfEntries, RecordFrames } from '../streams/write-path.ts';
import { verifySigV4 } from './auth.ts';
import type { OffloadKind, PreparedRecordBatch } from './offload-kinds.ts';
import { md5Into } from './md5.ts';
import { base64DecodedLength, decodeBase64Into, scanBody, type BodyLayout, type ScannedBody } from './offload-scan.ts';
import { validateInput, type StructureShape } from './validate.ts';

/**
 * Writes a record's hash key to `out[at, at + 16)`: the ExplicitHashKey when
 * given, else the MD5 of the partition key's UTF-8 bytes `keys[start, end)`
 * (hash-key.ts). Returns 0 for an ExplicitHashKey out of range (the action reports it), else 1.
 */
function hashKeyInto(keys: Buffer, start: number, end: number, explicit: string | undefined, out: Buffer, at: number): number {
  if (explicit === undefined) {
    md5Into(keys, start, end, out, at);
    return 1;
  }
  const key = hashKeyFromDecimal(explicit);
  if (!key) return 0;
  key.copy(out, at);
  return 1;
}

/** The model's bound on a blob (validate.ts's dataShape in put-records.ts); each stream's own limit is checked after. */
const dataBlobBytesMax = 10 * 1024 * 1024;

export interface OffloadJob {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
  /** The secret for the access key the Authorization header names (looked up by the main thread). */
  accessKeyId?: string;
  secret?: string;
  service: string;
  /** Which action's preparation to run (offload-kinds.ts); absent: PutRecords. */
  kind?: OffloadKind;
  region: string;
  now: number;
}

/**
 * Decoded records as shard-log frames (RecordFrames in streams/write-path.ts:
 * each record's partition key and data in place, with the CRC-32C of those
 * bytes, so that the main thread neither copies nor sums them), and hash keys
 * precomputed (hashKeyValid 0: a bad ExplicitHashKey, for the action to
 * report). Every typed array is transferred, not copied, to the main thread.
 */
export interface PreparedPutRecords {
  accessKeyId: string;
  input: Record<string, unknown>;
  count: number;
  frames: Uint8Array;
  frameOff: Int32Array;
  tailCrc: Uint32Array;
  /** Present when some record has one. */
  explicitHashKeys?: Array<string | undefined>;
  hashKeys: Uint8Array;
  hashKeyValid: Uint8Array;
}

export type OffloadResult = { ok: true; value: PreparedPutRecords | PreparedRecordBatch } | { ok: false; type: string; message?: string; status: number };

/** The access key id an Authorization header (or presigned query) names, without verifying anything. */
export function accessKeyIdOf(headers: Record<string, string | string[] | undefined>, url: string): string | undefined {
  const auth = headers.authorization;
  const text = Array.isArray(auth) ? auth[0] : auth;
  const m = /Credential=([^/,\s]+)\//.exec(text ?? '') ?? /[?&]X-Amz-Credential=([^%/&]+)(?:%2F|\/)/.exec(url);
  return m?.[1];
}

/** SigV4 of an offloaded job, with the secret the main thread looked up. */
export function verifyJob(job: OffloadJob, body: Buffer): string {
  return verifySigV4({ method: job.method, url: job.url, headers: job.headers }, body, {
    service: job.service,
    region: job.region,
    now: job.now,
    allowUnsignedPayload: false,
    lookupSecret: (id) => (id === job.accessKeyId ? job.secret : undefined),
  }).accessKeyId;
}

/** The members besides the records list, and a shape for checking them alone. */
const restShapes = new WeakMap<StructureShape, StructureShape>();
export function restShapeOf(shape: StructureShape, list = 'Records'): StructureShape {
  let rest = restShapes.get(shape);
  if (!rest) {
    const { [list]: _list, ...members } = shape.members;
    rest = { type: 'structure', members };
    restShapes.set(shape, rest);
  }
  return rest;
}

/** Checks the top-level members a scan found, as validateInput would; undefined when any fails (the general path words it). */
export function checkScannedMembers(shape: StructureShape, members: Map<string, string>): Record<string, unknown> | undefined {
  const input: Record<string, unknown> = {};
  for (const [k, v] of members) input[k] = v;
  try {
    return validateInput(restShapeOf(shape), input);
  } catch {
    return undefined;
  }
}

const putRecordsLayout: BodyLayout = {
  topStrings: ['StreamName', 'StreamARN', 'StreamId'],
  list: 'Records',
  recordStrings: ['Data', 'PartitionKey', 'ExplicitHashKey'],
  recordsMax: putRecordsEntriesMax,
};
const explicitHashKeyRe = new RegExp(`^(?:${hashKeyPattern})$`, 'u');

export interface PrepareOptions {
  /** false (tests, the benchmark): the general path for every body. */
  scan?: boolean;
  /** Where the scanner's frames go (a worker's pooled buffers, buffer-pool.ts); a new buffer of their own otherwise. */
  framesBuffer?: (size: number) => Buffer;
}

/**
 * Parse, SigV4, shape check (base64 included) and hash keys for a PutRecords
 * body, in the front door's order. The usual body goes through the scanner
 * (offload-scan.ts) and is decoded straight into the result's buffers; any
 * body the scanner or its checks do not take goes through JSON.parse and
 * validateInput, which answer exactly as the general path does.
 */
export function preparePutRecords(job: OffloadJob, shape: StructureShape, options: PrepareOptions = {}): OffloadResult {
  try {
    const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
    // `scan: false` (tests) takes the general path for every body.
    const scanned = options.scan === false ? undefined : scanBody(body, putRecordsLayout, 0);
    const fast = scanned && fromScan(body, scanned, shape, options.framesBuffer);
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
    return { ok: true, value: fromEntries(accessKeyId, input) };
  } catch (err) {
    if (err instanceof AwsError) return { ok: false, type: err.type, ...(err.hasMessage ? { message: err.message } : {}), status: err.status };
    return { ok: false, type: 'InternalFailure', status: 500, message: String((err as Error)?.message ?? err) };
  }
}

/**
 * The prepared records of a scanned body, or undefined when validateInput
 * would find anything to report (the caller then runs it, for the wording).
 */
function fromScan(body: Buffer, scan: ScannedBody, shape: StructureShape, framesBuffer?: (size: number) => Buffer): PreparedPutRecords | undefined {
  const input = checkScannedMembers(shape, scan.members);
  if (!input) return undefined;
  const n = scan.count;
  const [dataStart, pkStart, ehkStart] = scan.starts as [Int32Array, Int32Array, Int32Array];
  const [dataEnd, pkEnd, ehkEnd] = scan.ends as [Int32Array, Int32Array, Int32Array];
  const frameOff = new Int32Array(new ArrayBuffer(4 * (n + 1)));
  let explicitHashKeys: Array<string | undefined> | undefined;
  for (let i = 0; i < n; i++) {
    const ds = dataStart[i]!, ps = pkStart[i]!;
    if (ds < 0 || ps < 0) return undefined; // a required member missing
    const pkLen = pkEnd[i]! - ps; // printable ASCII: bytes are characters
    if (pkLen < 1 || pkLen > partitionKeyLengthMax) return undefined;
    const dataLen = base64DecodedLength(body, ds, dataEnd[i]!);
    if (dataLen < 0 || dataLen > dataBlobBytesMax) return undefined;
    frameOff[i + 1] = frameOff[i]! + frameHeaderBytes + pkLen + dataLen;
    if (ehkStart[i]! >= 0) {
      const ehk = body.toString('latin1', ehkStart[i]!, ehkEnd[i]!);
      if (!explicitHashKeyRe.test(ehk)) return undefined;
      (explicitHashKeys ??= new Array<string | undefined>(n))[i] = ehk;
    }
  }
  // Not from Node's pool: these buffers are transferred to the main thread whole.
  const frames = framesBuffer ? framesBuffer(frameOff[n]!) : Buffer.allocUnsafeSlow(frameOff[n]!);
  const tailCrc = new Uint32Array(new ArrayBuffer(4 * n));
  const hashKeys = Buffer.from(new ArrayBuffer(16 * n));
  const hashKeyValid = new Uint8Array(new ArrayBuffer(n));
  for (let i = 0; i < n; i++) {
    const at = frameOff[i]!;
    const pkLen = pkEnd[i]! - pkStart[i]!;
    const key = at + frameHeaderBytes;
    frameTemplate(frames, at, pkLen, frameOff[i + 1]! - key - pkLen);
    body.copy(frames, key, pkStart[i]!, pkEnd[i]!);
    if (decodeBase64Into(body, dataStart[i]!, dataEnd[i]!, frames, key + pkLen) < 0) return undefined;
    tailCrc[i] = crc32cRange(frames, key, frameOff[i + 1]!);
    hashKeyValid[i] = hashKeyInto(frames, key, key + pkLen, explicitHashKeys?.[i], hashKeys, 16 * i);
  }
  return { accessKeyId: '', input, count: n, frames, frameOff, tailCrc, ...(explicitHashKeys ? { explicitHashKeys } : {}), hashKeys, hashKeyValid };
}

/** The prepared records of a validated input (the general path). */
function fromEntries(accessKeyId: string, input: Record<string, unknown>): PreparedPutRecords {
  const { Records, ...rest } = input;
  const entries = Records as Array<{ PartitionKey: string; ExplicitHashKey?: string; Data: Buffer }>;
  const n = entries.length;
  const { frames, frameOff, tailCrc } = framesOfEntries(entries);
  let explicitHashKeys: Array<string | undefined> | undefined;
  const hashKeys = Buffer.from(new ArrayBuffer(16 * n));
  const hashKeyValid = new Uint8Array(new ArrayBuffer(n));
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    if (e.ExplicitHashKey !== undefined) (explicitHashKeys ??= new Array<string | undefined>(n))[i] = e.ExplicitHashKey;
    const key = frameOff[i]! + frameHeaderBytes;
    hashKeyValid[i] = hashKeyInto(frames, key, key + frames.readUInt16LE(frameOff[i]! + 10), e.ExplicitHashKey, hashKeys, 16 * i);
  }
  return { accessKeyId, input: rest, count: n, frames, frameOff, tailCrc, ...(explicitHashKeys ? { explicitHashKeys } : {}), hashKeys, hashKeyValid };
}

/**
 * Rebuilds the action input on the main thread: the records as frames over
 * the transferred buffers. `recycle` gets the frames' ArrayBuffer once the
 * action is done with it (RecordFrames.release).
 */
export function putRecordsInput(p: PreparedPutRecords, recycle?: (ab: ArrayBuffer) => void): Record<string, unknown> {
  const view = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const Records = new RecordFrames(p.count, view(p.frames), p.frameOff, p.tailCrc, p.explicitHashKeys, view(p.hashKeys), p.hashKeyValid);
  if (recycle && p.frames.byteOffset === 0) Records.release = () => recycle(p.frames.buffer as ArrayBuffer);
  return { ...p.input, Records };
}

export function offloadError(r: Extract<OffloadResult, { ok: false }>): AwsError {
  return new AwsError(r.type as AwsError['type'], r.message, r.status);
}

