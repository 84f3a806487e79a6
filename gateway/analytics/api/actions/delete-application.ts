/** DeleteApplication: needs the CreateTimestamp DescribeApplication gives, so an older request cannot delete a newer application of the same name. */
import type { AnalyticsAction } from '../context.ts';
import { ApplicationName, required, requestShape } from '../shapes.ts';

export const deleteApplication: AnalyticsAction = {
  shape: requestShape({ ApplicationName: required(ApplicationName), CreateTimestamp: { type: 'timestamp', required: true } }),
  async handle({ registry }, input) {
    await registry.delete(input.ApplicationName as string, input.CreateTimestamp as number);
    return {};
  },
};
