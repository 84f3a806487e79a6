/** The Devices view: every principal (ListPrincipals), with revoke (RevokePrincipal: the key stops working on its next request). */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, type Credentials } from './api.ts';
import { Alert, errorText, time } from './ui.ts';

type PrincipalView = { AccessKeyId: string; Kind: string; Name: string; Policy: string; DeviceId?: string; CreatedAt: number; Status: string };

export function DevicesView(p: { creds: Credentials }) {
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
  return h('div', { class: 'single' }, h('article', { 'aria-label': 'Devices and operators' },
    h('div', { class: 'row' }, h('h2', null, 'Devices and operators'), h('button', { type: 'button', onClick: load }, 'Refresh devices')),
    h(Alert, { text: error }),
    notice && h('p', { role: 'status' }, notice),
    list && h('table', { 'aria-label': 'Principals' },
      h('thead', null, h('tr', null, ['Name', 'Kind', 'Device ID', 'Access key', 'Policy', 'Created', 'Status', 'Action'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, list.map((x) => h('tr', { key: x.AccessKeyId },
        h('td', null, x.Name), h('td', null, x.Kind), h('td', null, x.DeviceId ?? '—'), h('td', { class: 'mono' }, x.AccessKeyId), h('td', null, x.Policy),
        h('td', null, time(x.CreatedAt)), h('td', null, x.Status),
        h('td', null, x.Status !== 'ACTIVE' ? '' : confirming === x.AccessKeyId
          ? h('span', { class: 'row' },
            h('button', { type: 'button', onClick: () => revoke(x.AccessKeyId) }, `Confirm revoke ${x.Name}`),
            h('button', { type: 'button', onClick: () => setConfirming(undefined) }, 'Cancel'))
          : h('button', { type: 'button', onClick: () => setConfirming(x.AccessKeyId) }, `Revoke ${x.Name}`)),
      ))),
    ),
  ));
}
