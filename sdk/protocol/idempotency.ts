/**
 * Idempotent PutRecords, the part producer and gateway share: the header,
 * and the refusal of a batch number older than the producer's last one
 * (which names that last number, so a producer that lost its state can
 * continue above it). See docs/streams.md, "Idempotent PutRecords".
 */

export const idempotencyHeader = 'x-tributary-idempotency-key';

/** How the refusal's message starts (an InvalidArgumentException). */
export const staleBatchPrefix = 'Stale idempotency key';

export function staleBatchMessage(key: string, lastBatch: number): string {
  return `${staleBatchPrefix} ${key}: this producer's last batch is ${lastBatch}; batch numbers must increase.`;
}

/** The producer's last batch number, when `message` is a stale-batch refusal. */
export function parseStaleBatch(message: string): number | undefined {
  if (!message.startsWith(staleBatchPrefix)) return undefined;
  const m = /last batch is (\d{1,16});/.exec(message);
  const n = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}
