/**
 * Waiting on conditions instead of on time: a slow machine makes a test
 * slower, never wrong, and a broken input cannot pass by timing.
 */

export interface WaitOptions {
  /** Give up (and fail, naming what was awaited) after this long. */
  timeoutMs?: number;
  /** How often to look again. */
  intervalMs?: number;
}

/** What a truthy result of `T` can be. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/**
 * Polls `check` until it returns something truthy, and returns that. Throws
 * `timed out waiting for <what>` after `timeoutMs` (20 s by default), with
 * the last error `check` threw, if any, as the cause.
 */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, options: WaitOptions = {}): Promise<Truthy<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  const intervalMs = options.intervalMs ?? 10;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as Truthy<T>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`, lastError === undefined ? undefined : { cause: lastError });
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Resolves when `emitter` emits `event` with arguments `accept` approves of (every emission when absent). */
export function nextEvent<A extends unknown[]>(
  emitter: { on(event: string, fn: (...args: A) => void): unknown; off(event: string, fn: (...args: A) => void): unknown },
  event: string,
  accept: (...args: A) => boolean = () => true,
): Promise<A> {
  return new Promise((resolve) => {
    const fn = (...args: A) => {
      if (!accept(...args)) return;
      emitter.off(event, fn);
      resolve(args);
    };
    emitter.on(event, fn);
  });
}

/**
 * Observes a state that lasts `windowMs` from a moment the test marks (a
 * stream's CREATING, UPDATING or DELETING after the call that starts it).
 * `run` calls `open()` right before that call (or never: then the window is
 * counted from `run`'s start), makes its observations and returns them; the
 * caller asserts on them. They are returned only when `run` finished within
 * the window, so the state must still have held whatever the machine's
 * speed; a busy machine that took longer makes them inconclusive, and `run`
 * is tried again (it must set up afresh) up to `attempts` times.
 */
export async function withinWindow<T>(windowMs: number, run: (open: () => void, attempt: number) => Promise<T>, attempts = 5): Promise<T> {
  const tookMs: number[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    let opened = performance.now();
    const result = await run(() => void (opened = performance.now()), attempt);
    // A couple of milliseconds spare: timers count from the event loop's cached, millisecond clock.
    tookMs.push(Math.round(performance.now() - opened));
    if (tookMs.at(-1)! < windowMs - 2) return result;
  }
  throw new Error(`never observed within ${windowMs} ms (took ${tookMs.join(', ')} ms): the machine is too busy for this test`);
}
