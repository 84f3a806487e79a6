/**
 * AWS error messages for Firehose, built in one place so the gateway and the
 * tests agree on wording. The not-found / already-exists texts are the ones
 * AWS sends (moto and localstack record them the same way); the others follow
 * the same pattern where AWS's exact wording is not published.
 */
import { AwsError } from '../errors.ts';

export const firehoseErrors = {
  notFound: (name: string, account: string) => new AwsError('ResourceNotFoundException', `Firehose ${name} under account ${account} not found.`),
  alreadyExists: (name: string, account: string) => new AwsError('ResourceInUseException', `Firehose ${name} under accountId ${account} already exists`),
  notActive: (name: string, account: string, status: string) =>
    new AwsError('ResourceInUseException', `Firehose ${name} under account ${account} is not ACTIVE, instead in state ${status}.`),
  versionMismatch: (name: string, given: string, current: number) =>
    new AwsError('ConcurrentModificationException', `Cannot update firehose: ${name} since the current version id: ${current} and the specified version id: ${given} do not match`),
  destinationNotFound: (name: string, destinationId: string) =>
    new AwsError('InvalidArgumentException', `Destination Id ${destinationId} not found for firehose ${name}.`),
  batchTooLarge: () => new AwsError('InvalidArgumentException', 'Records size exceeds 4 MB limit'),
  tooManyStreams: (max: number) => new AwsError('LimitExceededException', `You have already consumed your firehose quota of ${max} hoses.`),
  tooManyTags: (name: string, max: number) =>
    new AwsError('LimitExceededException', `Failed to add tags to firehose ${name} because a given firehose cannot have more than ${max} tags associated with it.`),
  notDirectPut: () => new AwsError('InvalidArgumentException', 'This operation is not permitted on KinesisStreamAsSource delivery stream type.'),
  invalid: (message: string) => new AwsError('InvalidArgumentException', message),
};
