/** An application's outputs: each subscribes to its in-application stream, encodes rows and feeds an OutputSink. */
import type { ApplicationMeta, OutputMeta } from '../api/model.ts';
import { applicationArn } from '../api/model.ts';
import type { EngineApplication } from './engine-port.ts';
import { isMqtt } from './lambda-targets.ts';
import type { RuntimeDeps } from './runtime-deps.ts';
import { deliveryStreamDeliver, lambdaDeliver, MqttDestination, streamDeliver } from './sinks/destinations.ts';
import { OutputSink, type Deliver } from './sinks/sink.ts';

export interface Output {
  meta: OutputMeta;
  sink: OutputSink;
  /** The arrival time of the batch being pushed (for the input-to-output latency of the rows it makes). */
  noteArrival(ms: number): void;
  /** Hands the rows of the last push (or advance) to the sink. */
  endBatch(): void;
  close(): Promise<void>;
}

/** The stream or delivery stream an ARN names (`...:stream/<name>`, `...:deliverystream/<name>`). */
const nameOf = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);

function destinationOf(deps: RuntimeDeps, app: ApplicationMeta, o: OutputMeta): { deliver: Deliver; kind: string; close?: () => Promise<void> } {
  if (o.KinesisStreamsOutput) return { deliver: streamDeliver(deps.streams, nameOf(o.KinesisStreamsOutput.ResourceARN)), kind: 'stream' };
  if (o.KinesisFirehoseOutput) return { deliver: deliveryStreamDeliver(deps.firehose, nameOf(o.KinesisFirehoseOutput.ResourceARN)), kind: 'deliverystream' };
  const arn = o.LambdaOutput!.ResourceARN;
  const target = deps.lambdas(arn);
  if (!target) return { deliver: () => Promise.reject(new Error(`Lambda function ${arn} is not mapped on this gateway`)), kind: 'lambda' };
  if (isMqtt(target)) {
    const mqtt = new MqttDestination(target, target.topic.replaceAll('{application}', app.name).replaceAll('{stream}', o.Name));
    return { deliver: mqtt.deliver, kind: 'mqtt', close: () => mqtt.close() };
  }
  return { deliver: lambdaDeliver(target, applicationArn(deps.region, deps.accountId, app.name)), kind: 'lambda' };
}

export function openOutputs(deps: RuntimeDeps, app: ApplicationMeta, engine: EngineApplication, observe: (arrivalMs: number) => void): Output[] {
  return app.outputs.map((meta) => {
    const d = destinationOf(deps, app, meta);
    const labels = { application: app.name, output: meta.OutputId };
    const sink = new OutputSink({
      name: `${app.name}/${meta.OutputId}`,
      kind: d.kind,
      deliver: d.deliver,
      log: deps.log,
      onDelivered: (n, bytes) => {
        deps.metrics.outputRecords.inc(labels, n);
        deps.metrics.outputBytes.inc(labels, bytes);
      },
      onFailed: (n) => deps.metrics.outputFailed.inc(labels, n),
    });
    let rows: Buffer[] = [];
    let arrival: number | undefined;
    const unsubscribe = engine.subscribe(meta.Name, meta.DestinationSchema.RecordFormatType, (record) => rows.push(record));
    return {
      meta,
      sink,
      noteArrival: (ms) => (arrival = ms),
      endBatch() {
        if (rows.length) {
          sink.enqueue(rows);
          if (arrival !== undefined) observe(arrival);
          rows = [];
        }
        arrival = undefined;
        deps.metrics.outputPending.set(labels, sink.pending);
      },
      async close() {
        unsubscribe();
        await sink.close();
        await d.close?.();
      },
    };
  });
}
