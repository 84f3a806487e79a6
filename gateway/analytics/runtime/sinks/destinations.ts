/**
 * The four kinds of output destination, each a `Deliver` for OutputSink:
 * a data stream of this gateway (written through the same write path as
 * PutRecords), a delivery stream of this gateway (staged as PutRecordBatch
 * stages), a function that speaks KDA's Lambda output contract over HTTP or
 * as a local module (dev/how-it-works-output-lambda.html), and, beyond AWS,
 * an MQTT topic. Lambda ARNs map to endpoints in the gateway config
 * (`analytics.lambdas`, see lambda-targets.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { connect, type MqttClient } from 'mqtt';
import type { FirehoseRegistry } from '../../../firehose/registry.ts';
import { invokerFor } from '../../../firehose/processors/lambda.ts';
import type { StreamRegistry } from '../../../streams/registry.ts';
import { putEntries, routeEntries } from '../../../streams/write-path.ts';
import type { MqttTarget } from '../lambda-targets.ts';
import type { Deliver } from './sink.ts';

/** Records go to a data stream with a random partition key each (AWS does not document the key KDA uses), so they spread over the shards. */
export function streamDeliver(registry: StreamRegistry, streamName: string): Deliver {
  return async (batch) => {
    const rt = registry.find(streamName);
    if (!rt || (rt.meta.status !== 'ACTIVE' && rt.meta.status !== 'UPDATING')) throw new Error(`output stream ${streamName} is not ACTIVE`);
    const entries = batch.map((Data) => ({ Data, PartitionKey: randomBytes(8).toString('hex') }));
    const results = await putEntries(registry, rt, entries, routeEntries(rt, entries));
    const retry: number[] = [];
    results.forEach((r, i) => {
      if ('ErrorCode' in r) retry.push(i);
    });
    return retry;
  };
}

export function deliveryStreamDeliver(firehose: FirehoseRegistry, name: string): Deliver {
  return async (batch) => {
    const rt = firehose.streams.get(name);
    if (!rt || rt.meta.status !== 'ACTIVE') throw new Error(`output delivery stream ${name} is not ACTIVE`);
    const { accepted } = await firehose.put(rt, batch);
    return batch.map((_, i) => i).slice(accepted);
  };
}

/**
 * KDA's Lambda output contract: `{invocationId, applicationArn, records:
 * [{recordId, lambdaDeliveryRecordMetadata: {retryHint}, data}]}`, answered
 * with `{records: [{recordId, result: Ok | DeliveryFailed}]}`; a record not
 * acknowledged Ok is delivered again with a higher retryHint.
 */
export function lambdaDeliver(target: { url: string; timeoutMs?: number } | { module: string; timeoutMs?: number }, applicationArn: string): Deliver {
  const invoke = invokerFor(target) as unknown as (event: unknown) => Promise<unknown>;
  return async (batch, attempt) => {
    const ids = batch.map(() => randomUUID());
    const response = await invoke({
      invocationId: randomUUID(),
      applicationArn,
      records: batch.map((b, i) => ({ recordId: ids[i], lambdaDeliveryRecordMetadata: { retryHint: attempt - 1 }, data: b.toString('base64') })),
    });
    const acked = new Set<string>();
    const records = (response as { records?: unknown } | null)?.records;
    if (Array.isArray(records)) {
      for (const r of records as Array<{ recordId?: unknown; result?: unknown }>) if (r && typeof r.recordId === 'string' && r.result === 'Ok') acked.add(r.recordId);
    }
    return ids.flatMap((id, i) => (acked.has(id) ? [] : [i]));
  };
}

/** Publishes each record as one MQTT message (QoS 1 by default: resolved on PUBACK). */
export class MqttDestination {
  private client: MqttClient | undefined;

  constructor(
    private readonly target: MqttTarget,
    private readonly topic: string,
  ) {}

  private connected(): MqttClient {
    this.client ??= connect(this.target.mqtt, {
      clientId: `tributary-analytics-${randomBytes(6).toString('hex')}`,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      ...(this.target.username !== undefined ? { username: this.target.username } : {}),
      ...(this.target.password !== undefined ? { password: this.target.password } : {}),
    });
    return this.client;
  }

  readonly deliver: Deliver = async (batch) => {
    const client = this.connected();
    const qos = this.target.qos ?? 1;
    const results = await Promise.allSettled(batch.map((b) => client.publishAsync(this.topic, b, { qos })));
    return results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
  };

  async close(): Promise<void> {
    await this.client?.endAsync(true);
    this.client = undefined;
  }
}
