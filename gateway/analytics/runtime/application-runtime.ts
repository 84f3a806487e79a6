/**
 * One running application: its inputs read into the engine, a rowtime bound
 * advanced on a timer (so windows close when no rows come), its outputs
 * delivered, and checkpoints written.
 *
 * Time: a record enters its in-application input stream with ROWTIME = the
 * gateway's clock when the application takes it (AWS's definition: the
 * time the row entered the first in-application stream); the bound follows
 * the same clock every `rowtimeTickMs`. APPROXIMATE_ARRIVAL_TIME is the
 * source's arrival time.
 *
 * Checkpoints: every `checkpointIntervalMs` the runtime notes the input
 * positions as they stand after the last batch,
 * waits until every output has delivered all rows enqueued up to then, and
 * only then writes them. After a crash the application resumes from the last
 * checkpoint, so the rows an output may receive twice are at most those
 * enqueued after the last checkpoint was noted: about one checkpoint
 * interval of output, plus what was in flight.
 */
import path from 'node:path';
import type { ApplicationMeta, InputMeta } from '../api/model.ts';
import { applicationArn } from '../api/model.ts';
import type { StartFrom } from '../api/registry.ts';
import type { Logger } from '../../log.ts';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.ts';
import type { MetadataStore } from '../../storage/types.ts';

/** The name of an application's lease and checkpoint among the storage's background jobs. */
export function analyticsJobName(app: ApplicationMeta): string {
  return `analytics.${app.dir}`;
}
import type { EngineApplication, EngineRecord, ReferenceData } from './engine-port.ts';
import { openOutputs, type Output } from './outputs.ts';
import { preprocessor, type PreprocessOutcome } from './preprocess.ts';
import type { RuntimeDeps } from './runtime-deps.ts';
import { DeliveryStreamRecordSource, sleep, StreamRecordSource, type RecordSource, type SourcePositions, type SourceRecord, type StartAt } from './sources.ts';

interface RunningInput {
  meta: InputMeta;
  source: RecordSource;
  preprocess?: (records: SourceRecord[], signal: AbortSignal) => Promise<PreprocessOutcome>;
  loop?: Promise<void>;
}

export class ApplicationRuntime {
  private engine!: EngineApplication;
  private inputs: RunningInput[] = [];
  private outputs: Output[] = [];
  private readonly abort = new AbortController();
  private tick: NodeJS.Timeout | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private checkpointing: Promise<void> | undefined;
  private lastRowtime = 0;
  private readonly log: Logger;
  readonly checkpointFile: string;
  private readonly checkpoints: MetadataStore<Checkpoint>;

  constructor(
    private readonly deps: RuntimeDeps,
    readonly app: ApplicationMeta,
  ) {
    this.log = deps.log;
    this.checkpointFile = path.join(deps.dataDir, 'analytics', app.dir, 'checkpoint.json');
    this.checkpoints = deps.storage.jobState<Checkpoint>(analyticsJobName(app), this.checkpointFile);
  }

  private get labels() {
    return { application: this.app.name };
  }

  /** ROWTIME now: the clock, never behind a ROWTIME already given. */
  private rowtime(): number {
    this.lastRowtime = Math.max(this.lastRowtime, this.deps.now());
    return this.lastRowtime;
  }

  async start(from: ReadonlyMap<string, StartFrom>): Promise<void> {
    const app = this.app;
    const references: ReferenceData[] = [];
    for (const ref of app.references) {
      const s3 = ref.S3ReferenceDataSource!;
      const data = await this.deps.buckets.read(s3.BucketARN, s3.FileKey);
      if (!data) throw new Error(`reference data ${s3.BucketARN}/${s3.FileKey} for table ${ref.TableName} does not exist`);
      references.push({ meta: ref, data });
    }
    this.engine = this.deps.engine.compile(app.code, app.inputs, references);
    const saved = await readCheckpoint(this.checkpoints);
    this.outputs = openOutputs(this.deps, app, this.engine, (arrivalMs) => this.deps.metrics.inputToOutputSeconds.observe(this.labels, Math.max(0, this.deps.now() - arrivalMs) / 1000));
    for (const input of app.inputs) this.inputs.push(this.openInput(input, startAt(from.get(input.InputId) ?? 'NOW', saved?.inputs[input.InputId])));
    for (const input of this.inputs) input.loop = this.readLoop(input);
    this.tick = setInterval(() => this.advance(), this.deps.rowtimeTickMs);
    this.tick.unref();
    this.armCheckpoint();
    // A fresh start (not a resume) is a stopped point at once: LAST_STOPPED_POINT after a crash before the first checkpoint starts here.
    if (!saved || [...from.values()].some((f) => f !== 'RESUME')) await this.checkpoint();
  }

  private openInput(input: InputMeta, at: StartAt): RunningInput {
    const arn = (input.KinesisStreamsInput ?? input.KinesisFirehoseInput)!.ResourceARN;
    const name = arn.slice(arn.lastIndexOf('/') + 1);
    const source = input.KinesisStreamsInput
      ? new StreamRecordSource(this.deps.streams, name, at)
      : new DeliveryStreamRecordSource(this.deps.firehose, name, at);
    const processorArn = input.InputProcessingConfiguration?.InputLambdaProcessor.ResourceARN;
    const target = processorArn ? this.deps.lambdas(processorArn) : undefined;
    const running: RunningInput = { meta: input, source };
    if (target && !('mqtt' in target)) {
      running.preprocess = preprocessor({ target, applicationArn: applicationArn(this.deps.region, this.deps.accountId, this.app.name), sourceArn: arn, firehose: !input.KinesisStreamsInput, log: this.log });
    }
    return running;
  }

  private async readLoop(input: RunningInput): Promise<void> {
    const signal = this.abort.signal;
    const l = { ...this.labels, input: input.meta.InputId };
    while (!signal.aborted) {
      // Back-pressure: an output that cannot keep up holds the input in its source.
      if (this.outputs.some((o) => o.sink.full)) {
        await sleep(50, signal);
        continue;
      }
      try {
        let records = await input.source.next(signal);
        if (signal.aborted || records.length === 0) continue;
        this.deps.metrics.records.inc(l, records.length);
        this.deps.metrics.bytes.inc(l, records.reduce((s, r) => s + r.data.length, 0));
        this.deps.metrics.millisBehindLatest.set(l, Math.max(0, this.deps.now() - records[records.length - 1]!.arrivalMs));
        if (input.preprocess) records = await this.preprocess(input, records, l, signal);
        this.push(input, records);
      } catch (err) {
        if (signal.aborted) return;
        this.log.error('analytics input read failed; retrying', { ...l, err: String((err as Error)?.message ?? err) });
        await sleep(1000, signal);
      }
    }
  }

  private async preprocess(input: RunningInput, records: SourceRecord[], l: Record<string, string>, signal: AbortSignal): Promise<SourceRecord[]> {
    const r = await input.preprocess!(records, signal);
    this.deps.metrics.inputOk.inc(l, r.ok.length);
    this.deps.metrics.inputDropped.inc(l, r.dropped);
    this.deps.metrics.inputFailed.inc(l, r.failed.length);
    // ProcessingFailed records go to error_stream (with their bytes, as DATA_ROW) and are counted.
    if (r.failed.length) {
      this.log.warn('analytics preprocessor failed records', { ...l, records: r.failed.length, errorName: r.failed[0]!.errorName, message: r.failed[0]!.message });
      const rowtime = this.rowtime();
      for (const f of r.failed) this.engine.reject(input.meta.NamePrefix, engineRecord(f.record), { errorName: f.errorName, message: f.message }, rowtime);
    }
    return r.ok;
  }

  private push(input: RunningInput, records: SourceRecord[]): void {
    if (records.length === 0) return;
    const rowtime = this.rowtime();
    for (const o of this.outputs) o.noteArrival(records[0]!.arrivalMs);
    this.engine.push(input.meta.NamePrefix, records.map(engineRecord), rowtime);
    for (const o of this.outputs) o.endBatch();
  }

  private advance(): void {
    try {
      this.engine.advance(this.rowtime());
      for (const o of this.outputs) o.endBatch();
    } catch (err) {
      this.log.error('analytics rowtime advance failed', { ...this.labels, err: String((err as Error)?.message ?? err) });
    }
  }

  private armCheckpoint(): void {
    if (this.abort.signal.aborted) return;
    this.checkpointTimer = setTimeout(() => {
      void this.checkpoint().finally(() => this.armCheckpoint());
    }, this.deps.checkpointIntervalMs);
    this.checkpointTimer.unref();
  }

  /** Notes positions and state now; writes them once the outputs delivered everything enqueued so far. */
  checkpoint(flushTimeoutMs = Infinity): Promise<void> {
    if (this.checkpointing) return this.checkpointing;
    const c: Checkpoint = {
      version: 1,
      savedMs: this.deps.now(),
      inputs: Object.fromEntries(this.inputs.map((i) => [i.meta.InputId, i.source.positions()])),
    };
    const marks = this.outputs.map((o) => o.sink.enqueuedTotal);
    this.checkpointing = (async () => {
      const delivered = Promise.all(this.outputs.map((o, k) => o.sink.deliveredThrough(marks[k]!)));
      const timedOut = await Promise.race([delivered.then(() => false), sleep(flushTimeoutMs === Infinity ? 2 ** 31 - 1 : flushTimeoutMs).then(() => true)]);
      if (timedOut) {
        this.log.warn('analytics checkpoint skipped: outputs did not deliver in time; the previous checkpoint stands', this.labels);
        return;
      }
      await writeCheckpoint(this.checkpoints, c);
      this.deps.metrics.checkpoints.inc(this.labels);
    })()
      .catch((err) => this.log.error('analytics checkpoint failed', { ...this.labels, err: String((err as Error)?.message ?? err) }))
      .finally(() => (this.checkpointing = undefined));
    return this.checkpointing;
  }

  /** Stops reading, lets the outputs deliver (bounded wait) and writes the stopped point. */
  async stop(flushTimeoutMs: number): Promise<void> {
    this.abort.abort();
    if (this.tick) clearInterval(this.tick);
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    await Promise.all(this.inputs.map((i) => i.loop));
    await this.checkpointing;
    if (this.engine) await this.checkpoint(flushTimeoutMs);
    await Promise.all(this.outputs.map((o) => o.close()));
  }

  /** Positions of every input now (tests, DescribeApplication extensions). */
  positions(): Record<string, SourcePositions> {
    return Object.fromEntries(this.inputs.map((i) => [i.meta.InputId, i.source.positions()]));
  }
}

function engineRecord(r: SourceRecord): EngineRecord {
  return { data: r.data, arrivalMs: r.arrivalMs, partitionKey: r.partitionKey, sequenceNumber: r.sequenceNumber };
}

function startAt(from: StartFrom, saved: SourcePositions | undefined): StartAt {
  if (from === 'RESUME' || from === 'LAST_STOPPED_POINT') return saved ? { positions: saved } : 'NOW';
  return from;
}
