/**
 * The operator profile (`<data>/operator.json`, 0600): what the `tributary`
 * admin commands read to reach and sign for a gateway. The first start (or
 * `tributary gateway init`) makes an operator and writes its profile; later
 * starts keep the profile in step with the gateway: its endpoint, its CA, and
 * a client certificate bound to the profile's operator so that the CLI keeps
 * working when the gateway requires mutual TLS (issue #11, item 8).
 */
import { X509Certificate } from 'node:crypto';
import fsp from 'node:fs/promises';
import { fingerprintOf } from '../../sdk/crypto/fingerprint.ts';
import { writeFileAtomic } from '../storage/local/segment.ts';
import { issueClientKeyAndCertificate } from '../tls/certificates.ts';
import type { PrincipalStore } from './principals.ts';

export interface OperatorProfile {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The gateway's CA (PEM), to trust its server certificate. */
  caCertificate?: string;
  /** A client certificate issued to this operator and its private key (PEM), for mutual TLS. */
  clientCertificate?: string;
  clientKey?: string;
}

export const operatorProfileName = 'operator.json';

export async function writeOperatorProfile(file: string, profile: OperatorProfile): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(profile, null, 2) + '\n', 0o600);
}

export interface ProfileOptions {
  principals: PrincipalStore;
  file: string;
  endpoint: string;
  region: string;
  /** The gateway's TLS directory and CA (PEM); undefined when it serves plain HTTP. */
  tls: { dir: string; ca: string } | undefined;
  /** Whether an existing profile's endpoint is rewritten (the gateway knows where it listens; `init` only guesses). */
  refreshEndpoint: boolean;
}

/**
 * Makes the first operator and its profile when the gateway has no active
 * operator; otherwise refreshes an existing profile. Returns the new
 * operator's access key id, if one was made.
 */
export async function provisionOperatorProfile(o: ProfileOptions): Promise<string | undefined> {
  if (!o.principals.list().some((p) => p.kind === 'operator' && p.revokedMs === undefined)) {
    const { principal, secretAccessKey } = await o.principals.createOperator('operator');
    const profile: OperatorProfile = { endpoint: o.endpoint, region: o.region, accessKeyId: principal.accessKeyId, secretAccessKey };
    await writeOperatorProfile(o.file, await withClientCertificate(o, profile));
    return principal.accessKeyId;
  }
  await refreshOperatorProfile(o);
  return undefined;
}

/**
 * Keeps an existing profile in step with the gateway: endpoint (port 0, host
 * changes), CA, and a client certificate that is the profile operator's and
 * signed by the current CA. A damaged or foreign profile is left alone.
 */
async function refreshOperatorProfile(o: ProfileOptions): Promise<void> {
  let profile: OperatorProfile;
  try {
    profile = JSON.parse(await fsp.readFile(o.file, 'utf8')) as OperatorProfile;
  } catch {
    return; // Missing or unreadable: the operator can write one (or point --profile elsewhere).
  }
  if (typeof profile.accessKeyId !== 'string' || typeof profile.secretAccessKey !== 'string') return;
  let next: OperatorProfile = { ...profile, ...(o.refreshEndpoint ? { endpoint: o.endpoint } : {}) };
  if (o.tls) next = await withClientCertificate(o, { ...next, caCertificate: o.tls.ca });
  if (JSON.stringify(next) !== JSON.stringify(profile)) await writeOperatorProfile(o.file, next);
}

/** The profile with its CA and a client certificate bound to its operator: the one it has if still good, else a new one. */
async function withClientCertificate(o: ProfileOptions, profile: OperatorProfile): Promise<OperatorProfile> {
  if (!o.tls) return profile;
  const operator = o.principals.lookup(profile.accessKeyId)?.principal;
  if (operator?.kind !== 'operator') return { ...profile, caCertificate: o.tls.ca };
  if (profile.clientCertificate && profile.clientKey && certificateStillGood(o, profile.clientCertificate, profile.accessKeyId)) {
    return { ...profile, caCertificate: o.tls.ca };
  }
  const { certificate, key } = await issueClientKeyAndCertificate(o.tls.dir, { name: operator.name, kind: 'operator' });
  await o.principals.addCertificate(operator.accessKeyId, fingerprintOf(certificate));
  return { ...profile, caCertificate: o.tls.ca, clientCertificate: certificate, clientKey: key };
}

/** Issued by the current CA, unexpired for at least a month, and recorded as this operator's. */
function certificateStillGood(o: ProfileOptions, pem: string, accessKeyId: string): boolean {
  try {
    const cert = new X509Certificate(pem);
    const ca = new X509Certificate(o.tls!.ca);
    const monthMs = 30 * 24 * 3600 * 1000;
    return cert.verify(ca.publicKey) && Date.parse(cert.validTo) > Date.now() + monthMs && o.principals.certificateOwner(fingerprintOf(pem))?.accessKeyId === accessKeyId;
  } catch {
    return false;
  }
}
