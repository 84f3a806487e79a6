// Proves the uplink scheduler's rules (issue #4) on a fake clock: a higher priority with more than one batch waiting holds lower ones
// back, but never longer than waitMsMax between their requests; unhealthy or nearly idle uplinks hold no one back; and the shared
// bandwidth cap is paid by all uplinks together, split by priority + 1 among those that may send.
import { describe, expect, it } from 'vitest';
import { UplinkScheduler } from '../../agent/uplink/index.ts';

describe('uplink scheduler', () => {
  it('holds a lower priority back while a healthy higher one has more than one batch, at most waitMsMax at a time', () => {
    const s = new UplinkScheduler({ waitMsMax: 1000 });
    const high = s.join(80);
    const low = s.join(20);
    const peer = s.join(20);
    low.backlogBatches = peer.backlogBatches = 10;
    expect(s.delayMs(low, 0)).toBe(0); // the high one is idle
    high.backlogBatches = 1;
    expect(s.delayMs(low, 0)).toBe(0); // one batch is not a backlog
    high.backlogBatches = 5;
    expect(s.delayMs(low, 100)).toBe(1000);
    expect(s.delayMs(low, 600)).toBe(500);
    expect(s.delayMs(low, 1100)).toBe(0); // starved long enough: one request
    s.started(low, 1100, 100);
    expect(s.delayMs(low, 1200)).toBe(1000);
    expect(s.delayMs(high, 1200)).toBe(0);
    expect(s.heldBack(peer)).toBe(true); // equal priorities do not hold each other back, higher ones do
    high.healthy = false; // link down or backing off
    expect(s.delayMs(low, 1300)).toBe(0);
    s.leave(high);
    high.healthy = true;
    expect(s.heldBack(low)).toBe(false);
  });

  it('divides the shared bandwidth cap by priority + 1 among the uplinks that may send', () => {
    const s = new UplinkScheduler({ bandwidthBytesPerSecondMax: 1000 });
    const a = s.join(3);
    const b = s.join(0);
    a.backlogBatches = b.backlogBatches = 1; // nobody holds anyone back
    s.started(a, 0, 400); // a's share: 4/5 of 1000 B/s
    expect(s.delayMs(a, 0)).toBe(500);
    expect(s.delayMs(b, 0)).toBe(400); // the link itself is busy for 400 ms
    s.started(b, 400, 100); // b's share: 1/5
    expect(s.delayMs(b, 400)).toBe(500);
    expect(s.delayMs(a, 400)).toBe(100);
    expect(() => new UplinkScheduler({ waitMsMax: 0 })).toThrow(/waitMsMax/);
  });
});
