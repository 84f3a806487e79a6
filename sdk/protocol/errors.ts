/**
 * The catalogue of AWS errors, one class per `__type`, with AWS's HTTP status.
 * The gateway serializes them (`toWire`) and SDK clients parse them back
 * (`AwsError.parse`). Messages are AWS's exact texts; the call sites build
 * them with the helpers at the bottom so that the wording lives in one place.
 */

export type AwsErrorType =
  | 'AccessDeniedException'
  /** DynamoDB's name for a failed conditional write; the gateway's lease API uses it the same way. */
  | 'ConditionalCheckFailedException'
  | 'ExpiredIteratorException'
  | 'ExpiredNextTokenException'
  | 'IncompleteSignatureException'
  | 'InternalFailure'
  | 'InvalidArgumentException'
  | 'InvalidSignatureException'
  | 'KMSAccessDeniedException'
  | 'KMSDisabledException'
  | 'KMSInvalidStateException'
  | 'KMSNotFoundException'
  | 'LimitExceededException'
  | 'MissingAuthenticationTokenException'
  | 'ProvisionedThroughputExceededException'
  | 'ResourceInUseException'
  | 'ResourceNotFoundException'
  | 'SerializationException'
  | 'ServiceUnavailableException'
  | 'UnknownOperationException'
  | 'UnrecognizedClientException'
  | 'ValidationException'
  | 'InvalidRequestException'
  | 'ConcurrentModificationException'
  | 'InvalidKMSResourceException'
  /** Kinesis Data Analytics (sdk/protocol/analytics/errors.ts). */
  | 'CodeValidationException'
  | 'InvalidApplicationConfigurationException'
  | 'ResourceProvisionedThroughputExceededException'
  | 'TooManyTagsException'
  | 'UnableToDetectSchemaException'
  | 'UnsupportedOperationException'
  /** Kinesis Video Streams (REST-JSON: the status travels with each error; see videoErrors). */
  | 'ClientLimitExceededException'
  | 'VersionMismatchException'
  | 'TagsPerResourceExceededLimitException'
  | 'AccountStreamLimitExceededException'
  | 'ConnectionLimitExceededException'
  | 'InvalidEndpointException'
  /** Kinesis Video archived media: packaging found media it cannot play back (all 400). */
  | 'UnsupportedStreamMediaTypeException'
  | 'MissingCodecPrivateDataException'
  | 'InvalidCodecPrivateDataException'
  | 'InvalidMediaFrameException'
  | 'NoDataRetentionException'
  /** Kinesis Video: 401, the caller may not use the stream or its session token expired. */
  | 'NotAuthorizedException';

/**
 * HTTP status per `__type`, as the JSON-RPC services answer them (400 unless
 * listed; kinesalite records AWS sending 400 for the authentication errors
 * too when the body is JSON). REST services pass their own status.
 */
const statusByType: Partial<Record<AwsErrorType, number>> = {
  InternalFailure: 500,
  ServiceUnavailableException: 503,
};

/**
 * The error types whose body AWS words with `Message` (capital M): the ones
 * its request framework raises before an action runs. kinesalite's captures
 * of Kinesis record `SerializationException` with `Message` and every
 * validation, authentication and action error with `message`; captures of
 * IAM denials from other JSON 1.1 services (`User: ... is not authorized to
 * perform: ...`) carry `Message` too.
 */
const capitalMessageTypes: ReadonlySet<AwsErrorType> = new Set(['SerializationException', 'AccessDeniedException']);

/** An error that AWS would answer with; `type` is the wire `__type`. */
export class AwsError extends Error {
  readonly status: number;
  constructor(
    readonly type: AwsErrorType,
    message?: string,
    status?: number,
  ) {
    super(message ?? type);
    this.name = type;
    this.status = status ?? statusByType[type] ?? 400;
    this.hasMessage = message !== undefined;
  }
  readonly hasMessage: boolean;

  /**
   * The body AWS sends: `{__type, message}`, or `{__type, Message}` for the
   * types AWS spells that way, message left out where AWS sends none.
   */
  toWire(): { __type: string; message?: string; Message?: string } {
    if (!this.hasMessage) return { __type: this.type };
    return capitalMessageTypes.has(this.type) ? { __type: this.type, Message: this.message } : { __type: this.type, message: this.message };
  }

  /**
   * Parses an error body as SDKs do: strip any `namespace#` prefix and any
   * `:suffix` from `__type`, read `message` or `Message`.
   */
  static parse(status: number, body: unknown, headerType?: string): AwsError {
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    let type = String(headerType ?? b.__type ?? b.code ?? 'InternalFailure');
    type = type.split('#').pop()!.split(':')[0]!;
    const message = typeof b.message === 'string' ? b.message : typeof b.Message === 'string' ? b.Message : undefined;
    return new AwsError(type as AwsErrorType, message, status);
  }
}

/** Our own operating errors: stable `code`, never branch on the message. */
export class TributaryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TributaryError';
  }
}

// AWS message builders for Data Streams. Kept here so the gateway and the
// tests agree on wording; each mirrors a message observed from AWS (and
// recorded by kinesalite's test-suite, which runs against the real service).

export const streamErrors = {
  notFound: (stream: string, account: string) =>
    new AwsError('ResourceNotFoundException', `Stream ${stream} under account ${account} not found.`),
  alreadyExists: (stream: string, account: string) =>
    new AwsError('ResourceInUseException', `Stream ${stream} under account ${account} already exists.`),
  notActive: (stream: string, account: string, status: string) =>
    new AwsError('ResourceInUseException', `Stream ${stream} under account ${account} not ACTIVE, instead in state ${status}`),
  shardNotFound: (shardId: string, stream: string, account: string) =>
    new AwsError('ResourceNotFoundException', `Could not find shard ${shardId} in stream ${stream} under account ${account}.`),
  shardMissing: (shardId: string, stream: string, account: string) =>
    new AwsError('ResourceNotFoundException', `Shard ${shardId} in stream ${stream} under account ${account} does not exist`),
};

// Kinesis Video Streams. Its REST-JSON errors carry their own HTTP status (the
// SDK models: 400 unless noted). "The requested stream is not found or not
// active." is AWS's text as the producer SDKs log it; the other texts are ours
// where AWS's are not published (docs/video.md lists them).
export const videoErrors = {
  streamNotFound: () => new AwsError('ResourceNotFoundException', 'The requested stream is not found or not active.', 404),
  streamExists: (name: string) => new AwsError('ResourceInUseException', `The stream ${name} already exists.`, 400),
  versionMismatch: (given: string) => new AwsError('VersionMismatchException', `The stream version ${given} does not match the current version.`, 400),
  invalidArgument: (message: string) => new AwsError('InvalidArgumentException', message, 400),
  clientLimit: (message: string) => new AwsError('ClientLimitExceededException', message, 400),
  tagsExceeded: (max: number) => new AwsError('TagsPerResourceExceededLimitException', `A resource can have at most ${max} tags.`, 400),
  accountStreamLimit: (max: number) => new AwsError('AccountStreamLimitExceededException', `The account has reached its limit of ${max} streams.`, 400),
};
