/**
 * Kinesis Data Analytics on the gateway: the registry, the runner and the
 * RpcService for the front door (`KinesisAnalytics_20150814.*`, signing name
 * and IAM prefix `kinesisanalytics`). gateway.ts calls `openAnalytics` and
 * mounts `service`.
 */
import path from 'node:path';
import type { BucketResolver } from '../../firehose/destinations/buckets.ts';
import type { S3BucketConfig } from '../../firehose/destinations/s3.ts';
import type { LambdaTarget } from '../../firehose/processors/lambda.ts';
import type { FirehoseRegistry } from '../../firehose/registry.ts';
import type { RpcService } from '../../http/server.ts';
import type { Logger } from '../../log.ts';
import type { Storage } from '../../storage/factory.ts';
import type { StreamRegistry } from '../../streams/registry.ts';
import { BucketReader } from '../runtime/buckets.ts';
import { discoverySources } from '../runtime/discovery-sources.ts';
import { emptyReferenceData, type SqlEngine } from '../runtime/engine-port.ts';
import type { AnalyticsLambdaTarget } from '../runtime/lambda-targets.ts';
import { AnalyticsMetrics } from '../runtime/metrics.ts';
import { AnalyticsRunner, sqlErrorText } from '../runtime/runner.ts';
import { checkpointIntervalMsDefault, rowtimeTickMsDefault, stopFlushTimeoutMsDefault, type RuntimeDeps } from '../runtime/runtime-deps.ts';
import { analyticsActions, analyticsResourceOf, analyticsSigningName, analyticsTargetPrefix } from './actions/index.ts';
import type { AnalyticsContext } from './context.ts';
import { AnalyticsRegistry, type AnalyticsDoc } from './registry.ts';
import { analyticsRequirements } from './resources.ts';

export interface AnalyticsOptions {
  dataDir: string;
  region: string;
  accountId: string;
  applicationsMax: number;
  /** `analytics.lambdas`, then `firehose.lambdas` for ARNs it does not list. */
  lambdas: Readonly<Record<string, AnalyticsLambdaTarget>>;
  firehoseLambdas: Readonly<Record<string, LambdaTarget>>;
  streams: StreamRegistry;
  firehose: FirehoseRegistry;
  buckets: BucketResolver;
  s3Buckets: Readonly<Record<string, S3BucketConfig>>;
  engine: SqlEngine;
  log: Logger;
  /** Where the applications' metadata document lives. */
  storage: Storage;
  now?: () => number;
  rowtimeTickMs?: number;
  checkpointIntervalMs?: number;
}

export interface Analytics {
  registry: AnalyticsRegistry;
  runner: AnalyticsRunner;
  metrics: AnalyticsMetrics;
  service: RpcService;
  close(): Promise<void>;
}

export async function openAnalytics(o: AnalyticsOptions): Promise<Analytics> {
  const lambdas = (arn: string): AnalyticsLambdaTarget | undefined => o.lambdas[arn] ?? o.firehoseLambdas[arn];
  const metrics = new AnalyticsMetrics();
  const deps: RuntimeDeps = {
    dataDir: o.dataDir,
    storage: o.storage,
    region: o.region,
    accountId: o.accountId,
    streams: o.streams,
    firehose: o.firehose,
    buckets: new BucketReader(o.buckets, o.s3Buckets),
    engine: o.engine,
    lambdas,
    metrics,
    log: o.log,
    now: o.now ?? Date.now,
    rowtimeTickMs: o.rowtimeTickMs ?? rowtimeTickMsDefault,
    checkpointIntervalMs: o.checkpointIntervalMs ?? checkpointIntervalMsDefault,
    stopFlushTimeoutMs: stopFlushTimeoutMsDefault,
  };
  const runner = new AnalyticsRunner(deps);
  const registry = await AnalyticsRegistry.open(
    {
      region: o.region,
      accountId: o.accountId,
      applicationsMax: o.applicationsMax,
      runner,
      checkCode: (app) => {
        try {
          o.engine.compile(app.code, app.inputs, app.references.map(emptyReferenceData));
          return undefined;
        } catch (err) {
          return sqlErrorText(err, app.code);
        }
      },
      log: o.log,
      ...(o.now ? { now: o.now } : {}),
    },
    o.storage.metadataStore<AnalyticsDoc>('analytics'),
  );
  const ctx: AnalyticsContext = {
    registry,
    checks: { region: o.region, accountId: o.accountId, lambdaMapped: (arn) => lambdas(arn) !== undefined },
    discovery: discoverySources(deps),
  };
  const service: RpcService = {
    targetPrefix: analyticsTargetPrefix,
    signingName: analyticsSigningName,
    iamPrefix: 'kinesisanalytics',
    resourceOf: analyticsResourceOf,
    requirementsOf: analyticsRequirements,
    actions: Object.fromEntries(Object.entries(analyticsActions).map(([name, a]) => [name, { shape: a.shape, handle: (input: Record<string, unknown>) => a.handle(ctx, input) }])),
  };
  return { registry, runner, metrics, service, close: () => registry.close() };
}
