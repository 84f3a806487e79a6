// Issue #19: ArrivalOrder lets a turn apply only after every earlier turn is done, even when a
// turn in between fails and says it is done before its own turn came.
import { describe, expect, it } from 'vitest';
import { ArrivalOrder } from '../../gateway/http/arrival-order.ts';

const settled = async (p: Promise<void> | undefined) => {
  if (!p) return true;
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
};

describe('ArrivalOrder', () => {
  it('lets the first turn go at once and each later one after the earlier ones', async () => {
    const order = new ArrivalOrder();
    const a = order.take();
    const b = order.take();
    const c = order.take();
    expect(a.ready).toBeUndefined();
    expect(await settled(b.ready)).toBe(false);
    // b fails before its turn came: c must still wait for a.
    b.done();
    expect(await settled(c.ready)).toBe(false);
    a.done();
    expect(await settled(b.ready)).toBe(true);
    expect(await settled(c.ready)).toBe(true);
    expect(order.pending).toBe(1);
    c.done();
    c.done(); // a second call changes nothing
    await settled(Promise.resolve());
    expect(order.pending).toBe(0);
    expect(order.take().ready).toBeUndefined();
  });
});
