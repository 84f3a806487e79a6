/**
 * The agent's uplink: the public surface. Other packages import from here
 * only. See docs/agent-uplink.md for behaviour and guarantees.
 */
export { Uplink, type UplinkStats } from './uplink.ts';
export type { UplinkOptions } from './options.ts';
export { UplinkScheduler, type UplinkSchedulerOptions, type SchedulerSlot } from './scheduler.ts';
export type { UplinkEvent, FailureClass, LinkState } from './events.ts';
export * as uplinkLimits from './limits.ts';
