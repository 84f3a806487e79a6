/**
 * `tributary/consumer`: read a stream the way the KCL does — shards shared
 * among worker processes through leases, checkpoints, resharding, KPL
 * de-aggregation, polling or enhanced fan-out — and the lease stores.
 * A public entry module (docs/sdk.md).
 *
 * @example
 * import { StreamConsumer, FileLeaseStore } from 'tributary/consumer';
 * const consumer = new StreamConsumer({ endpoint, region: 'us-east-1', credentials, stream: 'telemetry',
 *   leases: new FileLeaseStore('leases.json'), handler: async (records) => console.log(records.length) });
 * await consumer.start();
 */
export {
  StreamConsumer, userRecords, leaseDurationMsDefault, checkpointIntervalMsDefault, shardSyncIntervalMsDefault,
  type ConsumerRecord, type RecordContext, type RecordHandler, type ConsumerEvent, type StreamConsumerOptions, type StreamConsumerFanOut,
} from './streams/consumer.ts';
export type { ShardSource, ShardBatch, StreamRecord, StartPosition, ChildShardRef } from './streams/shard-source.ts';
export { PollingShardSource, type PollingShardSourceOptions } from './streams/polling-source.ts';
export { FanOutShardSource, type FanOutShardSourceOptions, type ConsumerDescription } from './streams/fanout-source.ts';
export { FileLeaseStore } from './streams/leases/file-store.ts';
export { GatewayLeaseStore, type GatewayLeaseStoreOptions } from './streams/leases/gateway-store.ts';
export { PostgresLeaseStore, type PostgresLeaseStoreOptions } from './streams/leases/postgres-store.ts';
export { LeaseLostError } from './streams/leases/lease-coordinator.ts';
export {
  LeaseConflictError, checkpointShardEnd, checkpointTrimHorizon, checkpointLatest,
  type Lease, type LeaseStore, type Checkpoint,
} from './streams/leases/types.ts';
export type { Credentials } from './http/json-rpc-client.ts';
export { AwsError, TributaryError } from './protocol/errors.ts';
