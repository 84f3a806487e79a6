/** The Streams view: the list, a stream's summary and shards (hash ranges, lineage), put a test record, the live tail. */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, encodeData, type Credentials } from './api.ts';
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

function StreamDetail(p: { creds: Credentials; stream: string }) {
  const [summary, setSummary] = useState<any>();
  const [shards, setShards] = useState<Shard[] | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    (async () => {
      try {
        setSummary((await call(p.creds, 'kinesis', 'DescribeStreamSummary', { StreamName: p.stream })).StreamDescriptionSummary);
        setShards(await listShards(p.creds, p.stream));
        setError('');
      } catch (err) {
        setError(errorText(err));
      }
    })();
  }, [p.stream]);
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
    shards && h(Shards, { shards }),
    h(PutRecord, { creds: p.creds, stream: p.stream }),
    shards && h(Tail, { key: p.stream, creds: p.creds, stream: p.stream, shards }),
  );
}

export function StreamsView(p: { creds: Credentials }) {
  const [stream, setStream] = useState<string | undefined>();
  return h('div', { class: 'layout' },
    h(ResourceList, { title: 'Streams', noun: 'streams', load: () => listStreams(p.creds), selected: stream, onSelect: setStream }),
    h('main', null, stream ? h(StreamDetail, { key: stream, creds: p.creds, stream }) : h('p', null, 'Choose a stream.')),
  );
}
