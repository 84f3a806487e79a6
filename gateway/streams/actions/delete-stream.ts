import { consumerErrors } from '../../../sdk/protocol/streams/consumers.ts';
import { streamTarget, structure, type StreamsAction } from '../shapes.ts';

export const deleteStream: StreamsAction = {
  shape: structure({ ...streamTarget, EnforceConsumerDeletion: { type: 'boolean' } }),
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    // Registered consumers block deletion unless the caller asks to delete them too (they go with the stream's metadata).
    if (rt.meta.consumers?.length && input.EnforceConsumerDeletion !== true) throw consumerErrors.hasConsumers(rt.meta.name, registry.accountId);
    if (rt.meta.status !== 'DELETING') await registry.beginDelete(rt);
    return undefined;
  },
};
