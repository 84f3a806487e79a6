import { streamTarget, structure, type StreamsAction } from '../shapes.ts';

export const deleteStream: StreamsAction = {
  shape: structure({ ...streamTarget, EnforceConsumerDeletion: { type: 'boolean' } }),
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    // Registered consumers arrive with enhanced fan-out; until then none can block deletion.
    if (rt.meta.status !== 'DELETING') await registry.beginDelete(rt);
    return undefined;
  },
};
