// Issue #11, item 9 (TLS suites): proves against a real `tributary gateway
// start` child process that TLS 1.2 clients get forward-secret AEAD suites
// only. A client offers each TLS 1.2 suite its OpenSSL knows, one at a time
// (at security level 0, so that it offers even weak ones): the gateway
// completes the handshake for ECDHE with AES-GCM or ChaCha20-Poly1305 and
// refuses all others, CBC/SHA-1, CCM8 and ARIA among them (Node's default
// list offered those), before and after a certificate reload (SIGHUP used to
// reset the list to Node's defaults) of a server certificate `gateway init
// --force` issued under the same CA; TLS 1.3 still works, TLS 1.1 does not.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promisify } from 'node:util';
import { spawnTestGateway } from '../helpers/attack.ts';
import { tributaryBundle } from '../helpers/bundles.ts';

type Spawned = Awaited<ReturnType<typeof spawnTestGateway>>;
let gw: Spawned;
let ca: string;

beforeAll(async () => {
  gw = await spawnTestGateway([], { tls: true });
  ca = fs.readFileSync(path.join(gw.dataDir, 'tls', 'ca.crt'), 'utf8');
});
afterAll(async () => {
  await gw?.kill();
});

/**
 * TLS 1.2 suites OpenSSL knows but tls.getCiphers() leaves out (it lists a
 * default context's): CCM, CCM8, ARIA, Camellia and DSS ones.
 */
const unlisted = [
  'ECDHE-ECDSA-AES128-CCM8', 'ECDHE-ECDSA-AES256-CCM8', 'ECDHE-ECDSA-AES128-CCM', 'ECDHE-ECDSA-AES256-CCM', 'AES128-CCM8', 'AES256-CCM8', 'AES128-CCM', 'AES256-CCM',
  'DHE-RSA-AES128-CCM8', 'DHE-RSA-AES256-CCM8', 'DHE-RSA-AES128-CCM', 'DHE-RSA-AES256-CCM',
  'ECDHE-ECDSA-ARIA128-GCM-SHA256', 'ECDHE-ECDSA-ARIA256-GCM-SHA384', 'ECDHE-ARIA128-GCM-SHA256', 'ECDHE-ARIA256-GCM-SHA384', 'DHE-RSA-ARIA128-GCM-SHA256', 'DHE-RSA-ARIA256-GCM-SHA384',
  'ECDHE-ECDSA-CAMELLIA128-SHA256', 'ECDHE-ECDSA-CAMELLIA256-SHA384', 'DHE-DSS-AES128-GCM-SHA256', 'DHE-DSS-AES128-SHA',
];

/** A handshake offering only `options`: the negotiated suite and version (and the server certificate's names), or the error code. */
function handshake(options: tls.ConnectionOptions): Promise<{ cipher?: string; version?: string; error?: string; names?: string }> {
  const u = new URL(gw.url);
  return new Promise((resolve) => {
    let s: tls.TLSSocket;
    try {
      s = tls.connect({ host: u.hostname, port: Number(u.port), ca, servername: 'localhost', ...options });
    } catch (err) {
      return resolve({ error: (err as NodeJS.ErrnoException).code ?? String(err) });
    }
    s.once('secureConnect', () => {
      resolve({ cipher: s.getCipher().standardName, version: s.getProtocol() ?? undefined, names: s.getPeerCertificate().subjectaltname });
      s.destroy();
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

describe('TLS suites (issue #11, item 9)', () => {
  /** The TLS 1.2 suites the gateway completes a handshake for, each offered alone; and the ones it refuses. */
  async function tls12Suites(): Promise<{ accepted: string[]; refused: string[]; names: string[] }> {
    const suites = [...new Set([...tls.getCiphers().map((c) => c.toUpperCase()), ...unlisted])].filter((c) => !c.startsWith('TLS_'));
    const accepted: string[] = [];
    const refused: string[] = [];
    const names = new Set<string>();
    for (const suite of suites) {
      const r = await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: `${suite}:@SECLEVEL=0` });
      if (r.error === 'ERR_SSL_NO_CIPHER_MATCH') continue; // this client's OpenSSL cannot offer it at all
      if (r.cipher) {
        expect(r.version).toBe('TLSv1.2');
        names.add(r.names ?? '');
        accepted.push(suite);
      } else refused.push(suite);
    }
    return { accepted: accepted.sort(), refused, names: [...names] };
  }
  const aead = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305'];
  const weak = ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES128-CCM8', 'ECDHE-ECDSA-ARIA128-GCM-SHA256'];

  it('completes TLS 1.2 handshakes for ECDHE AEAD suites only, also after gateway init --force and a reload', async () => {
    const before = await tls12Suites();
    expect(before.accepted).toEqual(aead);
    expect(before.refused).toEqual(expect.arrayContaining(weak));
    expect(before.names.join()).not.toContain('renewed.example.lan');
    await promisify(execFile)(process.execPath, [tributaryBundle(), 'gateway', 'init', '--data', gw.dataDir, '--force', '--name', 'renewed.example.lan'], { timeout: 60_000 });
    gw.child.kill('SIGHUP');
    for (let i = 0; i < 200 && !gw.logs.some((l) => l.includes('"reloaded TLS certificate"')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(gw.logs.some((l) => l.includes('"reloaded TLS certificate"'))).toBe(true);
    const after = await tls12Suites();
    // The new server certificate, verified against the CA read before: the same CA signed it.
    expect(after.names).toHaveLength(1);
    expect(after.names[0]).toContain('DNS:renewed.example.lan');
    expect(after.accepted).toEqual(aead);
    expect(after.refused).toEqual(expect.arrayContaining(weak));
  });

  it('speaks TLS 1.3 and refuses TLS 1.1', async () => {
    expect(await handshake({})).toMatchObject({ cipher: 'TLS_AES_128_GCM_SHA256', version: 'TLSv1.3' });
    const old = await handshake({ minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    expect(old.cipher).toBeUndefined();
  });
});
