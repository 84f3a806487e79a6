/** The gateway logs through the shared JSON-lines logger. */
export * from '../sdk/log.ts';
