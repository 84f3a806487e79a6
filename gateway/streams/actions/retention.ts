/** IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod. */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import * as limits from '../../../sdk/protocol/streams/limits.ts';
import { streamTarget, structure, type StreamsAction } from '../shapes.ts';
import { requireActive } from './common.ts';

const shape = structure({ RetentionPeriodHours: { type: 'integer', required: true }, ...streamTarget });

function checkBounds(hours: number): void {
  if (hours < limits.retentionHoursMin) {
    throw new AwsError('InvalidArgumentException', `Minimum allowed retention period is ${limits.retentionHoursMin} hours. Requested retention period (${hours} hours) is too short.`);
  }
  if (hours > limits.retentionHoursMax) {
    throw new AwsError('InvalidArgumentException', `Maximum allowed retention period is ${limits.retentionHoursMax} hours. Requested retention period (${hours} hours) is too long.`);
  }
}

export const increaseStreamRetentionPeriod: StreamsAction = {
  shape,
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    const hours = input.RetentionPeriodHours as number;
    checkBounds(hours);
    requireActive(registry, rt);
    if (hours < rt.meta.retentionHours) {
      throw new AwsError('InvalidArgumentException', `Requested retention period (${hours} hours) for stream ${rt.meta.name} can not be shorter than existing retention period (${rt.meta.retentionHours} hours). Use DecreaseRetentionPeriod API.`);
    }
    rt.meta.retentionHours = hours;
    await registry.persist();
    return undefined;
  },
};

export const decreaseStreamRetentionPeriod: StreamsAction = {
  shape,
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    const hours = input.RetentionPeriodHours as number;
    checkBounds(hours);
    requireActive(registry, rt);
    if (hours > rt.meta.retentionHours) {
      throw new AwsError('InvalidArgumentException', `Requested retention period (${hours} hours) for stream ${rt.meta.name} can not be longer than existing retention period (${rt.meta.retentionHours} hours). Use IncreaseRetentionPeriod API.`);
    }
    rt.meta.retentionHours = hours;
    await registry.persist();
    // Shorter retention takes effect at once: reads already skip records past the horizon.
    return undefined;
  },
};
