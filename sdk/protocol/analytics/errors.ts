/**
 * AWS error messages for Kinesis Data Analytics (API 2015-08-14), built in
 * one place so the gateway and the tests agree on wording. AWS's API
 * Reference lists the error types of each action but publishes few of the
 * texts; where it does not, the wording below follows the pattern of the
 * service's other messages and says what went wrong and with which value.
 */
import { AwsError } from '../errors.ts';

/** UnableToDetectSchemaException carries the records it looked at (service model). */
export class UnableToDetectSchemaError extends AwsError {
  constructor(
    message: string,
    readonly rawInputRecords: string[],
    readonly processedInputRecords: string[],
  ) {
    super('UnableToDetectSchemaException', message);
  }

  override toWire(): { __type: string; message?: string } & Record<string, unknown> {
    return { ...super.toWire(), RawInputRecords: this.rawInputRecords, ProcessedInputRecords: this.processedInputRecords };
  }
}

export const analyticsErrors = {
  notFound: (name: string) => new AwsError('ResourceNotFoundException', `Application ${name} is not found.`),
  arnNotFound: (arn: string) => new AwsError('ResourceNotFoundException', `Application with ARN ${arn} is not found.`),
  alreadyExists: (name: string, account: string) => new AwsError('ResourceInUseException', `Application ${name} already exists under account ${account}.`),
  inUse: (name: string, status: string) => new AwsError('ResourceInUseException', `Application ${name} is in ${status} state; this operation is not allowed in it.`),
  notReady: (name: string, status: string) => new AwsError('ResourceInUseException', `Application ${name} must be in READY state to start; it is in ${status} state.`),
  notRunning: (name: string, status: string) => new AwsError('ResourceInUseException', `Application ${name} must be in RUNNING state to stop; it is in ${status} state.`),
  versionMismatch: (name: string, given: number, current: number) =>
    new AwsError('ConcurrentModificationException', `Provided application version id ${given} does not match the current application version id ${current} of application ${name}.`),
  createTimestampMismatch: (name: string) =>
    new AwsError('ConcurrentModificationException', `Provided create timestamp does not match the create timestamp of application ${name}.`),
  tooManyApplications: (max: number) => new AwsError('LimitExceededException', `You have reached the limit of ${max} applications in this Region under your account.`),
  tooManyTags: (max: number) => new AwsError('TooManyTagsException', `Application cannot have more than ${max} user-defined tags.`),
  code: (message: string) => new AwsError('CodeValidationException', message),
  invalid: (message: string) => new AwsError('InvalidArgumentException', message),
  configuration: (message: string) => new AwsError('InvalidApplicationConfigurationException', message),
  unsupported: (message: string) => new AwsError('UnsupportedOperationException', message),
  unableToDetect: (message: string, raw: string[], processed: string[]) => new UnableToDetectSchemaError(message, raw, processed),
};
