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
import { hashKeyFromDecimal, hashKeyOfPartitionKey } from '../../sdk/protocol/streams/hash-key.ts';
import { verifySigV4, type VerifyOptions } from './auth.ts';
import type { OffloadKind, PreparedRecordBatch } from './offload-kinds.ts';
import { validateInput, type StructureShape } from './validate.ts';

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

/** Decoded records: data concatenated in one buffer, hash keys precomputed (null: a bad ExplicitHashKey, for the action to report). */
export interface PreparedPutRecords {
  accessKeyId: string;
  input: Record<string, unknown>;
  data: Uint8Array;
  records: Array<{ PartitionKey: string; ExplicitHashKey?: string; off: number; len: number }>;
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

export function preparePutRecords(job: OffloadJob, shape: StructureShape): OffloadResult {
  try {
    const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
    const verify: VerifyOptions = {
      service: job.service,
      region: job.region,
      now: job.now,
      allowUnsignedPayload: false,
      lookupSecret: (id) => (id === job.accessKeyId ? job.secret : undefined),
    };
    // The same order as the front door: parse, authenticate, then check the shape.
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, type: 'SerializationException', status: 400 };
    const { accessKeyId } = verifySigV4({ method: job.method, url: job.url, headers: job.headers }, body, verify);
    const input = validateInput(shape, parsed);
    const entries = input.Records as Array<{ PartitionKey: string; ExplicitHashKey?: string; Data: Buffer }>;
    let total = 0;
    for (const e of entries) total += e.Data.length;
    // Not from Node's pool: this buffer is transferred to the main thread whole.
    const data = new Uint8Array(new ArrayBuffer(total));
    const hashKeys = new Uint8Array(new ArrayBuffer(16 * entries.length));
    const hashKeyValid = new Uint8Array(new ArrayBuffer(entries.length));
    const records: PreparedPutRecords['records'] = [];
    let off = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      data.set(e.Data, off);
      const key = e.ExplicitHashKey !== undefined ? hashKeyFromDecimal(e.ExplicitHashKey) : hashKeyOfPartitionKey(e.PartitionKey);
      if (key) {
        hashKeys.set(key, 16 * i);
        hashKeyValid[i] = 1;
      }
      records.push({ PartitionKey: e.PartitionKey, ...(e.ExplicitHashKey !== undefined ? { ExplicitHashKey: e.ExplicitHashKey } : {}), off, len: e.Data.length });
      off += e.Data.length;
    }
    const { Records: _records, ...rest } = input;
    return { ok: true, value: { accessKeyId, input: rest, data, records, hashKeys, hashKeyValid } };
  } catch (err) {
    if (err instanceof AwsError) return { ok: false, type: err.type, ...(err.hasMessage ? { message: err.message } : {}), status: err.status };
    return { ok: false, type: 'InternalFailure', status: 500, message: String((err as Error)?.message ?? err) };
  }
}

/** Where an offloaded input carries its precomputed hash keys (not a wire member). */
export const preparedHashKeys = Symbol('preparedHashKeys');

/** Rebuilds the action input on the main thread: Data as views into the one transferred buffer. */
export function putRecordsInput(p: PreparedPutRecords): Record<string, unknown> {
  const data = Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength);
  const keys = Buffer.from(p.hashKeys.buffer, p.hashKeys.byteOffset, p.hashKeys.byteLength);
  const hashKeys: Array<Buffer | undefined> = [];
  const Records = p.records.map((r, i) => {
    hashKeys.push(p.hashKeyValid[i] ? keys.subarray(16 * i, 16 * i + 16) : undefined);
    return { PartitionKey: r.PartitionKey, ...(r.ExplicitHashKey !== undefined ? { ExplicitHashKey: r.ExplicitHashKey } : {}), Data: data.subarray(r.off, r.off + r.len) };
  });
  return { ...p.input, Records, [preparedHashKeys]: hashKeys };
}

export function offloadError(r: Extract<OffloadResult, { ok: false }>): AwsError {
  return new AwsError(r.type as AwsError['type'], r.message, r.status);
}

