/**
 * `tributary/producer`: put records straight to the gateway (or to AWS
 * Kinesis) with batching, KPL aggregation, per-shard pacing and retries.
 * A public entry module: device and server apps import this, never the
 * files under sdk/streams/ (docs/sdk.md).
 *
 * @example
 * import { StreamProducer } from 'tributary/producer';
 * const producer = new StreamProducer({ endpoint: 'https://127.0.0.1:4567', region: 'us-east-1', stream: 'telemetry', credentials: { accessKeyId, secretAccessKey } });
 * await producer.put('{"temp":21.5}', { partitionKey: 'pi-01' });
 * await producer.close();
 */
export { StreamProducer, producerDefaults, type StreamProducerOptions, type PutResult } from './streams/producer.ts';
export type { Credentials } from './http/json-rpc-client.ts';
export { AwsError, TributaryError } from './protocol/errors.ts';
