/**
 * RegisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers and
 * DeregisterStreamConsumer: the control plane of enhanced fan-out. Shapes
 * follow the AWS service model (botocore kinesis 2013-12-02).
 */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import * as fanout from '../../../sdk/protocol/streams/consumers.ts';
import type { Shape } from '../../http/validate.ts';
import { consumersOf, deregisterConsumer, describeConsumer, registerConsumer, resolveConsumer } from '../consumers.ts';
import { StreamARN, TagMap, structure, type StreamsAction } from '../shapes.ts';
import { requireActive } from './common.ts';

export const ConsumerName = { type: 'string', min: 1, max: fanout.consumerNameLengthMax, pattern: fanout.consumerNamePattern } as const satisfies Shape;
export const ConsumerARN = { type: 'string', min: 1, max: fanout.consumerArnLengthMax, pattern: fanout.consumerArnPattern } as const satisfies Shape;

export const registerStreamConsumer: StreamsAction = {
  shape: structure({
    StreamARN: { ...StreamARN, required: true },
    ConsumerName: { ...ConsumerName, required: true },
    Tags: TagMap,
  }),
  async handle({ registry }, input) {
    const rt = registry.resolve({ StreamARN: input.StreamARN });
    requireActive(registry, rt);
    const consumer = await registerConsumer(registry, rt, input.ConsumerName as string);
    // The answer shows the consumer as registered: CREATING, even when the create delay is zero.
    return { Consumer: { ...describeConsumer(registry, rt, consumer), ConsumerStatus: 'CREATING' } };
  },
};

export const describeStreamConsumer: StreamsAction = {
  shape: structure({ StreamARN, ConsumerName, ConsumerARN }),
  handle({ registry }, input) {
    const { rt, consumer } = resolveConsumer(registry, input);
    return { ConsumerDescription: { ...describeConsumer(registry, rt, consumer), StreamARN: registry.arnOf(rt.meta.name) } };
  },
};

export const deregisterStreamConsumer: StreamsAction = {
  shape: structure({ StreamARN, ConsumerName, ConsumerARN }),
  async handle({ registry }, input) {
    const { rt, consumer } = resolveConsumer(registry, input);
    await deregisterConsumer(registry, rt, consumer);
    return undefined;
  },
};

/** ListStreamConsumers' NextToken: the last consumer name of the page, opaque to clients. */
function encodeToken(stream: string, lastName: string): string {
  return Buffer.from(JSON.stringify({ v: 1, stream, after: lastName }), 'utf8').toString('base64url');
}
function decodeToken(token: string, stream: string): string {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v: number; stream: string; after: string };
    if (t.v === 1 && t.stream === stream && typeof t.after === 'string') return t.after;
  } catch {
    // Falls through to the error below.
  }
  throw new AwsError('InvalidArgumentException', 'Invalid NextToken.');
}

export const listStreamConsumers: StreamsAction = {
  shape: structure({
    StreamARN: { ...StreamARN, required: true },
    NextToken: { type: 'string', min: 1, max: 1048576 },
    MaxResults: { type: 'integer', min: 1, max: fanout.listStreamConsumersMaxResultsMax },
    StreamCreationTimestamp: { type: 'timestamp' },
  }),
  handle({ registry }, input) {
    const rt = registry.resolve({ StreamARN: input.StreamARN });
    const created = input.StreamCreationTimestamp as number | undefined;
    // A creation time that is not this stream's names an earlier stream of the same name.
    if (created !== undefined && Math.floor(created / 1000) !== Math.floor(rt.meta.createdMs / 1000)) {
      throw new AwsError('ResourceNotFoundException', `Stream ${rt.meta.name} under account ${registry.accountId} not found.`);
    }
    const max = (input.MaxResults as number | undefined) ?? fanout.listStreamConsumersMaxResultsDefault;
    const after = input.NextToken !== undefined ? decodeToken(input.NextToken as string, rt.meta.name) : undefined;
    const all = [...consumersOf(rt)].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).filter((c) => after === undefined || c.name > after);
    const page = all.slice(0, max);
    return {
      Consumers: page.map((c) => describeConsumer(registry, rt, c)),
      NextToken: all.length > max ? encodeToken(rt.meta.name, page.at(-1)!.name) : undefined,
    };
  },
};
