/** What the uplink reports through `onEvent`: never payloads or secrets. */

/** How a failure is handled. */
export type FailureClass =
  /** ProvisionedThroughputExceeded and the like: slow down, retry. */
  | 'throttled'
  /** Network errors, timeouts, 5xx: the link is down; probe with backoff. */
  | 'unreachable'
  /** A single record failed inside the gateway (InternalFailure): retry with backoff. */
  | 'transient'
  /** No stream, no permission, invalid request: retry slowly, dead-letter after maxRecordAgeMs. */
  | 'refused';

/** `unknown` until the first answer from the gateway (or the first failure to reach it). */
export type LinkState = 'up' | 'down' | 'unknown';

export type UplinkEvent =
  | { type: 'link'; state: LinkState; error?: string }
  /** `pacedRecordsPerSecond`: the pace the uplink keeps from now on (the records the gateway accepted per second). */
  | { type: 'throttled'; records: number; pacedRecordsPerSecond: number | undefined }
  | { type: 'retry'; failure: FailureClass; records: number; delayMs: number; error: string }
  | { type: 'dead-lettered'; records: number; reason: string }
  /** Lanes opened for a backlog (one per shard) or closed again (1): requests that may be in flight at once. */
  | { type: 'lanes'; lanes: number }
  | { type: 'catch-up'; state: 'started' | 'finished'; backlogRecords: number }
  /** The send window could not be written down (a full disk): until it can, a crash may send a request's records twice. */
  | { type: 'intent-unsaved'; error: string }
  | { type: 'intent-saved' }
  /** The written-down send state did not line up with the buffer (damaged, or records dropped at the cap): records in flight then may be stored twice. */
  | { type: 'intent-mismatch' }
  /** ListShards failed: lanes split the hash key space evenly instead of by shard. */
  | { type: 'shard-map-unavailable'; error: string }
  | { type: 'stopped'; unsentRecords: number; error?: string };
