/** ListApplications: summaries in name order, paged with ExclusiveStartApplicationName. */
import { listApplicationsLimitMax } from '../../../../sdk/protocol/analytics/limits.ts';
import type { AnalyticsAction } from '../context.ts';
import { summaryOf } from '../model.ts';
import { ApplicationName, requestShape } from '../shapes.ts';

export const listApplications: AnalyticsAction = {
  shape: requestShape({ Limit: { type: 'integer', min: 1, max: listApplicationsLimitMax }, ExclusiveStartApplicationName: ApplicationName }),
  handle({ registry }, input) {
    const limit = (input.Limit as number | undefined) ?? listApplicationsLimitMax;
    const after = input.ExclusiveStartApplicationName as string | undefined;
    const all = registry.list().filter((a) => after === undefined || a.name > after);
    return {
      ApplicationSummaries: all.slice(0, limit).map((a) => summaryOf(a, registry.region, registry.accountId)),
      HasMoreApplications: all.length > limit,
    };
  },
};
