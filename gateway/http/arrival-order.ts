/**
 * Writes are applied in the order their requests arrived. A PutRecords body
 * is prepared (parsed, verified, decoded) in an offload worker or inline,
 * and with more than one worker, or inline work beside a queued worker, a
 * later request can be ready first. Records of one partition key must never
 * be stored out of arrival order (a producer with several requests in
 * flight counts on it: test/integration/producer.test.ts and
 * arrival-order.test.ts), so each write takes a turn when its body is
 * complete and applies (appends, which assigns its sequence numbers
 * synchronously) only after every earlier turn has.
 *
 * A turn that fails before applying still passes the line on in order.
 */

export interface Turn {
  /** Resolves when every earlier turn is done; undefined when none was open (apply at once). */
  readonly ready: Promise<void> | undefined;
  /** Call once, after applying (or failing): later turns may go once the earlier ones have. */
  done(): void;
}

export class ArrivalOrder {
  /** Resolves when every turn taken so far is done. */
  private tail: Promise<void> = Promise.resolve();
  private open = 0;

  take(): Turn {
    const ready = this.open > 0 ? this.tail : undefined;
    this.open++;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    let finished = false;
    const finish = () => {
      this.open--;
      release();
    };
    return {
      ready,
      done: () => {
        if (finished) return;
        finished = true;
        // Never ahead of an earlier turn, even when this one failed before it waited.
        if (ready) void ready.then(finish);
        else finish();
      },
    };
  }

  /** Turns taken and not yet done (tests, metrics). */
  get pending(): number {
    return this.open;
  }
}
