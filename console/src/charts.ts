/**
 * Metric charts for the last hour: `Tributary_20261125.GetMetricHistory`
 * (one value per minute, CloudWatch's names and statistics) drawn as SVG
 * bars, 60 to a chart. Each chart carries its figures as text too (its
 * accessible name), so a screen reader gets what the bars show.
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, type Credentials } from './api.ts';
import { Alert, errorText } from './ui.ts';

export type Metric = { MetricName: string; Statistic: 'Sum' | 'Maximum'; Unit: string; Values: Array<number | null>; SinceStart?: number };
export type History = { PeriodSeconds: number; StartTimes: number[]; Metrics: Metric[] };

export function amount(v: number, unit: string): string {
  if (unit === 'Bytes') {
    if (v >= 1 << 30) return `${(v / (1 << 30)).toFixed(1)} GiB`;
    if (v >= 1 << 20) return `${(v / (1 << 20)).toFixed(1)} MiB`;
    if (v >= 1 << 10) return `${(v / (1 << 10)).toFixed(1)} KiB`;
    return `${v} B`;
  }
  if (unit === 'Milliseconds') return `${v} ms`;
  if (unit === 'Seconds') return `${v} s`;
  return String(v);
}

/** The figures of a chart in words: the hour's total and this minute's (Sum), or the peak and the latest (Maximum). */
export function describeMetric(m: Metric): string {
  const seen = m.Values.filter((v): v is number => v !== null);
  const last = m.Values.at(-1);
  if (m.Statistic === 'Sum') {
    const hour = seen.reduce((a, b) => a + b, 0);
    return `${m.MetricName}: ${amount(hour, m.Unit)} in the last hour, ${amount(last ?? 0, m.Unit)} this minute${m.SinceStart !== undefined ? `, ${amount(m.SinceStart, m.Unit)} since the gateway started` : ''}`;
  }
  if (!seen.length) return `${m.MetricName}: no data in the last hour`;
  return `${m.MetricName}: peak ${amount(Math.max(...seen), m.Unit)} in the last hour, latest minute ${last === null || last === undefined ? 'none' : amount(last, m.Unit)}`;
}

function Chart(p: { m: Metric; startTimes: number[] }) {
  const w = 240;
  const ht = 60;
  const max = Math.max(1, ...p.m.Values.map((v) => v ?? 0));
  const bw = w / p.m.Values.length;
  const label = describeMetric(p.m);
  const from = new Date(p.startTimes[0]! * 1000).toTimeString().slice(0, 5);
  return h('figure', { class: 'chart' },
    h('figcaption', null, h('strong', null, p.m.MetricName), ` (${p.m.Statistic.toLowerCase()} per minute, max ${amount(max, p.m.Unit)})`),
    h('svg', { viewBox: `0 0 ${w} ${ht}`, width: w, height: ht, role: 'img', 'aria-label': label },
      p.m.Values.map((v, i) => (v ? h('rect', { x: i * bw + 0.5, y: ht - (v / max) * ht, width: Math.max(1, bw - 1), height: (v / max) * ht }) : null)),
    ),
    h('div', { class: 'axis' }, h('span', null, from), h('span', null, 'now')),
    h('p', { class: 'figures' }, label),
  );
}

/** The charts of one resource, loaded when shown and again on Refresh metrics and once a minute. */
export function MetricsPanel(p: { creds: Credentials; namespace: 'AWS/Kinesis' | 'AWS/Firehose'; resource: string; only?: string[] }) {
  const [hist, setHist] = useState<History | undefined>();
  const [error, setError] = useState('');
  const load = async () => {
    try {
      setHist(await call<History>(p.creds, 'admin', 'GetMetricHistory', { Namespace: p.namespace, ResourceName: p.resource }));
      setError('');
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => {
    void load();
    const t = setInterval(load, 60_000);
    return () => clearInterval(t);
  }, [p.resource]);
  const shown = hist?.Metrics.filter((m) => !p.only || p.only.includes(m.MetricName) || (m.Statistic === 'Sum' ? (m.SinceStart ?? 0) > 0 : m.Values.some((v) => v !== null)));
  return h('section', { 'aria-label': 'Metrics, last hour' },
    h('div', { class: 'row' }, h('h3', null, 'Metrics, last hour'), h('button', { type: 'button', onClick: load }, 'Refresh metrics')),
    h(Alert, { text: error }),
    shown && h('div', { class: 'charts' }, shown.map((m) => h(Chart, { key: m.MetricName, m, startTimes: hist!.StartTimes }))),
  );
}
