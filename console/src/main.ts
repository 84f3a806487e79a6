/**
 * The Tributary web console: sign-in, then one view per service (Streams,
 * Delivery streams, Video, Analytics) and Devices. Preact without JSX (`h`
 * calls) so that the bundle needs no compiler beyond esbuild.
 */
import { h, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { AnalyticsView } from './analytics.ts';
import { call, loadSession, saveSession, signIn, type Credentials } from './api.ts';
import { DeliveryView } from './delivery.ts';
import { DevicesView } from './devices.ts';
import { StreamsView } from './streams.ts';
import { Alert, Field, errorText, signInMark } from './ui.ts';
import { VideoView } from './video.ts';

function SignIn(p: { onSignedIn(c: Credentials): void }) {
  const [key, setKey] = useState('');
  const [secret, setSecret] = useState('');
  const [region, setRegion] = useState('us-east-1');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  // The sign-in form drawn: the first screen of a new tab, marked for the browser test's timing.
  useEffect(() => void (performance.getEntriesByName(signInMark).length || performance.mark(signInMark)), []);
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
      h(Alert, { text: error }),
    ),
    h('p', { class: 'hint' }, 'Your keys are exchanged for one-hour session credentials, kept in this tab only.'),
  );
}

const views = [
  { id: 'streams', label: 'Streams', view: StreamsView },
  { id: 'delivery', label: 'Delivery streams', view: DeliveryView },
  { id: 'video', label: 'Video', view: VideoView },
  { id: 'analytics', label: 'Analytics', view: AnalyticsView },
  { id: 'devices', label: 'Devices', view: DevicesView },
] as const;
type ViewId = (typeof views)[number]['id'];

function App() {
  const [creds, setCreds] = useState<Credentials | undefined>(() => loadSession());
  const [view, setView] = useState<ViewId>('streams');
  if (!creds) return h(SignIn, { onSignedIn: setCreds });
  const signOut = async () => {
    await call(creds, 'admin', 'RevokeSession').catch(() => undefined);
    saveSession(undefined);
    setCreds(undefined);
  };
  const current = views.find((v) => v.id === view)!;
  // The views are tabs (WAI-ARIA tabs pattern, automatic activation): one Tab stop, the arrow keys,
  // Home and End move between them and show the view at once.
  const onTabKey = (e: KeyboardEvent) => {
    const at = views.findIndex((v) => v.id === view);
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: views.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const next = views[(to + views.length) % views.length]!;
    setView(next.id);
    document.getElementById(`tab-${next.id}`)?.focus();
  };
  return h('div', { class: 'shell' },
    h('header', null,
      h('strong', null, 'Tributary'),
      h('div', { role: 'tablist', 'aria-label': 'Views', class: 'views', onKeyDown: onTabKey },
        views.map((v) => h('button', {
          type: 'button', role: 'tab', id: `tab-${v.id}`, 'aria-selected': String(v.id === view), 'aria-controls': 'view',
          tabIndex: v.id === view ? 0 : -1, onClick: () => setView(v.id),
        }, v.label))),
      h('span', { class: 'who' }, `${creds.name} · session until ${new Date(creds.expiresMs).toLocaleTimeString()}`),
      h('button', { type: 'button', onClick: signOut }, 'Sign out'),
    ),
    h('div', { id: 'view', role: 'tabpanel', 'aria-labelledby': `tab-${view}` }, h(current.view, { key: view, creds })),
  );
}

render(h(App, null), document.getElementById('app')!);
