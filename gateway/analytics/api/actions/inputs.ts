/** AddApplicationInput, AddApplicationInputProcessingConfiguration, DeleteApplicationInputProcessingConfiguration. */
import { analyticsErrors } from '../../../../sdk/protocol/analytics/errors.ts';
import { checkInput, checkNames, checkPreprocessor } from '../checks.ts';
import { findInput, inputFrom, type AnalyticsAction } from '../context.ts';
import type { ArnRole } from '../model.ts';
import { ApplicationName, ApplicationVersionId, Id, Input, InputProcessingConfiguration, required, requestShape } from '../shapes.ts';

export const addApplicationInput: AnalyticsAction = {
  shape: requestShape({ ApplicationName: required(ApplicationName), CurrentApplicationVersionId: required(ApplicationVersionId), Input: required(Input) }),
  async handle({ registry, checks }, input) {
    await registry.update(input.ApplicationName as string, input.CurrentApplicationVersionId as number, (app) => {
      const added = inputFrom(app, input.Input as Record<string, unknown>);
      checkInput(checks, added);
      app.inputs.push(added);
      checkNames(app.inputs, app.references);
    });
    return {};
  },
};

export const addApplicationInputProcessingConfiguration: AnalyticsAction = {
  shape: requestShape({
    ApplicationName: required(ApplicationName),
    CurrentApplicationVersionId: required(ApplicationVersionId),
    InputId: required(Id),
    InputProcessingConfiguration: required(InputProcessingConfiguration),
  }),
  async handle({ registry, checks }, input) {
    await registry.update(input.ApplicationName as string, input.CurrentApplicationVersionId as number, (app) => {
      const target = findInput(app, input.InputId as string);
      if (target.InputProcessingConfiguration) throw analyticsErrors.invalid(`Input ${target.InputId} already has an input processing configuration.`);
      const processor = (input.InputProcessingConfiguration as { InputLambdaProcessor: ArnRole }).InputLambdaProcessor;
      checkPreprocessor(checks, processor);
      target.InputProcessingConfiguration = { InputLambdaProcessor: { ResourceARN: processor.ResourceARN, RoleARN: processor.RoleARN } };
    }, { recompile: false });
    return {};
  },
};

export const deleteApplicationInputProcessingConfiguration: AnalyticsAction = {
  shape: requestShape({ ApplicationName: required(ApplicationName), CurrentApplicationVersionId: required(ApplicationVersionId), InputId: required(Id) }),
  async handle({ registry }, input) {
    await registry.update(input.ApplicationName as string, input.CurrentApplicationVersionId as number, (app) => {
      const target = findInput(app, input.InputId as string);
      if (!target.InputProcessingConfiguration) throw analyticsErrors.invalid(`Input ${target.InputId} has no input processing configuration.`);
      delete target.InputProcessingConfiguration;
    }, { recompile: false });
    return {};
  },
};
