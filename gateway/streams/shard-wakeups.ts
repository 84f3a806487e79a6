/**
 * Wake-ups for readers that wait at the end of a shard (SubscribeToShard):
 * the write path calls `notifyDurable` once appended records are durable and
 * readable, and every waiter of that shard resumes at once instead of
 * polling. Waiters are kept per shard runtime, so a closed or deleted shard
 * just stops waking anyone (readers also wake on their own timeout).
 */
import type { ShardRuntime } from './model.ts';

const waiters = new WeakMap<ShardRuntime, Set<() => void>>();

/** Wakes every reader waiting on `shard`. */
export function notifyDurable(shard: ShardRuntime): void {
  const set = waiters.get(shard);
  if (!set) return;
  waiters.delete(shard);
  for (const wake of set) wake();
}

/** Calls `notifyDurable` when an append's `durable` promise resolves (a failed append wakes no one). */
export function notifyWhenDurable(shard: ShardRuntime, durable: Promise<void>): void {
  durable.then(() => notifyDurable(shard), () => undefined);
}

/**
 * Resolves at the next `notifyDurable` of the shard, after `timeoutMs`, or
 * when `signal` aborts, whichever comes first. Check for records *before*
 * calling: a notification that happened earlier is not remembered.
 */
export function waitForDurable(shard: ShardRuntime, timeoutMs: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    let set = waiters.get(shard);
    if (!set) {
      set = new Set();
      waiters.set(shard, set);
    }
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      waiters.get(shard)?.delete(done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, timeoutMs));
    signal.addEventListener('abort', done, { once: true });
    set.add(done);
  });
}
