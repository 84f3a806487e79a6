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

export type LinkState = 'up' | 'down';

export type UplinkEvent =
  | { type: 'link'; state: LinkState; error?: string }
  | { type: 'throttled'; records: number; requestRatePerSecond: number }
  | { type: 'retry'; failure: FailureClass; records: number; delayMs: number; error: string }
  | { type: 'dead-lettered'; records: number; reason: string }
  | { type: 'catch-up'; state: 'started' | 'finished'; backlogRecords: number }
  | { type: 'stopped'; unsentRecords: number; error?: string };
