/**
 * The Kinesis Data Analytics applications of one gateway: their metadata
 * (metadata/analytics.json, replaced atomically) and their status. Running
 * them is the runner's business (gateway/analytics/runtime/); the registry
 * decides when, following AWS's transitions:
 *
 *   CreateApplication -> READY
 *   StartApplication (READY) -> STARTING -> RUNNING
 *   StopApplication (RUNNING) -> STOPPING -> READY
 *   an update while RUNNING -> UPDATING -> RUNNING
 *   DeleteApplication (READY or RUNNING) -> DELETING -> gone
 *
 * After a gateway restart an application that was RUNNING (or on its way
 * there) resumes from its checkpointed input positions; one that was
 * stopping ends READY; one being deleted is deleted.
 */
import { randomBytes } from 'node:crypto';
import { analyticsErrors } from '../../../sdk/protocol/analytics/errors.ts';
import type { InputStartingPosition } from '../../../sdk/protocol/analytics/limits.ts';
import type { Logger } from '../../log.ts';
import type { MetadataStore } from '../../storage/types.ts';
import type { ApplicationMeta } from './model.ts';

/** Where each input starts: what StartApplication asked for, or RESUME after a gateway restart. */
export type StartFrom = InputStartingPosition | 'RESUME';

/** What runs applications (gateway/analytics/runtime/). */
export interface ApplicationRunner {
  /** Throws InvalidApplicationConfigurationException when the application cannot run as configured now. */
  validate(app: ApplicationMeta): void;
  /** Starts reading, processing and delivering; resolves once the application is running. */
  start(app: ApplicationMeta, from: ReadonlyMap<string, StartFrom>): Promise<void>;
  /** Applies a new configuration to a running application (same input positions). */
  reconfigure(app: ApplicationMeta): Promise<void>;
  /** Stops the application, keeping its input positions (LAST_STOPPED_POINT). */
  stop(app: ApplicationMeta): Promise<void>;
  /** Stops it if running and deletes its runtime state. */
  remove(app: ApplicationMeta): Promise<void>;
  close(): Promise<void>;
}

/** Compiles application code against the inputs and reference tables; returns the SQL error, if any. */
export type CodeChecker = (app: ApplicationMeta) => string | undefined;

export interface AnalyticsDoc {
  applications: ApplicationMeta[];
}

export interface AnalyticsRegistryOptions {
  region: string;
  accountId: string;
  applicationsMax: number;
  runner: ApplicationRunner;
  checkCode: CodeChecker;
  log: Logger;
  now?: () => number;
}

export class AnalyticsRegistry {
  readonly apps = new Map<string, ApplicationMeta>();
  private saving: Promise<void> = Promise.resolve();
  /** Transitions under way (start, stop, update, delete), so close() can wait for them. */
  private readonly pending = new Set<Promise<void>>();
  readonly now: () => number;

  private constructor(
    readonly o: AnalyticsRegistryOptions,
    private readonly store: MetadataStore<AnalyticsDoc>,
  ) {
    this.now = o.now ?? Date.now;
  }

  static async open(o: AnalyticsRegistryOptions, store: MetadataStore<AnalyticsDoc>): Promise<AnalyticsRegistry> {
    const reg = new AnalyticsRegistry(o, store);
    const doc = (await store.load()) ?? { applications: [] };
    for (const app of doc.applications) reg.apps.set(app.name, app);
    for (const app of doc.applications) {
      // Transitions a restart interrupted finish now.
      if (app.status === 'STOPPING') app.status = 'READY';
      if (app.status === 'DELETING') reg.track(reg.finishDelete(app));
      else if (app.status === 'RUNNING' || app.status === 'STARTING' || app.status === 'UPDATING') {
        app.status = 'STARTING';
        reg.track(reg.run(app, new Map(app.inputs.map((i) => [i.InputId, 'RESUME' as const]))));
      }
    }
    await reg.persist();
    return reg;
  }

  get region(): string {
    return this.o.region;
  }

  get accountId(): string {
    return this.o.accountId;
  }

  persist(): Promise<void> {
    const doc: AnalyticsDoc = structuredClone({ applications: [...this.apps.values()] });
    this.saving = this.saving.catch(() => {}).then(() => this.store.save(doc));
    return this.saving;
  }

  get(name: string): ApplicationMeta {
    const app = this.apps.get(name);
    if (!app) throw analyticsErrors.notFound(name);
    return app;
  }

  list(): ApplicationMeta[] {
    return [...this.apps.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  checkCode(app: ApplicationMeta): void {
    const error = this.o.checkCode(app);
    if (error !== undefined) throw analyticsErrors.code(error);
  }

  async create(app: Omit<ApplicationMeta, 'status' | 'createMs' | 'updateMs' | 'versionId' | 'dir' | 'everStarted'>): Promise<ApplicationMeta> {
    if (this.apps.has(app.name)) throw analyticsErrors.alreadyExists(app.name, this.accountId);
    if (this.apps.size >= this.o.applicationsMax) throw analyticsErrors.tooManyApplications(this.o.applicationsMax);
    const now = this.now();
    const full: ApplicationMeta = { ...app, status: 'READY', createMs: now, updateMs: now, versionId: 1, dir: `${app.name}-${randomBytes(6).toString('hex')}`, everStarted: false };
    this.checkCode(full);
    this.apps.set(full.name, full);
    await this.persist();
    this.o.log.info('analytics application created', { application: full.name });
    return full;
  }

  /**
   * A configuration change (Add*, Delete*, UpdateApplication): checks the
   * version and the status, applies `change` to a copy, checks the code
   * against the result, bumps the version, and re-configures a running
   * application (UPDATING -> RUNNING).
   */
  async update(name: string, versionId: number, change: (draft: ApplicationMeta) => void, options: { recompile?: boolean } = {}): Promise<void> {
    const app = this.get(name);
    if (versionId !== app.versionId) throw analyticsErrors.versionMismatch(name, versionId, app.versionId);
    if (app.status !== 'READY' && app.status !== 'RUNNING') throw analyticsErrors.inUse(name, app.status);
    const draft = structuredClone(app);
    change(draft);
    if (options.recompile !== false) this.checkCode(draft);
    if (draft.status === 'RUNNING') this.o.runner.validate(draft);
    draft.versionId = app.versionId + 1;
    draft.updateMs = this.now();
    const running = draft.status === 'RUNNING';
    if (running) draft.status = 'UPDATING';
    this.apps.set(name, draft);
    await this.persist();
    if (running) this.track(this.reconfigure(draft));
  }

  private async reconfigure(app: ApplicationMeta): Promise<void> {
    let running = true;
    try {
      await this.o.runner.reconfigure(app);
    } catch (err) {
      // The old configuration was stopped at a checkpoint and the new one did not start: nothing runs.
      running = false;
      this.o.log.error('analytics application did not restart with its new configuration; it is READY (start it again)', { application: app.name, err: String((err as Error)?.message ?? err) });
    }
    if (this.apps.get(app.name) === app && app.status === 'UPDATING') {
      app.status = running ? 'RUNNING' : 'READY';
      await this.persist();
    }
  }

  /** StartApplication: READY -> STARTING, then RUNNING once the runner has it going. */
  async start(name: string, from: ReadonlyMap<string, InputStartingPosition>): Promise<void> {
    const app = this.get(name);
    if (app.status !== 'READY') throw analyticsErrors.notReady(name, app.status);
    this.o.runner.validate(app);
    for (const input of app.inputs) {
      const position = from.get(input.InputId);
      if (position) input.InputStartingPositionConfiguration = { InputStartingPosition: position };
    }
    app.status = 'STARTING';
    app.everStarted = true;
    await this.persist();
    this.track(this.run(app, from));
  }

  private async run(app: ApplicationMeta, from: ReadonlyMap<string, StartFrom>): Promise<void> {
    try {
      await this.o.runner.start(app, from);
      if (this.apps.get(app.name) === app && app.status === 'STARTING') app.status = 'RUNNING';
      this.o.log.info('analytics application running', { application: app.name });
    } catch (err) {
      this.o.log.error('analytics application failed to start', { application: app.name, err: String((err as Error)?.message ?? err) });
      if (this.apps.get(app.name) === app && app.status === 'STARTING') app.status = 'READY';
    }
    await this.persist();
  }

  /** StopApplication: RUNNING -> STOPPING -> READY. */
  async stop(name: string): Promise<void> {
    const app = this.get(name);
    if (app.status !== 'RUNNING') throw analyticsErrors.notRunning(name, app.status);
    app.status = 'STOPPING';
    await this.persist();
    this.track(
      (async () => {
        try {
          await this.o.runner.stop(app);
        } catch (err) {
          this.o.log.error('analytics application did not stop cleanly', { application: app.name, err: String((err as Error)?.message ?? err) });
        }
        if (this.apps.get(app.name) === app && app.status === 'STOPPING') app.status = 'READY';
        await this.persist();
        this.o.log.info('analytics application stopped', { application: app.name });
      })(),
    );
  }

  /**
   * DeleteApplication: the CreateTimestamp must match (it tells this
   * application from an earlier one of the same name), to the second: the
   * AWS CLI sends timestamps as whole epoch seconds.
   */
  async delete(name: string, createMs: number): Promise<void> {
    const app = this.get(name);
    if (Math.floor(createMs / 1000) !== Math.floor(app.createMs / 1000)) throw analyticsErrors.createTimestampMismatch(name);
    if (app.status !== 'READY' && app.status !== 'RUNNING') throw analyticsErrors.inUse(name, app.status);
    app.status = 'DELETING';
    await this.persist();
    this.track(this.finishDelete(app));
  }

  private async finishDelete(app: ApplicationMeta): Promise<void> {
    try {
      await this.o.runner.remove(app);
    } catch (err) {
      this.o.log.error('analytics application runtime state not removed', { application: app.name, err: String((err as Error)?.message ?? err) });
    }
    if (this.apps.get(app.name) === app) this.apps.delete(app.name);
    await this.persist();
    this.o.log.info('analytics application deleted', { application: app.name });
  }

  private track(p: Promise<void>): void {
    const done = p.catch((err) => this.o.log.error('analytics transition failed', { err: String((err as Error)?.message ?? err) })).finally(() => this.pending.delete(done));
    this.pending.add(done);
  }

  /** Resolves when every transition under way has finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  async close(): Promise<void> {
    await this.settled();
    await this.o.runner.close();
    await this.saving.catch(() => {});
  }
}
