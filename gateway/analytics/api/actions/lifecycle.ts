/** StartApplication and StopApplication. */
import { analyticsErrors } from '../../../../sdk/protocol/analytics/errors.ts';
import type { InputStartingPosition } from '../../../../sdk/protocol/analytics/limits.ts';
import { findInput, type AnalyticsAction } from '../context.ts';
import { ApplicationName, Id, InputStartingPositionConfiguration, required, requestShape } from '../shapes.ts';

export const startApplication: AnalyticsAction = {
  shape: requestShape({
    ApplicationName: required(ApplicationName),
    InputConfigurations: { type: 'list', required: true, member: { type: 'structure', members: { Id: required(Id), InputStartingPositionConfiguration: required(InputStartingPositionConfiguration) } } },
  }),
  async handle({ registry }, input) {
    const app = registry.get(input.ApplicationName as string);
    if (app.status !== 'READY') throw analyticsErrors.notReady(app.name, app.status);
    const configs = input.InputConfigurations as Array<{ Id: string; InputStartingPositionConfiguration: { InputStartingPosition?: InputStartingPosition } }>;
    const from = new Map<string, InputStartingPosition>();
    for (const c of configs) {
      const target = findInput(app, c.Id);
      const position = c.InputStartingPositionConfiguration.InputStartingPosition ?? 'NOW';
      // API Reference, InputStartingPositionConfiguration: TRIM_HORIZON "is not available for an Amazon Kinesis Firehose delivery stream".
      if (position === 'TRIM_HORIZON' && target.KinesisFirehoseInput) {
        throw analyticsErrors.invalid(`InputStartingPosition TRIM_HORIZON is not available for input ${c.Id}: its source is a Kinesis Firehose delivery stream.`);
      }
      from.set(c.Id, position);
    }
    for (const i of app.inputs) {
      if (!from.has(i.InputId)) throw analyticsErrors.invalid(`InputConfigurations must give a starting position for input ${i.InputId}.`);
    }
    await registry.start(app.name, from);
    return {};
  },
};

export const stopApplication: AnalyticsAction = {
  shape: requestShape({ ApplicationName: required(ApplicationName) }),
  async handle({ registry }, input) {
    await registry.stop(input.ApplicationName as string);
    return {};
  },
};
