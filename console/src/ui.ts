/**
 * Pieces every view shares: labelled fields, a resource list (the left
 * column of each view), a definition list, and the live tail of a data
 * stream (the Streams view's tail and an analytics application's outputs).
 */
import { h, type ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, decodeData, pretty, type Credentials } from './api.ts';

export type Shard = {
  ShardId: string;
  ParentShardId?: string;
  AdjacentParentShardId?: string;
  HashKeyRange: { StartingHashKey: string; EndingHashKey: string };
  SequenceNumberRange: { StartingSequenceNumber: string; EndingSequenceNumber?: string };
};
type TailRecord = { key: string; shardId: string; sequenceNumber: string; partitionKey: string; arrival: number; text: string; json: boolean };

/** The performance mark set when the first resource list has loaded (test/e2e/console-browser.test.ts reads it). */
export const firstViewMark = 'tributary:first-view';
/** The performance mark set when the sign-in form is drawn. */
export const signInMark = 'tributary:sign-in';

export const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
export const time = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().slice(0, 19).replace('T', ' ');

export function Field(p: { label: string; id: string; type?: string; value: string; onInput(v: string): void; autocomplete?: string; multiline?: boolean; rows?: number }) {
  const common = { id: p.id, name: p.id, value: p.value, onInput: (e: Event) => p.onInput((e.target as HTMLInputElement).value) };
  return h('div', { class: 'field' },
    h('label', { for: p.id }, p.label),
    p.multiline ? h('textarea', { ...common, rows: p.rows ?? 4, spellcheck: false }) : h('input', { ...common, type: p.type ?? 'text', autocomplete: p.autocomplete ?? 'off', required: true }),
  );
}

export const Alert = (p: { text: string }) => (p.text ? h('p', { role: 'alert', class: 'error' }, p.text) : null);

/** A definition list of label/value pairs; undefined values are left out. */
export function Summary(p: { items: Array<[string, ComponentChildren | undefined]> }) {
  return h('dl', { class: 'summary' }, p.items.filter(([, v]) => v !== undefined && v !== '').flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

/** The left column of a view: names from `load` (all pages), a refresh button, the selected one marked. */
export function ResourceList(p: { title: string; noun: string; load(): Promise<string[]>; selected: string | undefined; onSelect(name: string): void }) {
  const [names, setNames] = useState<string[] | undefined>();
  const [error, setError] = useState('');
  const load = async () => {
    try {
      setNames(await p.load());
      setError('');
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => void load(), []);
  // The first list shown is the console's first usable view: marked for the timing in the browser test.
  useEffect(() => {
    if (names && !performance.getEntriesByName(firstViewMark).length) performance.mark(firstViewMark);
  }, [names]);
  // Up and down arrows move between the names (each is a button: Enter or Space opens it).
  const onKey = (e: KeyboardEvent) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const items = [...(e.currentTarget as HTMLElement).querySelectorAll<HTMLButtonElement>('button.link')];
    const at = items.indexOf(document.activeElement as HTMLButtonElement);
    if (at < 0) return;
    e.preventDefault();
    items[Math.max(0, Math.min(items.length - 1, at + (e.key === 'ArrowDown' ? 1 : -1)))]!.focus();
  };
  return h('nav', { 'aria-label': p.title, onKeyDown: onKey },
    h('div', { class: 'row' }, h('h2', null, p.title), h('button', { type: 'button', onClick: load }, `Refresh ${p.noun}`)),
    h(Alert, { text: error }),
    names === undefined ? h('p', null, 'Loading…') : names.length === 0 ? h('p', null, `No ${p.noun} yet.`) :
      h('ul', { class: 'streams' }, names.map((n) => h('li', { key: n },
        h('button', { type: 'button', class: 'link', 'aria-current': n === p.selected ? 'true' : undefined, onClick: () => p.onSelect(n) }, n)))),
  );
}

/** Every shard of a stream (ListShards, all pages). */
export async function listShards(creds: Credentials, stream: string): Promise<Shard[]> {
  const all: Shard[] = [];
  let out = await call<{ Shards: Shard[]; NextToken?: string }>(creds, 'kinesis', 'ListShards', { StreamName: stream });
  all.push(...out.Shards);
  while (out.NextToken) {
    out = await call(creds, 'kinesis', 'ListShards', { NextToken: out.NextToken });
    all.push(...out.Shards);
  }
  return all;
}

/** Live tail: an iterator at LATEST on every open shard, then GetRecords once a second each (the Kinesis per-shard read limit is 5/s). */
export function Tail(p: { creds: Credentials; stream: string; shards: Shard[]; label?: string }) {
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
  return h('section', { 'aria-label': p.label ?? 'Live tail' },
    h('div', { class: 'row' },
      h('h3', null, p.label ?? 'Live tail'),
      state === 'stopped' ? h('button', { type: 'button', onClick: start }, 'Start tail') : h('button', { type: 'button', onClick: stop }, 'Stop tail'),
      h('button', { type: 'button', onClick: () => setRecords([]) }, 'Clear tail'),
      h('span', { role: 'status', class: 'tail-state' }, state === 'tailing' ? 'Tailing new records' : state === 'starting' ? 'Starting…' : 'Stopped'),
    ),
    h(Alert, { text: error }),
    h('ol', { class: 'tail', 'aria-live': 'polite' }, records.map((r) => h('li', { key: r.key },
      h('div', { class: 'meta' }, `${new Date(r.arrival * 1000).toISOString()} · ${r.shardId} · key ${r.partitionKey} · seq ${r.sequenceNumber}`),
      h('pre', { class: r.json ? 'json' : '' }, r.text),
    ))),
  );
}

/** The tail of a stream named only (its shards loaded first). */
export function StreamTail(p: { creds: Credentials; stream: string; label: string }) {
  const [shards, setShards] = useState<Shard[] | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    listShards(p.creds, p.stream).then(setShards, (err) => setError(errorText(err)));
  }, [p.stream]);
  if (error) return h(Alert, { text: `${p.label}: ${error}` });
  return shards ? h(Tail, { creds: p.creds, stream: p.stream, shards, label: p.label }) : h('p', null, 'Loading…');
}
