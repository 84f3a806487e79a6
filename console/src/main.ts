/**
 * The Tributary web console: sign-in, then one view per service (Streams,
 * Delivery streams, Video, Analytics) and Devices. Preact without JSX (`h`
 * calls) so that the bundle needs no compiler beyond esbuild.
 */
import { h, render } from 'preact';
import { useState } from 'preact/hooks';
import { AnalyticsView } from './analytics.ts';
import { call, loadSession, saveSession, signIn, type Credentials } from './api.ts';
import { DeliveryView } from './delivery.ts';
import { DevicesView } from './devices.ts';
import { StreamsView } from './streams.ts';
import { Alert, Field, errorText } from './ui.ts';
import { VideoView } from './video.ts';

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
  return h('div', { class: 'shell' },
    h('header', null,
      h('strong', null, 'Tributary'),
      h('nav', { 'aria-label': 'Views', class: 'views' },
        views.map((v) => h('button', { type: 'button', 'aria-pressed': String(v.id === view), onClick: () => setView(v.id) }, v.label))),
      h('span', { class: 'who' }, `${creds.name} · session until ${new Date(creds.expiresMs).toLocaleTimeString()}`),
      h('button', { type: 'button', onClick: signOut }, 'Sign out'),
    ),
    h(current.view, { key: view, creds }),
  );
}

render(h(App, null), document.getElementById('app')!);
