// Proves the uplink scheduler's rules (issues #4, #13) on a fake clock: a higher priority with more than one batch waiting holds lower
// ones back, but never longer than waitMsMax between their requests; unhealthy or nearly idle uplinks hold no one back; the shared
// bandwidth cap is paid by all uplinks together, split by priority + 1 among those that compete for it, and work-conserving: a
// low-priority backlog gets nearly all of the cap beside a mostly idle high-priority uplink, whose latency stays bounded.
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
    expect(s.delayMs(b, 0)).toBe(0); // b asks for its turn: it competes for the link until it starts
    s.started(a, 0, 400); // a's share: 4/5 of 1000 B/s
    expect(s.delayMs(a, 0)).toBe(500);
    expect(s.delayMs(b, 0)).toBe(400); // the link itself is busy for 400 ms
    s.started(b, 400, 100); // b's share: 1/5
    expect(s.delayMs(b, 400)).toBe(500);
    expect(s.delayMs(a, 400)).toBe(100);
    expect(() => new UplinkScheduler({ waitMsMax: 0 })).toThrow(/waitMsMax/);
  });

  it('gives its share to the others while an uplink does not use it (work-conserving), and waits for it again when it does', () => {
    const s = new UplinkScheduler({ bandwidthBytesPerSecondMax: 1000 });
    const a = s.join(3);
    const b = s.join(0);
    a.backlogBatches = b.backlogBatches = 1;
    expect(s.delayMs(a, 0)).toBe(0);
    expect(s.delayMs(b, 0)).toBe(0);
    s.started(b, 0, 100); // a competes: b's share is 1/5
    expect(s.delayMs(b, 100)).toBe(400);
    s.started(a, 100, 100);
    // a does not ask again (idle, or lingering for a fuller batch): once a's ask has lapsed, b has the whole link.
    expect(s.delayMs(b, 2000)).toBe(0);
    s.started(b, 2000, 100);
    expect(s.delayMs(b, 2100)).toBe(0);
    s.started(b, 2100, 100);
    expect(s.delayMs(a, 2100)).toBe(100); // a waits only for the link (100 bytes at 1000 B/s), not for b's debt
  });

  it('does not hold the rest of a body back by priority, only its first piece', () => {
    const s = new UplinkScheduler({ waitMsMax: 1000 });
    const high = s.join(80);
    const low = s.join(10);
    high.backlogBatches = 5;
    low.backlogBatches = 1;
    expect(s.delayMs(low, 0)).toBe(1000);
    expect(s.delayMs(low, 0, { continuing: true })).toBe(0);
  });

  it('keeps a capped link busy although the timers fire late', () => {
    const s = new UplinkScheduler({ bandwidthBytesPerSecondMax: 100_000 });
    const slot = s.join(10);
    slot.backlogBatches = 10;
    let now = 0;
    let sent = 0;
    while (now < 10_000) {
      const wait = s.delayMs(slot, now);
      if (wait > 0) {
        now += wait + 7; // each timer 7 ms late
        continue;
      }
      s.started(slot, now, s.pieceBytes);
      sent += s.pieceBytes;
    }
    expect(sent / 10).toBeGreaterThan(0.97 * 100_000);
    expect(sent / 10).toBeLessThan(1.01 * 100_000 + s.pieceBytes / 10);
  });

  it('gives a low-priority backlog at least 90% of the cap beside a mostly idle high-priority uplink, whose latency stays bounded', () => {
    // The shape of `npm run bench -- camera`: telemetry (priority 50) has a record waiting nearly always and sends one small request
    // a second (lingering for a fuller batch in between); a camera's backlog (priority 10) writes its fragments piece by piece.
    const cap = 512 * 1024;
    const s = new UplinkScheduler({ bandwidthBytesPerSecondMax: cap, waitMsMax: 5000 });
    const telemetry = s.join(50);
    const video = s.join(10);
    telemetry.backlogBatches = 1;
    video.backlogBatches = 120;
    const pollMs = { telemetry: 100, video: 250 };
    const late = 3; // timers fire a little late, as on a loaded machine
    const seconds = 60;
    let telemetryReadyAt = 0;
    let telemetryAt = 0;
    let videoAt = 0;
    let piece = 0;
    let videoBytes = 0;
    const latencies: number[] = [];
    while (Math.min(telemetryAt, videoAt) < seconds * 1000) {
      if (telemetryAt <= videoAt) {
        const now = telemetryAt;
        const wait = s.delayMs(telemetry, now);
        if (wait > 0) {
          telemetryAt = now + Math.min(wait, pollMs.telemetry) + late;
          continue;
        }
        s.started(telemetry, now, 600);
        latencies.push(now - telemetryReadyAt);
        telemetryReadyAt += 1000; // lingers until then: not asking
        telemetryAt = telemetryReadyAt;
      } else {
        const now = videoAt;
        const wait = s.delayMs(video, now, { continuing: piece % 20 !== 0 }); // a 2 s fragment of ~500 KB is ~20 pieces
        if (wait > 0) {
          videoAt = now + Math.min(wait, pollMs.video) + late;
          continue;
        }
        s.started(video, now, s.pieceBytes);
        videoBytes += s.pieceBytes;
        piece++;
        videoAt = now + 1; // the next piece is asked for once this one is written
      }
    }
    expect(s.pieceBytes).toBeLessThanOrEqual(64 * 1024);
    expect(videoBytes / seconds).toBeGreaterThanOrEqual(0.9 * cap);
    expect(videoBytes / seconds).toBeLessThanOrEqual(1.01 * cap);
    // Telemetry waits for at most the piece being paid for (about 50 ms at the cap), and its own poll.
    expect(latencies.length).toBeGreaterThanOrEqual(seconds - 1);
    expect(Math.max(...latencies)).toBeLessThanOrEqual(((s.pieceBytes * 1000) / cap) + pollMs.telemetry + late);
  });
});
