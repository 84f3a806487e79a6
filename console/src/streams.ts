/** The Streams view: the list, a stream's summary, metrics of the last hour and shards (hash ranges, lineage), reshard, put a test record, the live tail. */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, encodeData, type Credentials } from './api.ts';
import { MetricsPanel } from './charts.ts';
import { Alert, Field, ResourceList, Summary, Tail, errorText, listShards, type Shard } from './ui.ts';

export async function listStreams(creds: Credentials): Promise<string[]> {
  const all: string[] = [];
  let out = await call<{ StreamNames: string[]; HasMoreStreams: boolean; NextToken?: string }>(creds, 'kinesis', 'ListStreams', { Limit: 100 });
  all.push(...out.StreamNames);
  while (out.HasMoreStreams && out.NextToken) {
    out = await call(creds, 'kinesis', 'ListStreams', { NextToken: out.NextToken });
    all.push(...out.StreamNames);
  }
  return all;
}

function Shards(p: { shards: Shard[] }) {
  return h('table', { 'aria-label': 'Shards' },
    h('thead', null, h('tr', null, ['Shard', 'State', 'Hash key range', 'Parent', 'Adjacent parent'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, p.shards.map((s) => h('tr', { key: s.ShardId },
      h('td', null, s.ShardId),
      h('td', null, s.SequenceNumberRange.EndingSequenceNumber ? 'closed' : 'open'),
      h('td', { class: 'mono' }, `${s.HashKeyRange.StartingHashKey} – ${s.HashKeyRange.EndingHashKey}`),
      h('td', null, s.ParentShardId ?? '—'),
      h('td', null, s.AdjacentParentShardId ?? '—'),
    ))),
  );
}

function PutRecord(p: { creds: Credentials; stream: string }) {
  const [data, setData] = useState('{"hello": "tributary"}');
  const [pk, setPk] = useState('console');
  const [result, setResult] = useState('');
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const out = await call<{ ShardId: string; SequenceNumber: string }>(p.creds, 'kinesis', 'PutRecord', { StreamName: p.stream, Data: encodeData(data), PartitionKey: pk });
      setResult(`Stored in ${out.ShardId} at ${out.SequenceNumber}`);
      setError('');
    } catch (err) {
      setError(errorText(err));
    }
  };
  return h('form', { onSubmit: submit, 'aria-label': 'Put a test record' },
    h('h3', null, 'Put a test record'),
    h(Field, { label: 'Data', id: 'put-data', value: data, onInput: setData, multiline: true }),
    h(Field, { label: 'Partition key', id: 'put-key', value: pk, onInput: setPk }),
    h('button', { type: 'submit' }, 'Put record'),
    result && h('p', { role: 'status' }, result),
    h(Alert, { text: error }),
  );
}

/** UpdateShardCount (UNIFORM_SCALING), then the stream is followed until it is ACTIVE again. */
function Reshard(p: { creds: Credentials; stream: string; open: number; onDone(): Promise<void> }) {
  const [target, setTarget] = useState(String(p.open * 2));
  const [state, setState] = useState('');
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    try {
      await call(p.creds, 'kinesis', 'UpdateShardCount', { StreamName: p.stream, TargetShardCount: Number(target), ScalingType: 'UNIFORM_SCALING' });
      setState(`Resharding to ${target} shards…`);
      for (;;) {
        const s = (await call(p.creds, 'kinesis', 'DescribeStreamSummary', { StreamName: p.stream })).StreamDescriptionSummary;
        if (s.StreamStatus === 'ACTIVE') break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      await p.onDone();
      setState(`Resharded to ${target} open shards`);
    } catch (err) {
      setState('');
      setError(errorText(err));
    }
  };
  return h('form', { onSubmit: submit, 'aria-label': 'Reshard' },
    h('h3', null, 'Reshard'),
    h('div', { class: 'row' },
      h('label', { for: 'target-shards' }, 'Target shard count'),
      h('input', { id: 'target-shards', type: 'number', min: 1, value: target, class: 'narrow', onInput: (e: Event) => setTarget((e.target as HTMLInputElement).value) }),
      h('button', { type: 'submit' }, 'Reshard'),
    ),
    state && h('p', { role: 'status' }, state),
    h(Alert, { text: error }),
  );
}

function StreamDetail(p: { creds: Credentials; stream: string }) {
  const [summary, setSummary] = useState<any>();
  const [shards, setShards] = useState<Shard[] | undefined>();
  const [error, setError] = useState('');
  const load = async () => {
    try {
      setSummary((await call(p.creds, 'kinesis', 'DescribeStreamSummary', { StreamName: p.stream })).StreamDescriptionSummary);
      setShards(await listShards(p.creds, p.stream));
      setError('');
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => void load(), [p.stream]);
  return h('article', { 'aria-label': `Stream ${p.stream}` },
    h('h2', null, p.stream),
    h(Alert, { text: error }),
    summary && h(Summary, { items: [
      ['Status', summary.StreamStatus],
      ['Mode', summary.StreamModeDetails?.StreamMode ?? 'PROVISIONED'],
      ['Open shards', String(summary.OpenShardCount)],
      ['Retention', `${summary.RetentionPeriodHours} h`],
      ['Encryption', summary.EncryptionType ?? 'NONE'],
    ] }),
    h(MetricsPanel, { creds: p.creds, namespace: 'AWS/Kinesis', resource: p.stream }),
    shards && h(Shards, { shards }),
    summary && h(Reshard, { creds: p.creds, stream: p.stream, open: summary.OpenShardCount, onDone: load }),
    h(PutRecord, { creds: p.creds, stream: p.stream }),
    shards && h(Tail, { key: shards.filter((s) => !s.SequenceNumberRange.EndingSequenceNumber).map((s) => s.ShardId).join(), creds: p.creds, stream: p.stream, shards }),
  );
}

export function StreamsView(p: { creds: Credentials }) {
  const [stream, setStream] = useState<string | undefined>();
  return h('div', { class: 'layout' },
    h(ResourceList, { title: 'Streams', noun: 'streams', load: () => listStreams(p.creds), selected: stream, onSelect: setStream }),
    h('main', null, stream ? h(StreamDetail, { key: stream, creds: p.creds, stream }) : h('p', null, 'Choose a stream.')),
  );
}
