/**
 * The ApplicationRunner of the analytics registry: one ApplicationRuntime
 * per running application, validation before a start, and the runtime
 * directories (<dataDir>/analytics/<dir>/) of deleted applications removed.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { analyticsErrors } from '../../../sdk/protocol/analytics/errors.ts';
import type { ApplicationMeta } from '../api/model.ts';
import type { ApplicationRunner, StartFrom } from '../api/registry.ts';
import { ApplicationRuntime } from './application-runtime.ts';
import { emptyReferenceData } from './engine-port.ts';
import type { RuntimeDeps } from './runtime-deps.ts';

export class AnalyticsRunner implements ApplicationRunner {
  readonly running = new Map<string, ApplicationRuntime>();

  constructor(private readonly deps: RuntimeDeps) {}

  /** StartApplication's checks: sources and destinations exist, the code compiles and creates every output's stream. */
  validate(app: ApplicationMeta): void {
    if (app.inputs.length === 0) throw analyticsErrors.configuration(`Application ${app.name} has no input; add one with AddApplicationInput.`);
    for (const input of app.inputs) {
      if (input.KinesisStreamsInput) this.requireStream(input.KinesisStreamsInput.ResourceARN);
      if (input.KinesisFirehoseInput) this.requireDeliveryStream(input.KinesisFirehoseInput.ResourceARN);
      const processor = input.InputProcessingConfiguration?.InputLambdaProcessor.ResourceARN;
      if (processor && !this.deps.lambdas(processor)) throw analyticsErrors.configuration(`Lambda function ${processor} is not mapped on this gateway (analytics.lambdas).`);
    }
    for (const o of app.outputs) {
      if (o.KinesisStreamsOutput) this.requireStream(o.KinesisStreamsOutput.ResourceARN);
      if (o.KinesisFirehoseOutput) this.requireDeliveryStream(o.KinesisFirehoseOutput.ResourceARN);
      if (o.LambdaOutput && !this.deps.lambdas(o.LambdaOutput.ResourceARN)) throw analyticsErrors.configuration(`Lambda function ${o.LambdaOutput.ResourceARN} is not mapped on this gateway (analytics.lambdas).`);
    }
    let engine;
    try {
      // Reference data is read at start; an empty table stands in for the check.
      engine = this.deps.engine.compile(app.code, app.inputs, app.references.map(emptyReferenceData));
    } catch (err) {
      throw analyticsErrors.configuration(sqlErrorText(err, app.code));
    }
    for (const o of app.outputs) {
      if (!engine.hasStream(o.Name)) throw analyticsErrors.configuration(`The application code does not create in-application stream ${o.Name}, which output ${o.OutputId} reads.`);
    }
  }

  private requireStream(arn: string): void {
    const name = arn.slice(arn.lastIndexOf('/') + 1);
    const rt = this.deps.streams.find(name);
    if (!rt || rt.meta.status === 'DELETING') throw analyticsErrors.configuration(`Stream ${name} under account ${this.deps.accountId} not found.`);
  }

  private requireDeliveryStream(arn: string): void {
    const name = arn.slice(arn.lastIndexOf('/') + 1);
    const rt = this.deps.firehose.streams.get(name);
    if (!rt || rt.meta.status === 'DELETING') throw analyticsErrors.configuration(`Firehose ${name} under account ${this.deps.accountId} not found.`);
  }

  async start(app: ApplicationMeta, from: ReadonlyMap<string, StartFrom>): Promise<void> {
    await this.running.get(app.name)?.stop(0);
    await fsp.mkdir(path.join(this.deps.dataDir, 'analytics', app.dir), { recursive: true, mode: 0o700 });
    const rt = new ApplicationRuntime(this.deps, app);
    this.running.set(app.name, rt);
    try {
      await rt.start(from);
    } catch (err) {
      this.running.delete(app.name);
      await rt.stop(0).catch(() => undefined);
      throw err;
    }
  }

  /** A new configuration: stop at a checkpoint, start again from it with the new code and settings. */
  async reconfigure(app: ApplicationMeta): Promise<void> {
    const old = this.running.get(app.name);
    if (old) {
      await old.stop(this.deps.stopFlushTimeoutMs);
      this.running.delete(app.name);
    }
    await this.start(app, new Map(app.inputs.map((i) => [i.InputId, 'RESUME' as const])));
  }

  async stop(app: ApplicationMeta): Promise<void> {
    const rt = this.running.get(app.name);
    this.running.delete(app.name);
    await rt?.stop(this.deps.stopFlushTimeoutMs);
  }

  async remove(app: ApplicationMeta): Promise<void> {
    await this.stop(app);
    await fsp.rm(path.join(this.deps.dataDir, 'analytics', app.dir), { recursive: true, force: true });
  }

  /** Gateway shutdown: applications stop at a checkpoint and stay RUNNING in the metadata, to resume on the next start. */
  async close(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((rt) => rt.stop(this.deps.stopFlushTimeoutMs)));
    this.deps.buckets.close();
  }
}

/** The text of a SQL error: the engine's line-and-caret rendering when it has one. */
export function sqlErrorText(err: unknown, code: string): string {
  const e = err as { describe?: (code: string) => string; message?: string };
  if (typeof e?.describe === 'function') return e.describe(code);
  return String(e?.message ?? err);
}
