/**
 * Turns a decoded telemetry or log message from an MCU into the agent's
 * record: a JSON body (docs/agent-inputs.md, "Serial", shows its shape), a
 * partition key and a destination from the port's sensor map. Pure: the
 * wall-clock conversion is passed in.
 */
import type { Message, TelemetryBody } from '../../firmware-bridge/index.ts';
import type { CborValue } from '../../sdk/protocol/cbor.ts';
import type { AppendRecord } from '../buffer/index.ts';
import { clampPartitionKey } from './common.ts';
import type { SerialPortConfig } from './serial-config.ts';

/**
 * Where a record's time came from: the MCU's own wall clock (wall-time
 * flag), its uptime converted through the time-sync estimate, or, before
 * the first time sync, the moment the frame arrived (uptime kept beside it).
 */
export type SerialTimeSource = 'mcu-wall' | 'uptime-synced' | 'arrival';

export interface SerialRecordContext {
  bootId: number | undefined;
  seq: number;
  /** Uptime to wall clock, or undefined before the first time sync. */
  toWallMs: (uptimeMs: number) => number | undefined;
  arrivalMs: number;
}

export interface SerialRecord {
  destination: string;
  record: AppendRecord;
}

const utf8 = new TextEncoder();

export function serialRecord(
  config: SerialPortConfig,
  message: Extract<Message, { type: 'telemetry' | 'log' }>,
  ctx: SerialRecordContext,
): SerialRecord {
  const { timeMs, timeSource } = wallTime(message.timeBase, message.timeMs, ctx);
  const common = {
    device: config.name,
    bootId: ctx.bootId ?? null,
    seq: ctx.seq,
    timeMs,
    timeSource,
    ...(message.timeBase === 'uptime' ? { uptimeMs: message.timeMs } : {}),
  };
  const source = `serial:${config.name}`;
  if (message.type === 'log') {
    const body = { kind: 'log', ...common, level: message.level, text: message.text };
    const record = { source, partitionKey: clampPartitionKey(`${config.name}/log`), data: utf8.encode(JSON.stringify(body)), capturedAtMs: timeMs };
    return { destination: config.logDestination, record };
  }
  const sensor = config.sensors.get(message.sensorId);
  const body = {
    kind: 'telemetry',
    ...common,
    sensorId: message.sensorId,
    ...(sensor?.name !== undefined ? { sensor: sensor.name } : {}),
    ...bodyFields(message.body),
  };
  const partitionKey = sensor?.partitionKey ?? `${config.name}/${sensor?.name ?? message.sensorId}`;
  const record = { source, partitionKey: clampPartitionKey(partitionKey), data: utf8.encode(JSON.stringify(body)), capturedAtMs: timeMs };
  return { destination: sensor?.destination ?? config.destination, record };
}

function wallTime(timeBase: 'uptime' | 'wall', mcuMs: number, ctx: SerialRecordContext): { timeMs: number; timeSource: SerialTimeSource } {
  if (timeBase === 'wall') return { timeMs: mcuMs, timeSource: 'mcu-wall' };
  const wall = ctx.toWallMs(mcuMs);
  return wall === undefined ? { timeMs: ctx.arrivalMs, timeSource: 'arrival' } : { timeMs: wall, timeSource: 'uptime-synced' };
}

/** Compact bodies become a list of numbers (their wire kinds beside them); CBOR and JSON bodies a JSON value. */
function bodyFields(body: TelemetryBody): Record<string, unknown> {
  if (body.encoding === 'compact') {
    return { encoding: 'compact', values: body.values.map((v) => (Number.isFinite(v.value) ? v.value : String(v.value))), kinds: body.values.map((v) => v.kind) };
  }
  if (body.encoding === 'json') return { encoding: 'json', value: body.value };
  return { encoding: 'cbor', value: cborToJson(body.value) };
}

/** CBOR has more than JSON: byte strings become base64, big integers decimal strings, dates ISO strings. */
export function cborToJson(v: CborValue): unknown {
  if (v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(cborToJson);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cborToJson(x)]));
  return v;
}
