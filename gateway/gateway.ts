/**
 * Assembles a gateway: storage, security, services, the HTTP front door and
 * the listener. `startGateway` is what the CLI, the tests and the benchmarks run.
 */
import fsp from 'node:fs/promises';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as limits from '../sdk/protocol/streams/limits.ts';
import { subscriptionLifetimeMsDefault } from '../sdk/protocol/streams/consumers.ts';
import { adminActions, adminSigningName, adminTargetPrefix, type AdminContext } from './devices/admin-actions.ts';
import { createGuard } from './devices/guard.ts';
import { createPairingEndpoint } from './devices/pairing-endpoint.ts';
import { operatorProfileName, provisionOperatorProfile } from './devices/operator-profile.ts';
import { PrincipalStore, type SecurityDoc } from './devices/principals.ts';
import { HeartbeatStore, heartbeatActions } from './devices/heartbeats.ts';
import { gatewayHistory, metricHistoryActions } from './console/metrics-history.ts';
import { SessionStore, sessionActions, withSessions } from './console/sessions.ts';
import { consoleRoutes } from './console/static.ts';
import { listen } from './http/listener.ts';
import { loadOrCreateMetricsToken, metricsRoute, metricsTokenFileName } from './http/metrics-route.ts';
import { connectionsMaxDefault, connectionsPerAddressMaxDefault } from './http/connections.ts';
import { leaseActions, leaseResourceOf, LeaseTables, type LeaseTablesDoc } from './leases/lease-tables.ts';
import { OffloadPool, offloadInlineBusyPercentMaxDefault } from './http/offload-pool.ts';
import { createFrontDoor, requestBytesInFlightMaxDefault, requestBytesMaxDefault, type Caller, type RequestExtras, type RpcService } from './http/server.ts';
import { IdempotencyTable, idempotencyWindowMsDefault } from './streams/idempotency.ts';
import { createLogger, type Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { crc32cImplementation } from './storage/local/crc.ts';
import { openStorage, type StorageBackendName } from './storage/factory.ts';
import type { NatsStorageConfig } from './storage/nats/config.ts';
import { localShardLogDefaults } from './storage/local/shard-log.ts';
import type { FsyncPolicy } from './storage/types.ts';
import { streamsActions, streamsResourceOf, streamsTargetPrefix } from './streams/actions/index.ts';
import { subscriptionsOf } from './streams/consumers.ts';
import { StreamRegistry } from './streams/registry.ts';
import { firehoseActions, firehoseResourceOf, firehoseSigningName, firehoseTargetPrefix } from './firehose/actions/index.ts';
import { BucketResolver } from './firehose/destinations/buckets.ts';
import { firehoseRequirements } from './firehose/resources.ts';
import type { S3BucketConfig } from './firehose/destinations/s3.ts';
import { streamSources } from './firehose/stream-source-adapter.ts';
import type { TableSchemas } from './firehose/format-conversion.ts';
import type { LambdaTarget } from './firehose/processors/lambda.ts';
import { FirehoseRegistry, type FirehoseDoc } from './firehose/registry.ts';
import * as firehoseLimits from '../sdk/protocol/firehose/limits.ts';
import { applicationsPerRegionDefault } from '../sdk/protocol/analytics/limits.ts';
import { openAnalytics, type Analytics } from './analytics/api/service.ts';
import { sqlEngine } from './analytics/runtime/engine-adapter.ts';
import type { AnalyticsLambdaTarget } from './analytics/runtime/lambda-targets.ts';
import type { StreamsContext } from './streams/shapes.ts';
import { initTls, issueClientCertificate, issueServerCertificate } from './tls/certificates.ts';
import { restJsonBytesMaxDefault, restRoutes } from './http/rest.ts';
import { VideoRegistry, type VideoDoc } from './video/registry.ts';
import { videoService } from './video/service.ts';
import { setupPlayback } from './video/playback/setup.ts';
import { loadTlsMaterial, type TlsMaterial } from './tls/context.ts';

export interface GatewayConfig {
  dataDir: string;
  host: string;
  port: number;
  accountId: string;
  region: string;
  /** Serve HTTPS (default). Off only for local development. */
  tlsEnabled: boolean;
  /** Require client certificates issued by the gateway's CA. */
  tlsMutual: boolean;
  /** Extra DNS names and IP addresses for the server certificate `gateway init` (or the first start) makes. */
  tlsNames: string[];
  tlsIps: string[];
  fsync: FsyncPolicy;
  /** Where shard logs and metadata live: `local` (the data directory) or `nats` (a JetStream cluster, `nats` below). */
  storageBackend: StorageBackendName;
  /** `storage.nats`: the JetStream cluster of the `nats` backend. */
  nats: NatsStorageConfig | undefined;
  /** Roll shard segments past this size... */
  segmentBytesMax: number;
  /** ...or age, so retention can delete whole segments. */
  segmentAgeMsMax: number;
  /** Enforce per-shard throughput limits (ProvisionedThroughputExceededException). */
  enforceLimits: boolean;
  /** Open shards across all streams (DescribeLimits ShardLimit). */
  shardLimit: number;
  onDemandStreamCountLimit: number;
  /** How long CREATING lasts before ACTIVE. */
  createDelayMs: number;
  /** How long UPDATING lasts after a reshard, encryption or mode change. */
  updateDelayMs: number;
  /** How long DELETING lasts before the stream is gone. */
  deleteDelayMs: number;
  retentionCheckIntervalMs: number;
  /** How long a SubscribeToShard subscription lives before the gateway ends it (AWS: 5 minutes). */
  subscriptionLifetimeMs: number;
  requestBytesMax: number;
  /** Request bytes admitted at once across all connections (memory bound). */
  requestBytesInFlightMax: number;
  /** Open connections in total; 0: three quarters of the process's descriptor limit (gateway/http/connections.ts). */
  connectionsMax: number;
  /** Open connections per client address (IPv6: per /64). */
  connectionsPerAddressMax: number;
  /** Worker threads that parse and verify PutRecords requests (0: all on the main thread). */
  offloadWorkers: number;
  /** The main thread prepares an offloadable request itself while its event loop was busy less than this percent of the last 50 ms (0: always the workers). */
  offloadInlineBusyPercentMax: number;
  /** How long the answer to an idempotent PutRecords batch is remembered after its last use. */
  idempotencyWindowMs: number;
  /** Firehose: bucket name to local directory (default `<dataDir>/firehose-buckets/<bucket>`). */
  firehoseBuckets: Record<string, string>;
  /** Firehose: bucket name to S3-compatible store (`firehose.buckets.<bucket>.s3`). */
  firehoseS3Buckets: Record<string, S3BucketConfig>;
  /** Firehose: undelivered bytes a delivery stream may stage before PutRecordBatch fails records. */
  firehoseStagingBytesMax: number;
  /** Firehose: how long a batch is retried against an S3 destination before it goes to the error output (`firehose.s3RetryMs`; AWS: 24 h). */
  firehoseS3RetryMs: number;
  /** Firehose: table schemas for record format conversion, by `<database>.<table>` (`firehose.schemas`). */
  firehoseSchemas: TableSchemas;
  /** Firehose: Lambda ARN -> HTTP transformer URL or local module (`firehose.lambdas`). */
  firehoseLambdas: Record<string, LambdaTarget>;
  /** Firehose: the URLs HTTP endpoint destinations may post to (`firehose.httpEndpointsAllowed`); null: any. */
  firehoseHttpEndpointsAllowed: string[] | null;
  /** Firehose: Redshift JDBC URL to PostgreSQL connection string for Redshift destinations (`firehose.redshift`; default none). */
  firehoseRedshift: Record<string, string>;
  /** Analytics: Lambda ARN -> HTTP endpoint, local module or MQTT topic for preprocessors and Lambda outputs (`analytics.lambdas`). */
  analyticsLambdas: Record<string, AnalyticsLambdaTarget>;
  /** Analytics: applications this gateway holds at most (`analytics.applicationsMax`; AWS: 50 per Region). */
  analyticsApplicationsMax: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** `GET /metrics` for anyone (`metrics.open`); by default it needs the metrics token. */
  metricsOpen: boolean;
  /** Where the metrics token lives (`metrics.tokenFile`; empty: `<dataDir>/metrics.token`, made at the first start). */
  metricsTokenFile: string;
}

export const gatewayDefaults: GatewayConfig = Object.freeze({
  dataDir: './data',
  host: '127.0.0.1',
  port: 4567,
  accountId: '000000000000',
  region: 'us-east-1',
  tlsEnabled: true,
  tlsMutual: false,
  tlsNames: [],
  tlsIps: [],
  fsync: { kind: 'always' },
  storageBackend: 'local',
  nats: undefined,
  segmentBytesMax: localShardLogDefaults.segmentBytesMax,
  segmentAgeMsMax: localShardLogDefaults.segmentAgeMsMax,
  enforceLimits: true,
  shardLimit: limits.accountShardLimitDefault,
  onDemandStreamCountLimit: limits.onDemandStreamCountLimitDefault,
  createDelayMs: 500,
  updateDelayMs: 500,
  deleteDelayMs: 500,
  retentionCheckIntervalMs: 60_000,
  subscriptionLifetimeMs: subscriptionLifetimeMsDefault,
  requestBytesMax: requestBytesMaxDefault,
  requestBytesInFlightMax: requestBytesInFlightMaxDefault,
  connectionsMax: 0,
  connectionsPerAddressMax: connectionsPerAddressMaxDefault,
  offloadWorkers: Math.min(4, Math.max(0, os.availableParallelism() - 1)),
  offloadInlineBusyPercentMax: offloadInlineBusyPercentMaxDefault,
  idempotencyWindowMs: idempotencyWindowMsDefault,
  firehoseBuckets: {},
  firehoseS3Buckets: {},
  firehoseStagingBytesMax: 1024 * 1024 * 1024,
  firehoseS3RetryMs: firehoseLimits.s3RetryMsDefault,
  firehoseSchemas: {},
  firehoseLambdas: {},
  firehoseRedshift: {},
  firehoseHttpEndpointsAllowed: null,
  analyticsLambdas: {},
  analyticsApplicationsMax: applicationsPerRegionDefault,
  logLevel: 'info',
  metricsOpen: false,
  metricsTokenFile: '',
}) as GatewayConfig;

export { operatorProfileName, writeOperatorProfile, type OperatorProfile } from './devices/operator-profile.ts';

export interface Gateway {
  url: string;
  port: number;
  server: net.Server;
  registry: StreamRegistry;
  firehose: FirehoseRegistry;
  analytics: Analytics;
  principals: PrincipalStore;
  /** Kinesis Video Streams: video streams and their fragment logs. */
  video: VideoRegistry;
  metrics: Metrics;
  /** The bearer token `GET /metrics` needs (undefined with `metrics.open`). */
  metricsToken: string | undefined;
  /** The CA fingerprint devices pin (undefined without TLS). */
  caFingerprint: string | undefined;
  /** Re-reads the certificate and key from the data directory (SIGHUP). */
  reloadTls(): void;
  /** Starts the offload workers now (the first PutRecords or PutRecordBatch does otherwise); true once they run, false without any. */
  startOffloadWorkers(): Promise<boolean>;
  close(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  /** Operator credentials to install if absent (provisioning, tests). */
  operator?: { accessKeyId: string; secretAccessKey: string };
  /** The clock for stream data (arrival times, retention, iterator ages); tests move it. Request signatures always use the real one. */
  now?: () => number;
}

/**
 * Creates the CA and server certificate when missing. With `renewServerCertificate`, an existing
 * CA signs a new server certificate (for new names or addresses): the CA stays, so devices' pins and
 * client certificates hold.
 */
export async function ensureTls(config: GatewayConfig, dataDir: string, log: Logger, o: { renewServerCertificate?: boolean } = {}): Promise<void> {
  const names = [...new Set(['localhost', os.hostname(), ...config.tlsNames])];
  const ips = [...new Set(['127.0.0.1', '::1', ...config.tlsIps, ...(/^[\d.]+$|:/.test(config.host) && config.host !== '0.0.0.0' && config.host !== '::' ? [config.host] : [])])];
  const dir = path.join(dataDir, 'tls');
  const { fingerprint, created } = await initTls(dir, { names, ips });
  if (created) log.info('created gateway CA and server certificate', { dir, caFingerprint: fingerprint, names, ips });
  else if (o.renewServerCertificate) {
    await issueServerCertificate(dir, names, ips);
    log.info('issued a new server certificate under the existing CA', { dir, names, ips });
  }
}

export async function startGateway(config: GatewayConfig, options: StartOptions = {}): Promise<Gateway> {
  const log = options.log ?? createLogger({ level: config.logLevel });
  const dataDir = path.resolve(config.dataDir);
  await fsp.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const storage = await openStorage({ dataDir, storageBackend: config.storageBackend, ...(config.nats ? { nats: config.nats } : {}) }, log);
  const secrets = {
    iteratorKey: await storage.secret('iterator', 32),
    masterKey: await storage.secret('master', 32),
  };
  const registry = await StreamRegistry.open({ ...config, dataDir }, storage.metadataStore('streams'), secrets, log, storage, options.now);
  const principals = await PrincipalStore.open(storage.metadataStore<SecurityDoc>('security'), registry.cipher);
  if (options.operator && !principals.lookup(options.operator.accessKeyId)) {
    await principals.importOperator('operator', options.operator.accessKeyId, options.operator.secretAccessKey);
  }

  let tls: TlsMaterial | undefined;
  const tlsDir = path.join(dataDir, 'tls');
  if (config.tlsEnabled) {
    await ensureTls(config, dataDir, log);
    tls = loadTlsMaterial(tlsDir);
  }

  const metrics = new Metrics();
  const metricsToken = config.metricsOpen ? undefined : await loadOrCreateMetricsToken(config.metricsTokenFile ? path.resolve(config.metricsTokenFile) : path.join(dataDir, metricsTokenFileName));
  const idempotency = await IdempotencyTable.open(path.join(dataDir, 'metadata'), {
    windowMs: config.idempotencyWindowMs, fsync: config.fsync, now: options.now ?? Date.now, stream: (name) => registry.find(name),
  });
  if (idempotency.discarded) log.warn('idempotency entries dropped: their records were lost in a torn tail', { entries: idempotency.discarded });
  const ctx: StreamsContext = { registry, metrics, idempotency };
  const streams: RpcService = {
    targetPrefix: streamsTargetPrefix,
    signingName: 'kinesis',
    iamPrefix: 'kinesis',
    resourceOf: (action, input) => streamsResourceOf(registry, action, input),
    actions: Object.fromEntries(Object.entries(streamsActions).map(([name, a]) => [name, { shape: a.shape, handle: (input: Record<string, unknown>, caller: Caller, extras: RequestExtras) => a.handle(ctx, input, { caller, ...extras }), offload: name === 'PutRecords', ordered: name === 'PutRecords' || name === 'PutRecord' }])),
  };
  const buckets = new BucketResolver({ dataDir, directories: config.firehoseBuckets, s3: config.firehoseS3Buckets, masterKey: secrets.masterKey });
  const firehoseRegistry = await FirehoseRegistry.open(
    { ...config, dataDir },
    storage.metadataStore<FirehoseDoc>('firehose'),
    buckets,
    log,
    { ...(options.now ? { now: options.now } : {}), sources: streamSources(registry), cipher: registry.cipher, storage },
  );
  const firehose: RpcService = {
    targetPrefix: firehoseTargetPrefix,
    signingName: firehoseSigningName,
    iamPrefix: 'firehose',
    resourceOf: (action, input) => firehoseResourceOf(action, input),
    requirementsOf: firehoseRequirements,
    actions: Object.fromEntries(Object.entries(firehoseActions).map(([name, a]) => [name, { shape: a.shape, handle: (input: Record<string, unknown>) => a.handle({ registry: firehoseRegistry }, input), ...(name === 'PutRecordBatch' ? { offload: 'firehose.PutRecordBatch' as const } : {}), ordered: name === 'PutRecordBatch' || name === 'PutRecord' }])),
  };
  const analytics = await openAnalytics({
    dataDir, region: config.region, accountId: config.accountId, applicationsMax: config.analyticsApplicationsMax,
    lambdas: config.analyticsLambdas, firehoseLambdas: config.firehoseLambdas, streams: registry, firehose: firehoseRegistry,
    buckets, s3Buckets: config.firehoseS3Buckets, engine: sqlEngine, log, storage, ...(options.now ? { now: options.now } : {}),
  });
  const sessions = new SessionStore(principals, options.now);
  const heartbeats = new HeartbeatStore(options.now);
  const history = gatewayHistory(metrics, firehoseRegistry.metrics, options.now);
  history.start();
  const adminCtx: AdminContext = { principals, caFingerprint: () => tls?.caFingerprint };
  const leaseTables = await LeaseTables.open(storage.metadataStore<LeaseTablesDoc>('leases'));
  const admin: RpcService = {
    targetPrefix: adminTargetPrefix,
    signingName: adminSigningName,
    iamPrefix: 'tributary',
    resourceOf: (action, input) => leaseResourceOf(action, input) ?? '*',
    actions: {
      ...Object.fromEntries(Object.entries(adminActions).map(([name, a]) => [name, { shape: a.shape, handle: (input: Record<string, unknown>) => a.handle(adminCtx, input) }])),
      ...sessionActions(sessions),
      ...metricHistoryActions(history),
      ...heartbeatActions(heartbeats),
      ...Object.fromEntries(Object.entries(leaseActions).map(([name, a]) => [name, { shape: a.shape, handle: (input: Record<string, unknown>) => a.handle(leaseTables, input) }])),
    },
  };
  const fragmentStore = storage.fragmentStore({ cipher: registry.cipher, fsync: config.fsync, log });
  const video = await VideoRegistry.open(storage.metadataStore<VideoDoc>('video'), fragmentStore, {
    region: config.region, accountId: config.accountId, log, retentionCheckIntervalMs: config.retentionCheckIntervalMs, ...(options.now ? { now: options.now } : {}),
  });
  const videoCtx = { registry: video, url: '' };
  const guard = createGuard({ principals: withSessions(principals, sessions), region: config.region, accountId: config.accountId });
  const certificateOwner = (fingerprint: string) => principals.certificateOwner(fingerprint);
  const playback = await setupPlayback({ dataDir, streams: video, guard, log, metrics, videoMetrics: video.metrics, url: () => videoCtx.url, ...(options.now ? { now: options.now } : {}) });
  // Started by the first PutRecords or PutRecordBatch: an idle gateway holds no worker.
  const offloadPool = config.offloadWorkers > 0 ? OffloadPool.create(config.offloadWorkers, log, { inlineBusyPercentMax: config.offloadInlineBusyPercentMax }) : undefined;
  const frontDoor = createFrontDoor({
    services: [streams, firehose, analytics.service, admin],
    ...(offloadPool ? { offloadPool } : {}),
    requestBytesMax: config.requestBytesMax,
    requestBytesInFlightMax: config.requestBytesInFlightMax,
    log,
    metrics,
    guard,
    ...(tls && config.tlsMutual ? { clientCertificateOwner: certificateOwner } : {}),
    openRoutes: ['/pairing', '/health'],
    routes: {
      ...restRoutes([videoService(videoCtx, playback.actions)], { guard, log, metrics, jsonBytesMax: restJsonBytesMaxDefault }),
      ...playback.routes,
      ...consoleRoutes(),
      '/metrics': metricsRoute({
        token: metricsToken,
        render: () => {
          for (const rt of registry.list()) metrics.openShards.set({ stream: rt.meta.name }, rt.openShards.length);
          return metrics.render() + firehoseRegistry.metrics.render() + analytics.metrics.render() + video.renderMetrics();
        },
      }),
      '/health': (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"status":"ok"}');
      },
      '/pairing': createPairingEndpoint({
        principals,
        region: config.region,
        log,
        serverFingerprint: () => tls?.serverFingerprint,
        issueClientCertificate: (name, key) => issueClientCertificate(tlsDir, { name, kind: 'device' }, key),
      }),
    },
  });
  const listener = await listen(frontDoor, {
    host: config.host, port: config.port, ...(tls ? { tls: { material: tls, mutual: config.tlsMutual, certificateOwner } } : {}),
    connectionsMax: config.connectionsMax || connectionsMaxDefault(), connectionsPerAddressMax: config.connectionsPerAddressMax,
    log, onShed: (reason) => metrics.connectionsShed.inc({ reason }), onCertificateRefused: () => metrics.clientCertificatesRefused.inc(),
  });
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `${tls ? 'https' : 'http'}://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${listener.port}`;
  videoCtx.url = url;

  // The first start makes an operator so that a fresh install is usable at once; later starts keep its profile current.
  const profileFile = path.join(dataDir, operatorProfileName);
  const createdOperator = await provisionOperatorProfile({
    principals, file: profileFile, endpoint: url, region: config.region, refreshEndpoint: true,
    tls: tls ? { dir: tlsDir, ca: tls.ca.toString('utf8') } : undefined,
  });
  if (createdOperator) log.info('created operator credentials', { file: profileFile, accessKeyId: createdOperator });
  log.info('gateway listening', { url, dataDir, storage: storage.backend, tls: tls ? (config.tlsMutual ? 'mutual' : 'on') : 'off', caFingerprint: tls?.caFingerprint, fsync: config.fsync.kind, crc32c: crc32cImplementation });

  let closing: Promise<void> | undefined;
  return {
    url,
    port: listener.port,
    server: listener.server,
    registry,
    firehose: firehoseRegistry,
    analytics,
    principals,
    video,
    metrics,
    metricsToken,
    get caFingerprint() {
      return tls?.caFingerprint;
    },
    reloadTls() {
      if (!tls) return;
      const next = loadTlsMaterial(tlsDir);
      listener.reloadTls(next);
      tls = next;
      log.info('reloaded TLS certificate', { serverFingerprint: next.serverFingerprint });
    },
    async startOffloadWorkers() {
      if (!offloadPool) return false;
      await offloadPool.start();
      return offloadPool.running;
    },
    close() {
      closing ??= (async () => {
        subscriptionsOf(registry).cancelAll();
        await new Promise<void>((resolve) => {
          listener.server.close(() => resolve());
          listener.closeConnections();
        });
        history.stop();
        await offloadPool?.close();
        await idempotency.close();
        await analytics.close();
        await firehoseRegistry.close();
        await video.close();
        await fragmentStore.close();
        buckets.close();
        await registry.close();
        await storage.close();
      })();
      return closing;
    },
  };
}
