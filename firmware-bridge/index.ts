/**
 * The firmware bridge's public surface: the frame codec, the uptime to
 * wall-clock estimator and the per-device deduplicator. All pure; the serial
 * port reader and the agent's `serial` input build on them.
 */
export * from './codec.ts';
export { DeviceDeduplicator, dedupWindowSizeDefault, type DedupSnapshot, type DedupVerdict } from './dedup.ts';
export { ClockEstimator, clockEstimatorDefaults, type ClockEstimatorOptions, type SampleVerdict, type TimeSyncSample } from './time-sync.ts';
