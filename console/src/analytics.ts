/**
 * The Analytics view (Kinesis Data Analytics for SQL): the applications, an
 * SQL editor whose CodeValidationException is shown at its line and column
 * (and the cursor put there), start and stop, and the live rows of every
 * output that is a data stream of this gateway (error_stream too, when it
 * is an output).
 */
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call, type Credentials } from './api.ts';
import { Alert, ResourceList, StreamTail, Summary, errorText } from './ui.ts';

async function listApplications(creds: Credentials): Promise<string[]> {
  const all: string[] = [];
  for (;;) {
    const out = await call<{ ApplicationSummaries: Array<{ ApplicationName: string }>; HasMoreApplications: boolean }>(creds, 'analytics', 'ListApplications',
      { Limit: 50, ...(all.length ? { ExclusiveStartApplicationName: all[all.length - 1] } : {}) });
    all.push(...out.ApplicationSummaries.map((a) => a.ApplicationName));
    if (!out.HasMoreApplications || out.ApplicationSummaries.length === 0) return all;
  }
}

const arnName = (arn: string | undefined) => arn?.split('/').pop();
const settling = new Set(['STARTING', 'STOPPING', 'UPDATING', 'DELETING']);

/** `SQL error at line L, column C: ...` (the engine's CodeValidationException) as a position, or undefined. */
export function sqlErrorAt(message: string): { line: number; column: number; text: string } | undefined {
  const m = /line (\d+), column (\d+): ([^\n]*)/.exec(message);
  return m ? { line: Number(m[1]), column: Number(m[2]), text: m[3]! } : undefined;
}

/** The offset of 1-based line and column in `code`. */
function offsetOf(code: string, line: number, column: number): number {
  const lines = code.split('\n');
  let at = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) at += lines[i]!.length + 1;
  return Math.min(code.length, at + column - 1);
}

function SqlEditor(p: { creds: Credentials; app: any; onSaved(): void }) {
  const [code, setCode] = useState<string>(p.app.ApplicationCode ?? '');
  const [error, setError] = useState<{ at?: { line: number; column: number; text: string }; message: string } | undefined>();
  const [notice, setNotice] = useState('');
  const area = useRef<HTMLTextAreaElement>(null);
  const save = async (e: Event) => {
    e.preventDefault();
    setNotice('');
    try {
      await call(p.creds, 'analytics', 'UpdateApplication', {
        ApplicationName: p.app.ApplicationName, CurrentApplicationVersionId: p.app.ApplicationVersionId, ApplicationUpdate: { ApplicationCodeUpdate: code },
      });
      setError(undefined);
      setNotice('Code saved');
      p.onSaved();
    } catch (err) {
      const at = err instanceof ApiError && err.type === 'CodeValidationException' ? sqlErrorAt(err.message) : undefined;
      setError({ at, message: errorText(err) });
      if (at && area.current) {
        const o = offsetOf(code, at.line, at.column);
        area.current.focus();
        area.current.setSelectionRange(o, o + 1);
      }
    }
  };
  return h('form', { onSubmit: save, 'aria-label': 'SQL editor' },
    h('div', { class: 'field' },
      h('label', { for: 'sql-code' }, 'Application code (SQL)'),
      h('textarea', { id: 'sql-code', ref: area, class: 'mono', rows: 10, spellcheck: false, value: code, 'aria-invalid': error?.at ? 'true' : undefined,
        'aria-describedby': error ? 'sql-error' : undefined, onInput: (e: Event) => setCode((e.target as HTMLTextAreaElement).value) }),
    ),
    h('button', { type: 'submit' }, 'Save code'),
    notice && h('p', { role: 'status' }, notice),
    error && h('div', { id: 'sql-error', role: 'alert', class: 'error' },
      error.at ? h('p', null, `Line ${error.at.line}, column ${error.at.column}: ${error.at.text}`) : h('p', null, error.message),
      error.at && h('pre', { class: 'caret' }, `${code.split('\n')[error.at.line - 1] ?? ''}\n${' '.repeat(error.at.column - 1)}^`),
    ),
  );
}

function ApplicationDetail(p: { creds: Credentials; name: string }) {
  const [app, setApp] = useState<any>();
  const [error, setError] = useState('');
  const [position, setPosition] = useState('NOW');
  const load = async () => {
    try {
      setApp((await call(p.creds, 'analytics', 'DescribeApplication', { ApplicationName: p.name })).ApplicationDetail);
      setError('');
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => void load(), [p.name]);
  // While the application moves between states, follow it once a second.
  useEffect(() => {
    if (!app || !settling.has(app.ApplicationStatus)) return;
    const t = setTimeout(load, 1000);
    return () => clearTimeout(t);
  }, [app]);
  const act = async (action: 'StartApplication' | 'StopApplication') => {
    try {
      const input = action === 'StartApplication'
        ? { ApplicationName: p.name, InputConfigurations: (app.InputDescriptions ?? []).map((i: any) => ({ Id: i.InputId, InputStartingPositionConfiguration: { InputStartingPosition: position } })) }
        : { ApplicationName: p.name };
      await call(p.creds, 'analytics', action, input);
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  };
  if (!app) return h('article', { 'aria-label': `Application ${p.name}` }, h('h2', null, p.name), h(Alert, { text: error }));
  const input = app.InputDescriptions?.[0];
  const streamOutputs = (app.OutputDescriptions ?? []).filter((o: any) => o.KinesisStreamsOutputDescription);
  return h('article', { 'aria-label': `Application ${p.name}` },
    h('div', { class: 'row' }, h('h2', null, p.name), h('button', { type: 'button', onClick: load }, 'Refresh application')),
    h(Alert, { text: error }),
    h(Summary, { items: [
      ['Status', h('span', { role: 'status' }, app.ApplicationStatus)],
      ['Version', String(app.ApplicationVersionId)],
      ['Input', input && `${input.NamePrefix} ← ${input.KinesisStreamsInputDescription ? `stream ${arnName(input.KinesisStreamsInputDescription.ResourceARN)}` : `delivery stream ${arnName(input.KinesisFirehoseInputDescription?.ResourceARN)}`}`],
      ['Outputs', (app.OutputDescriptions ?? []).map((o: any) => `${o.Name} → ${o.KinesisStreamsOutputDescription ? `stream ${arnName(o.KinesisStreamsOutputDescription.ResourceARN)}`
        : o.KinesisFirehoseOutputDescription ? `delivery stream ${arnName(o.KinesisFirehoseOutputDescription.ResourceARN)}` : `function ${o.LambdaOutputDescription?.ResourceARN}`}`).join('; ') || 'none'],
    ] }),
    h('div', { class: 'row' },
      app.ApplicationStatus === 'READY' && h('label', { for: 'start-position' }, 'Start from'),
      app.ApplicationStatus === 'READY' && h('select', { id: 'start-position', value: position, onChange: (e: Event) => setPosition((e.target as HTMLSelectElement).value) },
        ['NOW', 'TRIM_HORIZON', 'LAST_STOPPED_POINT'].map((v) => h('option', { value: v }, v))),
      app.ApplicationStatus === 'READY' && h('button', { type: 'button', onClick: () => act('StartApplication') }, 'Start application'),
      app.ApplicationStatus === 'RUNNING' && h('button', { type: 'button', onClick: () => act('StopApplication') }, 'Stop application'),
    ),
    h(SqlEditor, { key: app.ApplicationName, creds: p.creds, app, onSaved: load }),
    streamOutputs.map((o: any) => h(StreamTail, { key: o.OutputId, creds: p.creds, stream: arnName(o.KinesisStreamsOutputDescription.ResourceARN)!, label: `Output ${o.Name}` })),
  );
}

export function AnalyticsView(p: { creds: Credentials }) {
  const [name, setName] = useState<string | undefined>();
  return h('div', { class: 'layout' },
    h(ResourceList, { title: 'Applications', noun: 'applications', load: () => listApplications(p.creds), selected: name, onSelect: setName }),
    h('main', null, name ? h(ApplicationDetail, { key: name, creds: p.creds, name }) : h('p', null, 'Choose an application.')),
  );
}
