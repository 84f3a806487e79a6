/**
 * The serial input's config, one entry of `inputs.serial` per port: parsed
 * once at startup into a frozen object; unknown keys are errors and every
 * default is a named constant here. See docs/agent-inputs.md, "Serial".
 */
import path from 'node:path';
import { bufferLimits } from '../buffer/index.ts';
import { configError, destinationField, intField, objectWithKeys, sourceField, stringField } from './common.ts';
import { parseGlob, type FileGlob } from './file-glob.ts';

export const serialBaudDefault = 115_200;
/** Rates stty takes on Linux (termios Bxxx constants). */
export const serialBauds: readonly number[] = [
  1200, 2400, 4800, 9600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 500_000, 576_000, 921_600, 1_000_000,
  1_152_000, 1_500_000, 2_000_000, 2_500_000, 3_000_000, 3_500_000, 4_000_000,
];
/** PROTOCOL.md section 7: the bridge sends a time sync every 60 s and right after a hello. */
export const serialTimeSyncIntervalMsDefault = 60_000;
/** Reopen backoff after an unplug: first retry soon (USB re-enumerates in about a second), then less often. */
export const serialReopenMinMsDefault = 250;
export const serialReopenMaxMsDefault = 5000;
/** How often an open port's path is checked (a by-id link that vanished or now points elsewhere). */
export const serialPathCheckMsDefault = 1000;
/** Records per append: one admission decision and one group commit for a burst of frames. */
export const serialAppendRecordsMax = 500;
/** Frames decoded but not yet durable, per port; past this the port stops reading until the buffer catches up. */
export const serialPendingRecordsMax = 4096;
/** Bytes queued for the MCU (acks, nacks, time syncs); past this new frames are dropped (the MCU retransmits). */
export const serialWriteQueueBytesMax = 64 * 1024;
/** Time syncs awaiting their reply; the oldest is forgotten first. */
export const serialTimeSyncsOutstandingMax = 8;

export type SerialAckMode = 'reliable' | 'immediate' | 'off';

export interface SerialSensorConfig {
  readonly name: string | undefined;
  readonly destination: string;
  readonly partitionKey: string | undefined;
}

export interface SerialPortConfig {
  /** Names the device in records, partition keys, metrics and logs. */
  readonly name: string;
  /** As configured: a device path, a by-id symlink or a glob in the file name. */
  readonly path: string;
  /** Set when `path` has wildcards: the first match in sorted order is opened. */
  readonly glob: FileGlob | undefined;
  readonly baud: number;
  readonly destination: string;
  readonly logDestination: string;
  readonly sensors: ReadonlyMap<number, SerialSensorConfig>;
  readonly ackMode: SerialAckMode;
  readonly timeSyncIntervalMs: number;
  readonly reopenMinMs: number;
  readonly reopenMaxMs: number;
  readonly pathCheckMs: number;
  /** The stty binary (configures baud rate and raw mode through termios). */
  readonly stty: string;
  /** Where the port's dedup state is stored (`serial-<name>.dedup.json`); the daemon passes `<state>/inputs`. */
  readonly stateDir: string;
}

const keys = [
  'name', 'path', 'baud', 'destination', 'logDestination', 'sensors', 'ackMode', 'timeSyncIntervalMs', 'reopenMinMs',
  'reopenMaxMs', 'pathCheckMs', 'stty', 'stateDir',
] as const;

/** Parses one `inputs.serial[i]` entry into a frozen config; unknown keys are errors. */
export function parseSerialPortConfig(raw: unknown, where = 'inputs.serial[0]'): SerialPortConfig {
  const o = objectWithKeys(where, raw, keys);
  const devicePath = stringField(`${where}.path`, o.path);
  if (!path.isAbsolute(devicePath)) throw configError(`${where}.path`, `must be an absolute path (got ${devicePath})`);
  const glob = /[*?]/.test(devicePath) ? parseGlob(`${where}.path`, devicePath) : undefined;
  if (glob && o.name === undefined) throw configError(`${where}.name`, 'is required when path has wildcards (it names the device whichever port matches)');
  const name = stringField(`${where}.name`, o.name, glob ? undefined : path.basename(devicePath));
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(name)) throw configError(`${where}.name`, `must be 1 to 64 of A-Z a-z 0-9 . _ : - (got ${name})`);
  sourceField(`${where}.name`, `serial:${name}`);
  const baud = intField(`${where}.baud`, o.baud, serialBaudDefault, 50, 4_000_000);
  if (!serialBauds.includes(baud)) throw configError(`${where}.baud`, `must be one of ${serialBauds.join(', ')} (got ${baud})`);
  const destination = destinationField(`${where}.destination`, o.destination);
  const ackMode = o.ackMode ?? 'reliable';
  if (ackMode !== 'reliable' && ackMode !== 'immediate' && ackMode !== 'off') {
    throw configError(`${where}.ackMode`, `must be reliable, immediate or off (got ${String(ackMode)})`);
  }
  const reopenMinMs = intField(`${where}.reopenMinMs`, o.reopenMinMs, serialReopenMinMsDefault, 10, 600_000);
  return Object.freeze({
    name,
    path: devicePath,
    glob,
    baud,
    destination,
    logDestination: o.logDestination === undefined ? destination : destinationField(`${where}.logDestination`, o.logDestination),
    sensors: parseSensors(`${where}.sensors`, o.sensors ?? {}, destination),
    ackMode,
    timeSyncIntervalMs: intField(`${where}.timeSyncIntervalMs`, o.timeSyncIntervalMs, serialTimeSyncIntervalMsDefault, 100, 3_600_000),
    reopenMinMs,
    reopenMaxMs: intField(`${where}.reopenMaxMs`, o.reopenMaxMs, Math.max(reopenMinMs, serialReopenMaxMsDefault), reopenMinMs, 3_600_000),
    pathCheckMs: intField(`${where}.pathCheckMs`, o.pathCheckMs, serialPathCheckMsDefault, 10, 600_000),
    stty: stringField(`${where}.stty`, o.stty, 'stty'),
    stateDir: stringField(`${where}.stateDir`, o.stateDir),
  });
}

function parseSensors(where: string, raw: unknown, destination: string): ReadonlyMap<number, SerialSensorConfig> {
  const o = objectWithKeys(where, raw, Object.keys(raw as object ?? {}));
  const sensors = new Map<number, SerialSensorConfig>();
  for (const [key, value] of Object.entries(o)) {
    const at = `${where}.${key}`;
    if (!/^\d{1,5}$/.test(key) || Number(key) > 0xffff) throw configError(at, 'sensor ids are integers from 0 to 65535');
    const s = objectWithKeys(at, value ?? {}, ['name', 'destination', 'partitionKey']);
    const partitionKey = s.partitionKey === undefined ? undefined : stringField(`${at}.partitionKey`, s.partitionKey);
    if (partitionKey !== undefined && partitionKey.length > bufferLimits.partitionKeyLengthMax) {
      throw configError(`${at}.partitionKey`, `is longer than ${bufferLimits.partitionKeyLengthMax} characters`);
    }
    const name = s.name === undefined ? undefined : stringField(`${at}.name`, s.name);
    if (name !== undefined && !/^[A-Za-z0-9._:-]{1,64}$/.test(name)) throw configError(`${at}.name`, `must be 1 to 64 of A-Z a-z 0-9 . _ : - (got ${name})`);
    sensors.set(Number(key), Object.freeze({
      name,
      destination: s.destination === undefined ? destination : destinationField(`${at}.destination`, s.destination),
      partitionKey,
    }));
  }
  return sensors;
}

/** Every destination a port writes to: the daemon checks each has a buffer. */
export function serialDestinations(config: SerialPortConfig): string[] {
  return [...new Set([config.destination, config.logDestination, ...[...config.sensors.values()].map((s) => s.destination)])];
}
