/**
 * The gateway's own small PKI: a CA, the server certificate it signs, and
 * client certificates for devices (mutual TLS). ECDSA P-256 throughout, made
 * with @peculiar/x509 on Node's WebCrypto. Private keys are written 0600.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPublicKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fingerprintOf } from '../../sdk/crypto/fingerprint.ts';
import { TributaryError } from '../../sdk/protocol/errors.ts';

export { fingerprintOf, normaliseFingerprint } from '../../sdk/crypto/fingerprint.ts';
import { writeFileAtomic } from '../storage/local/segment.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const dayMs = 24 * 3600 * 1000;
/** Server and client certificates live two years; the CA ten. */
export const leafValidityDays = 825;
export const caValidityDays = 3650;

export interface TlsFiles {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
}

export function tlsFiles(dir: string): TlsFiles {
  return {
    caCert: path.join(dir, 'ca.crt'),
    caKey: path.join(dir, 'ca.key'),
    serverCert: path.join(dir, 'server.crt'),
    serverKey: path.join(dir, 'server.key'),
  };
}

function serial(): string {
  // Positive 16-byte serial number.
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0]! &= 0x7f;
  return Buffer.from(b).toString('hex');
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').trim()}\n-----END PRIVATE KEY-----\n`;
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, alg, true, ['sign']);
}

export interface InitOptions {
  /** DNS names for the server certificate. */
  names: string[];
  /** IP addresses for the server certificate. */
  ips: string[];
  force?: boolean;
}

/** Creates the CA and the server certificate unless they exist (or `force`). Returns the CA fingerprint. */
export async function initTls(dir: string, o: InitOptions): Promise<{ fingerprint: string; created: boolean }> {
  const files = tlsFiles(dir);
  if (!o.force && fs.existsSync(files.caCert) && fs.existsSync(files.serverCert)) {
    return { fingerprint: fingerprintOf(fs.readFileSync(files.caCert, 'utf8')), created: false };
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const now = Date.now();
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=Tributary gateway CA ${new Date(now).toISOString().slice(0, 10)}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + caValidityDays * dayMs),
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  await writeFileAtomic(files.caKey, await exportKeyPem(caKeys.privateKey), 0o600);
  await writeFileAtomic(files.caCert, ca.toString('pem') + '\n', 0o644);
  await issueServerCertificate(dir, o.names, o.ips);
  return { fingerprint: fingerprintOf(ca.toString('pem')), created: true };
}

/** (Re)issues the server certificate under the existing CA. */
export async function issueServerCertificate(dir: string, names: string[], ips: string[]): Promise<void> {
  const files = tlsFiles(dir);
  const caCert = new x509.X509Certificate(fs.readFileSync(files.caCert, 'utf8'));
  const caKey = await importKeyPem(fs.readFileSync(files.caKey, 'utf8'));
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${names[0] ?? ips[0] ?? 'tributary-gateway'}`,
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + leafValidityDays * dayMs),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...names.map((n) => ({ type: 'dns' as const, value: n })), ...ips.map((ip) => ({ type: 'ip' as const, value: ip }))]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  await writeFileAtomic(files.serverKey, await exportKeyPem(keys.privateKey), 0o600);
  await writeFileAtomic(files.serverCert, cert.toString('pem') + '\n' + caCert.toString('pem') + '\n', 0o644);
}

/**
 * Signs a client certificate (mutual TLS) for a principal's own public key
 * (SPKI PEM): `CN=<name>, OU=<kind>`. What binds it to the principal is its
 * fingerprint, recorded with the principal (principals.ts); the subject is
 * for people reading it.
 */
export async function issueClientCertificate(dir: string, subject: { name: string; kind: 'device' | 'operator' }, publicKeyPem: string): Promise<string> {
  const files = tlsFiles(dir);
  const caCert = new x509.X509Certificate(fs.readFileSync(files.caCert, 'utf8'));
  const caKey = await importKeyPem(fs.readFileSync(files.caKey, 'utf8'));
  let spki: Buffer;
  try {
    const key = createPublicKey(publicKeyPem);
    if (key.asymmetricKeyType !== 'ec') throw new Error('not an EC key');
    spki = key.export({ type: 'spki', format: 'der' });
  } catch (err) {
    throw new TributaryError('CLIENT_KEY_INVALID', 'the client public key must be an ECDSA P-256 key in PEM (SPKI) form', { cause: err });
  }
  const publicKey = await webcrypto.subtle.importKey('spki', spki, alg, true, ['verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${subject.name}, OU=${subject.kind}`,
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + leafValidityDays * dayMs),
    publicKey,
    signingKey: caKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return cert.toString('pem') + '\n';
}

/**
 * A key pair made here and a client certificate for it: for the operator's
 * own profile, which lives on the gateway's machine next to its secret key.
 */
export async function issueClientKeyAndCertificate(dir: string, subject: { name: string; kind: 'device' | 'operator' }): Promise<{ certificate: string; key: string }> {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const certificate = await issueClientCertificate(dir, subject, pair.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  return { certificate, key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}
