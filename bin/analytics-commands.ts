/**
 * `tributary analytics` API commands: create an application from a SQL file
 * and API-shaped JSON files, list, describe, update its code, start, stop
 * and delete it, on a running gateway (the operator profile signs the
 * calls). `tributary analytics run` (the offline runner) registers itself in
 * the same group.
 */
import fs from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { TributaryError } from '../sdk/protocol/errors.ts';

export interface AnalyticsCommandDeps {
  /** A subcommand with the profile and endpoint options. */
  clientCommand(parent: Command, spec: string, description: string): Command;
  /** Calls a KinesisAnalytics_20150814 action with the profile's credentials. */
  call<T = Record<string, unknown>>(flags: object, action: string, input: unknown): Promise<T>;
  print(v: unknown): void;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TributaryError('FILE_MISSING', `cannot read ${what} ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TributaryError('FILE_INVALID', `${file}: ${what} is not valid JSON: ${(err as Error).message}`);
  }
}

const positions = { now: 'NOW', 'trim-horizon': 'TRIM_HORIZON', 'last-stopped-point': 'LAST_STOPPED_POINT' } as const;

interface Detail {
  ApplicationDetail: { ApplicationVersionId: number; CreateTimestamp: number; InputDescriptions: Array<{ InputId: string }> };
}

export function registerAnalyticsCommands(group: Command, d: AnalyticsCommandDeps): void {
  const describe = (flags: object, name: string) => d.call<Detail>(flags, 'DescribeApplication', { ApplicationName: name });

  d.clientCommand(group, 'create <name>', 'Create an application from a SQL file; inputs, outputs and reference data are the API\'s JSON objects (see docs/analytics.md).')
    .requiredOption('--code <file>', 'application code (SQL)')
    .option('--input <file>', "an Input object (NamePrefix, KinesisStreamsInput or KinesisFirehoseInput, InputSchema)")
    .option('--output <file>', 'an Output object (Name, one destination, DestinationSchema); up to 3', collect, [])
    .option('--reference <file>', 'a ReferenceDataSource object (TableName, S3ReferenceDataSource, ReferenceSchema)')
    .option('--description <text>', 'application description')
    .action(async (name: string, o: { code: string; input?: string; output: string[]; reference?: string; description?: string }) => {
      let code: string;
      try {
        code = fs.readFileSync(o.code, 'utf8');
      } catch (err) {
        throw new TributaryError('FILE_MISSING', `cannot read application code ${o.code}: ${(err as Error).message}`);
      }
      const reference = o.reference ? readJson(o.reference, 'reference data source') : undefined;
      // CreateApplication takes no reference data, and code that names the table compiles only once it exists: with --reference, the code comes last.
      const r = await d.call<{ ApplicationSummary: unknown }>(o, 'CreateApplication', {
        ApplicationName: name,
        ...(reference ? {} : { ApplicationCode: code }),
        ...(o.description !== undefined ? { ApplicationDescription: o.description } : {}),
        ...(o.input ? { Inputs: [readJson(o.input, 'input')] } : {}),
        ...(o.output.length ? { Outputs: o.output.map((f) => readJson(f, 'output')) } : {}),
      });
      if (reference) {
        await d.call(o, 'AddApplicationReferenceDataSource', { ApplicationName: name, CurrentApplicationVersionId: 1, ReferenceDataSource: reference });
        await d.call(o, 'UpdateApplication', { ApplicationName: name, CurrentApplicationVersionId: 2, ApplicationUpdate: { ApplicationCodeUpdate: code } });
      }
      d.print(r.ApplicationSummary);
    });

  d.clientCommand(group, 'list', 'List applications.').action(async (o: object) => {
    const all: unknown[] = [];
    let start: string | undefined;
    for (;;) {
      const r = await d.call<{ ApplicationSummaries: Array<{ ApplicationName: string }>; HasMoreApplications: boolean }>(o, 'ListApplications', start ? { ExclusiveStartApplicationName: start } : {});
      all.push(...r.ApplicationSummaries);
      if (!r.HasMoreApplications || r.ApplicationSummaries.length === 0) break;
      start = r.ApplicationSummaries.at(-1)!.ApplicationName;
    }
    d.print(all);
  });

  d.clientCommand(group, 'describe <name>', 'Describe an application.').action(async (name: string, o: object) => d.print((await describe(o, name)).ApplicationDetail));

  d.clientCommand(group, 'update-code <name>', "Replace an application's code (a running application picks it up).")
    .requiredOption('--code <file>', 'application code (SQL)')
    .action(async (name: string, o: { code: string }) => {
      const detail = await describe(o, name);
      await d.call(o, 'UpdateApplication', { ApplicationName: name, CurrentApplicationVersionId: detail.ApplicationDetail.ApplicationVersionId, ApplicationUpdate: { ApplicationCodeUpdate: fs.readFileSync(o.code, 'utf8') } });
      d.print({ updated: name, versionId: detail.ApplicationDetail.ApplicationVersionId + 1 });
    });

  d.clientCommand(group, 'start <name>', 'Start an application; every input begins at --from.')
    .addOption(new Option('--from <position>', 'where the inputs start').choices(Object.keys(positions)).default('now'))
    .action(async (name: string, o: { from: keyof typeof positions }) => {
      const detail = await describe(o, name);
      const InputStartingPosition = positions[o.from];
      if (!InputStartingPosition) throw new InvalidArgumentError(`--from must be one of ${Object.keys(positions).join(', ')}`);
      await d.call(o, 'StartApplication', {
        ApplicationName: name,
        InputConfigurations: detail.ApplicationDetail.InputDescriptions.map((i) => ({ Id: i.InputId, InputStartingPositionConfiguration: { InputStartingPosition } })),
      });
      d.print({ starting: name, from: InputStartingPosition });
    });

  d.clientCommand(group, 'stop <name>', 'Stop a running application (it keeps its stopped point).').action(async (name: string, o: object) => {
    await d.call(o, 'StopApplication', { ApplicationName: name });
    d.print({ stopping: name });
  });

  d.clientCommand(group, 'delete <name>', 'Delete an application.').action(async (name: string, o: object) => {
    const detail = await describe(o, name);
    await d.call(o, 'DeleteApplication', { ApplicationName: name, CreateTimestamp: detail.ApplicationDetail.CreateTimestamp });
    d.print({ deleting: name });
  });
}
