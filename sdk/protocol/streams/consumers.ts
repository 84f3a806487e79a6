/**
 * Enhanced fan-out consumers: their limits, ARNs and AWS's error wording.
 * Pure (no I/O); the gateway and the SDK share it.
 *
 * Wording: the two "not in ACTIVE status" texts and "Another active
 * subscription exists for this consumer" are AWS's as captured in public bug
 * reports (kinesis-hot-shard-advisor#37, cloudformation-coverage-roadmap#2442,
 * kinesumer#16). The others are not documented; they follow the shape of
 * AWS's stream messages and are marked "not observed" below.
 */
import { AwsError } from '../errors.ts';

/** AWS Kinesis API Reference, RegisterStreamConsumer: up to 20 consumers per stream. */
export const consumersPerStreamMax = 20;
/** RegisterStreamConsumer: at most 5 consumers in CREATING at the same time. */
export const consumersCreatingMax = 5;
/** Consumer: names 1-128 characters of `[a-zA-Z0-9_.-]`. */
export const consumerNameLengthMax = 128;
export const consumerNamePattern = '[a-zA-Z0-9_.-]+';
/** Consumer: ARNs 1-2048 characters. */
export const consumerArnLengthMax = 2048;
export const consumerArnPattern = '^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+';
/** ListStreamConsumers: MaxResults 1-10000 (default 100 here, as ListStreams). */
export const listStreamConsumersMaxResultsMax = 10000;
export const listStreamConsumersMaxResultsDefault = 100;
/** SubscribeToShard: a subscription lives 5 minutes, then the service ends the stream. */
export const subscriptionLifetimeMsDefault = 5 * 60 * 1000;
/** SubscribeToShard: calling again with the same consumer and shard within 5 seconds of a successful call fails with ResourceInUseException. */
export const subscribeRepeatWindowMs = 5000;
/** SubscribeToShard: 2 MiB/s per consumer per shard. */
export const subscriptionReadBytesPerSecondMax = 2 * 1024 * 1024;
/** The service sends an event at least this often, records or not (observed: about every 5 s). */
export const subscriptionHeartbeatMs = 5000;

export type ConsumerStatus = 'CREATING' | 'ACTIVE' | 'DELETING';

export interface ConsumerArnParts {
  region: string;
  accountId: string;
  stream: string;
  consumer: string;
  /** The consumer's creation time in whole seconds since the epoch. */
  createdSeconds: number;
}

/** `arn:aws:kinesis:<region>:<account>:stream/<name>/consumer/<consumerName>:<creation seconds>`. */
export function formatConsumerArn(p: ConsumerArnParts): string {
  return `arn:aws:kinesis:${p.region}:${p.accountId}:stream/${p.stream}/consumer/${p.consumer}:${p.createdSeconds}`;
}

export function parseConsumerArn(arn: string): ConsumerArnParts | undefined {
  const m = /^arn:aws[a-z-]*:kinesis:([a-z0-9-]*):(\d{12}):stream\/([a-zA-Z0-9_.-]+)\/consumer\/([a-zA-Z0-9_.-]+):(\d{1,15})$/.exec(arn);
  if (!m) return undefined;
  return { region: m[1]!, accountId: m[2]!, stream: m[3]!, consumer: m[4]!, createdSeconds: Number(m[5]) };
}

export const consumerErrors = {
  /** Not observed. */
  alreadyExists: (consumer: string, stream: string, account: string) =>
    new AwsError('ResourceInUseException', `Consumer ${consumer} under stream ${stream} and account ${account} already exists.`),
  /** Not observed. */
  notFound: (consumer: string, stream: string, account: string) =>
    new AwsError('ResourceNotFoundException', `Consumer ${consumer} under stream ${stream} and account ${account} not found.`),
  /** Not observed. */
  tooMany: (stream: string, account: string) =>
    new AwsError('LimitExceededException', `Consumer limit of ${consumersPerStreamMax} reached for stream ${stream} under account ${account}.`),
  /** Not observed. */
  tooManyCreating: (stream: string, account: string) =>
    new AwsError('LimitExceededException', `Only ${consumersCreatingMax} consumers can be in CREATING status at once for stream ${stream} under account ${account}.`),
  /** Observed from DeregisterStreamConsumer / resource-policy calls. */
  notActive: (consumer: string, createdSeconds: number, stream: string, account: string) =>
    new AwsError('ResourceInUseException', `Consumer ${consumer} with creation timestamp ${createdSeconds} under stream ${stream} and account ${account} is not in ACTIVE status.`),
  /** Observed from SubscribeToShard. */
  notActiveForSubscribe: (consumer: string, createdSeconds: number, stream: string, account: string) =>
    new AwsError('ResourceInUseException', `Consumer ${consumer} with creation timestamp ${createdSeconds} under stream: ${stream} , account ${account} is not in ACTIVE status.`),
  /** Observed from SubscribeToShard. */
  subscribed: (account: string, stream: string, shardId: string, consumer: string) =>
    new AwsError('ResourceInUseException', `Another active subscription exists for this consumer: ${account}:${stream}:${shardId}:${consumer}`),
  /** Not observed. */
  hasConsumers: (stream: string, account: string) =>
    new AwsError('ResourceInUseException', `Stream ${stream} under account ${account} has registered consumers. Deregister them or set EnforceConsumerDeletion to delete the stream.`),
};
