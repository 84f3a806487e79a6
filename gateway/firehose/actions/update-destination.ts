/** UpdateDestination: merges an (Extended)S3DestinationUpdate; the version id guards concurrent updates. */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import { firehoseErrors } from '../../../sdk/protocol/firehose/errors.ts';
import * as limits from '../../../sdk/protocol/firehose/limits.ts';
import { applyS3Update } from '../model.ts';
import { DeliveryStreamName, DestinationId, ExtendedS3DestinationUpdate, openMembers, S3DestinationUpdate, structure, unsupportedUpdates, VersionId, type FirehoseAction } from '../shapes.ts';
import { checkDestination, refuseUnsupported, requireActive, requireAllowedEndpoint } from './common.ts';
import { checkPartitioningUpdate } from '../partitioning.ts';
import { HttpEndpointDestinationUpdate, httpUpdate } from '../http-endpoint-model.ts';
import { RedshiftDestinationUpdate } from '../redshift-model.ts';
import { updateRedshift } from './redshift-update.ts';
import { checkSourceBackupUpdate } from '../source-backup.ts';

export const updateDestination: FirehoseAction = {
  shape: structure({
    DeliveryStreamName: { ...DeliveryStreamName, required: true },
    CurrentDeliveryStreamVersionId: { ...VersionId, required: true },
    DestinationId: { ...DestinationId, required: true },
    S3DestinationUpdate,
    ExtendedS3DestinationUpdate,
    HttpEndpointDestinationUpdate,
    RedshiftDestinationUpdate,
    ...openMembers(unsupportedUpdates),
  }),
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    requireActive(registry, rt);
    const version = input.CurrentDeliveryStreamVersionId as string;
    if (version !== String(rt.meta.versionId)) throw firehoseErrors.versionMismatch(rt.meta.name, version, rt.meta.versionId);
    if (input.DestinationId !== limits.destinationIdFirst) throw firehoseErrors.destinationNotFound(rt.meta.name, input.DestinationId as string);
    refuseUnsupported(input, unsupportedUpdates);
    if (input.RedshiftDestinationUpdate !== undefined || rt.meta.redshift) return updateRedshift(registry, rt, input);
    const updates = [input.S3DestinationUpdate, input.ExtendedS3DestinationUpdate, input.HttpEndpointDestinationUpdate].filter(Boolean) as Array<Record<string, unknown>>;
    if (updates.length > 1) throw new AwsError('InvalidArgumentException', 'Exactly one destination update is supported for a Firehose');
    const http = httpUpdate(rt.meta, input);
    if (http?.httpEndpoint) requireAllowedEndpoint(registry, http.httpEndpoint.EndpointConfiguration.Url);
    const next = http ? http.destination : updates.length ? applyS3Update(rt.meta.destination, updates[0]!) : rt.meta.destination;
    checkDestination(next, registry.config.firehoseSchemas, { lambdas: registry.config.firehoseLambdas ?? {} });
    checkPartitioningUpdate(rt.meta.destination, next);
    checkSourceBackupUpdate(rt.meta.destination, next);
    rt.meta.destination = next;
    if (http?.httpEndpoint) rt.meta.httpEndpoint = http.httpEndpoint;
    else delete rt.meta.httpEndpoint;
    rt.meta.versionId++;
    rt.meta.updatedMs = registry.now();
    await registry.persist();
    rt.worker.reschedule();
    return {};
  },
};
