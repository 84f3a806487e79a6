/**
 * Mutual TLS tied to the caller (issue #11, item 8). A client certificate
 * from the gateway's CA is not enough on its own: it must have been issued
 * to a principal that is still active (a revoked device's certificate is
 * refused when its connection opens and on every request of a connection
 * opened before the revocation), and a request it carries must be signed by
 * that same principal, so that one device's certificate does not lend itself
 * to another principal's keys.
 *
 * Who owns which certificate is the principal store's business
 * (gateway/devices/principals.ts, by SHA-256 fingerprint); this module reads
 * the certificate off the connection and answers for the front door.
 */
import type http from 'node:http';
import type tls from 'node:tls';
import { AwsError } from '../../sdk/protocol/errors.ts';

/** The active principal a client certificate was issued to, by fingerprint (`SHA256:AB:...`); undefined when none is. */
export type CertificateOwnerOf = (fingerprint: string) => { accessKeyId: string } | undefined;

export const certificateRequiredMessage = "A client certificate issued by this gateway's CA is required.";
export const certificateRevokedMessage = 'The client certificate is revoked or was not issued to a principal of this gateway.';
export const certificateNotCallersMessage = 'The client certificate was issued to another principal than the one that signed the request.';

/** Per connection: the fingerprint of its CA-verified client certificate, or null when it has none. */
const fingerprints = new WeakMap<object, string | null>();

/** The fingerprint of the client certificate a TLS connection presented and the CA verified; undefined for none. */
export function verifiedClientFingerprint(socket: tls.TLSSocket): string | undefined {
  let fp = fingerprints.get(socket);
  if (fp === undefined) {
    const cert = socket.authorized ? socket.getPeerCertificate() : undefined;
    fp = cert?.fingerprint256 ? `SHA256:${cert.fingerprint256}` : null;
    fingerprints.set(socket, fp);
  }
  return fp ?? undefined;
}

/** The TLS connection a request came on: for HTTP/2 its session's socket (one per connection), else its own. */
function tlsSocketOf(req: http.IncomingMessage): tls.TLSSocket | undefined {
  const h2 = (req as unknown as { stream?: { session?: { socket?: unknown } } }).stream?.session?.socket;
  const socket = (h2 ?? req.socket) as Partial<tls.TLSSocket>;
  return typeof socket.getPeerCertificate === 'function' ? (socket as tls.TLSSocket) : undefined;
}

/** Request -> the access key its client certificate is bound to. */
const boundKeys = new WeakMap<http.IncomingMessage, string>();

/**
 * The gate before anything else under mutual TLS: the request's connection
 * must carry a CA-verified certificate of an active principal. Returns the
 * refusal (403), or undefined after noting whom the certificate binds the
 * request to (checkCertificateBinding).
 */
export function admitClientCertificate(req: http.IncomingMessage, ownerOf: CertificateOwnerOf): AwsError | undefined {
  const socket = tlsSocketOf(req);
  const fingerprint = socket && verifiedClientFingerprint(socket);
  if (!fingerprint) return new AwsError('AccessDeniedException', certificateRequiredMessage, 403);
  const owner = ownerOf(fingerprint);
  if (!owner) return new AwsError('AccessDeniedException', certificateRevokedMessage, 403);
  boundKeys.set(req, owner.accessKeyId);
  return undefined;
}

/** Once the signature names the caller: throws a 403 AccessDeniedException unless the request's certificate (if the gate bound one) is the caller's. */
export function checkCertificateBinding(req: http.IncomingMessage, caller: { accessKeyId: string }): void {
  const bound = boundKeys.get(req);
  if (bound !== undefined && bound !== caller.accessKeyId) throw new AwsError('AccessDeniedException', certificateNotCallersMessage, 403);
}
