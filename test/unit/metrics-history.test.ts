// The console's metric history (gateway/console/metrics-history.ts) on a
// test clock: per-minute increases of the gateway's counters per resource,
// per-minute peaks of its peak gauges, minutes before the history began as
// null, the hour's window sliding, label filters, and the totals since start.
import { describe, expect, it } from 'vitest';
import { MetricsHistory, historyPeriodMs, historyPeriodsMax } from '../../gateway/console/metrics-history.ts';
import { Counter, PeakGauge } from '../../gateway/metrics.ts';

function setup() {
  let now = 1_800_000_000_000 + 10_000; // 10 s into a minute
  const records = new Counter('records', 'r');
  const throttled = new Counter('throttled', 't');
  const age = new PeakGauge('age', 'a');
  records.inc({ stream: 'old' }, 7); // before the history: counted in SinceStart, not in a minute
  const h = new MetricsHistory({
    k: {
      label: 'stream',
      series: [
        { name: 'IncomingRecords', unit: 'Count', source: { sum: records } },
        { name: 'Age', unit: 'Milliseconds', source: { maximum: age } },
        { name: 'WriteThrottles', unit: 'Count', source: { sum: throttled }, where: { direction: 'write' } },
      ],
    },
  }, () => now);
  return { h, records, throttled, age, advance: (ms: number) => ((now += ms), h.tick()) };
}

const series = (h: MetricsHistory, stream: string, name: string) => h.read('k', stream).Metrics.find((m) => m.MetricName === name)!;

describe('metric history', () => {
  it('books counter increases to their minute, per resource', () => {
    const { h, records, advance } = setup();
    records.inc({ stream: 'a' }, 3);
    records.inc({ stream: 'b' }, 100);
    advance(historyPeriodMs);
    records.inc({ stream: 'a' }, 2);
    const a = series(h, 'a', 'IncomingRecords');
    expect(a.Values.length).toBe(historyPeriodsMax);
    expect(a.Values.slice(-3)).toEqual([null, 3, 2]); // the minute before the history began is null; the last is the current one
    expect(a.SinceStart).toBe(5);
    expect(series(h, 'b', 'IncomingRecords').Values.slice(-2)).toEqual([100, 0]);
    expect(series(h, 'old', 'IncomingRecords').Values.slice(-2)).toEqual([0, 0]);
    expect(series(h, 'old', 'IncomingRecords').SinceStart).toBe(7);
    const start = h.read('k', 'a').StartTimes;
    expect(start.at(-1)! * 1000 % historyPeriodMs).toBe(0);
    expect(start.at(-1)! - start.at(-2)!).toBe(60);
  });

  it('keeps the peak of each minute for peak gauges, null where nothing was seen', () => {
    const { h, age, advance } = setup();
    age.set({ stream: 'a' }, 50);
    age.set({ stream: 'a' }, 900);
    age.set({ stream: 'a' }, 10);
    advance(historyPeriodMs);
    advance(historyPeriodMs);
    age.set({ stream: 'a' }, 20);
    expect(series(h, 'a', 'Age').Values.slice(-3)).toEqual([900, null, 20]);
    expect(series(h, 'a', 'Age').SinceStart).toBeUndefined();
  });

  it('filters by the other labels of a series', () => {
    const { h, throttled } = setup();
    throttled.inc({ stream: 'a', direction: 'write' }, 4);
    throttled.inc({ stream: 'a', direction: 'read' }, 9);
    throttled.inc({ stream: 'a-b', direction: 'write' }, 1);
    expect(series(h, 'a', 'WriteThrottles').Values.at(-1)).toBe(4);
  });

  it('slides: an hour later the first minute is gone', () => {
    const { h, records, advance } = setup();
    records.inc({ stream: 'a' }, 1);
    advance(historyPeriodMs);
    for (let i = 0; i < historyPeriodsMax - 2; i++) advance(historyPeriodMs);
    expect(series(h, 'a', 'IncomingRecords').Values[0]).toBe(1);
    advance(historyPeriodMs);
    expect(series(h, 'a', 'IncomingRecords').Values).toEqual(new Array(historyPeriodsMax).fill(0));
    expect(series(h, 'a', 'IncomingRecords').SinceStart).toBe(1);
  });
});
