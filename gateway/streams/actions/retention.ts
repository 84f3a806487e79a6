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

/** Increase and Decrease differ only in the direction they may move and the words of their refusal. */
function changeRetention(direction: 'increase' | 'decrease'): StreamsAction {
  return {
    shape,
    async handle({ registry }, input) {
      const rt = registry.resolve(input);
      const hours = input.RetentionPeriodHours as number;
      checkBounds(hours);
      requireActive(registry, rt);
      const current = rt.meta.retentionHours;
      if (direction === 'increase' ? hours < current : hours > current) {
        const [relation, other] = direction === 'increase' ? ['shorter', 'DecreaseRetentionPeriod'] : ['longer', 'IncreaseRetentionPeriod'];
        throw new AwsError('InvalidArgumentException', `Requested retention period (${hours} hours) for stream ${rt.meta.name} can not be ${relation} than existing retention period (${current} hours). Use ${other} API.`);
      }
      rt.meta.retentionHours = hours;
      await registry.persist();
      // A backend that expires records by itself must keep them as long as the new retention says.
      for (const shard of rt.shards) await shard.log.setRetentionMs?.(hours * 3600_000);
      // A shorter retention takes effect at once: reads already skip records past the horizon.
      return undefined;
    },
  };
}

export const increaseStreamRetentionPeriod = changeRetention('increase');
export const decreaseStreamRetentionPeriod = changeRetention('decrease');
