/**
 * The gateway's configuration: a YAML file (configs/gateway.example.yaml)
 * overlaid by command-line flags, parsed once into a frozen GatewayConfig.
 * Unknown keys are errors (usually typos) and every message names the file,
 * line and field:
 *
 *   /etc/tributary/gateway.yaml:7: storage.fsync must be always, never or interval:<ms> (got "sometimes")
 */
import fs from 'node:fs';
import { LineCounter, parseDocument, isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';
import { TributaryError } from '../sdk/protocol/errors.ts';
import { gatewayDefaults, type GatewayConfig } from './gateway.ts';
import { parseFsyncPolicy } from './storage/types.ts';

type Field =
  | { kind: 'string'; set: (c: GatewayConfig, v: string) => void; pattern?: RegExp; hint?: string }
  | { kind: 'integer'; set: (c: GatewayConfig, v: number) => void; min: number; max: number }
  | { kind: 'boolean'; set: (c: GatewayConfig, v: boolean) => void }
  | { kind: 'enum'; set: (c: GatewayConfig, v: string) => void; values: readonly string[] }
  | { kind: 'fsync'; set: (c: GatewayConfig, v: string) => void }
  | { kind: 'list'; set: (c: GatewayConfig, v: string[]) => void; pattern: RegExp; hint: string };

/** Every key the file may hold, by section. */
const schema: Record<string, Record<string, Field>> = {
  gateway: {
    host: { kind: 'string', set: (c, v) => (c.host = v) },
    port: { kind: 'integer', min: 0, max: 65535, set: (c, v) => (c.port = v) },
    dataDir: { kind: 'string', set: (c, v) => (c.dataDir = v) },
    accountId: { kind: 'string', pattern: /^\d{12}$/, hint: 'twelve digits', set: (c, v) => (c.accountId = v) },
    region: { kind: 'string', pattern: /^[a-z]{2}(-[a-z]+)+-\d$/, hint: 'a Region name such as us-east-1', set: (c, v) => (c.region = v) },
    logLevel: { kind: 'enum', values: ['debug', 'info', 'warn', 'error'], set: (c, v) => (c.logLevel = v as GatewayConfig['logLevel']) },
    requestBytesMax: { kind: 'integer', min: 1024 * 1024, max: 64 * 1024 * 1024, set: (c, v) => (c.requestBytesMax = v) },
    offloadWorkers: { kind: 'integer', min: 0, max: 64, set: (c, v) => (c.offloadWorkers = v) },
    requestBytesInFlightMax: { kind: 'integer', min: 1024 * 1024, max: 64 * 1024 * 1024 * 1024, set: (c, v) => (c.requestBytesInFlightMax = v) },
  },
  tls: {
    enabled: { kind: 'boolean', set: (c, v) => (c.tlsEnabled = v) },
    mutual: { kind: 'boolean', set: (c, v) => (c.tlsMutual = v) },
    names: { kind: 'list', pattern: /^[a-zA-Z0-9*]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/, hint: 'DNS names', set: (c, v) => (c.tlsNames = v) },
    ips: { kind: 'list', pattern: /^[0-9a-fA-F.:]+$/, hint: 'IP addresses', set: (c, v) => (c.tlsIps = v) },
  },
  storage: {
    fsync: { kind: 'fsync', set: (c, v) => (c.fsync = parseFsyncPolicy(v)!) },
    segmentBytesMax: { kind: 'integer', min: 64 * 1024, max: 1024 * 1024 * 1024, set: (c, v) => (c.segmentBytesMax = v) },
    segmentAgeMsMax: { kind: 'integer', min: 1000, max: 7 * 24 * 3600_000, set: (c, v) => (c.segmentAgeMsMax = v) },
    retentionCheckIntervalMs: { kind: 'integer', min: 100, max: 3600_000, set: (c, v) => (c.retentionCheckIntervalMs = v) },
  },
  streams: {
    enforceLimits: { kind: 'boolean', set: (c, v) => (c.enforceLimits = v) },
    shardLimit: { kind: 'integer', min: 1, max: 1_000_000, set: (c, v) => (c.shardLimit = v) },
    onDemandStreamCountLimit: { kind: 'integer', min: 0, max: 1_000_000, set: (c, v) => (c.onDemandStreamCountLimit = v) },
    createDelayMs: { kind: 'integer', min: 0, max: 600_000, set: (c, v) => (c.createDelayMs = v) },
    updateDelayMs: { kind: 'integer', min: 0, max: 600_000, set: (c, v) => (c.updateDelayMs = v) },
    deleteDelayMs: { kind: 'integer', min: 0, max: 600_000, set: (c, v) => (c.deleteDelayMs = v) },
  },
};

/** Keys that moved, so an old file gets a pointer instead of a bare "unknown key". */
const renamed: Record<string, string> = {
  'gateway.data': 'gateway.dataDir',
  'storage.segmentBytes': 'storage.segmentBytesMax',
  'streams.limits': 'streams.enforceLimits',
};

export class ConfigError extends TributaryError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/** Parses and validates a config file's text; `file` is only used in messages. */
export function parseGatewayConfig(text: string, file: string, base: GatewayConfig = gatewayDefaults): GatewayConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (node: Node | null | undefined) => (node?.range ? lines.linePos(node.range[0]).line : 1);
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new ConfigError(`${file}:${lines.linePos(e.pos[0]).line}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const config: GatewayConfig = structuredClone(base);
  if (doc.contents === null) return Object.freeze(config);
  if (!isMap(doc.contents)) throw new ConfigError(`${file}:${at(doc.contents)}: the top level must be a mapping of sections (${Object.keys(schema).join(', ')})`);
  for (const sectionPair of doc.contents.items as Pair<Node, Node>[]) {
    const sectionName = String((sectionPair.key as { value?: unknown })?.value);
    const section = schema[sectionName];
    if (!section) throw new ConfigError(`${file}:${at(sectionPair.key)}: unknown section "${sectionName}" (known: ${Object.keys(schema).join(', ')})`);
    if (sectionPair.value === null) continue;
    if (!isMap(sectionPair.value)) throw new ConfigError(`${file}:${at(sectionPair.value)}: ${sectionName} must be a mapping`);
    for (const pair of sectionPair.value.items as Pair<Node, Node>[]) {
      const key = String((pair.key as { value?: unknown })?.value);
      const path = `${sectionName}.${key}`;
      const field = section[key];
      const line = at(pair.key);
      if (!field) {
        const hint = renamed[path] ? `; it is now ${renamed[path]}` : `; known keys: ${Object.keys(section).join(', ')}`;
        throw new ConfigError(`${file}:${line}: unknown key ${path}${hint}`);
      }
      applyField(field, pair.value, `${file}:${at(pair.value) || line}: ${path}`, config);
    }
  }
  return Object.freeze(config);
}

function applyField(field: Field, node: Node | null, where: string, config: GatewayConfig): void {
  if (field.kind === 'list') {
    if (!isSeq(node)) throw new ConfigError(`${where} must be a list of ${field.hint}`);
    const items = node.items.map((n) => (isScalar(n) ? String(n.value) : ''));
    const bad = items.find((v) => !field.pattern.test(v));
    if (bad !== undefined) throw new ConfigError(`${where} must be a list of ${field.hint} (got ${JSON.stringify(bad)})`);
    return field.set(config, items);
  }
  const value = isScalar(node) ? node.value : undefined;
  const got = isScalar(node) ? JSON.stringify(value) : 'a mapping or list';
  switch (field.kind) {
    case 'string':
      if (typeof value !== 'string' && typeof value !== 'number') throw new ConfigError(`${where} must be a string (got ${got})`);
      if (field.pattern && !field.pattern.test(String(value))) throw new ConfigError(`${where} must be ${field.hint} (got ${got})`);
      return field.set(config, String(value));
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw new ConfigError(`${where} must be an integer (got ${got})`);
      if (value < field.min) throw new ConfigError(`${where} must be at least ${field.min} (got ${value})`);
      if (value > field.max) throw new ConfigError(`${where} must be at most ${field.max} (got ${value})`);
      return field.set(config, value);
    case 'boolean':
      if (typeof value !== 'boolean') throw new ConfigError(`${where} must be true or false (got ${got})`);
      return field.set(config, value);
    case 'enum':
      if (typeof value !== 'string' || !field.values.includes(value)) throw new ConfigError(`${where} must be one of ${field.values.join(', ')} (got ${got})`);
      return field.set(config, value);
    case 'fsync':
      if (typeof value !== 'string' || !parseFsyncPolicy(value)) throw new ConfigError(`${where} must be always, never or interval:<ms> (got ${got})`);
      return field.set(config, value);
  }
}

export function loadGatewayConfigFile(file: string, base?: GatewayConfig): GatewayConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read config file: ${(err as Error).message}`);
  }
  return parseGatewayConfig(text, file, base);
}
