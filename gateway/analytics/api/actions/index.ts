/** The Kinesis Data Analytics (SQL, API 2015-08-14) action table: `X-Amz-Target: KinesisAnalytics_20150814.<name>`. */
import type { AnalyticsAction } from '../context.ts';
import { createApplication } from './create-application.ts';
import { deleteApplication } from './delete-application.ts';
import { describeApplication } from './describe-application.ts';
import { discoverInputSchema } from './discover-input-schema.ts';
import { addApplicationInput, addApplicationInputProcessingConfiguration, deleteApplicationInputProcessingConfiguration } from './inputs.ts';
import { startApplication, stopApplication } from './lifecycle.ts';
import { listApplications } from './list-applications.ts';
import { addApplicationCloudWatchLoggingOption, deleteApplicationCloudWatchLoggingOption } from './logging.ts';
import { addApplicationOutput, deleteApplicationOutput } from './outputs.ts';
import { addApplicationReferenceDataSource, deleteApplicationReferenceDataSource } from './references.ts';
import { listTagsForResource, tagResource, untagResource } from './tags.ts';
import { updateApplication } from './update-application.ts';

export const analyticsTargetPrefix = 'KinesisAnalytics_20150814';
export const analyticsSigningName = 'kinesisanalytics';

export const analyticsActions: Record<string, AnalyticsAction> = {
  AddApplicationCloudWatchLoggingOption: addApplicationCloudWatchLoggingOption,
  AddApplicationInput: addApplicationInput,
  AddApplicationInputProcessingConfiguration: addApplicationInputProcessingConfiguration,
  AddApplicationOutput: addApplicationOutput,
  AddApplicationReferenceDataSource: addApplicationReferenceDataSource,
  CreateApplication: createApplication,
  DeleteApplication: deleteApplication,
  DeleteApplicationCloudWatchLoggingOption: deleteApplicationCloudWatchLoggingOption,
  DeleteApplicationInputProcessingConfiguration: deleteApplicationInputProcessingConfiguration,
  DeleteApplicationOutput: deleteApplicationOutput,
  DeleteApplicationReferenceDataSource: deleteApplicationReferenceDataSource,
  DescribeApplication: describeApplication,
  DiscoverInputSchema: discoverInputSchema,
  ListApplications: listApplications,
  ListTagsForResource: listTagsForResource,
  StartApplication: startApplication,
  StopApplication: stopApplication,
  TagResource: tagResource,
  UntagResource: untagResource,
  UpdateApplication: updateApplication,
};

/** The resource a call acts on, for policies: `application/<name>`, or `*` for ListApplications and DiscoverInputSchema. */
export function analyticsResourceOf(action: string, input: Record<string, unknown>): string {
  if (typeof input.ApplicationName === 'string') return `application/${input.ApplicationName}`;
  if (typeof input.ResourceARN === 'string' && action.endsWith('Resource')) {
    const i = input.ResourceARN.indexOf(':application/');
    if (i >= 0) return `application/${input.ResourceARN.slice(i + ':application/'.length)}`;
  }
  return '*';
}
