/** What the analytics runtime needs from the gateway around it. */
import type { FirehoseRegistry } from '../../firehose/registry.ts';
import type { Storage } from '../../storage/factory.ts';
import type { Logger } from '../../log.ts';
import type { StreamRegistry } from '../../streams/registry.ts';
import type { BucketReader } from './buckets.ts';
import type { SqlEngine } from './engine-port.ts';
import type { AnalyticsLambdaTarget } from './lambda-targets.ts';
import type { AnalyticsMetrics } from './metrics.ts';

/** The bound follows the clock this often, closing windows when no rows come. */
export const rowtimeTickMsDefault = 100;
/** How often a running application checkpoints its input positions. */
export const checkpointIntervalMsDefault = 1000;
/** How long StopApplication (and shutdown) waits for outputs to deliver before it keeps the previous checkpoint. */
export const stopFlushTimeoutMsDefault = 10_000;

export interface RuntimeDeps {
  dataDir: string;
  /** Runs each application in one gateway process at a time, and keeps its checkpoint where every process reads it (Storage.exclusive, Storage.jobState). */
  storage: Pick<Storage, 'exclusive' | 'jobState'>;
  region: string;
  accountId: string;
  streams: StreamRegistry;
  firehose: FirehoseRegistry;
  buckets: BucketReader;
  engine: SqlEngine;
  lambdas(arn: string): AnalyticsLambdaTarget | undefined;
  metrics: AnalyticsMetrics;
  log: Logger;
  now(): number;
  rowtimeTickMs: number;
  checkpointIntervalMs: number;
  stopFlushTimeoutMs: number;
}
