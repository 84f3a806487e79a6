/**
 * The Devices view: every principal (ListPrincipals) with its agent's last
 * heartbeat (ListHeartbeats: last seen, agent version, per destination the
 * buffer depth, oldest unsent record, link and last error), pairing a new
 * device (CreatePairingCode: the code, the CA fingerprint, the command and a
 * QR code of it), rotate (RotatePrincipal: the new secret shown once) and
 * revoke (RevokePrincipal: the key stops working on its next request).
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { encode } from 'uqr';
import { call, type Credentials } from './api.ts';
import { amount } from './charts.ts';
import { Alert, Field, Summary, errorText, time } from './ui.ts';

type PrincipalView = { AccessKeyId: string; Kind: string; Name: string; Policy: string; DeviceId?: string; CreatedAt: number; Status: string };
type Beat = {
  Name: string; ReceivedAt: number; AgentVersion: string; DiskLow: boolean;
  Destinations: Array<{ Name: string; Stream: string; BufferRecords: number; BufferBytes: number; OldestUnsentAgeMs?: number; Link: string; LastError?: string }>;
  Cameras?: Array<{ Name: string; Stream: string; State: string; BufferFragments: number; BufferBytes: number; OldestUnsentAgeMs?: number; Restarts: number }>;
};
type Pairing = { Code: string; ExpiresAt: number; CaFingerprint?: string; DeviceName: string; Policy: string };

const ago = (epochSeconds: number) => {
  const s = Math.max(0, Math.round(Date.now() / 1000 - epochSeconds));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
};

/** A QR code as SVG squares (uqr encodes; we draw, so no markup from a library reaches the page). */
function QrCode(p: { text: string; label: string }) {
  const { data, size } = encode(p.text, { ecc: 'M', border: 4 });
  let d = '';
  data.forEach((row, y) => row.forEach((dark, x) => (d += dark ? `M${x} ${y}h1v1h-1z` : '')));
  return h('svg', { class: 'qr', viewBox: `0 0 ${size} ${size}`, width: size * 5, height: size * 5, role: 'img', 'aria-label': p.label, 'shape-rendering': 'crispEdges' },
    h('rect', { width: size, height: size, fill: '#fff' }), h('path', { d, fill: '#000' }));
}

function PairDevice(p: { creds: Credentials; onPaired(): void }) {
  const [name, setName] = useState('');
  const [policy, setPolicy] = useState('device');
  const [pairing, setPairing] = useState<Pairing | undefined>();
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      setPairing(await call<Pairing>(p.creds, 'admin', 'CreatePairingCode', { DeviceName: name.trim(), Policy: policy.trim() }));
      setError('');
      p.onPaired();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const command = pairing && `tributary-agent pair ${location.origin} ${pairing.Code}${pairing.CaFingerprint ? ` --ca-fingerprint ${pairing.CaFingerprint}` : ''}`;
  return h('form', { onSubmit: submit, 'aria-label': 'Pair a new device' },
    h('h3', null, 'Pair a new device'),
    h('div', { class: 'row' },
      h(Field, { label: 'Device name', id: 'pair-name', value: name, onInput: setName }),
      h(Field, { label: 'Device policy', id: 'pair-policy', value: policy, onInput: setPolicy }),
    ),
    h('button', { type: 'submit' }, 'Create pairing code'),
    h(Alert, { text: error }),
    pairing && h('div', { role: 'status', class: 'pairing' },
      h(Summary, { items: [
        ['Device', pairing.DeviceName],
        ['Code', h('span', { class: 'mono' }, pairing.Code)],
        ['CA fingerprint', pairing.CaFingerprint ? h('span', { class: 'mono' }, pairing.CaFingerprint) : 'none: this gateway serves plain HTTP, and pairing needs HTTPS'],
        ['Expires', time(pairing.ExpiresAt)],
      ] }),
      h('p', null, 'On the device, run (single use):'),
      h('pre', { class: 'command' }, command),
      h(QrCode, { text: command!, label: `QR code of the pairing command for ${pairing.DeviceName}` }),
    ),
  );
}

function Health(p: { beat: Beat | undefined }) {
  if (!p.beat) return h('td', null, '—');
  return h('td', null,
    h('div', null, `agent ${p.beat.AgentVersion}${p.beat.DiskLow ? ' · disk full' : ''}`),
    h('ul', { class: 'dests' }, p.beat.Destinations.map((d) => h('li', { key: d.Name },
      `${d.Name} → ${d.Stream}: link ${d.Link}, ${d.BufferRecords} records (${amount(d.BufferBytes, 'Bytes')}) buffered`,
      d.OldestUnsentAgeMs !== undefined ? `, oldest unsent ${Math.round(d.OldestUnsentAgeMs / 1000)} s` : '',
      d.LastError ? h('div', { class: 'error' }, `last error: ${d.LastError}`) : null)),
    (p.beat.Cameras ?? []).map((c) => h('li', { key: `camera ${c.Name}` },
      `camera ${c.Name} → ${c.Stream}: ${c.State}, ${c.BufferFragments} fragments (${amount(c.BufferBytes, 'Bytes')}) waiting`,
      c.OldestUnsentAgeMs !== undefined ? `, oldest unsent ${Math.round(c.OldestUnsentAgeMs / 1000)} s` : '',
      c.Restarts ? `, ${c.Restarts} capture restarts` : ''))),
  );
}

export function DevicesView(p: { creds: Credentials }) {
  const [list, setList] = useState<PrincipalView[] | undefined>();
  const [beats, setBeats] = useState<Map<string, Beat>>(new Map());
  const [confirming, setConfirming] = useState<{ id: string; action: 'revoke' | 'rotate' } | undefined>();
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const load = async () => {
    try {
      const [principals, heartbeats] = await Promise.all([
        call<{ Principals: PrincipalView[] }>(p.creds, 'admin', 'ListPrincipals'),
        call<{ Heartbeats: Beat[] }>(p.creds, 'admin', 'ListHeartbeats'),
      ]);
      setList(principals.Principals);
      setBeats(new Map(heartbeats.Heartbeats.map((b) => [b.Name, b])));
      setError('');
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => void load(), []);
  const act = async (x: PrincipalView, action: 'revoke' | 'rotate') => {
    try {
      if (action === 'revoke') {
        await call(p.creds, 'admin', 'RevokePrincipal', { Id: x.AccessKeyId });
        setNotice(`Revoked ${x.AccessKeyId}`);
      } else {
        const out = await call<{ Principal: PrincipalView; SecretAccessKey: string }>(p.creds, 'admin', 'RotatePrincipal', { Id: x.AccessKeyId });
        setNotice(`Rotated ${x.Name}: access key ${out.Principal.AccessKeyId}, secret ${out.SecretAccessKey} (shown once; the old key stopped working${x.Kind === 'device' ? '; give the device these in its credentials.json, or pair it again' : ''})`);
      }
      setConfirming(undefined);
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const actions = (x: PrincipalView) => {
    if (x.Status !== 'ACTIVE') return '';
    if (confirming?.id === x.AccessKeyId) {
      const verb = confirming.action === 'revoke' ? 'revoke' : 'rotate';
      return h('span', { class: 'row' },
        h('button', { type: 'button', onClick: () => act(x, confirming.action) }, `Confirm ${verb} ${x.Name}`),
        h('button', { type: 'button', onClick: () => setConfirming(undefined) }, 'Cancel'));
    }
    return h('span', { class: 'row' },
      h('button', { type: 'button', onClick: () => setConfirming({ id: x.AccessKeyId, action: 'rotate' }) }, `Rotate ${x.Name}`),
      h('button', { type: 'button', onClick: () => setConfirming({ id: x.AccessKeyId, action: 'revoke' }) }, `Revoke ${x.Name}`));
  };
  return h('div', { class: 'single' }, h('article', { 'aria-label': 'Devices and operators' },
    h('div', { class: 'row' }, h('h2', null, 'Devices and operators'), h('button', { type: 'button', onClick: load }, 'Refresh devices')),
    h(Alert, { text: error }),
    notice && h('p', { role: 'status', class: 'mono-wrap' }, notice),
    list && h('table', { 'aria-label': 'Principals' },
      h('thead', null, h('tr', null, ['Name', 'Kind', 'Device ID', 'Access key', 'Policy', 'Created', 'Status', 'Last seen', 'Agent and buffers', 'Action'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, list.map((x) => {
        const beat = beats.get(x.Name);
        return h('tr', { key: x.AccessKeyId },
          h('td', null, x.Name), h('td', null, x.Kind), h('td', null, x.DeviceId ?? '—'), h('td', { class: 'mono' }, x.AccessKeyId), h('td', null, x.Policy),
          h('td', null, time(x.CreatedAt)), h('td', null, x.Status),
          h('td', { title: beat ? time(beat.ReceivedAt) : undefined }, beat ? ago(beat.ReceivedAt) : x.Kind === 'device' ? 'never (no heartbeat since the gateway started)' : '—'),
          h(Health, { beat }),
          h('td', null, actions(x)),
        );
      })),
    ),
    h(PairDevice, { creds: p.creds, onPaired: load }),
  ));
}
