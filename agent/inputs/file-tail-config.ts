/**
 * The file tail input's config: parsed once at startup into a frozen object;
 * unknown keys are errors and every default is a named constant here.
 */
import assert from 'node:assert/strict';
import { bufferLimits } from '../buffer/index.ts';
import { configError, destinationField, intField, objectWithKeys, sourceField, stringField } from './common.ts';
import { parseGlob, type FileGlob } from './file-glob.ts';

export const filePollIntervalMsDefault = 250;
export const fileMultilineFlushMsDefault = 1000;
export const fileRecordBytesDefault = 64 * 1024;
/** Room under the buffer's 1 MiB record limit for the truncation marker. */
export const fileRecordBytesMax = bufferLimits.recordDataBytesMax - 64;
/** How long a rotated-away file is still watched for late writes after reaching its end. */
export const fileRotateWaitMsDefault = 5000;
/** Read per file per poll, so one large backlog neither starves other files nor fills memory. */
export const fileReadBytesPerPollDefault = 1024 * 1024;
export const fileReadChunkBytes = 64 * 1024;
/** Records per append: one admission decision, one group commit. */
export const fileAppendRecordsMax = 500;
/** Files followed at once; each holds a descriptor. */
export const filesTrackedMax = 1024;

// The marker is at most 64 bytes ("…[truncated " + 7 digits + " bytes]"), so a capped record always fits the buffer.
assert.ok(fileRecordBytesMax + Buffer.byteLength('…[truncated 1048576 bytes]') <= bufferLimits.recordDataBytesMax);
assert.ok(fileReadBytesPerPollDefault >= fileReadChunkBytes && fileRecordBytesDefault <= fileRecordBytesMax);

/**
 * `hash` (the default): a hash of each record's bytes, so a backlog spreads
 * over the stream's shards; `fileName`: the file's base name, so one file's
 * lines stay in order (and share one shard's limits); `fixed`: one key for all.
 */
export type FilePartitionKeySpec = { readonly fixed: string } | { readonly fileName: true } | { readonly hash: true };

/** `per-file`: a file's lines reach the stream in file order (one key per file); `none`: no order promised, load spread. */
export type FileOrder = 'per-file' | 'none';

export interface FileTailConfig {
  readonly name: string;
  readonly globs: readonly FileGlob[];
  readonly destination: string;
  readonly partitionKey: FilePartitionKeySpec;
  readonly order: FileOrder;
  readonly stateDir: string;
  readonly startAt: 'beginning' | 'end';
  readonly startPattern: RegExp | undefined;
  readonly multilineFlushMs: number;
  readonly recordBytesMax: number;
  readonly pollIntervalMs: number;
  readonly rotateWaitMs: number;
  readonly readBytesPerPoll: number;
}

/** Parses one `inputs.files[i]` section into a frozen config; unknown keys are errors. */
export function parseFileTailConfig(raw: unknown, where = 'inputs.files[0]'): FileTailConfig {
  const o = objectWithKeys(where, raw, [
    'name', 'paths', 'destination', 'partitionKey', 'order', 'stateDir', 'startAt', 'startPattern', 'multilineFlushMs',
    'recordBytesMax', 'pollIntervalMs', 'rotateWaitMs', 'readBytesPerPoll',
  ]);
  if (!Array.isArray(o.paths) || o.paths.length === 0) throw configError(`${where}.paths`, 'must be a non-empty list');
  const globs = o.paths.map((p, i) => parseGlob(`${where}.paths[${i}]`, stringField(`${where}.paths[${i}]`, p)));
  globs.forEach((g, i) => sourceField(`${where}.paths[${i}]`, `file:${g.dir}/${'x'.repeat(16)}`));
  const name = stringField(`${where}.name`, o.name, 'files');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw configError(`${where}.name`, `must be 1 to 64 of A-Z a-z 0-9 . _ - (got ${name})`);
  const startAt = o.startAt ?? 'beginning';
  if (startAt !== 'beginning' && startAt !== 'end') throw configError(`${where}.startAt`, `must be beginning or end (got ${String(startAt)})`);
  let startPattern: RegExp | undefined;
  if (o.startPattern !== undefined) {
    try {
      startPattern = new RegExp(stringField(`${where}.startPattern`, o.startPattern));
    } catch (err) {
      throw configError(`${where}.startPattern`, `is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  const order = o.order ?? 'none';
  if (order !== 'per-file' && order !== 'none') throw configError(`${where}.order`, `must be per-file or none (got ${String(order)})`);
  const partitionKey = parsePartitionKey(`${where}.partitionKey`, o.partitionKey ?? (order === 'per-file' ? { fileName: true } : { hash: true }));
  if (order === 'per-file' && 'hash' in partitionKey) {
    throw configError(`${where}.partitionKey`, 'hash spreads a file\'s lines over shards, which order: per-file forbids (use fileName or fixed)');
  }
  return Object.freeze({
    name,
    globs: Object.freeze(globs),
    destination: destinationField(`${where}.destination`, o.destination),
    partitionKey,
    order,
    stateDir: stringField(`${where}.stateDir`, o.stateDir),
    startAt,
    startPattern,
    multilineFlushMs: intField(`${where}.multilineFlushMs`, o.multilineFlushMs, fileMultilineFlushMsDefault, 10, 600_000),
    recordBytesMax: intField(`${where}.recordBytesMax`, o.recordBytesMax, fileRecordBytesDefault, 16, fileRecordBytesMax),
    pollIntervalMs: intField(`${where}.pollIntervalMs`, o.pollIntervalMs, filePollIntervalMsDefault, 10, 60_000),
    rotateWaitMs: intField(`${where}.rotateWaitMs`, o.rotateWaitMs, fileRotateWaitMsDefault, 0, 3_600_000),
    readBytesPerPoll: intField(`${where}.readBytesPerPoll`, o.readBytesPerPoll, fileReadBytesPerPollDefault, fileReadChunkBytes, 64 << 20),
  });
}

function parsePartitionKey(where: string, raw: unknown): FilePartitionKeySpec {
  const o = objectWithKeys(where, raw, ['fixed', 'fileName', 'hash']);
  if (Object.keys(o).length !== 1) throw configError(where, 'must have exactly one of fixed, fileName, hash');
  for (const flag of ['fileName', 'hash'] as const) {
    if (o[flag] === undefined) continue;
    if (o[flag] !== true) throw configError(`${where}.${flag}`, 'must be true');
    return Object.freeze(flag === 'fileName' ? { fileName: true } : { hash: true });
  }
  const fixed = stringField(`${where}.fixed`, o.fixed);
  if (fixed.length > bufferLimits.partitionKeyLengthMax) throw configError(`${where}.fixed`, 'is longer than 256 characters');
  return Object.freeze({ fixed });
}
