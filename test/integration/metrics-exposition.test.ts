// Proves the gateway's Prometheus exposition is valid text format: label values with backslashes, quotes and line feeds come back exactly through a real parser (parse-prometheus-text-format, a port of Prometheus' own), and every family's TYPE is right (counters count, gauges are gauges), both for the metric classes and for a live gateway's GET /metrics with Data Streams and Firehose traffic.
import http from 'node:http';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { PutRecordCommand as FirehosePutRecordCommand } from '@aws-sdk/client-firehose';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Histogram, Metrics } from '../../gateway/metrics.ts';
import { FirehoseMetrics } from '../../gateway/firehose/metrics.ts';
import { VideoMetrics } from '../../gateway/video/metrics.ts';
import { createActiveStream, kinesisClient, testGateway } from '../helpers/gateway.ts';
import { createActiveDeliveryStream, firehoseClient } from '../helpers/firehose.ts';

interface Family {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string> }>;
}
const parse = (text: string) => parsePrometheusTextFormat(text) as Family[];

describe('text format', () => {
  const hostile = ['back\\slash', 'a "quoted" value', 'two\nlines', '\\n is not a line feed', 'all\\"\n\\'];

  it('escapes label values so that a parser reads them back exactly', () => {
    const counter = new Counter('t_total', 'Counts.');
    const gauge = new Gauge('t_level', 'Levels.');
    const histogram = new Histogram('t_seconds', 'Takes.', [0.1, 1]);
    hostile.forEach((v, i) => {
      counter.inc({ value: v, other: 'plain' }, i + 1);
      gauge.set({ value: v }, -i);
      histogram.observe({ value: v }, i / 2);
    });
    const families = parse(counter.render() + gauge.render() + histogram.render());
    expect(families.map((f) => [f.name, f.type])).toEqual([['t_total', 'COUNTER'], ['t_level', 'GAUGE'], ['t_seconds', 'HISTOGRAM']]);
    expect(families[0]!.metrics.map((m) => [m.labels, m.value])).toEqual(hostile.map((v, i) => [{ other: 'plain', value: v }, String(i + 1)]));
    expect(families[1]!.metrics.map((m) => [m.labels!.value, m.value])).toEqual(hostile.map((v, i) => [v, String(-i)]));
    // The parser folds a histogram's series into one and drops their labels (a limit of the library), so
    // for histograms it checks the syntax only; the labels go through the same escaping as above.
    expect(families[2]!.metrics[0]!.buckets).toBeDefined();
  });

  it('escapes HELP text', () => {
    const [family] = parse(new Counter('h_total', 'A help text with a \\ and\na second line.').render());
    expect(family!.help).toBe('A help text with a \\ and\na second line.');
  });

  it('refuses to count down', () => {
    expect(() => new Counter('c_total', 'x').inc({}, -1)).toThrow(/only goes up/);
  });
});

describe('the metrics the gateway serves', () => {
  /** Families whose values go up and down; everything else counts (or is a histogram). */
  const gauges = new Set([
    'process_resident_memory_bytes', 'nodejs_heap_used_bytes', 'nodejs_heap_total_bytes', 'nodejs_external_memory_bytes',
    'tributary_streams_open_shards', 'tributary_streams_iterator_age_milliseconds', 'tributary_firehose_DeliveryToS3_DataFreshness', 'tributary_firehose_DeliveryToHttpEndpoint_DataFreshness',
    'tributary_analytics_MillisBehindLatest', 'tributary_analytics_Output_PendingRecords',
    'tributary_kinesisvideo_PutMedia_ActiveConnections', 'tributary_kinesisvideo_GetMedia_MillisBehindNow', 'tributary_kinesisvideo_StoredFragments',
  ]);
  const expectTypes = (families: Family[]) => {
    expect(families.length).toBeGreaterThan(10);
    for (const f of families) {
      // Histograms are the latencies: tributary_request_duration_seconds, tributary_kinesisvideo_*Latency_seconds.
      const want = f.name.endsWith('_seconds') ? 'HISTOGRAM' : gauges.has(f.name) ? 'GAUGE' : 'COUNTER';
      expect(`${f.name} ${f.type}`).toBe(`${f.name} ${want}`);
    }
    expect(new Set(families.map((f) => f.name)).size).toBe(families.length);
  };

  it('types every family right in the classes', () => {
    expectTypes(parse(new Metrics().render() + new FirehoseMetrics().render() + new VideoMetrics().render([{ name: 'cam', storedFragments: 1 }])));
  });

  it('serves a parseable /metrics with the right types after real traffic', async () => {
    const gw = await testGateway();
    const kinesis = kinesisClient(gw.url);
    const firehose = firehoseClient(gw.url);
    try {
      await createActiveStream(kinesis, 'metrics-stream', 2);
      await kinesis.send(new PutRecordCommand({ StreamName: 'metrics-stream', PartitionKey: 'k', Data: Buffer.from('x') }));
      await kinesis.send(new PutRecordCommand({ StreamName: 'absent', PartitionKey: 'k', Data: Buffer.from('x') })).catch(() => undefined);
      await createActiveDeliveryStream(firehose, { DeliveryStreamName: 'metrics-fh', ExtendedS3DestinationConfiguration: { RoleARN: 'arn:aws:iam::000000000000:role/f', BucketARN: 'arn:aws:s3:::metrics-bucket' } });
      await firehose.send(new FirehosePutRecordCommand({ DeliveryStreamName: 'metrics-fh', Record: { Data: Buffer.from('y') } }));
      const text = await new Promise<string>((resolve, reject) => {
        http.get(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${gw.metricsToken}` } }, (res) => {
          expect(res.headers['content-type']).toBe('text/plain; version=0.0.4');
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(body));
        }).on('error', reject);
      });
      const families = parse(text);
      expectTypes(families);
      const byName = new Map(families.map((f) => [f.name, f]));
      expect(byName.get('tributary_streams_open_shards')!.metrics).toEqual([{ labels: { stream: 'metrics-stream' }, value: '2' }]);
      const outcomes = byName.get('tributary_requests_total')!.metrics.filter((m) => m.labels!.service === 'kinesis' && m.labels!.action === 'PutRecord').map((m) => m.labels!.outcome).sort();
      expect(outcomes).toEqual(['ResourceNotFoundException', 'ok']);
      expect(byName.get('tributary_firehose_IncomingRecords')!.metrics.length).toBeGreaterThan(0);
    } finally {
      kinesis.destroy();
      firehose.destroy();
      await gw.close();
    }
  });
});
