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
import { analyticsJobName, ApplicationRuntime } from './application-runtime.ts';
import { emptyReferenceData } from './engine-port.ts';
import type { RuntimeDeps } from './runtime-deps.ts';

export class AnalyticsRunner implements ApplicationRunner {
  readonly running = new Map<string, ApplicationRuntime>();
  /** Per application, its hold on the job (Storage.exclusive): on `nats` the application runs in the one process holding its lease. */
  private readonly jobs = new Map<string, { handle: { close(): Promise<void> }; flush: { ms: number } }>();

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

  /**
   * Runs the application here, or (on `nats`) in whichever gateway process
   * holds its lease: a process that takes it over resumes from the
   * checkpoint the previous holder stored.
   */
  async start(app: ApplicationMeta, from: ReadonlyMap<string, StartFrom>): Promise<void> {
    await this.release(app.name, 0);
    await fsp.mkdir(path.join(this.deps.dataDir, 'analytics', app.dir), { recursive: true, mode: 0o700 });
    let taken = false;
    let rt: ApplicationRuntime | undefined;
    const flush = { ms: this.deps.stopFlushTimeoutMs };
    const handle = await this.deps.storage.exclusive(analyticsJobName(app), {
      start: async () => {
        const here = new ApplicationRuntime(this.deps, app);
        this.running.set(app.name, here);
        try {
          // A later hold (after the lease was lost and taken back) continues from the stored checkpoint.
          await here.start(taken ? new Map(app.inputs.map((i) => [i.InputId, 'RESUME' as const])) : from);
          rt = here;
          taken = true;
        } catch (err) {
          if (this.running.get(app.name) === here) this.running.delete(app.name);
          await here.stop(0).catch(() => undefined);
          throw err;
        }
      },
      stop: async () => {
        const here = rt;
        rt = undefined;
        if (!here) return;
        if (this.running.get(app.name) === here) this.running.delete(app.name);
        await here.stop(flush.ms);
      },
    });
    this.jobs.set(app.name, { handle, flush });
  }

  /** Stops the application here (if it runs here, waiting up to `flushMs` for its outputs) and gives its lease up. */
  private async release(name: string, flushMs: number): Promise<void> {
    const job = this.jobs.get(name);
    this.jobs.delete(name);
    if (job) {
      job.flush.ms = flushMs;
      await job.handle.close();
    }
    await this.running.get(name)?.stop(flushMs);
    this.running.delete(name);
  }

  /** A new configuration: stop at a checkpoint, start again from it with the new code and settings. */
  async reconfigure(app: ApplicationMeta): Promise<void> {
    await this.release(app.name, this.deps.stopFlushTimeoutMs);
    await this.start(app, new Map(app.inputs.map((i) => [i.InputId, 'RESUME' as const])));
  }

  async stop(app: ApplicationMeta): Promise<void> {
    await this.release(app.name, this.deps.stopFlushTimeoutMs);
  }

  async remove(app: ApplicationMeta): Promise<void> {
    await this.stop(app);
    await fsp.rm(path.join(this.deps.dataDir, 'analytics', app.dir), { recursive: true, force: true });
  }

  /** Gateway shutdown: applications stop at a checkpoint and stay RUNNING in the metadata, to resume on the next start. */
  async close(): Promise<void> {
    await Promise.all([...this.jobs.keys()].map((name) => this.release(name, this.deps.stopFlushTimeoutMs)));
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
