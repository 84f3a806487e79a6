/**
 * The gateway's configuration: a YAML file (configs/gateway.example.yaml)
 * overlaid by command-line flags, parsed once into a frozen GatewayConfig.
 * Unknown keys are errors (usually typos) and every message names the file,
 * line and field (the shared validator in sdk/config does the checking):
 *
 *   /etc/tributary/gateway.yaml:7: storage.fsync must be always, never or interval:<ms> (got "sometimes")
 */
import fs from 'node:fs';
import { ConfigError, parseConfig, type Schema } from '../sdk/config/yaml-schema.ts';
import type { S3BucketConfig } from './firehose/destinations/s3.ts';
import { checkTableSchemas, tableSchemasSchema, type TableSchemas } from './firehose/format-conversion-config.ts';
import { checkLambdaTargets, lambdasSchema } from './firehose/processors/lambda-config.ts';
import { parseAllowList } from './firehose/http-endpoint-allow-list.ts';
import { gatewayDefaults, type GatewayConfig } from './gateway.ts';
import { analyticsLambdasSchema, checkAnalyticsLambdas } from './analytics/runtime/lambda-targets.ts';
import type { StorageBackendName } from './storage/factory.ts';
import { natsPrefixDefault, natsReplicasDefault, type NatsStorageConfig } from './storage/nats/config.ts';
import { jobLeaseMsDefault } from './storage/nats/job-lease.ts';
import { parseFsyncPolicy, type FsyncPolicy } from './storage/types.ts';

export { ConfigError } from '../sdk/config/yaml-schema.ts';

/** A config key: how it is checked, and where its value goes in GatewayConfig. */
type Field = { schema: Schema; set: (c: GatewayConfig, v: never) => void };
const f = <T>(schema: Schema, set: (c: GatewayConfig, v: T) => void): Field => ({ schema, set: set as Field['set'] });
const integer = (min: number, max: number): Schema => ({ kind: 'integer', min, max });
const boolean: Schema = { kind: 'boolean' };

const fsyncSchema: Schema = {
  kind: 'custom',
  describe: 'always, never or interval:<ms>',
  parse: (v) => {
    const policy = parseFsyncPolicy(v);
    return policy ? { ok: true, value: policy } : { ok: false, error: 'must be always, never or interval:<ms>' };
  },
};

/** `firehose.buckets.<bucket>: { s3: {...} }`: an S3-compatible store (gateway/firehose/destinations/s3.ts). */
const s3BucketSchema: Schema = {
  kind: 'object',
  required: ['s3'],
  fields: {
    s3: {
      kind: 'object',
      required: ['endpoint', 'accessKeyId', 'secretAccessKey'],
      fields: {
        endpoint: { kind: 'string', pattern: /^https?:\/\/[^\s/]+(\/\S*)?$/, hint: 'an http:// or https:// URL' },
        region: { kind: 'string', pattern: /^[a-z0-9-]{1,64}$/, hint: 'a region name such as us-east-1', default: 'us-east-1' },
        accessKeyId: { kind: 'string', pattern: /^\S{1,128}$/, hint: 'an access key id' },
        secretAccessKey: { kind: 'string', pattern: /^\S{1,256}$/, hint: 'a secret access key' },
        bucket: { kind: 'string', pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, hint: 'an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)' },
        forcePathStyle: { kind: 'boolean', default: true },
        encryption: { kind: 'enum', values: ['client', 'server'], default: 'client' },
      },
    },
  },
};

/** `storage.nats`: the JetStream cluster of the `nats` backend (docs/scaling.md). */
const natsSchema: Schema = {
  kind: 'object',
  optional: true,
  required: ['servers'],
  fields: {
    servers: { kind: 'list', item: { kind: 'string', pattern: /^(nats|tls):\/\/[^\s/]+$/, hint: 'a nats:// or tls:// URL' } },
    credentials: { kind: 'string', hint: 'a NATS credentials file' },
    user: { kind: 'string' },
    password: { kind: 'string' },
    token: { kind: 'string' },
    tls: { kind: 'object', optional: true, fields: { ca: { kind: 'string' }, cert: { kind: 'string' }, key: { kind: 'string' } } },
    replicas: { kind: 'integer', min: 1, max: 5, default: natsReplicasDefault },
    prefix: { kind: 'string', pattern: /^[A-Za-z][A-Za-z0-9_-]{0,31}$/, hint: 'letters, digits, _ and -, up to 32', default: natsPrefixDefault },
    leaseMs: { kind: 'integer', min: 1000, max: 600_000, default: jobLeaseMsDefault },
  },
};

/** One `firehose.httpEndpointsAllowed` entry: an http(s) URL, host optionally `*.<domain>` (http-endpoint-allow-list.ts). */
const allowedUrlSchema: Schema = {
  kind: 'custom',
  describe: 'an http:// or https:// URL (host may start with *.)',
  parse: (v) => {
    try {
      parseAllowList([v]);
      return { ok: true, value: v };
    } catch {
      return { ok: false, error: 'must be an http:// or https:// URL (its host optionally *.<domain>; no query, fragment or credentials)' };
    }
  },
};

/** Splits `firehose.buckets` into directories and S3-compatible stores. */
function setBuckets(c: GatewayConfig, v: Record<string, string | { s3: S3BucketConfig }>): void {
  c.firehoseBuckets = {};
  c.firehoseS3Buckets = {};
  for (const [bucket, target] of Object.entries(v)) {
    if (typeof target === 'string') c.firehoseBuckets[bucket] = target;
    else c.firehoseS3Buckets[bucket] = target.s3;
  }
}

/** Every key the file may hold, by section. */
const fields: Record<string, Record<string, Field>> = {
  gateway: {
    host: f<string>({ kind: 'string' }, (c, v) => (c.host = v)),
    port: f<number>(integer(0, 65535), (c, v) => (c.port = v)),
    dataDir: f<string>({ kind: 'string' }, (c, v) => (c.dataDir = v)),
    accountId: f<string>({ kind: 'string', pattern: /^\d{12}$/, hint: 'twelve digits' }, (c, v) => (c.accountId = v)),
    region: f<string>({ kind: 'string', pattern: /^[a-z]{2}(-[a-z]+)+-\d$/, hint: 'a Region name such as us-east-1' }, (c, v) => (c.region = v)),
    logLevel: f<GatewayConfig['logLevel']>({ kind: 'enum', values: ['debug', 'info', 'warn', 'error'] }, (c, v) => (c.logLevel = v)),
    requestBytesMax: f<number>(integer(1024 * 1024, 64 * 1024 * 1024), (c, v) => (c.requestBytesMax = v)),
    offloadWorkers: f<number>(integer(0, 64), (c, v) => (c.offloadWorkers = v)),
    offloadInlineBusyPercentMax: f<number>(integer(0, 100), (c, v) => (c.offloadInlineBusyPercentMax = v)),
    requestBytesInFlightMax: f<number>(integer(1024 * 1024, 64 * 1024 * 1024 * 1024), (c, v) => (c.requestBytesInFlightMax = v)),
    connectionsMax: f<number>(integer(0, 1_000_000), (c, v) => (c.connectionsMax = v)),
    connectionsPerAddressMax: f<number>(integer(1, 1_000_000), (c, v) => (c.connectionsPerAddressMax = v)),
  },
  tls: {
    enabled: f<boolean>(boolean, (c, v) => (c.tlsEnabled = v)),
    mutual: f<boolean>(boolean, (c, v) => (c.tlsMutual = v)),
    names: f<string[]>({ kind: 'list', item: { kind: 'string', pattern: /^[a-zA-Z0-9*]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/, hint: 'a DNS name' } }, (c, v) => (c.tlsNames = v)),
    ips: f<string[]>({ kind: 'list', item: { kind: 'string', pattern: /^[0-9a-fA-F.:]+$/, hint: 'an IP address' } }, (c, v) => (c.tlsIps = v)),
  },
  storage: {
    fsync: f<FsyncPolicy>(fsyncSchema, (c, v) => (c.fsync = v)),
    /** `local` (default) or `nats`: where shard logs and metadata live (docs/storage.md, docs/scaling.md). */
    backend: f<StorageBackendName>({ kind: 'enum', values: ['local', 'nats'] }, (c, v) => (c.storageBackend = v)),
    nats: f<NatsStorageConfig>(natsSchema, (c, v) => (c.nats = { ...v, servers: [...v.servers] })),
    segmentBytesMax: f<number>(integer(64 * 1024, 1024 * 1024 * 1024), (c, v) => (c.segmentBytesMax = v)),
    segmentAgeMsMax: f<number>(integer(1000, 7 * 24 * 3600_000), (c, v) => (c.segmentAgeMsMax = v)),
    retentionCheckIntervalMs: f<number>(integer(100, 3600_000), (c, v) => (c.retentionCheckIntervalMs = v)),
  },
  streams: {
    enforceLimits: f<boolean>(boolean, (c, v) => (c.enforceLimits = v)),
    shardLimit: f<number>(integer(1, 1_000_000), (c, v) => (c.shardLimit = v)),
    onDemandStreamCountLimit: f<number>(integer(0, 1_000_000), (c, v) => (c.onDemandStreamCountLimit = v)),
    createDelayMs: f<number>(integer(0, 600_000), (c, v) => (c.createDelayMs = v)),
    updateDelayMs: f<number>(integer(0, 600_000), (c, v) => (c.updateDelayMs = v)),
    deleteDelayMs: f<number>(integer(0, 600_000), (c, v) => (c.deleteDelayMs = v)),
    subscriptionLifetimeMs: f<number>(integer(1000, 3600_000), (c, v) => (c.subscriptionLifetimeMs = v)),
    idempotencyWindowMs: f<number>(integer(60_000, 30 * 24 * 3600_000), (c, v) => (c.idempotencyWindowMs = v)),
  },
  firehose: {
    /** Bucket name -> local directory, or `{ s3: {...} }` for an S3-compatible store, for ExtendedS3 destinations (default <dataDir>/firehose-buckets/<bucket>). */
    buckets: f<Record<string, string | { s3: S3BucketConfig }>>({ kind: 'map', value: { kind: 'either', scalar: { kind: 'string' }, mapping: s3BucketSchema }, keyPattern: /^[\w.-]{1,255}$/, keyHint: 'an S3 bucket name' }, setBuckets),
    stagingBytesMax: f<number>(integer(1024 * 1024, 1024 * 1024 * 1024 * 1024), (c, v) => (c.firehoseStagingBytesMax = v)),
    /** Retry duration of S3 destinations before the error output (default 24 h, AWS's). */
    s3RetryMs: f<number>(integer(0, 7 * 24 * 3600_000), (c, v) => (c.firehoseS3RetryMs = v)),
    /** `<database>.<table>` -> columns, for record format conversion (docs/firehose.md, Parquet). */
    schemas: f<TableSchemas>(tableSchemasSchema, (c, v) => (c.firehoseSchemas = checkTableSchemas(v))),
    /** Lambda ARN -> `{ url }` (HTTP transformer) or `{ module }` (local ES module) for the Lambda processor (docs/firehose.md, Processing). */
    lambdas: f<Parameters<typeof checkLambdaTargets>[0]>(lambdasSchema, (c, v) => (c.firehoseLambdas = checkLambdaTargets(v))),
    /** Redshift JDBC URL (without `?parameters`) -> PostgreSQL connection string, for Redshift destinations (docs/firehose.md). */
    /** URLs HTTP endpoint destinations may post to (scheme, host, port; path prefix); unset: any (docs/security.md). */
    httpEndpointsAllowed: f<string[]>({ kind: 'list', item: allowedUrlSchema }, (c, v) => (c.firehoseHttpEndpointsAllowed = v)),
    redshift: f<Record<string, string>>({ kind: 'map', value: { kind: 'string', pattern: /^postgres(ql)?:\/\/\S+$/, hint: 'a postgres:// connection string' }, keyPattern: /^jdbc:(redshift|postgresql):\/\/[^?\s]+$/, keyHint: 'a Redshift JDBC URL (jdbc:redshift://host:port/database)' }, (c, v) => (c.firehoseRedshift = v)),
  },
  metrics: {
    /** Serve GET /metrics to anyone (trusted networks only); by default a scrape needs the metrics token (docs/security.md). */
    open: f<boolean>(boolean, (c, v) => (c.metricsOpen = v)),
    /** The metrics token's file (default <dataDir>/metrics.token, made at the first start). */
    tokenFile: f<string>({ kind: 'string', pattern: /^\S+$/, hint: 'a file path' }, (c, v) => (c.metricsTokenFile = v)),
  },
  analytics: {
    /** Lambda ARN -> `{ url }`, `{ module }` or `{ mqtt, topic }` for input preprocessors and Lambda outputs (docs/analytics.md). */
    lambdas: f<Parameters<typeof checkAnalyticsLambdas>[0]>(analyticsLambdasSchema, (c, v) => (c.analyticsLambdas = checkAnalyticsLambdas(v))),
    /** Applications the gateway holds at most (AWS: 50 per Region, a soft limit). */
    applicationsMax: f<number>(integer(1, 100_000), (c, v) => (c.analyticsApplicationsMax = v)),
  },
};

/** Keys that moved, so an old file gets a pointer instead of a bare "unknown key". */
const renamed: Record<string, Record<string, string>> = {
  gateway: { data: 'dataDir' },
  storage: { segmentBytes: 'segmentBytesMax' },
  streams: { limits: 'enforceLimits' },
};

const schema: Schema & { kind: 'object' } = {
  kind: 'object',
  fields: Object.fromEntries(
    Object.entries(fields).map(([section, keys]) => [
      section,
      { kind: 'object', fields: Object.fromEntries(Object.entries(keys).map(([k, field]) => [k, field.schema])), ...(renamed[section] ? { renamed: renamed[section] } : {}) },
    ]),
  ),
};

/** Parses and validates a config file's text over `base`; `file` is only used in messages. */
export function parseGatewayConfig(text: string, file: string, base: GatewayConfig = gatewayDefaults): GatewayConfig {
  const parsed = parseConfig<Record<string, Record<string, unknown>>>(text, file, schema);
  const config: GatewayConfig = structuredClone(base);
  for (const [section, values] of Object.entries(parsed)) {
    for (const [key, value] of Object.entries(values)) fields[section]![key]!.set(config, value as never);
  }
  if (config.storageBackend === 'nats' && !config.nats) throw new ConfigError(`${file}: storage.backend is nats, so storage.nats.servers must name the cluster's servers`);
  return Object.freeze(config);
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
