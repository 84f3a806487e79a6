/**
 * Sorts failures into the four ways the uplink handles them. Pure: error
 * values in, a class out.
 */
import { AwsError } from '../../sdk/protocol/errors.ts';
import type { FailureClass } from './events.ts';

const throttleTypes = new Set(['ProvisionedThroughputExceededException', 'LimitExceededException', 'ThrottlingException']);
const transientTypes = new Set(['InternalFailure', 'ServiceUnavailableException']);

/** A whole-request failure: anything that is not an AWS error answer is the network's. */
export function classifyRequestError(err: unknown): FailureClass {
  if (!(err instanceof AwsError)) return 'unreachable';
  if (throttleTypes.has(err.type)) return 'throttled';
  // A gateway answering 5xx (or a proxy in front of it) is as good as unreachable.
  if (err.status >= 500 || transientTypes.has(err.type)) return 'unreachable';
  return 'refused';
}

/** A per-record `ErrorCode` inside a PutRecords answer (the gateway did answer). */
export function classifyRecordError(code: string): FailureClass {
  if (throttleTypes.has(code)) return 'throttled';
  if (transientTypes.has(code)) return 'transient';
  return 'refused';
}

/** A short, payload-free description for stats and events. */
export function describeError(err: unknown): string {
  if (err instanceof AwsError) return `${err.type}: ${err.message}`;
  if (err instanceof Error) return `${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}`;
  return String(err);
}
