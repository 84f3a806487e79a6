/**
 * `POST /pairing`: a device redeems a one-time code for credentials. The only
 * unauthenticated endpoint, so it is narrow: small bodies, failed attempts
 * limited per source address (IPv6: per /64) and counted globally, and every
 * failure of the code itself (wrong, used, expired, unknown device name)
 * answers the same.
 *
 * The global count cannot lock pairing out (issue #11, item 9: ~2.5 bad
 * attempts a second from rotating addresses used to 429 everyone): a code is
 * checked before the global budget is consulted, so a valid one is always
 * honoured; past the budget, wrong codes get 429 and a warning is logged
 * once a minute. Guessing is held off by the per-address limit and by the
 * code itself: 10 characters of a 31-symbol alphabet (about 49 bits), valid
 * for minutes (10 by default).
 */
import { createPublicKey } from 'node:crypto';
import type http from 'node:http';
import { fingerprintOf } from '../../sdk/crypto/fingerprint.ts';
import { pairingMessage, verifyDetached } from '../../sdk/crypto/identity.ts';
import { addressKey } from '../http/admission.ts';
import type { Logger } from '../log.ts';
import { TokenBucket } from '../streams/throttle.ts';
import type { PrincipalStore } from './principals.ts';

export interface PairingOptions {
  principals: PrincipalStore;
  /** Fingerprint of the server certificate in use (the device signs it), or undefined without TLS. */
  serverFingerprint(): string | undefined;
  issueClientCertificate(deviceName: string, publicKeyPem: string): Promise<string>;
  region: string;
  log: Logger;
  now?: () => number;
  /** Failed attempts per source address per minute (burst the same). */
  perAddressPerMinute?: number;
  /** Failed attempts across all addresses per minute before wrong codes get 429 (a valid code never does). */
  globalPerMinute?: number;
}

const bodyBytesMax = 16 * 1024;
const timestampSkewMsMax = 5 * 60 * 1000;
/** Failed attempts a minute from one address (and its burst). */
export const pairingFailuresPerAddressPerMinute = 5;
/** Failed attempts a minute across all addresses before wrong codes get 429. */
export const pairingFailuresPerMinute = 30;
/** Source addresses whose failures are remembered; past it, those back in credit are forgotten first. */
const addressesMax = 100_000;

export function createPairingEndpoint(o: PairingOptions): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const now = o.now ?? Date.now;
  const perAddress = o.perAddressPerMinute ?? pairingFailuresPerAddressPerMinute;
  const globalPerMinute = o.globalPerMinute ?? pairingFailuresPerMinute;
  const global = new TokenBucket(globalPerMinute / 60, globalPerMinute, now());
  const buckets = new Map<string, TokenBucket>();
  let warnedMs = -Infinity;

  const send = (res: http.ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const sendStatus = (res: http.ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => (send(res, status, body, headers), status);
  const limited = (res: http.ServerResponse) => sendStatus(res, 429, { __type: 'LimitExceededException', message: 'Too many pairing attempts; try again later.' }, { 'Retry-After': '60' });
  /** Logs rate limiting at most once a minute: an attack must not flood the log. */
  const warnLimited = (fields: Record<string, unknown>) => {
    const t = now();
    if (t - warnedMs < 60_000) return;
    warnedMs = t;
    o.log.warn('pairing rate limited', fields);
  };
  const bucketOf = (address: string, t: number): TokenBucket => {
    let bucket = buckets.get(address);
    if (bucket) return bucket;
    if (buckets.size >= addressesMax) {
      // Forget addresses back in credit first, then the oldest.
      for (const [a, b] of buckets) if (b.available(t) && buckets.size >= addressesMax / 2) buckets.delete(a);
      for (const a of buckets.keys()) if (buckets.size >= addressesMax) buckets.delete(a);
    }
    bucket = new TokenBucket(perAddress / 60, perAddress, t);
    buckets.set(address, bucket);
    return bucket;
  };

  return (req, res) => {
    const address = addressKey(req.socket.remoteAddress);
    const bucket = bucketOf(address, now());
    // Failed attempts spend the per-address budget: brute force is failures.
    if (!bucket.available(now())) {
      warnLimited({ address });
      return void limited(res);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= bodyBytesMax) chunks.push(c);
    });
    req.on('end', () => {
      void handle(Buffer.concat(chunks), size).catch((err) => {
        o.log.error('pairing failed', { err: String(err) });
        if (!res.headersSent) send(res, 500, { __type: 'InternalFailure' });
      });
    });

    async function handle(body: Buffer, bytes: number): Promise<void> {
      const status = await respond(body, bytes);
      if (status !== 200) bucket.charge(1, now());
    }

    /** A wrong code: 403, or 429 once failures from everywhere pass the global budget. */
    function wrongCode(): number {
      if (global.tryTake(1, now())) {
        o.log.warn('pairing refused', { address });
        return sendStatus(res, 403, { __type: 'AccessDeniedException', message: 'Invalid or expired pairing code.' });
      }
      warnLimited({ address, globalPerMinute });
      return limited(res);
    }

    async function respond(body: Buffer, bytes: number): Promise<number> {
      if (req.method !== 'POST') return sendStatus(res, 405, { __type: 'ValidationException', message: 'Pairing takes POST.' });
      const serverFingerprint = o.serverFingerprint();
      if (!serverFingerprint) return sendStatus(res, 400, { __type: 'ValidationException', message: 'Pairing requires the gateway to serve TLS.' });
      if (bytes > bodyBytesMax) return sendStatus(res, 413, { __type: 'ValidationException', message: 'Pairing request too large.' });
      let p: { code?: unknown; publicKey?: unknown; clientPublicKey?: unknown; timestampMs?: unknown; signature?: unknown };
      try {
        p = JSON.parse(body.toString('utf8')) as typeof p;
      } catch {
        return sendStatus(res, 400, { __type: 'SerializationException', message: 'The pairing request is not JSON.' });
      }
      if (typeof p.code !== 'string' || typeof p.publicKey !== 'string' || typeof p.clientPublicKey !== 'string' || typeof p.timestampMs !== 'number' || typeof p.signature !== 'string') {
        return sendStatus(res, 400, { __type: 'ValidationException', message: 'A pairing request needs code, publicKey, clientPublicKey, timestampMs and signature.' });
      }
      if (Math.abs(now() - p.timestampMs) > timestampSkewMsMax) {
        return sendStatus(res, 400, { __type: 'ValidationException', message: 'The pairing request timestamp is more than 5 minutes from the gateway clock.' });
      }
      // The code first, cheaply (hashes compared in constant time): a valid one goes on whatever the global count,
      // and wrong ones cost no signature check.
      if (!o.principals.redeemable(p.code)) return wrongCode();
      const message = pairingMessage({ code: p.code, publicKey: p.publicKey, clientPublicKey: p.clientPublicKey, timestampMs: p.timestampMs, serverFingerprint });
      // Proof of possession of the identity key, bound to this gateway's certificate.
      if (!verifyDetached(p.publicKey, message, p.signature)) {
        return sendStatus(res, 400, { __type: 'InvalidSignatureException', message: 'The pairing request signature does not verify with the given public key.' });
      }
      try {
        // Checked before the code is spent, so a malformed key does not burn it.
        const key = createPublicKey(p.clientPublicKey);
        if (key.asymmetricKeyType !== 'ec') throw new Error('not EC');
      } catch {
        return sendStatus(res, 400, { __type: 'ValidationException', message: 'clientPublicKey must be an ECDSA P-256 public key in PEM form.' });
      }
      const redeemed = await o.principals.redeem(p.code, p.publicKey);
      if (!redeemed) return wrongCode();
      const { principal, secretAccessKey } = redeemed;
      // The certificate is bound to this principal: good while it is active, and only for requests it signs.
      const clientCertificate = await o.issueClientCertificate(principal.name, p.clientPublicKey)
        .then(async (cert) => (await o.principals.addCertificate(principal.accessKeyId, fingerprintOf(cert)), cert))
        .catch(async (err: Error) => {
          await o.principals.revoke(principal.accessKeyId);
          throw err;
        });
      o.log.info('device paired', { device: principal.name, deviceId: principal.deviceId, policy: principal.policy, address });
      return sendStatus(res, 200, {
        deviceId: principal.deviceId,
        name: principal.name,
        policy: principal.policy,
        region: o.region,
        accessKeyId: principal.accessKeyId,
        secretAccessKey,
        clientCertificate,
      });
    }
  };
}
