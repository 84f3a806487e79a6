/** AddApplicationReferenceDataSource and DeleteApplicationReferenceDataSource: the in-application table is part of what the code compiles against. */
import { checkNames, checkReference } from '../checks.ts';
import { invalidId, referenceFrom, type AnalyticsAction } from '../context.ts';
import { ApplicationName, ApplicationVersionId, Id, ReferenceDataSource, required, requestShape } from '../shapes.ts';

export const addApplicationReferenceDataSource: AnalyticsAction = {
  shape: requestShape({ ApplicationName: required(ApplicationName), CurrentApplicationVersionId: required(ApplicationVersionId), ReferenceDataSource: required(ReferenceDataSource) }),
  async handle({ registry, checks }, input) {
    await registry.update(input.ApplicationName as string, input.CurrentApplicationVersionId as number, (app) => {
      const ref = referenceFrom(app, input.ReferenceDataSource as Record<string, unknown>);
      checkReference(checks, ref);
      app.references.push(ref);
      checkNames(app.inputs, app.references);
    });
    return {};
  },
};

export const deleteApplicationReferenceDataSource: AnalyticsAction = {
  shape: requestShape({ ApplicationName: required(ApplicationName), CurrentApplicationVersionId: required(ApplicationVersionId), ReferenceId: required(Id) }),
  async handle({ registry }, input) {
    const id = input.ReferenceId as string;
    await registry.update(input.ApplicationName as string, input.CurrentApplicationVersionId as number, (app) => {
      const i = app.references.findIndex((r) => r.ReferenceId === id);
      if (i < 0) throw invalidId('Reference', id, app.name);
      app.references.splice(i, 1);
    });
    return {};
  },
};
