/**
 * The Tributary web console: sign-in, then the Streams view (list, shards
 * with hash ranges and lineage, put a test record, a live tail). Preact
 * without JSX (`h` calls) so that the bundle needs no compiler beyond esbuild.
 */
import { h, render, type ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, decodeData, encodeData, loadSession, pretty, saveSession, signIn, type Credentials } from './api.ts';

type Shard = {
  ShardId: string;
  ParentShardId?: string;
  AdjacentParentShardId?: string;
  HashKeyRange: { StartingHashKey: string; EndingHashKey: string };
  SequenceNumberRange: { StartingSequenceNumber: string; EndingSequenceNumber?: string };
};
type TailRecord = { key: string; shardId: string; sequenceNumber: string; partitionKey: string; arrival: number; text: string; json: boolean };

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

function Field(p: { label: string; id: string; type?: string; value: string; onInput(v: string): void; autocomplete?: string; multiline?: boolean }) {
  const common = { id: p.id, name: p.id, value: p.value, onInput: (e: Event) => p.onInput((e.target as HTMLInputElement).value) };
  return h('div', { class: 'field' },
    h('label', { for: p.id }, p.label),
    p.multiline ? h('textarea', { ...common, rows: 4 }) : h('input', { ...common, type: p.type ?? 'text', autocomplete: p.autocomplete ?? 'off', required: true }),
  );
}

function SignIn(p: { onSignedIn(c: Credentials): void }) {
  const [key, setKey] = useState('');
  const [secret, setSecret] = useState('');
  const [region, setRegion] = useState('us-east-1');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      p.onSignedIn(await signIn(key.trim(), secret.trim(), region.trim()));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return h('main', { class: 'signin' },
    h('h1', null, 'Tributary console'),
    h('form', { onSubmit: submit, 'aria-label': 'Sign in' },
      h(Field, { label: 'Access key ID', id: 'access-key', value: key, onInput: setKey, autocomplete: 'username' }),
      h(Field, { label: 'Secret access key', id: 'secret-key', type: 'password', value: secret, onInput: setSecret, autocomplete: 'current-password' }),
      h(Field, { label: 'Region', id: 'region', value: region, onInput: setRegion }),
      h('button', { type: 'submit', disabled: busy }, busy ? 'Signing in…' : 'Sign in'),
      error && h('p', { role: 'alert', class: 'error' }, error),
    ),
    h('p', { class: 'hint' }, 'Your keys are exchanged for one-hour session credentials, kept in this tab only.'),
  );
}

function StreamList(p: { creds: Credentials; selected: string | undefined; onSelect(name: string): void }) {
  const [names, setNames] = useState<string[] | undefined>();
  const [error, setError] = useState('');
  const load = async () => {
    try {
      const all: string[] = [];
      let out = await call<{ StreamNames: string[]; HasMoreStreams: boolean; NextToken?: string }>(p.creds, 'kinesis', 'ListStreams', { Limit: 100 });
      all.push(...out.StreamNames);
      while (out.HasMoreStreams && out.NextToken) {
        out = await call(p.creds, 'kinesis', 'ListStreams', { NextToken: out.NextToken });
        all.push(...out.StreamNames);
      }
      setNames(all);
      setError('');
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => void load(), []);
  return h('nav', { 'aria-label': 'Streams' },
    h('div', { class: 'row' }, h('h2', null, 'Streams'), h('button', { type: 'button', onClick: load }, 'Refresh streams')),
    error && h('p', { role: 'alert', class: 'error' }, error),
    names === undefined ? h('p', null, 'Loading…') : names.length === 0 ? h('p', null, 'No streams yet.') :
      h('ul', { class: 'streams' }, names.map((n) => h('li', { key: n },
        h('button', { type: 'button', class: 'link', 'aria-current': n === p.selected ? 'true' : undefined, onClick: () => p.onSelect(n) }, n)))),
  );
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
    error && h('p', { role: 'alert', class: 'error' }, error),
  );
}

/** Live tail: an iterator at LATEST on every open shard, then GetRecords once a second each (the Kinesis per-shard read limit is 5/s). */
function Tail(p: { creds: Credentials; stream: string; shards: Shard[] }) {
  const [state, setState] = useState<'stopped' | 'starting' | 'tailing'>('stopped');
  const [records, setRecords] = useState<TailRecord[]>([]);
  const [error, setError] = useState('');
  const run = useRef(0);
  useEffect(() => () => void run.current++, [p.stream]);
  const start = async () => {
    const id = ++run.current;
    setState('starting');
    setError('');
    try {
      let iterators = await Promise.all(p.shards.filter((s) => !s.SequenceNumberRange.EndingSequenceNumber).map(async (s) => ({
        shardId: s.ShardId,
        it: (await call<{ ShardIterator: string }>(p.creds, 'kinesis', 'GetShardIterator', { StreamName: p.stream, ShardId: s.ShardId, ShardIteratorType: 'LATEST' })).ShardIterator as string | undefined,
      })));
      if (id !== run.current) return;
      setState('tailing');
      while (id === run.current && iterators.some((i) => i.it)) {
        iterators = await Promise.all(iterators.map(async ({ shardId, it }) => {
          if (!it) return { shardId, it };
          const out = await call<{ Records: Array<{ SequenceNumber: string; PartitionKey: string; Data: string; ApproximateArrivalTimestamp: number }>; NextShardIterator?: string }>(
            p.creds, 'kinesis', 'GetRecords', { ShardIterator: it, Limit: 100 });
          if (out.Records.length && id === run.current) {
            const got = out.Records.map((r) => {
              const shown = pretty(decodeData(r.Data));
              return { key: `${shardId}/${r.SequenceNumber}`, shardId, sequenceNumber: r.SequenceNumber, partitionKey: r.PartitionKey, arrival: r.ApproximateArrivalTimestamp, ...shown };
            });
            setRecords((old) => [...got.reverse(), ...old].slice(0, 200));
          }
          return { shardId, it: out.NextShardIterator };
        }));
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    } catch (err) {
      if (id === run.current) setError(errorText(err));
    }
    if (id === run.current) setState('stopped');
  };
  const stop = () => {
    run.current++;
    setState('stopped');
  };
  return h('section', { 'aria-label': 'Live tail' },
    h('div', { class: 'row' },
      h('h3', null, 'Live tail'),
      state === 'stopped' ? h('button', { type: 'button', onClick: start }, 'Start tail') : h('button', { type: 'button', onClick: stop }, 'Stop tail'),
      h('button', { type: 'button', onClick: () => setRecords([]) }, 'Clear tail'),
      h('span', { role: 'status', class: 'tail-state' }, state === 'tailing' ? 'Tailing new records' : state === 'starting' ? 'Starting…' : 'Stopped'),
    ),
    error && h('p', { role: 'alert', class: 'error' }, error),
    h('ol', { class: 'tail', 'aria-live': 'polite' }, records.map((r) => h('li', { key: r.key },
      h('div', { class: 'meta' }, `${new Date(r.arrival * 1000).toISOString()} · ${r.shardId} · key ${r.partitionKey} · seq ${r.sequenceNumber}`),
      h('pre', { class: r.json ? 'json' : '' }, r.text),
    ))),
  );
}

function StreamDetail(p: { creds: Credentials; stream: string }) {
  const [summary, setSummary] = useState<any>();
  const [shards, setShards] = useState<Shard[] | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    setShards(undefined);
    setSummary(undefined);
    (async () => {
      try {
        setSummary((await call(p.creds, 'kinesis', 'DescribeStreamSummary', { StreamName: p.stream })).StreamDescriptionSummary);
        const all: Shard[] = [];
        let out = await call<{ Shards: Shard[]; NextToken?: string }>(p.creds, 'kinesis', 'ListShards', { StreamName: p.stream });
        all.push(...out.Shards);
        while (out.NextToken) {
          out = await call(p.creds, 'kinesis', 'ListShards', { NextToken: out.NextToken });
          all.push(...out.Shards);
        }
        setShards(all);
        setError('');
      } catch (err) {
        setError(errorText(err));
      }
    })();
  }, [p.stream]);
  return h('article', { 'aria-label': `Stream ${p.stream}` },
    h('h2', null, p.stream),
    error && h('p', { role: 'alert', class: 'error' }, error),
    summary && h('dl', { class: 'summary' },
      h('dt', null, 'Status'), h('dd', null, summary.StreamStatus),
      h('dt', null, 'Mode'), h('dd', null, summary.StreamModeDetails?.StreamMode ?? 'PROVISIONED'),
      h('dt', null, 'Open shards'), h('dd', null, String(summary.OpenShardCount)),
      h('dt', null, 'Retention'), h('dd', null, `${summary.RetentionPeriodHours} h`),
      h('dt', null, 'Encryption'), h('dd', null, summary.EncryptionType ?? 'NONE'),
    ),
    shards && h(Shards, { shards }),
    h(PutRecord, { creds: p.creds, stream: p.stream }),
    shards && h(Tail, { key: p.stream, creds: p.creds, stream: p.stream, shards }),
  );
}

type PrincipalView = { AccessKeyId: string; Kind: string; Name: string; Policy: string; DeviceId?: string; CreatedAt: number; Status: string };

/** Paired devices and operators (ListPrincipals), with revoke (RevokePrincipal: the key stops working on its next request). */
function Principals(p: { creds: Credentials }) {
  const [list, setList] = useState<PrincipalView[] | undefined>();
  const [confirming, setConfirming] = useState<string | undefined>();
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const load = async () => {
    try {
      setList((await call<{ Principals: PrincipalView[] }>(p.creds, 'admin', 'ListPrincipals')).Principals);
      setError('');
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => void load(), []);
  const revoke = async (id: string) => {
    try {
      await call(p.creds, 'admin', 'RevokePrincipal', { Id: id });
      setNotice(`Revoked ${id}`);
      setConfirming(undefined);
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return h('article', { 'aria-label': 'Devices and operators' },
    h('div', { class: 'row' }, h('h2', null, 'Devices and operators'), h('button', { type: 'button', onClick: load }, 'Refresh devices')),
    error && h('p', { role: 'alert', class: 'error' }, error),
    notice && h('p', { role: 'status' }, notice),
    list && h('table', { 'aria-label': 'Principals' },
      h('thead', null, h('tr', null, ['Name', 'Kind', 'Device ID', 'Access key', 'Policy', 'Created', 'Status', 'Action'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, list.map((x) => h('tr', { key: x.AccessKeyId },
        h('td', null, x.Name), h('td', null, x.Kind), h('td', null, x.DeviceId ?? '—'), h('td', { class: 'mono' }, x.AccessKeyId), h('td', null, x.Policy),
        h('td', null, new Date(x.CreatedAt * 1000).toISOString().slice(0, 19).replace('T', ' ')), h('td', null, x.Status),
        h('td', null, x.Status !== 'ACTIVE' ? '' : confirming === x.AccessKeyId
          ? h('span', { class: 'row' },
            h('button', { type: 'button', onClick: () => revoke(x.AccessKeyId) }, `Confirm revoke ${x.Name}`),
            h('button', { type: 'button', onClick: () => setConfirming(undefined) }, 'Cancel'))
          : h('button', { type: 'button', onClick: () => setConfirming(x.AccessKeyId) }, `Revoke ${x.Name}`)),
      ))),
    ),
  );
}

function App() {
  const [creds, setCreds] = useState<Credentials | undefined>(() => loadSession());
  const [stream, setStream] = useState<string | undefined>();
  const [view, setView] = useState<'streams' | 'devices'>('streams');
  if (!creds) return h(SignIn, { onSignedIn: setCreds });
  const signOut = async () => {
    await call(creds, 'admin', 'RevokeSession').catch(() => undefined);
    saveSession(undefined);
    setCreds(undefined);
  };
  const shell = (children: ComponentChildren) => h('div', { class: 'shell' },
    h('header', null,
      h('strong', null, 'Tributary'),
      h('nav', { 'aria-label': 'Views', class: 'views' },
        h('button', { type: 'button', 'aria-pressed': String(view === 'streams'), onClick: () => setView('streams') }, 'Streams'),
        h('button', { type: 'button', 'aria-pressed': String(view === 'devices'), onClick: () => setView('devices') }, 'Devices'),
      ),
      h('span', { class: 'who' }, `${creds.name} · session until ${new Date(creds.expiresMs).toLocaleTimeString()}`),
      h('button', { type: 'button', onClick: signOut }, 'Sign out'),
    ),
    children,
  );
  if (view === 'devices') return shell(h('div', { class: 'single' }, h(Principals, { creds })));
  return shell(h('div', { class: 'layout' },
    h(StreamList, { creds, selected: stream, onSelect: setStream }),
    h('main', null, stream ? h(StreamDetail, { key: stream, creds, stream }) : h('p', null, 'Choose a stream.')),
  ));
}

render(h(App, null), document.getElementById('app')!);
