/**
 * AddApplicationCloudWatchLoggingOption and DeleteApplicationCloudWatchLoggingOption.
 * There is no CloudWatch here: the options are kept and described (tools that
 * manage them keep working); the application's messages go to the gateway's
 * log with the application's name.
 */
import { analyticsErrors } from '../../../../sdk/protocol/analytics/errors.ts';
import { invalidId, type AnalyticsAction } from '../context.ts';
import { nextId } from '../model.ts';
import { ApplicationName, ApplicationVersionId, CloudWatchLoggingOption, Id, required, requestShape } from '../shapes.ts';
import { checkLogging } from './create-application.ts';

export const addApplicationCloudWatchLoggingOption: AnalyticsAction = {
  shape: requestShape({ ApplicationName: required(ApplicationName), CurrentApplicationVersionId: required(ApplicationVersionId), CloudWatchLoggingOption: required(CloudWatchLoggingOption) }),
  async handle({ registry }, input) {
    const option = input.CloudWatchLoggingOption as { LogStreamARN: string; RoleARN: string };
    await registry.update(input.ApplicationName as string, input.CurrentApplicationVersionId as number, (app) => {
      if (app.logging.some((l) => l.LogStreamARN === option.LogStreamARN)) {
        throw analyticsErrors.invalid(`CloudWatch log stream ${option.LogStreamARN} is already added to application ${app.name}.`);
      }
      app.logging.push({ CloudWatchLoggingOptionId: nextId(app, 'logging'), LogStreamARN: option.LogStreamARN, RoleARN: option.RoleARN });
      checkLogging(app);
    }, { recompile: false });
    return {};
  },
};

export const deleteApplicationCloudWatchLoggingOption: AnalyticsAction = {
  shape: requestShape({ ApplicationName: required(ApplicationName), CurrentApplicationVersionId: required(ApplicationVersionId), CloudWatchLoggingOptionId: required(Id) }),
  async handle({ registry }, input) {
    const id = input.CloudWatchLoggingOptionId as string;
    await registry.update(input.ApplicationName as string, input.CurrentApplicationVersionId as number, (app) => {
      const i = app.logging.findIndex((l) => l.CloudWatchLoggingOptionId === id);
      if (i < 0) throw invalidId('CloudWatch logging option', id, app.name);
      app.logging.splice(i, 1);
    }, { recompile: false });
    return {};
  },
};
