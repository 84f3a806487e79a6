/** DescribeApplication: the ApplicationDetail. */
import type { AnalyticsAction } from '../context.ts';
import { detailOf } from '../model.ts';
import { ApplicationName, required, requestShape } from '../shapes.ts';

export const describeApplication: AnalyticsAction = {
  shape: requestShape({ ApplicationName: required(ApplicationName) }),
  handle({ registry }, input) {
    const app = registry.get(input.ApplicationName as string);
    return { ApplicationDetail: detailOf(app, registry.region, registry.accountId) };
  },
};
