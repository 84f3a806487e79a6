/** CreateApplication: an application in READY state, its code compiled against its input and reference tables first. */
import { analyticsErrors } from '../../../../sdk/protocol/analytics/errors.ts';
import { cloudWatchLoggingOptionsMax } from '../../../../sdk/protocol/analytics/limits.ts';
import { checkInput, checkNames, checkOutput, checkOutputs, checkReference } from '../checks.ts';
import { inputFrom, outputFrom, type AnalyticsAction } from '../context.ts';
import { nextId, summaryOf, type ApplicationMeta } from '../model.ts';
import { ApplicationCode, ApplicationDescription, ApplicationName, CloudWatchLoggingOptions, Inputs, Outputs, required, requestShape, Tags } from '../shapes.ts';
import { checkTagCount, tagsFrom } from './tags.ts';

export const createApplication: AnalyticsAction = {
  shape: requestShape({
    ApplicationName: required(ApplicationName),
    ApplicationDescription,
    Inputs,
    Outputs,
    CloudWatchLoggingOptions,
    ApplicationCode,
    Tags,
  }),
  async handle({ registry, checks }, input) {
    const draft: ApplicationMeta = {
      name: input.ApplicationName as string,
      ...(input.ApplicationDescription !== undefined ? { description: input.ApplicationDescription as string } : {}),
      status: 'READY',
      createMs: 0,
      updateMs: 0,
      versionId: 1,
      code: (input.ApplicationCode as string | undefined) ?? '',
      inputs: [],
      outputs: [],
      references: [],
      logging: [],
      tags: {},
      ids: { input: 0, output: 0, reference: 0, logging: 0 },
      dir: '',
      everStarted: false,
    };
    for (const i of (input.Inputs as Array<Record<string, unknown>> | undefined) ?? []) draft.inputs.push(inputFrom(draft, i));
    for (const o of (input.Outputs as Array<Record<string, unknown>> | undefined) ?? []) draft.outputs.push(outputFrom(draft, o));
    for (const l of (input.CloudWatchLoggingOptions as Array<{ LogStreamARN: string; RoleARN: string }> | undefined) ?? []) {
      draft.logging.push({ CloudWatchLoggingOptionId: nextId(draft, 'logging'), LogStreamARN: l.LogStreamARN, RoleARN: l.RoleARN });
    }
    draft.inputs.forEach((i) => checkInput(checks, i));
    draft.outputs.forEach((o) => checkOutput(checks, o));
    checkOutputs(draft.outputs);
    draft.references.forEach((r) => checkReference(checks, r));
    checkNames(draft.inputs, draft.references);
    checkLogging(draft);
    const tags = tagsFrom(input.Tags);
    checkTagCount(tags);
    draft.tags = tags;
    const { status: _s, createMs: _c, updateMs: _u, versionId: _v, dir: _d, everStarted: _e, ...rest } = draft;
    const app = await registry.create(rest);
    return { ApplicationSummary: summaryOf(app, registry.region, registry.accountId) };
  },
};

/** Each log stream at most once, and a bounded number of them (limits.ts). */
export function checkLogging(app: ApplicationMeta): void {
  const arns = app.logging.map((l) => l.LogStreamARN);
  if (new Set(arns).size !== arns.length) throw analyticsErrors.invalid('A CloudWatch log stream can be added to an application only once.');
  if (app.logging.length > cloudWatchLoggingOptionsMax) throw analyticsErrors.invalid(`An application can have at most ${cloudWatchLoggingOptionsMax} CloudWatch logging options.`);
}
