/**
 * Logs conditions, not events (issue #15): a link that stays down, a
 * destination that keeps throttling, a disk that stays full are logged once
 * when they start (warn or error) and once when they end (info), with how
 * many times they were seen in between, instead of a line per retry or per
 * record. A condition that lasts gets one reminder per `remindMs` with the
 * counts so far, so a journal that rotated still shows it.
 *
 * @example
 * const conditions = new ConditionLog(log);
 * conditions.raise('link:telemetry', 'warn', 'link down', { destination: 'telemetry', error });
 * conditions.clear('link:telemetry', 'link up', { destination: 'telemetry' });
 */
import type { AgentLogger } from './daemon.ts';

export const conditionRemindMsDefault = 10 * 60_000;

interface Open {
  sinceMs: number;
  lastLoggedMs: number;
  /** Times raised since it started. */
  count: number;
  /** Extra counts the caller adds up (records refused, retries...). */
  totals: Record<string, number>;
  level: 'warn' | 'error';
  msg: string;
}

export class ConditionLog {
  readonly #open = new Map<string, Open>();

  constructor(private readonly log: AgentLogger, private readonly o: { remindMs?: number; now?: () => number } = {}) {}

  /**
   * The condition `key` holds (again). Logged the first time, and as a
   * reminder once per `remindMs`; `add` sums counts (such as records) across
   * repeats.
   */
  raise(key: string, level: 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}, add: Record<string, number> = {}): void {
    const now = (this.o.now ?? Date.now)();
    let c = this.#open.get(key);
    if (!c) {
      c = { sinceMs: now, lastLoggedMs: now, count: 0, totals: {}, level, msg };
      this.#open.set(key, c);
      this.#add(c, add);
      c.count++;
      this.log[level](msg, { ...fields, ...c.totals });
      return;
    }
    c.count++;
    this.#add(c, add);
    if (now - c.lastLoggedMs >= (this.o.remindMs ?? conditionRemindMsDefault)) {
      c.lastLoggedMs = now;
      this.log[c.level](`${c.msg} (still)`, { ...fields, times: c.count, sinceMs: now - c.sinceMs, ...c.totals });
    }
  }

  /** The condition ended: logged at info with its duration and counts. Nothing when it was not raised. */
  clear(key: string, msg: string, fields: Record<string, unknown> = {}): void {
    const c = this.#open.get(key);
    if (!c) return;
    this.#open.delete(key);
    this.log.info(msg, { ...fields, times: c.count, lastedMs: (this.o.now ?? Date.now)() - c.sinceMs, ...c.totals });
  }

  isRaised(key: string): boolean {
    return this.#open.has(key);
  }

  #add(c: Open, add: Record<string, number>): void {
    for (const [k, v] of Object.entries(add)) c.totals[k] = (c.totals[k] ?? 0) + v;
  }
}
