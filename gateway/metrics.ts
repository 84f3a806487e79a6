/**
 * Prometheus metrics in the text exposition format (counters, gauges and
 * histograms with labels), served at GET /metrics. Small on purpose: no
 * dependency, and recording is a map lookup and an add.
 */
import assert from 'node:assert/strict';

type Labels = Record<string, string>;

/** A label value as the text format writes it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** HELP text as the text format writes it: backslash and line feed escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** The text format's key of a label set: names sorted, values escaped. */
const formatKey = (labels: Labels) => Object.keys(labels).sort().map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`).join(',');

/** Label sets remembered, whatever their count (stream names come and go): past this the cache starts again. */
export const labelKeysCachedMax = 10_000;
const keysByLabels = new Map<string, string>();
const keysOfFrozen = new WeakMap<Labels, string>();

/**
 * The key of a label set, built (sorted, escaped) once per label set rather
 * than on every inc: PutMedia counts each chunk it reads. A frozen labels
 * object (a connection's own, which cannot change) is found by identity;
 * any other by its names and values in its own order, each value prefixed by
 * its length so that no two label sets share a lookup string.
 */
export function labelKey(labels: Labels): string {
  const frozen = Object.isFrozen(labels);
  if (frozen) {
    const k = keysOfFrozen.get(labels);
    if (k !== undefined) return k;
  }
  let lookup = '';
  for (const name in labels) lookup += `${name}=${labels[name]!.length}:${labels[name]},`;
  let k = keysByLabels.get(lookup);
  if (k === undefined) {
    k = formatKey(labels);
    if (keysByLabels.size >= labelKeysCachedMax) keysByLabels.clear();
    keysByLabels.set(lookup, k);
  }
  if (frozen) keysOfFrozen.set(labels, k);
  return k;
}
const key = labelKey;

const header = (name: string, help: string, type: string) => `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;

/** A monotonic count: it only goes up (a restart resets it, which Prometheus' rate() expects). */
export class Counter {
  readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, n = 1): void {
    assert.ok(n >= 0, 'a counter only goes up');
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + n);
  }
  render(): string {
    let s = header(this.name, this.help, 'counter');
    for (const [k, v] of this.values) s += `${this.name}${k ? `{${k}}` : ''} ${v}\n`;
    return s;
  }
}

/** A value that goes up and down (open shards, data freshness). */
export class Gauge {
  readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  set(labels: Labels, n: number): void {
    this.values.set(key(labels), n);
  }
  render(): string {
    let s = header(this.name, this.help, 'gauge');
    for (const [k, v] of this.values) s += `${this.name}${k ? `{${k}}` : ''} ${v}\n`;
    return s;
  }
}

/**
 * A gauge whose highest value between two `takePeaks()` calls is kept too
 * (iterator age, data freshness): the text format shows the last value, the
 * console's metric history (gateway/console/metrics-history.ts) the peak of
 * each minute, as CloudWatch's Maximum statistic does.
 */
export class PeakGauge extends Gauge {
  private peaks = new Map<string, number>();
  override set(labels: Labels, n: number): void {
    super.set(labels, n);
    const k = key(labels);
    const peak = this.peaks.get(k);
    if (peak === undefined || n > peak) this.peaks.set(k, n);
  }
  /** The peak per label set since the last call (label sets seen since then only), and a fresh start. */
  takePeaks(): Map<string, number> {
    const out = this.peaks;
    this.peaks = new Map();
    return out;
  }
  /** The peaks so far, without a fresh start. */
  currentPeaks(): ReadonlyMap<string, number> {
    return this.peaks;
  }
}

export class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {}
  observe(labels: Labels, v: number): void {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }
  render(): string {
    let out = header(this.name, this.help, 'histogram');
    for (const [k, s] of this.series) {
      const sep = k ? ',' : '';
      this.buckets.forEach((b, i) => (out += `${this.name}_bucket{${k}${sep}le="${b}"} ${s.counts[i]}\n`));
      out += `${this.name}_bucket{${k}${sep}le="+Inf"} ${s.count}\n`;
      out += `${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}\n${this.name}_count${k ? `{${k}}` : ''} ${s.count}\n`;
    }
    return out;
  }
}

export class Metrics {
  readonly requests = new Counter('tributary_requests_total', 'API requests by service, action and outcome (ok or the error type).');
  readonly requestSeconds = new Histogram('tributary_request_duration_seconds', 'API request latency.', [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
  readonly incomingRecords = new Counter('tributary_streams_incoming_records_total', 'Records accepted by PutRecord/PutRecords, by stream.');
  readonly incomingBytes = new Counter('tributary_streams_incoming_bytes_total', 'Data bytes accepted, by stream.');
  readonly outgoingRecords = new Counter('tributary_streams_outgoing_records_total', 'Records returned by GetRecords, by stream.');
  readonly outgoingBytes = new Counter('tributary_streams_outgoing_bytes_total', 'Data bytes returned by GetRecords, by stream.');
  readonly throttled = new Counter('tributary_streams_throttled_total', 'Requests or records refused by the per-shard limits, by stream and direction.');
  readonly openShards = new Gauge('tributary_streams_open_shards', 'Open shards, by stream.');
  readonly iteratorAgeMs = new PeakGauge('tributary_streams_iterator_age_milliseconds', 'MillisBehindLatest of the last GetRecords answer, by stream (CloudWatch GetRecords.IteratorAgeMilliseconds).');
  readonly connectionsShed = new Counter('tributary_connections_shed_total', 'Connections closed by the connection limits, by reason: total, per_address, idle, handshake, rapid_reset.');
  readonly requestsCutOff = new Counter('tributary_requests_cut_off_total', 'Requests answered or closed before their body was read: unauthenticated (headers fail authentication), body_timeout, client_certificate (mutual TLS: none, or revoked).');
  readonly clientCertificatesRefused = new Counter('tributary_tls_client_certificates_refused_total', 'TLS connections closed at the handshake because their client certificate belongs to no active principal (mutual TLS).');

  /** Process gauges in the names Prometheus' client libraries use. */
  private processGauges(): string {
    const m = process.memoryUsage();
    const cpu = process.cpuUsage();
    const lines = [
      ['process_resident_memory_bytes', 'gauge', 'Resident set size.', m.rss],
      ['process_cpu_seconds_total', 'counter', 'User and system CPU time.', (cpu.user + cpu.system) / 1e6],
      ['nodejs_heap_used_bytes', 'gauge', 'V8 heap in use.', m.heapUsed],
      ['nodejs_heap_total_bytes', 'gauge', 'V8 heap reserved.', m.heapTotal],
      ['nodejs_external_memory_bytes', 'gauge', 'Memory of Buffers and other objects outside the V8 heap.', m.external + m.arrayBuffers],
    ] as const;
    return lines.map(([name, type, help, v]) => `${header(name, help, type)}${name} ${v}\n`).join('');
  }

  render(): string {
    return this.processGauges() + [this.requests, this.requestSeconds, this.incomingRecords, this.incomingBytes, this.outgoingRecords, this.outgoingBytes, this.throttled, this.openShards, this.iteratorAgeMs, this.requestsCutOff, this.connectionsShed, this.clientCertificatesRefused]
      .map((m) => m.render())
      .join('');
  }
}
