/** AddApplicationOutput and DeleteApplicationOutput. */
import { checkOutput, checkOutputs } from '../checks.ts';
import { invalidId, outputFrom, type AnalyticsAction } from '../context.ts';
import { ApplicationName, ApplicationVersionId, Id, Output, required, requestShape } from '../shapes.ts';

export const addApplicationOutput: AnalyticsAction = {
  shape: requestShape({ ApplicationName: required(ApplicationName), CurrentApplicationVersionId: required(ApplicationVersionId), Output: required(Output) }),
  async handle({ registry, checks }, input) {
    await registry.update(input.ApplicationName as string, input.CurrentApplicationVersionId as number, (app) => {
      const output = outputFrom(app, input.Output as Record<string, unknown>);
      checkOutput(checks, output);
      app.outputs.push(output);
      checkOutputs(app.outputs);
    }, { recompile: false });
    return {};
  },
};

export const deleteApplicationOutput: AnalyticsAction = {
  shape: requestShape({ ApplicationName: required(ApplicationName), CurrentApplicationVersionId: required(ApplicationVersionId), OutputId: required(Id) }),
  async handle({ registry }, input) {
    const id = input.OutputId as string;
    await registry.update(input.ApplicationName as string, input.CurrentApplicationVersionId as number, (app) => {
      const i = app.outputs.findIndex((o) => o.OutputId === id);
      if (i < 0) throw invalidId('Output', id, app.name);
      app.outputs.splice(i, 1);
    }, { recompile: false });
    return {};
  },
};
