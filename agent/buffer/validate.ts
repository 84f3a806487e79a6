/**
 * Checks a caller's record against the limits before it is framed: the
 * caller's mistakes are BUFFER_RECORD_INVALID, never a corrupt frame.
 */
import { bufferError } from './errors.ts';
import type { FrameRecord } from './frame-codec.ts';
import { explicitHashKeyLengthMax, partitionKeyLengthMax, recordDataBytesMax, sourceBytesMax } from './limits.ts';

/** A record as inputs hand it to the buffer; the buffer assigns `seq`. */
export interface AppendRecord {
  source: string;
  partitionKey: string;
  data: Uint8Array;
  /** Defaults to the buffer's clock at append. */
  capturedAtMs?: number;
  explicitHashKey?: string;
}

/** 2^128 - 1, the largest Kinesis hash key. */
const hashKeyMax = (1n << 128n) - 1n;

export function validateRecord(r: AppendRecord, nowMs: number): FrameRecord {
  const bad = (why: string) => bufferError('BUFFER_RECORD_INVALID', why);
  if (typeof r.source !== 'string' || r.source.length === 0 || Buffer.byteLength(r.source) > sourceBytesMax) {
    throw bad(`source must be 1 to ${sourceBytesMax} UTF-8 bytes`);
  }
  if (typeof r.partitionKey !== 'string' || r.partitionKey.length === 0 || r.partitionKey.length > partitionKeyLengthMax) {
    throw bad(`partitionKey must be 1 to ${partitionKeyLengthMax} characters`);
  }
  if (!(r.data instanceof Uint8Array) || r.data.length > recordDataBytesMax) {
    throw bad(`data must be a Buffer of at most ${recordDataBytesMax} bytes`);
  }
  const hk = r.explicitHashKey;
  if (hk !== undefined && (!/^\d+$/.test(hk) || hk.length > explicitHashKeyLengthMax || BigInt(hk) > hashKeyMax)) {
    throw bad('explicitHashKey must be a decimal from 0 to 2^128 - 1');
  }
  const capturedAtMs = r.capturedAtMs ?? nowMs;
  if (!Number.isSafeInteger(capturedAtMs) || capturedAtMs < 0) throw bad('capturedAtMs must be a non-negative integer');
  const data = Buffer.isBuffer(r.data) ? r.data : Buffer.from(r.data.buffer, r.data.byteOffset, r.data.length);
  const out: FrameRecord = { capturedAtMs, source: r.source, seq: 0, partitionKey: r.partitionKey, data };
  if (hk !== undefined) out.explicitHashKey = hk;
  return out;
}
