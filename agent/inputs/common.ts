/**
 * What every agent input shares: where records go (a sink with the buffer's
 * append contract), the inputs' operating errors, config checks, and the
 * retry backoff. No I/O here.
 */
import { crc32c } from '../../sdk/protocol/crc32c.ts';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import { bufferLimits, type AppendRecord } from '../buffer/index.ts';

/**
 * Where an input puts its records. A `DiskBuffer` is one; tests wrap it. The
 * promise resolves only once the records are durable, and inputs treat that
 * moment as the point where they may acknowledge their own source.
 */
export interface RecordSink {
  append(records: AppendRecord[]): Promise<unknown>;
  /**
   * The sequence number the next record of `source` will get (a `DiskBuffer`
   * numbers records per source, synchronously in call order). Inputs that
   * deduplicate (the socket's) need it; sinks without it get at-least-once.
   */
  nextSequence?(source: string): number;
}

export type InputErrorCode =
  /** A config value breaks a rule; the message names the field. */
  | 'INPUT_CONFIG_INVALID'
  /** The input's state directory holds a checkpoint it cannot read. */
  | 'INPUT_STATE_INVALID';

export function inputError(code: InputErrorCode, message: string, cause?: unknown): TributaryError {
  return new TributaryError(code, message, cause === undefined ? undefined : { cause });
}

/** Buffer errors that will fail the same way on every retry: the record itself is at fault. */
export function isPermanentAppendError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'BUFFER_RECORD_INVALID' || code === 'BUFFER_RECORD_TOO_LARGE';
}

export function configError(where: string, message: string): TributaryError {
  return inputError('INPUT_CONFIG_INVALID', `${where}: ${message}`);
}

/** Returns `raw` as an object after refusing unknown keys (usually typos). */
export function objectWithKeys(where: string, raw: unknown, known: readonly string[]): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw configError(where, 'must be an object');
  for (const k of Object.keys(raw)) {
    if (!known.includes(k)) throw configError(where, `unknown key ${k} (known: ${known.join(', ')})`);
  }
  return raw as Record<string, unknown>;
}

export function intField(where: string, value: unknown, dflt: number, min: number, max: number): number {
  const v = value ?? dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw configError(where, `must be an integer from ${min} to ${max} (got ${String(v)})`);
  }
  return v;
}

export function stringField(where: string, value: unknown, dflt?: string): string {
  const v = value ?? dflt;
  if (typeof v !== 'string' || v.length === 0) throw configError(where, `must be a non-empty string (got ${String(v)})`);
  return v;
}

/** Destination names become buffer directory names; checked here so a typo fails at startup. */
export function destinationField(where: string, value: unknown): string {
  const v = stringField(where, value);
  if (!bufferLimits.destinationNamePattern.test(v)) {
    throw configError(where, `must match ${String(bufferLimits.destinationNamePattern)} (got ${v})`);
  }
  return v;
}

export function sourceField(where: string, source: string): string {
  if (Buffer.byteLength(source) > bufferLimits.sourceBytesMax) {
    throw configError(where, `makes the record source "${source.slice(0, 40)}…" longer than ${bufferLimits.sourceBytesMax} bytes`);
  }
  return source;
}

/**
 * Exponential backoff with equal jitter: attempt 0 waits about `minMs`, each
 * later attempt doubles, capped at `maxMs`; half of the delay is random so a
 * fleet that lost its broker together does not return in lockstep.
 */
export function backoffMs(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + (random() * base) / 2);
}

/**
 * The `hash` partition key: the CRC-32C of the record's bytes, as 8 hex
 * digits. Records then spread over a stream's shards (the gateway hashes
 * keys with MD5 onto the hash key space), so a backlog drains at the whole
 * stream's limits rather than one shard's; identical records share a key.
 * Deterministic, so a record read twice (after a crash) gets the same key.
 */
export function contentPartitionKey(data: Uint8Array): string {
  return crc32c(data).toString(16).padStart(8, '0');
}

/** Cuts a partition key to the buffer's limit without splitting a surrogate pair. */
export function clampPartitionKey(key: string): string {
  const max = bufferLimits.partitionKeyLengthMax;
  if (key.length <= max) return key;
  const cut = key.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}
