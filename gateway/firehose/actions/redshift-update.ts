/** UpdateDestination for a Redshift delivery stream (called by update-destination.ts after the version and id checks). */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import { applyRedshiftUpdate, checkRedshift, type RedshiftWire } from '../redshift-model.ts';
import type { DeliveryStreamMeta } from '../model.ts';
import type { DeliveryStreamRuntime, FirehoseRegistry } from '../registry.ts';
import { checkDestination } from './common.ts';
import { checkSourceBackupUpdate } from '../source-backup.ts';

/** Switching between Redshift and another destination type is refused: the delivery worker keeps one kind of destination for its life. */
export async function updateRedshift(registry: FirehoseRegistry, rt: DeliveryStreamRuntime, input: Record<string, unknown>): Promise<Record<string, never>> {
  const others = Object.keys(input).filter((k) => k.endsWith('DestinationUpdate') && k !== 'RedshiftDestinationUpdate' && input[k] !== undefined);
  if (!rt.meta.redshift || others.length) {
    throw new AwsError('InvalidArgumentException', 'Changing the destination type to or from Redshift is not supported by this gateway; create a new delivery stream.');
  }
  const meta = rt.meta as DeliveryStreamMeta & { redshift: RedshiftWire };
  const update = (input.RedshiftDestinationUpdate ?? {}) as Record<string, unknown>;
  const next = applyRedshiftUpdate(meta, update);
  checkDestination(next.destination, registry.config.firehoseSchemas, { lambdas: registry.config.firehoseLambdas ?? {} });
  checkRedshift(next.redshift, next.destination, registry.config.firehoseRedshift);
  checkSourceBackupUpdate(meta.destination, next.destination);
  rt.meta.redshift = next.redshift;
  rt.meta.destination = next.destination;
  rt.meta.versionId++;
  rt.meta.updatedMs = registry.now();
  await registry.persist();
  rt.worker.reschedule();
  return {};
}
