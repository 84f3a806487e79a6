/**
 * Response bodies in the two AWS JSON-RPC encodings. Actions return plain
 * values with Buffers for blobs and Dates for timestamps; JSON writes those
 * as base64 strings and epoch seconds, CBOR as byte strings and tag 1.
 */
import { cborEncode } from '../../sdk/protocol/cbor.ts';

export const contentTypeJson = 'application/x-amz-json-1.1';
export const contentTypeCbor = 'application/x-amz-cbor-1.1';

export type WireFormat = 'json' | 'cbor';

/**
 * An answer that writes its own JSON (PutRecords' hundreds of entries, from a
 * compact form) and gives its plain value for CBOR; its JSON must be what
 * `toJsonText` makes of that value.
 */
export const selfEncoding = Symbol('selfEncoding');
export interface SelfEncoding {
  [selfEncoding]: {
    json(): Buffer;
    value(): unknown;
    /** The same JSON in pieces of about `pieceBytesMax` bytes, made one at a time as they are taken; `size` is the total. */
    jsonPieces?(pieceBytesMax: number): { size: number; pieces: Iterable<Buffer> };
  };
}

/** JSON answers larger than this go out in pieces of this size, when the answer can make them (GetRecords). */
export const jsonPieceBytes = 1024 * 1024;

/** An answer's JSON in pieces, when it writes its own and can (undefined: encode it whole). */
export function jsonPiecesOf(value: unknown): { size: number; pieces: Iterable<Buffer> } | undefined {
  return isSelfEncoding(value) ? value[selfEncoding].jsonPieces?.(jsonPieceBytes) : undefined;
}

export function isSelfEncoding(value: unknown): value is SelfEncoding {
  return typeof value === 'object' && value !== null && selfEncoding in value;
}

export function encodeBody(format: WireFormat, value: unknown): Buffer {
  if (isSelfEncoding(value)) return format === 'cbor' ? cborEncode(value[selfEncoding].value()) : value[selfEncoding].json();
  return format === 'cbor' ? cborEncode(value) : Buffer.from(toJsonText(value), 'utf8');
}

/** Quoted member names, computed once: responses repeat the same few names thousands of times. */
const quotedKeys = new Map<string, string>();
function quoteKey(key: string): string {
  let q = quotedKeys.get(key);
  if (q === undefined) {
    q = JSON.stringify(key) + ':';
    if (quotedKeys.size < 10_000) quotedKeys.set(key, q);
  }
  return q;
}

/** JSON text with AWS's blob and timestamp conventions, without a replacer's per-key overhead. */
export function toJsonText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      return 'null';
  }
  if (Buffer.isBuffer(value)) return '"' + value.toString('base64') + '"';
  if (value instanceof Uint8Array) return '"' + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') + '"';
  if (value instanceof Date) return String(value.getTime() / 1000);
  if (Array.isArray(value)) {
    let s = '[';
    for (let i = 0; i < value.length; i++) s += (i ? ',' : '') + toJsonText(value[i]);
    return s + ']';
  }
  let s = '{';
  let first = true;
  for (const key in value as Record<string, unknown>) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    s += (first ? '' : ',') + quoteKey(key) + toJsonText(v);
    first = false;
  }
  return s + '}';
}
