/**
 * The agent's configuration (configs/agent.example.yaml), validated once at
 * start into a frozen object. Every error names the file, line and field.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, parseConfig, type Schema } from '../sdk/config/yaml-schema.ts';
import { cameraSchema, resolveCameraConfig, type CameraConfig, type RawCameraConfig } from './camera/config.ts';

const fsyncPolicy: Schema = {
  kind: 'custom',
  describe: 'always, never or interval:<ms>',
  default: 'always',
  parse: (v) => (v === 'always' || v === 'never' || /^interval:\d{1,7}$/.test(v) ? { ok: true, value: v } : { ok: false, error: 'must be always, never or interval:<ms>' }),
};

const name = { kind: 'string', pattern: /^[a-zA-Z0-9_.${}-]{1,128}$/, hint: '1-128 of [a-zA-Z0-9_.-] (${device} allowed)' } as const;

const partitionKey: Schema = {
  kind: 'object',
  fields: {
    topicLevel: { kind: 'integer', min: 0, max: 64 },
    jsonField: { kind: 'string', pattern: /^[A-Za-z0-9_.-]{1,128}$/, hint: 'a JSON field name (dots for nesting)' },
    fixed: { kind: 'string', pattern: /^.{1,256}$/, hint: '1-256 characters' },
    topic: { kind: 'boolean' },
    hash: { kind: 'boolean' },
  },
};

export const agentSchema = {
  kind: 'object',
  required: ['gateway', 'destinations'],
  fields: {
    gateway: {
      kind: 'object',
      required: ['credentials'],
      fields: {
        credentials: { kind: 'string', hint: 'the credentials.json `tributary-agent pair` wrote' },
        endpoint: { kind: 'string', pattern: /^https?:\/\/\S+$/, hint: 'an http(s):// URL (default: the one stored at pairing)' },
      },
    },
    state: {
      kind: 'object',
      fields: {
        dir: { kind: 'string', default: '/var/lib/tributary' },
        // Tests and demos only: allows a state.dir that does not survive a reboot (buffers and checkpoints are lost then).
        volatile: { kind: 'boolean', default: false },
      },
    },
    buffer: {
      kind: 'object',
      fields: {
        fsync: fsyncPolicy,
        // Both absent by default: the agent sizes each buffer from the disk's free space at start (agent/disk-space.ts).
        segmentBytes: { kind: 'integer', min: 64 * 1024, max: 1024 * 1024 * 1024 },
        capBytes: { kind: 'integer', min: 1024 * 1024, max: 1024 ** 4 },
        capFreePercent: { kind: 'integer', min: 1, max: 95, default: 50 },
        capPolicy: { kind: 'enum', values: ['drop-oldest', 'reject-newest'], default: 'drop-oldest' },
        encrypt: { kind: 'boolean', default: false },
      },
      renamed: { maxBytes: 'capBytes', policy: 'capPolicy' },
    },
    destinations: {
      kind: 'map',
      keyPattern: /^[a-zA-Z0-9_-]{1,64}$/,
      keyHint: '1-64 of [a-zA-Z0-9_-]',
      value: {
        kind: 'object',
        required: ['stream'],
        fields: {
          stream: name,
          aggregate: { kind: 'boolean', default: false },
          bandwidthBytesPerSecondMax: { kind: 'integer', min: 1024, max: 1024 ** 3 },
          priority: { kind: 'integer', min: 0, max: 100, default: 50 },
          newestFirst: { kind: 'boolean', default: false },
        },
      },
    },
    inputs: {
      kind: 'object',
      fields: {
        mqtt: {
          kind: 'object',
          fields: {
            url: { kind: 'string', pattern: /^mqtts?:\/\/\S+$/, hint: 'an mqtt:// URL', default: 'mqtt://127.0.0.1:1883' },
            clientId: { kind: 'string', pattern: /^\S{1,128}$/, hint: '1-128 characters without spaces' },
            username: { kind: 'string' },
            password: { kind: 'string' },
            keepaliveSec: { kind: 'integer', min: 1, max: 65535 },
            rules: {
              kind: 'list',
              min: 1,
              item: { kind: 'object', required: ['filter', 'destination'], fields: { filter: { kind: 'string', pattern: /^\S{1,256}$/, hint: 'an MQTT topic filter' }, destination: { kind: 'string' }, partitionKey } },
            },
          },
        },
        files: {
          kind: 'list',
          item: {
            kind: 'object',
            required: ['paths', 'destination'],
            fields: {
              name: { kind: 'string', pattern: /^[A-Za-z0-9._-]{1,64}$/, hint: '1-64 of [A-Za-z0-9._-] (names the checkpoint)' },
              paths: { kind: 'list', min: 1, item: { kind: 'string', pattern: /^\/\S+$/, hint: 'an absolute path; * and ? in the file name' } },
              destination: { kind: 'string' },
              partitionKey: { kind: 'object', fields: { fixed: { kind: 'string', pattern: /^.{1,256}$/, hint: '1-256 characters' }, fileName: { kind: 'boolean' }, hash: { kind: 'boolean' } } },
              order: { kind: 'enum', values: ['per-file', 'none'] },
              startAt: { kind: 'enum', values: ['beginning', 'end'] },
              startPattern: { kind: 'custom', describe: 'a regular expression', parse: (v) => { try { new RegExp(v); return { ok: true, value: v }; } catch (e) { return { ok: false, error: `is not a regular expression: ${(e as Error).message}` }; } } },
              recordBytesMax: { kind: 'integer', min: 16, max: 1024 * 1024 - 64 },
              pollIntervalMs: { kind: 'integer', min: 10, max: 60_000 },
            },
          },
        },
        serial: {
          kind: 'list',
          item: {
            kind: 'object',
            required: ['path', 'destination'],
            fields: {
              name: { kind: 'string', pattern: /^[A-Za-z0-9._:-]{1,64}$/, hint: '1-64 of [A-Za-z0-9._:-] (names the device in records and metrics)' },
              path: { kind: 'string', pattern: /^\/\S+$/, hint: 'an absolute device path, /dev/serial/by-id/… link, or * and ? in the file name' },
              baud: { kind: 'integer', min: 50, max: 4_000_000 },
              destination: { kind: 'string' },
              logDestination: { kind: 'string' },
              sensors: {
                kind: 'map',
                keyPattern: /^\d{1,5}$/,
                keyHint: 'a sensor id, 0-65535',
                value: { kind: 'object', fields: { name: { kind: 'string', pattern: /^[A-Za-z0-9._:-]{1,64}$/, hint: '1-64 of [A-Za-z0-9._:-]' }, destination: { kind: 'string' }, partitionKey: { kind: 'string', pattern: /^.{1,256}$/, hint: '1-256 characters' } } },
              },
              ackMode: { kind: 'enum', values: ['reliable', 'immediate', 'off'] },
              timeSyncIntervalMs: { kind: 'integer', min: 100, max: 3_600_000 },
              reopenMinMs: { kind: 'integer', min: 10, max: 600_000 },
              reopenMaxMs: { kind: 'integer', min: 10, max: 3_600_000 },
            },
          },
        },
        journald: {
          kind: 'object',
          fields: {
            units: { kind: 'list', item: { kind: 'string', pattern: /^[A-Za-z0-9:_.\\@*?[\]-]{1,256}$/, hint: 'a unit name (globs allowed)' } },
            matches: { kind: 'list', item: { kind: 'string', pattern: /^(\+|[A-Z0-9_]{1,64}=.{0,4096})$/, hint: 'FIELD=value or + (journalctl matches)' } },
            directory: { kind: 'string', pattern: /^\/.*$/, hint: 'an absolute path: a directory of journal files (default: the system journal)' },
            files: { kind: 'list', min: 1, item: { kind: 'string', pattern: /^\/.*$/, hint: 'an absolute path to a journal file (globs allowed)' } },
            partitionKey: { kind: 'object', fields: { unit: { kind: 'boolean' }, hostname: { kind: 'boolean' }, fixed: { kind: 'string', pattern: /^.{1,256}$/, hint: '1-256 characters' }, hash: { kind: 'boolean' } } },
            order: { kind: 'enum', values: ['per-unit', 'none'] },
            startAt: { kind: 'enum', values: ['beginning', 'end'] },
            destination: { kind: 'string' },
          },
        },
        socket: {
          kind: 'object',
          fields: {
            enabled: { kind: 'boolean' },
            path: { kind: 'string', pattern: /^\/\S{1,106}$/, hint: 'an absolute path of at most 107 bytes', default: '/run/tributary/agent.sock' },
            mode: { kind: 'string', pattern: /^0?[0-7]{3}$/, hint: 'an octal mode in quotes, like "0660"', default: '0660' },
            destination: { kind: 'string' },
          },
        },
        http: {
          kind: 'object',
          fields: { enabled: { kind: 'boolean', default: false }, port: { kind: 'integer', min: 1, max: 65535, default: 8787 }, destination: { kind: 'string' } },
        },
        // Cameras: agent/camera/config.ts (docs/agent-camera.md).
        camera: { kind: 'list', item: cameraSchema },
      },
    },
    uplink: {
      kind: 'object',
      fields: {
        batchRecordsMax: { kind: 'integer', min: 1, max: 500, default: 500 },
        batchBytesMax: { kind: 'integer', min: 1024, max: 5 * 1024 * 1024, default: 5 * 1024 * 1024 },
        retryMaxMs: { kind: 'integer', min: 100, max: 3600_000, default: 60_000 },
        maxRecordAgeMs: { kind: 'integer', min: 60_000, max: 365 * 24 * 3600_000, default: 7 * 24 * 3600_000 },
        requestTimeoutMs: { kind: 'integer', min: 1000, max: 600_000, default: 30_000 },
        lingerMs: { kind: 'integer', min: 0, max: 60_000, default: 1000 },
        lanesMax: { kind: 'integer', min: 1, max: 64, default: 8 },
        bandwidthBytesPerSecondMax: { kind: 'integer', min: 1024, max: 1024 ** 3 },
        priorityWaitMsMax: { kind: 'integer', min: 100, max: 3600_000, default: 5_000 },
        catchUpAgeMs: { kind: 'integer', min: 0, max: 365 * 24 * 3600_000, default: 60_000 },
      },
    },
    metrics: { kind: 'object', fields: { port: { kind: 'integer', min: 0, max: 65535, default: 9464 } } },
    log: { kind: 'object', fields: { level: { kind: 'enum', values: ['debug', 'info', 'warn', 'error'], default: 'info' } } },
  },
} as const satisfies Schema;

type PartitionKey = { topicLevel?: number; jsonField?: string; fixed?: string; topic?: boolean; hash?: boolean };

export interface AgentConfig {
  gateway: { credentials: string; endpoint?: string };
  state: { dir: string; volatile: boolean };
  buffer: {
    fsync: string;
    /** Absent: chosen to fit the cap (at most 8 MiB, eight segments to a cap). */
    segmentBytes?: number;
    /** Per destination; absent: `capFreePercent` of the disk's free space, shared by the destinations. */
    capBytes?: number;
    capFreePercent: number;
    capPolicy: 'drop-oldest' | 'reject-newest';
    encrypt: boolean;
  };
  destinations: Record<string, { stream: string; aggregate: boolean; bandwidthBytesPerSecondMax?: number; priority: number; newestFirst: boolean }>;
  inputs: {
    mqtt: { url: string; clientId?: string; username?: string; password?: string; keepaliveSec?: number; rules?: Array<{ filter: string; destination: string; partitionKey?: PartitionKey }> };
    files?: Array<{ name?: string; paths: string[]; destination: string; partitionKey?: { fixed?: string; fileName?: boolean; hash?: boolean }; order?: 'per-file' | 'none'; startAt?: 'beginning' | 'end'; startPattern?: string; recordBytesMax?: number; pollIntervalMs?: number }>;
    serial?: Array<{ name?: string; path: string; baud?: number; destination: string; logDestination?: string; sensors?: Record<string, { name?: string; destination?: string; partitionKey?: string }>; ackMode?: 'reliable' | 'immediate' | 'off'; timeSyncIntervalMs?: number; reopenMinMs?: number; reopenMaxMs?: number }>;
    journald: { units?: string[]; matches?: string[]; directory?: string; files?: string[]; partitionKey?: { unit?: boolean; hostname?: boolean; fixed?: string; hash?: boolean }; order?: 'per-unit' | 'none'; startAt?: 'beginning' | 'end'; destination?: string };
    /** Runs when `enabled`, or when `enabled` is absent and a default destination is set. */
    socket: { enabled?: boolean; path: string; mode: string; destination?: string };
    http: { enabled: boolean; port: number; destination?: string };
    /** Checked and completed by `resolveCameraConfig` (source-dependent defaults); `${device}` is replaced at start. */
    camera?: CameraConfig[];
  };
  uplink: {
    batchRecordsMax: number; batchBytesMax: number; retryMaxMs: number; maxRecordAgeMs: number; requestTimeoutMs: number; lingerMs: number;
    /** Requests in flight per destination at most: one per shard (agent/uplink/lanes.ts). */
    lanesMax: number;
    /** The whole link's cap, shared by the destinations by priority (agent/uplink/scheduler.ts). */
    bandwidthBytesPerSecondMax?: number;
    /** Priority holds a destination back at most this long between two of its requests. */
    priorityWaitMsMax: number;
    /** newestFirst destinations start a catch-up once their oldest waiting record is this old. */
    catchUpAgeMs: number;
  };
  metrics: { port: number };
  log: { level: 'debug' | 'info' | 'warn' | 'error' };
}

/** Directories a buffer must never live in: they vanish on reboot (tmpfs) or are not for state. */
const volatileRoots = ['/run', '/var/run', '/tmp', '/dev/shm'];
/** statfs f_type of filesystems that live in memory (linux/magic.h). */
const volatileFsTypes = new Map([[0x01021994, 'tmpfs'], [0x858458f6, 'ramfs']]);

export const defaultStateDir = '/var/lib/tributary';

/**
 * Why `dir` does not survive a reboot, or undefined: one of the volatile
 * roots, or (when it exists) a directory on tmpfs or ramfs. `run` and `pair`
 * both refuse such a state directory unless told it is on purpose.
 */
export function volatileStateReason(dir: string): string | undefined {
  const abs = path.resolve(dir);
  const root = volatileRoots.find((r) => abs === r || abs.startsWith(r + '/'));
  if (root) return `${abs} is on volatile storage (under ${root}, which does not survive a reboot)`;
  let at = abs;
  while (!fs.existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
  try {
    const type = volatileFsTypes.get(fs.statfsSync(at).type);
    if (type) return `${abs} is on volatile storage (${type}, which does not survive a reboot)`;
  } catch {
    // No statfs here: the path check is all there is.
  }
  return undefined;
}

/** The refusal `run` and `pair` give for a volatile state directory, naming the way around it. */
export function volatileStateMessage(reason: string, override: string): string {
  return `${reason}; buffers, checkpoints and keys must outlive it (use ${defaultStateDir}); for tests and demos, ${override}`;
}

export function parseAgentConfig(text: string, file: string): AgentConfig {
  const c = parseConfig<AgentConfig>(text, file, agentSchema);
  const known = Object.keys(c.destinations);
  const refs: Array<[string, string | undefined]> = [
    ...(c.inputs.mqtt.rules ?? []).map((s, i) => [`inputs.mqtt.rules[${i}].destination`, s.destination] as [string, string]),
    ...(c.inputs.files ?? []).map((f, i) => [`inputs.files[${i}].destination`, f.destination] as [string, string]),
    ...(c.inputs.serial ?? []).flatMap((p, i) => [
      [`inputs.serial[${i}].destination`, p.destination],
      [`inputs.serial[${i}].logDestination`, p.logDestination],
      ...Object.entries(p.sensors ?? {}).map(([id, s]) => [`inputs.serial[${i}].sensors.${id}.destination`, s.destination]),
    ] as Array<[string, string | undefined]>),
    ['inputs.journald.destination', c.inputs.journald.destination],
    ['inputs.socket.destination', c.inputs.socket.destination],
    ['inputs.http.destination', c.inputs.http.destination],
  ];
  for (const [where, dest] of refs) {
    if (dest !== undefined && !known.includes(dest)) throw new ConfigError(`${file}: ${where} names destination "${dest}", which is not defined (destinations: ${known.join(', ') || 'none'})`);
  }
  const volatile = c.state.volatile ? undefined : volatileStateReason(c.state.dir);
  if (volatile) throw new ConfigError(`${file}: state.dir ${volatileStateMessage(volatile, 'set state.volatile: true')}`);
  for (const [i, s] of (c.inputs.mqtt.rules ?? []).entries()) {
    if (Object.keys(s.partitionKey ?? {}).length > 1) throw new ConfigError(`${file}: inputs.mqtt.rules[${i}].partitionKey takes one of topic, topicLevel, jsonField, fixed or hash`);
  }
  for (const [i, f] of (c.inputs.files ?? []).entries()) {
    if (Object.keys(f.partitionKey ?? {}).length > 1) throw new ConfigError(`${file}: inputs.files[${i}].partitionKey takes one of fixed, fileName or hash`);
    if (f.order === 'per-file' && f.partitionKey?.hash) throw new ConfigError(`${file}: inputs.files[${i}].partitionKey: hash spreads a file's lines over shards, which order: per-file forbids (use fileName or fixed)`);
  }
  const j = c.inputs.journald;
  if (Object.keys(j.partitionKey ?? {}).length > 1) throw new ConfigError(`${file}: inputs.journald.partitionKey takes one of unit, hostname, fixed or hash`);
  if (j.order === 'per-unit' && j.partitionKey?.hash) throw new ConfigError(`${file}: inputs.journald.partitionKey: hash spreads a unit's entries over shards, which order: per-unit forbids (use unit, hostname or fixed)`);
  if (j.directory !== undefined && j.files !== undefined) throw new ConfigError(`${file}: inputs.journald takes directory or files, not both`);
  if (c.inputs.camera) {
    const names = new Set<string>();
    c.inputs.camera = c.inputs.camera.map((raw, i) => {
      const r = resolveCameraConfig(raw as unknown as RawCameraConfig, `inputs.camera[${i}]`);
      if (typeof r === 'string') throw new ConfigError(`${file}: ${r}`);
      if (names.has(r.name)) throw new ConfigError(`${file}: inputs.camera[${i}].name "${r.name}" is used by another camera`);
      names.add(r.name);
      return r;
    });
  }
  return Object.freeze(c);
}

export function loadAgentConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read config file: ${(err as Error).message}`);
  }
  return parseAgentConfig(text, file);
}
