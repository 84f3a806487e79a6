/**
 * Uplink options: validated once, in the constructor, into a frozen object.
 * Unknown keys are errors (usually typos); every default is a named constant
 * in limits.ts; every violation is UPLINK_OPTIONS_INVALID naming the option.
 */
import type { DiskBuffer } from '../buffer/index.ts';
import type { Credentials } from '../../sdk/http/json-rpc-client.ts';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import * as L from './limits.ts';
import type { UplinkEvent } from './events.ts';
import type { UplinkScheduler } from './scheduler.ts';
import type { SpaceGuard } from '../disk-space.ts';

export interface UplinkOptions {
  /** The destination's buffer; the uplink peeks, acks and dead-letters, never appends or closes. */
  buffer: DiskBuffer;
  /** The gateway stream to put records into. */
  stream: string;
  /** `https://gateway.local:4567` (or http for development). */
  endpoint: string;
  region: string;
  credentials: Credentials;
  /** PEM CA to trust (the gateway's own CA); client certificate and key for mutual TLS. */
  ca?: string;
  cert?: string;
  key?: string;
  /** Records per PutRecords request, 1..500 (default 500). */
  batchRecordsMax?: number;
  /** Data plus partition key bytes per request, up to 5 MiB (default 5 MiB). */
  batchBytesMax?: number;
  /** Pack records that share a partition key into one KPL aggregated record. */
  aggregate?: boolean;
  /** Requests in flight at most, one per lane (a shard, or adjacent shards beyond this); default 8. */
  lanesMax?: number;
  /** Exponential backoff with full jitter between these bounds. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Records refused for good (no stream, no permission, invalid) for this long go to the dead-letter file. */
  maxRecordAgeMs?: number;
  /** Average request bytes per second on the wire, for metered links (default: no cap). */
  bandwidthBytesPerSecondMax?: number;
  requestTimeoutMs?: number;
  idlePollMs?: number;
  /**
   * How often an uplink with nothing to do looks at its buffer anyway; `appended()` wakes it sooner.
   * Default: 1 s, or `idlePollMs` when that is given (callers that append without telling the uplink).
   */
  idleScanMs?: number;
  /**
   * A batch that is not full waits until its oldest record is this old
   * (capture time) before it is sent: fewer, fuller requests at low rates.
   * 0 sends at once. Records captured long ago (a backlog) never wait.
   */
  lingerMs?: number;
  /**
   * Names this sender to the gateway's idempotency table (`<device>/<destination>`):
   * every request carries `X-Tributary-Idempotency-Key: <producerId>/<batch>`.
   */
  producerId?: string;
  /** Where the send window is written down (needed for exactly-once across agent crashes). */
  intentFile?: string;
  /** fsync the intent file (default true; false only with a buffer that does not fsync either). */
  intentSync?: boolean;
  /** The disk guard (agent/disk-space.ts): an intent write that fails for lack of space retries after it frees its reserve. */
  space?: SpaceGuard;
  /** Shared with the other destinations' uplinks: priorities and the link's bandwidth cap (scheduler.ts). */
  scheduler?: UplinkScheduler;
  /** 0-100 (default 50): with a scheduler, higher priorities send first. */
  priority?: number;
  /** Newest-first catch-up: after an outage, records appended since go before the backlog (docs/agent-uplink.md). */
  newestFirst?: boolean;
  /** Newest-first: how old the oldest waiting record must be for a catch-up to start (default 60 s). */
  catchUpAgeMs?: number;
  onEvent?: (event: UplinkEvent) => void;
  /** Clock for record ages and pacing (tests). */
  now?: () => number;
}

export interface ResolvedUplinkOptions {
  buffer: DiskBuffer;
  stream: string;
  endpoint: string;
  region: string;
  credentials: Credentials;
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
  batchRecordsMax: number;
  batchBytesMax: number;
  aggregate: boolean;
  lanesMax: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxRecordAgeMs: number;
  bandwidthBytesPerSecondMax: number | undefined;
  requestTimeoutMs: number;
  idlePollMs: number;
  idleScanMs: number;
  lingerMs: number;
  producerId: string | undefined;
  intentFile: string | undefined;
  intentSync: boolean;
  space: SpaceGuard | undefined;
  scheduler: UplinkScheduler | undefined;
  priority: number;
  newestFirst: boolean;
  catchUpAgeMs: number;
  onEvent: (event: UplinkEvent) => void;
  now: () => number;
}

const known = new Set([
  'buffer', 'stream', 'endpoint', 'region', 'credentials', 'ca', 'cert', 'key', 'batchRecordsMax', 'batchBytesMax', 'aggregate', 'lanesMax',
  'retryBaseMs', 'retryMaxMs', 'maxRecordAgeMs', 'bandwidthBytesPerSecondMax', 'requestTimeoutMs', 'idlePollMs', 'idleScanMs', 'lingerMs', 'producerId', 'intentFile', 'intentSync', 'space', 'onEvent', 'now',
  'scheduler', 'priority', 'newestFirst', 'catchUpAgeMs',
]);

function invalid(message: string): TributaryError {
  return new TributaryError('UPLINK_OPTIONS_INVALID', message);
}

function intInRange(name: string, value: number | undefined, dflt: number, min: number, max: number): number {
  const v = value ?? dflt;
  if (!Number.isSafeInteger(v) || v < min || v > max) throw invalid(`${name} must be an integer from ${min} to ${max} (got ${v})`);
  return v;
}

function text(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${name} must be a non-empty string`);
  return value;
}

function producerIdOf(v: string): string {
  if (!/^[A-Za-z0-9._:@/-]{1,200}$/.test(v)) throw invalid(`producerId must be 1-200 of [A-Za-z0-9._:@/-] (got ${v})`);
  return v;
}

export function resolveUplinkOptions(o: UplinkOptions): ResolvedUplinkOptions {
  for (const k of Object.keys(o)) if (!known.has(k)) throw invalid(`unknown uplink option ${k}`);
  if (!o.buffer || typeof o.buffer.peek !== 'function') throw invalid('buffer must be an open DiskBuffer');
  const endpoint = text('endpoint', o.endpoint);
  if (!/^https?:\/\//.test(endpoint)) throw invalid(`endpoint must be an http(s) URL (got ${endpoint})`);
  if (!o.credentials || !o.credentials.accessKeyId || !o.credentials.secretAccessKey) throw invalid('credentials need accessKeyId and secretAccessKey');
  if ((o.cert === undefined) !== (o.key === undefined)) throw invalid('cert and key go together');
  const retryBaseMs = intInRange('retryBaseMs', o.retryBaseMs, L.retryBaseMsDefault, 1, 3_600_000);
  const retryMaxMs = intInRange('retryMaxMs', o.retryMaxMs, Math.max(L.retryMaxMsDefault, retryBaseMs), retryBaseMs, 3_600_000);
  const bw = o.bandwidthBytesPerSecondMax;
  if (bw !== undefined && (!Number.isSafeInteger(bw) || bw < 1)) throw invalid(`bandwidthBytesPerSecondMax must be a positive integer (got ${bw})`);
  return Object.freeze({
    buffer: o.buffer,
    stream: text('stream', o.stream),
    endpoint,
    region: text('region', o.region),
    credentials: { accessKeyId: o.credentials.accessKeyId, secretAccessKey: o.credentials.secretAccessKey },
    ca: o.ca,
    cert: o.cert,
    key: o.key,
    batchRecordsMax: intInRange('batchRecordsMax', o.batchRecordsMax, L.batchRecordsMaxDefault, 1, L.batchRecordsMaxLimit),
    batchBytesMax: intInRange('batchBytesMax', o.batchBytesMax, L.batchBytesMaxDefault, 1, L.batchBytesMaxLimit),
    aggregate: o.aggregate ?? false,
    lanesMax: intInRange('lanesMax', o.lanesMax, L.lanesMaxDefault, 1, L.lanesMaxLimit),
    retryBaseMs,
    retryMaxMs,
    maxRecordAgeMs: intInRange('maxRecordAgeMs', o.maxRecordAgeMs, L.maxRecordAgeMsDefault, 0, Number.MAX_SAFE_INTEGER),
    bandwidthBytesPerSecondMax: bw,
    requestTimeoutMs: intInRange('requestTimeoutMs', o.requestTimeoutMs, L.requestTimeoutMsDefault, 1, 3_600_000),
    idlePollMs: intInRange('idlePollMs', o.idlePollMs, L.idlePollMsDefault, 1, 60_000),
    idleScanMs: intInRange('idleScanMs', o.idleScanMs, o.idlePollMs ?? L.idleScanMsDefault, 1, 60_000),
    lingerMs: intInRange('lingerMs', o.lingerMs, 0, 0, 60_000),
    producerId: o.producerId === undefined ? undefined : producerIdOf(o.producerId),
    intentFile: o.intentFile,
    intentSync: o.intentSync ?? true,
    space: o.space,
    scheduler: o.scheduler,
    priority: intInRange('priority', o.priority, L.priorityDefault, 0, L.priorityMax),
    newestFirst: o.newestFirst ?? false,
    catchUpAgeMs: intInRange('catchUpAgeMs', o.catchUpAgeMs, L.catchUpAgeMsDefault, 0, Number.MAX_SAFE_INTEGER),
    onEvent: o.onEvent ?? (() => {}),
    now: o.now ?? Date.now,
  });
}
