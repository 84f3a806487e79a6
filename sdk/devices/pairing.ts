/**
 * Device pairing, the device's side. Trust on first contact, pinned: the
 * device connects to the gateway over TLS, checks that the certificate chain
 * ends in a CA whose fingerprint the operator gave it, and only then sends
 * its pairing request (signed with its new ed25519 identity) over a second
 * connection that trusts exactly that CA.
 *
 * @example
 * const creds = await pairDevice({
 *   endpoint: 'https://gateway.local:4567', code: 'ABCDE-FGHJK',
 *   caFingerprint: 'SHA256:9B:9E:...', directory: '/var/lib/tributary',
 * });
 */
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { TributaryError } from '../protocol/errors.ts';
import { fingerprintOf, normaliseFingerprint } from '../crypto/fingerprint.ts';
import { createIdentity, pairingMessage, signDetached, type DeviceIdentity } from '../crypto/identity.ts';

/** What a paired device keeps (mode 0600): enough to sign requests and pin the gateway. */
export interface DeviceCredentials {
  endpoint: string;
  region: string;
  deviceId: string;
  name: string;
  policy: string;
  accessKeyId: string;
  secretAccessKey: string;
  caCertificate: string;
  clientCertificate: string;
  clientKey: string;
  identity: DeviceIdentity;
}

export interface PairOptions {
  endpoint: string;
  code: string;
  /** The CA fingerprint `tributary devices pair-code` printed. */
  caFingerprint: string;
  /** Where to store `credentials.json` (0600); omit to only return them. */
  directory?: string;
  timeoutMs?: number;
}

export const credentialsFileName = 'credentials.json';

/** Fetches the gateway's certificate chain without trusting it, for pinning. */
function fetchChain(url: URL, timeoutMs: number): Promise<{ ca: string; serverFingerprint: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: url.hostname,
      port: Number(url.port || 443),
      servername: net.isIP(url.hostname) ? undefined : url.hostname,
      // Verification happens below, against the pinned fingerprint.
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    socket.once('secureConnect', () => {
      const leaf = socket.getPeerCertificate(true);
      socket.end();
      if (!leaf?.raw) return reject(new TributaryError('PAIRING_TLS', 'the gateway presented no certificate'));
      // Walk to the top of the chain the server sent.
      let top = leaf;
      const seen = new Set<string>();
      while (top.issuerCertificate && top.issuerCertificate !== top && !seen.has(top.fingerprint256)) {
        seen.add(top.fingerprint256);
        top = top.issuerCertificate;
      }
      const toPem = (raw: Buffer) => `-----BEGIN CERTIFICATE-----\n${raw.toString('base64').replace(/(.{64})/g, '$1\n').trim()}\n-----END CERTIFICATE-----\n`;
      resolve({ ca: toPem(top.raw), serverFingerprint: fingerprintOf(toPem(leaf.raw)) });
    });
    socket.once('timeout', () => socket.destroy(new TributaryError('PAIRING_TLS', `no TLS answer from ${url.host} within ${timeoutMs} ms`)));
    socket.once('error', (err) => reject(new TributaryError('PAIRING_TLS', `cannot reach ${url.host} over TLS: ${err.message}`, { cause: err })));
  });
}

export async function pairDevice(o: PairOptions): Promise<DeviceCredentials> {
  const url = new URL(o.endpoint);
  if (url.protocol !== 'https:') throw new TributaryError('PAIRING_TLS', 'pairing needs an https:// gateway URL: keys are never sent in clear text');
  const timeoutMs = o.timeoutMs ?? 15_000;
  const { ca, serverFingerprint } = await fetchChain(url, timeoutMs);
  const got = fingerprintOf(ca);
  if (normaliseFingerprint(got) !== normaliseFingerprint(o.caFingerprint)) {
    throw new TributaryError('PAIRING_FINGERPRINT_MISMATCH', `the gateway's CA fingerprint is ${got}, not the ${o.caFingerprint} you were given; refusing to pair (someone may be intercepting the connection)`);
  }
  if (!new X509Certificate(ca).ca) throw new TributaryError('PAIRING_TLS', 'the pinned certificate is not a CA certificate');

  const identity = createIdentity();
  const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const clientPublicKey = client.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const timestampMs = Date.now();
  const signature = signDetached(identity, pairingMessage({ code: o.code, publicKey: identity.publicKey, clientPublicKey, timestampMs, serverFingerprint }));
  const body = JSON.stringify({ code: o.code, publicKey: identity.publicKey, clientPublicKey, timestampMs, signature });

  const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = https.request(
      { host: url.hostname, port: Number(url.port || 443), path: '/pairing', method: 'POST', ca, timeout: timeoutMs, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.once('timeout', () => req.destroy(new TributaryError('PAIRING_TIMEOUT', 'the gateway did not answer the pairing request in time')));
    req.once('error', reject);
    req.end(body);
  });
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(reply.text) as Record<string, unknown>;
  } catch {
    throw new TributaryError('PAIRING_FAILED', `pairing failed with HTTP ${reply.status}: ${reply.text.slice(0, 200)}`);
  }
  if (reply.status !== 200) {
    throw new TributaryError(reply.status === 429 ? 'PAIRING_RATE_LIMITED' : 'PAIRING_REFUSED', `pairing refused: ${String(parsed.message ?? parsed.__type ?? reply.status)}`);
  }
  const creds: DeviceCredentials = {
    endpoint: url.origin,
    region: String(parsed.region),
    deviceId: String(parsed.deviceId),
    name: String(parsed.name),
    policy: String(parsed.policy),
    accessKeyId: String(parsed.accessKeyId),
    secretAccessKey: String(parsed.secretAccessKey),
    caCertificate: ca,
    clientCertificate: String(parsed.clientCertificate),
    clientKey: client.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    identity,
  };
  if (o.directory) saveDeviceCredentials(o.directory, creds);
  return creds;
}

export function saveDeviceCredentials(directory: string, creds: DeviceCredentials): string {
  fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
  const file = path.join(directory, credentialsFileName);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
  return file;
}

export function loadDeviceCredentials(directory: string): DeviceCredentials {
  return JSON.parse(fs.readFileSync(path.join(directory, credentialsFileName), 'utf8')) as DeviceCredentials;
}
