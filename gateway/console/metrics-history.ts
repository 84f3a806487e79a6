/**
 * The last hour of the gateway's per-resource metrics, in memory, for the
 * console's charts (`Tributary_20261125.GetMetricHistory`). Nothing new is
 * counted: at each minute boundary the history reads the counters the
 * gateway already keeps for `/metrics` and stores, per minute, how much each
 * went up (CloudWatch's Sum) and the peak of each peak gauge (its Maximum).
 * Only what changed is stored, so idle streams cost nothing; a restart
 * starts an empty hour (the counters start again at zero too).
 *
 * The boundary is taken by a timer set for the next minute; counts that
 * arrive between the boundary and the timer (milliseconds, more on a busy
 * event loop) are booked to the minute before.
 */
import assert from 'node:assert/strict';
import type { StructureShape } from '../http/validate.ts';
import type { Counter, PeakGauge } from '../metrics.ts';

/** CloudWatch's period for Kinesis and Firehose metrics: one minute. */
export const historyPeriodMs = 60_000;
/** One hour of periods. */
export const historyPeriodsMax = 60;

export interface HistorySeries {
  /** CloudWatch's metric name (`IncomingRecords`, `GetRecords.IteratorAgeMilliseconds`, ...). */
  name: string;
  unit: 'Count' | 'Bytes' | 'Milliseconds' | 'Seconds';
  /** A counter's increase per minute, or a peak gauge's highest value in it. */
  source: { sum: Counter } | { maximum: PeakGauge };
  /** Other labels the series is limited to (`direction="read"`). */
  where?: Record<string, string>;
}

export interface HistoryNamespace {
  /** The label that names the resource: `stream`, `delivery_stream`. */
  label: string;
  series: HistorySeries[];
}

type Minute = { startMs: number; values: Array<Map<string, number>> };

const labelPattern = /(\w+)="((?:[^"\\]|\\.)*)"/g;
const unescape = (v: string) => v.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));

/** The labels of a series key as the metrics module writes it (`a="x",b="y"`). */
function labelsOf(key: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of key.matchAll(labelPattern)) out[m[1]!] = unescape(m[2]!);
  return out;
}

export interface MetricHistoryAnswer {
  PeriodSeconds: number;
  /** Epoch seconds: the start of each minute, oldest first; the last is the current, partial minute. */
  StartTimes: number[];
  Metrics: Array<{ MetricName: string; Statistic: 'Sum' | 'Maximum'; Unit: string; Values: Array<number | null>; SinceStart?: number }>;
}

export class MetricsHistory {
  private readonly minutes: Minute[] = [];
  /** The counters' values at the last boundary. */
  private last: Array<Map<string, number>>;
  private startMs: number;
  /** The minute the history began: Sum series are 0, not null, from there on. */
  private readonly beganMs: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly all: HistorySeries[];

  constructor(
    readonly namespaces: Record<string, HistoryNamespace>,
    private readonly now: () => number = Date.now,
  ) {
    this.all = Object.values(namespaces).flatMap((n) => n.series);
    this.last = this.all.map((s) => ('sum' in s.source ? new Map(s.source.sum.values) : new Map()));
    this.startMs = Math.floor(now() / historyPeriodMs) * historyPeriodMs;
    this.beganMs = this.startMs;
    for (const s of this.all) if ('maximum' in s.source) s.source.maximum.takePeaks();
  }

  /** Takes a boundary at each minute until `stop()`. */
  start(): void {
    const arm = () => {
      this.timer = setTimeout(() => {
        this.tick();
        arm();
      }, historyPeriodMs - (this.now() % historyPeriodMs) + 5);
      this.timer.unref();
    };
    arm();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** Closes the current minute if the clock has passed its end (the timer calls it; tests call it with their clock). */
  tick(): void {
    const nowMinute = Math.floor(this.now() / historyPeriodMs) * historyPeriodMs;
    if (nowMinute <= this.startMs) return;
    this.minutes.push({ startMs: this.startMs, values: this.current(true) });
    while (this.minutes.length >= historyPeriodsMax) this.minutes.shift();
    this.startMs = nowMinute;
  }

  /** Each series' values in the current minute so far; `close` makes them the minute's (the counters' base moves, the peaks restart). */
  private current(close: boolean): Array<Map<string, number>> {
    return this.all.map((s, i) => {
      if ('maximum' in s.source) return close ? s.source.maximum.takePeaks() : new Map(s.source.maximum.currentPeaks());
      const base = this.last[i]!;
      const out = new Map<string, number>();
      for (const [k, v] of s.source.sum.values) if (v !== (base.get(k) ?? 0)) out.set(k, v - (base.get(k) ?? 0));
      if (close) this.last[i] = new Map(s.source.sum.values);
      return out;
    });
  }

  /** The last hour of one resource's series; minutes before the history began are null. */
  read(namespace: string, resource: string): MetricHistoryAnswer {
    this.tick();
    const ns = this.namespaces[namespace];
    assert.ok(ns, `unknown namespace ${namespace}`);
    const minutes = [...this.minutes, { startMs: this.startMs, values: this.current(false) }];
    const firstMs = this.startMs - (historyPeriodsMax - 1) * historyPeriodMs;
    const startTimes = Array.from({ length: historyPeriodsMax }, (_, i) => (firstMs + i * historyPeriodMs) / 1000);
    const matches = (s: HistorySeries, key: string) => {
      const l = labelsOf(key);
      return l[ns.label] === resource && Object.entries(s.where ?? {}).every(([k, v]) => l[k] === v);
    };
    const Metrics = ns.series.map((s) => {
      const i = this.all.indexOf(s);
      const values: Array<number | null> = startTimes.map((t) => ('sum' in s.source && t * 1000 >= this.beganMs ? 0 : null));
      for (const m of minutes) {
        const at = (m.startMs - firstMs) / historyPeriodMs;
        if (at < 0) continue;
        let v: number | null = 'sum' in s.source ? 0 : null;
        for (const [k, x] of m.values[i]!) if (matches(s, k)) v = 'sum' in s.source ? v! + x : Math.max(v ?? x, x);
        values[at] = v;
      }
      let sinceStart: number | undefined;
      if ('sum' in s.source) {
        sinceStart = 0;
        for (const [k, x] of s.source.sum.values) if (matches(s, k)) sinceStart += x;
      }
      return { MetricName: s.name, Statistic: 'sum' in s.source ? ('Sum' as const) : ('Maximum' as const), Unit: s.unit, Values: values, ...(sinceStart !== undefined ? { SinceStart: sinceStart } : {}) };
    });
    return { PeriodSeconds: historyPeriodMs / 1000, StartTimes: startTimes, Metrics };
  }
}

/** The series of the console's charts, under CloudWatch's names, from the counters of `/metrics`. */
export function gatewayHistory(m: import('../metrics.ts').Metrics, f: import('../firehose/metrics.ts').FirehoseMetrics, now?: () => number): MetricsHistory {
  return new MetricsHistory({
    'AWS/Kinesis': {
      label: 'stream',
      series: [
        { name: 'IncomingRecords', unit: 'Count', source: { sum: m.incomingRecords } },
        { name: 'IncomingBytes', unit: 'Bytes', source: { sum: m.incomingBytes } },
        { name: 'GetRecords.Records', unit: 'Count', source: { sum: m.outgoingRecords } },
        { name: 'GetRecords.IteratorAgeMilliseconds', unit: 'Milliseconds', source: { maximum: m.iteratorAgeMs } },
        { name: 'WriteProvisionedThroughputExceeded', unit: 'Count', source: { sum: m.throttled }, where: { direction: 'write' } },
        { name: 'ReadProvisionedThroughputExceeded', unit: 'Count', source: { sum: m.throttled }, where: { direction: 'read' } },
      ],
    },
    'AWS/Firehose': {
      label: 'delivery_stream',
      series: [
        { name: 'IncomingRecords', unit: 'Count', source: { sum: f.incomingRecords } },
        { name: 'IncomingBytes', unit: 'Bytes', source: { sum: f.incomingBytes } },
        { name: 'ThrottledRecords', unit: 'Count', source: { sum: f.throttledRecords } },
        { name: 'DeliveryToS3.Success', unit: 'Count', source: { sum: f.deliverySuccess } },
        { name: 'DeliveryToS3.Records', unit: 'Count', source: { sum: f.deliveryRecords } },
        { name: 'DeliveryToS3.DataFreshness', unit: 'Seconds', source: { maximum: f.dataFreshness } },
        { name: 'DeliveryToHttpEndpoint.Records', unit: 'Count', source: { sum: f.routed.httpRecords } },
        { name: 'DeliveryToHttpEndpoint.DataFreshness', unit: 'Seconds', source: { maximum: f.routed.httpDataFreshness } },
        { name: 'DeliveryToErrorOutput.Records', unit: 'Count', source: { sum: f.routed.errorRecords } },
      ],
    },
  }, now);
}

type Action = { shape: StructureShape; handle(input: Record<string, unknown>): unknown };

/** `Tributary_20261125.GetMetricHistory`: `{Namespace, ResourceName}` → the last hour, per minute. */
export function metricHistoryActions(history: MetricsHistory): Record<string, Action> {
  return {
    GetMetricHistory: {
      shape: {
        type: 'structure',
        members: {
          Namespace: { type: 'string', required: true, enum: Object.keys(history.namespaces) },
          ResourceName: { type: 'string', required: true, min: 1, max: 128 },
        },
      },
      handle: (input) => history.read(input.Namespace as string, input.ResourceName as string),
    },
  };
}
