/**
 * The Delivery streams view (Firehose): the list, a delivery stream's
 * configuration (source, destination, buffering, compression, processors,
 * error output prefix, failure), its metrics of the last hour (delivered
 * objects and records, data freshness, records sent to the error output),
 * and a test record.
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, encodeData, type Credentials } from './api.ts';
import { MetricsPanel } from './charts.ts';
import { Alert, Field, ResourceList, Summary, errorText, time } from './ui.ts';

async function listDeliveryStreams(creds: Credentials): Promise<string[]> {
  const all: string[] = [];
  for (;;) {
    const out = await call<{ DeliveryStreamNames: string[]; HasMoreDeliveryStreams: boolean }>(creds, 'firehose', 'ListDeliveryStreams',
      { Limit: 100, ...(all.length ? { ExclusiveStartDeliveryStreamName: all[all.length - 1] } : {}) });
    all.push(...out.DeliveryStreamNames);
    if (!out.HasMoreDeliveryStreams || out.DeliveryStreamNames.length === 0) return all;
  }
}

/** Always charted; the HTTP endpoint's series only when they have data. */
const deliveryMetrics = ['IncomingRecords', 'DeliveryToS3.Success', 'DeliveryToS3.Records', 'DeliveryToS3.DataFreshness', 'DeliveryToErrorOutput.Records', 'ThrottledRecords'];

const arnName = (arn: string | undefined) => arn?.split(/[:/]/).pop();

/** One destination's description, whatever its kind (ExtendedS3, HttpEndpoint, Redshift, ...). */
function Destination(p: { d: Record<string, any> }) {
  const [key, d] = Object.entries(p.d).find(([k]) => k.endsWith('DestinationDescription') && !(k === 'S3DestinationDescription' && p.d.ExtendedS3DestinationDescription)) ?? ['', {}];
  const kind = key.replace(/DestinationDescription$/, '');
  const s3 = d.S3DestinationDescription ?? d;
  const hints = d.BufferingHints ?? s3.BufferingHints;
  const processors = d.ProcessingConfiguration?.Enabled ? (d.ProcessingConfiguration.Processors ?? []).map((x: { Type: string }) => x.Type).join(', ') : undefined;
  return h('section', { 'aria-label': `Destination ${p.d.DestinationId}` },
    h('h3', null, `Destination ${p.d.DestinationId}: ${kind}`),
    h(Summary, { items: [
      ['Target', d.BucketARN ?? d.EndpointConfiguration?.Url ?? d.ClusterJDBCURL ?? d.ConnectionString],
      ['Prefix', s3.Prefix ?? (kind.endsWith('S3') ? '(none)' : undefined)],
      ['Error output prefix', s3.ErrorOutputPrefix ?? (kind.endsWith('S3') ? '(none)' : undefined)],
      ['Buffering', hints && `${hints.SizeInMBs} MiB or ${hints.IntervalInSeconds} s, whichever comes first`],
      ['Compression', d.CompressionFormat ?? s3.CompressionFormat],
      ['Processors', processors],
      ['Backup', d.S3BackupMode],
      ['Retry', d.RetryOptions && `${d.RetryOptions.DurationInSeconds} s`],
      ['Backup bucket', d.S3BackupDescription?.BucketARN ?? (d.S3DestinationDescription && d.S3DestinationDescription.BucketARN)],
    ] }),
    h('details', null, h('summary', null, 'Full description'), h('pre', { class: 'json' }, JSON.stringify(p.d, null, 2))),
  );
}

function PutFirehoseRecord(p: { creds: Credentials; name: string }) {
  const [data, setData] = useState('{"hello": "firehose"}\n');
  const [result, setResult] = useState('');
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const out = await call<{ RecordId: string }>(p.creds, 'firehose', 'PutRecord', { DeliveryStreamName: p.name, Record: { Data: encodeData(data) } });
      setResult(`Accepted as ${out.RecordId.slice(0, 16)}…`);
      setError('');
    } catch (err) {
      setError(errorText(err));
    }
  };
  return h('form', { onSubmit: submit, 'aria-label': 'Put a test record to the delivery stream' },
    h('h3', null, 'Put a test record'),
    h(Field, { label: 'Record data', id: 'firehose-data', value: data, onInput: setData, multiline: true, rows: 3 }),
    h('button', { type: 'submit' }, 'Put delivery record'),
    result && h('p', { role: 'status' }, result),
    h(Alert, { text: error }),
  );
}

function DeliveryDetail(p: { creds: Credentials; name: string }) {
  const [desc, setDesc] = useState<any>();
  const [error, setError] = useState('');
  const load = async () => {
    try {
      setDesc((await call(p.creds, 'firehose', 'DescribeDeliveryStream', { DeliveryStreamName: p.name })).DeliveryStreamDescription);
      setError('');
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => void load(), [p.name]);
  const source = desc?.Source?.KinesisStreamSourceDescription;
  return h('article', { 'aria-label': `Delivery stream ${p.name}` },
    h('div', { class: 'row' }, h('h2', null, p.name), h('button', { type: 'button', onClick: load }, 'Refresh delivery stream')),
    h(Alert, { text: error }),
    desc && h(Summary, { items: [
      ['Status', desc.DeliveryStreamStatus],
      ['Type', desc.DeliveryStreamType],
      ['Source', source ? `stream ${arnName(source.KinesisStreamARN)}` : 'Direct PUT'],
      ['Encryption', desc.DeliveryStreamEncryptionConfiguration?.Status],
      ['Created', desc.CreateTimestamp && time(desc.CreateTimestamp)],
      ['Failure', desc.FailureDescription && h('span', { class: 'error' }, `${desc.FailureDescription.Type}: ${desc.FailureDescription.Details}`)],
    ] }),
    h(MetricsPanel, { creds: p.creds, namespace: 'AWS/Firehose', resource: p.name, only: deliveryMetrics }),
    desc?.Destinations?.map((d: any) => h(Destination, { key: d.DestinationId, d })),
    desc && desc.DeliveryStreamType !== 'KinesisStreamAsSource' && h(PutFirehoseRecord, { creds: p.creds, name: p.name }),
  );
}

export function DeliveryView(p: { creds: Credentials }) {
  const [name, setName] = useState<string | undefined>();
  return h('div', { class: 'layout' },
    h(ResourceList, { title: 'Delivery streams', noun: 'delivery streams', load: () => listDeliveryStreams(p.creds), selected: name, onSelect: setName }),
    h('main', null, name ? h(DeliveryDetail, { key: name, creds: p.creds, name }) : h('p', null, 'Choose a delivery stream.')),
  );
}
