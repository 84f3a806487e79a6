// Issue #11, item 1: proves the front door's request-memory budget
// (gateway/http/admission.ts) in isolation: bytes are charged as they arrive,
// one address cannot hold more than its share while others wait, memory never
// exceeds the budget plus one request, and any mix of concurrent bodies
// always completes (no deadlock), checked over random schedules with fast-check.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressKey, Budget, type Ticket } from '../../gateway/http/admission.ts';

describe('request-memory budget', () => {
  it('charges received bytes only and pauses an address past its share while another reads on', () => {
    const b = new Budget(100, 0.25);
    const resumed: string[] = [];
    const a1 = b.open('a', () => resumed.push('a1'));
    const a2 = b.open('a', () => resumed.push('a2'));
    const c1 = b.open('c', () => resumed.push('c1'));
    expect(b.inFlight).toBe(0); // opening a request reserves nothing
    expect(a2.charge(30)).toBe(false); // past a's share of 25, and not a's oldest reader
    expect(a1.charge(10)).toBe(true); // a's oldest reader always may read
    expect(c1.charge(20)).toBe(true); // another address is not held up by a
    const a3 = b.open('a', () => resumed.push('a3'));
    expect(a3.charge(1)).toBe(false);
    a1.release();
    expect(resumed).toEqual(['a2']); // a2 is now a's oldest reader; a3 still waits (a holds 31 >= 25)
    a2.finish();
    expect(resumed).toEqual(['a2', 'a3']);
    a3.release();
    expect(b.byAddress.get('a')).toBe(30);
    a2.release();
    expect(b.inFlight).toBe(20);
  });

  it('lets the oldest reader finish when the budget is full, then wakes the others', () => {
    const b = new Budget(100, 1);
    const resumed: string[] = [];
    const t = ['x', 'y', 'z'].map((n) => b.open(n, () => resumed.push(n)));
    expect(t[1]!.charge(60)).toBe(true);
    expect(t[2]!.charge(50)).toBe(false); // 110 >= 100
    expect(t[0]!.charge(80)).toBe(true); // the oldest reads past the budget
    t[0]!.finish();
    t[0]!.release();
    expect(resumed).toEqual([]); // 110 still in flight: y and z hold it
    t[1]!.finish(); // y complete: z becomes the oldest reader
    expect(resumed).toEqual(['z']);
  });

  it('completes every body of any schedule, within the budget plus one request', () => {
    const budgetMax = 1000;
    const requestMax = 400;
    const bodies = fc.array(fc.record({ address: fc.constantFrom('a', 'b', 'c'), size: fc.integer({ min: 1, max: requestMax }), chunk: fc.integer({ min: 1, max: 64 }) }), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(bodies, fc.infiniteStream(fc.nat()), (specs, picks) => {
        const b = new Budget(budgetMax, 0.25);
        const reqs = specs.map((s) => ({ ...s, got: 0, paused: false, ticket: undefined as unknown as Ticket }));
        for (const r of reqs) r.ticket = b.open(r.address, () => (r.paused = false));
        let peak = 0;
        const it = picks[Symbol.iterator]();
        for (let step = 0; step < 100_000; step++) {
          const active = reqs.filter((r) => !r.paused && r.got < r.size);
          if (active.length === 0) break;
          const r = active[it.next().value % active.length]!;
          const n = Math.min(r.chunk, r.size - r.got);
          r.got += n;
          if (!r.ticket.charge(n)) r.paused = true;
          peak = Math.max(peak, b.inFlight);
          if (r.got === r.size) {
            r.ticket.finish();
            // Handled and answered at once, in these runs.
            r.ticket.release();
          }
        }
        expect(reqs.every((r) => r.got === r.size)).toBe(true);
        expect(peak).toBeLessThanOrEqual(budgetMax + requestMax + 64);
        expect(b.inFlight).toBe(0);
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('groups IPv6 clients by /64 and keeps IPv4 (also when mapped) as is', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
  });
});
