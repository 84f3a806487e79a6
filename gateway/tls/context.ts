/**
 * The TLS material the listener serves, loaded from the data directory and
 * reloadable in place (SIGHUP): new handshakes use the new certificate while
 * established connections carry on undisturbed.
 */
import fs from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { fingerprintOf } from '../../sdk/crypto/fingerprint.ts';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import { tlsFiles } from './certificates.ts';

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  ca: Buffer;
  /** Fingerprint of the leaf (server) certificate: what pairing requests are bound to. */
  serverFingerprint: string;
  caFingerprint: string;
}

export function loadTlsMaterial(dir: string): TlsMaterial {
  const f = tlsFiles(dir);
  try {
    const cert = fs.readFileSync(f.serverCert);
    const ca = fs.readFileSync(f.caCert);
    const key = fs.readFileSync(f.serverKey);
    const leaf = new X509Certificate(cert);
    if (!leaf.checkPrivateKey(createPrivateKey(key))) throw new Error(`${f.serverKey} does not match ${f.serverCert}`);
    return { key, cert, ca, serverFingerprint: fingerprintOf(cert.toString('utf8')), caFingerprint: fingerprintOf(ca.toString('utf8')) };
  } catch (err) {
    throw new TributaryError('TLS_MATERIAL', `cannot load TLS material from ${dir}: ${(err as Error).message} (run: tributary gateway init --data <dir>)`, { cause: err });
  }
}
