/**
 * Buffer options: validated once at open into a frozen object. Every default
 * is a named constant from limits.ts; every violation is BUFFER_OPTIONS_INVALID
 * naming the option.
 */
import type { SpaceGuard } from '../disk-space.ts';
import { bufferError } from './errors.ts';
import * as L from './limits.ts';

export type FsyncPolicy = { kind: 'always' } | { kind: 'interval'; intervalMs: number } | { kind: 'never' };
export type CapPolicy = 'drop-oldest' | 'reject-newest';

/** Something the buffer noticed and handled; never silent. */
export interface BufferProblem {
  kind: 'torn-tail' | 'corrupt' | 'header' | 'checkpoint' | 'dropped' | 'rejected' | 'lost-acked-tail' | 'disk-full';
  file: string;
  detail: string;
  bytes?: number;
  records?: number;
}

export interface BufferOptions {
  /** `always` (group commit), `interval:<ms>` or `never`. Default `always`. */
  fsync?: string;
  segmentBytes?: number;
  capBytes?: number;
  capPolicy?: CapPolicy;
  readBufferBytes?: number;
  /** 32-byte tweetnacl secretbox key; records are encrypted at rest when set. */
  encryptionKey?: Uint8Array;
  onProblem?: (problem: BufferProblem) => void;
  /**
   * The disk's state and reserve (agent/disk-space.ts): metadata writes that
   * fail for lack of space retry after it frees its reserve, and appends are
   * refused (reject-newest) while it says the disk is low.
   */
  space?: SpaceGuard;
  /** Clock for capture times the caller leaves out. */
  now?: () => number;
}

export interface ResolvedOptions {
  fsync: FsyncPolicy;
  segmentBytes: number;
  capBytes: number;
  capPolicy: CapPolicy;
  readBufferBytes: number;
  encryptionKey: Uint8Array | undefined;
  onProblem: (problem: BufferProblem) => void;
  space: SpaceGuard | undefined;
  now: () => number;
}

export function parseFsyncPolicy(text: string): FsyncPolicy {
  if (text === 'always' || text === 'never') return { kind: text };
  const m = /^interval:(\d+)$/.exec(text);
  const ms = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(ms) || ms < L.fsyncIntervalMsMin || ms > L.fsyncIntervalMsMax) {
    throw bufferError('BUFFER_OPTIONS_INVALID',
      `fsync must be always, never or interval:<ms> with ${L.fsyncIntervalMsMin} <= ms <= ${L.fsyncIntervalMsMax} (got ${text})`);
  }
  return { kind: 'interval', intervalMs: ms };
}

function intInRange(name: string, value: number | undefined, dflt: number, min: number, max: number): number {
  const v = value ?? dflt;
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw bufferError('BUFFER_OPTIONS_INVALID', `${name} must be an integer from ${min} to ${max} (got ${v})`);
  }
  return v;
}

export function resolveOptions(o: BufferOptions): ResolvedOptions {
  const known = new Set(['fsync', 'segmentBytes', 'capBytes', 'capPolicy', 'readBufferBytes', 'encryptionKey', 'onProblem', 'space', 'now']);
  for (const k of Object.keys(o)) {
    if (!known.has(k)) throw bufferError('BUFFER_OPTIONS_INVALID', `unknown buffer option ${k}`);
  }
  const segmentBytes = intInRange('segmentBytes', o.segmentBytes, L.segmentBytesDefault, L.segmentBytesMin, L.segmentBytesMax);
  const capBytes = intInRange('capBytes', o.capBytes, Math.max(L.capBytesDefault, segmentBytes * L.capSegmentsMin), L.capBytesMin, Number.MAX_SAFE_INTEGER);
  if (capBytes < segmentBytes * L.capSegmentsMin) {
    throw bufferError('BUFFER_OPTIONS_INVALID',
      `capBytes must be at least ${L.capSegmentsMin} segments (${segmentBytes * L.capSegmentsMin} bytes with segmentBytes ${segmentBytes}; got ${capBytes}); lower segmentBytes`);
  }
  const capPolicy = o.capPolicy ?? 'drop-oldest';
  if (capPolicy !== 'drop-oldest' && capPolicy !== 'reject-newest') {
    throw bufferError('BUFFER_OPTIONS_INVALID', `capPolicy must be drop-oldest or reject-newest (got ${String(capPolicy)})`);
  }
  if (o.encryptionKey !== undefined && o.encryptionKey.length !== L.encryptionKeyBytes) {
    throw bufferError('BUFFER_OPTIONS_INVALID', `encryptionKey must be ${L.encryptionKeyBytes} bytes (got ${o.encryptionKey.length})`);
  }
  return Object.freeze({
    fsync: parseFsyncPolicy(o.fsync ?? 'always'),
    segmentBytes,
    capBytes,
    capPolicy,
    readBufferBytes: intInRange('readBufferBytes', o.readBufferBytes, L.readBufferBytesDefault, L.readBufferBytesMin, L.readBufferBytesMax),
    encryptionKey: o.encryptionKey ? Uint8Array.from(o.encryptionKey) : undefined,
    onProblem: o.onProblem ?? (() => {}),
    space: o.space,
    now: o.now ?? Date.now,
  });
}
