/**
 * The gateway's one port. With TLS (the default) it serves HTTPS with
 * HTTP/2 and HTTP/1.1 negotiated by ALPN; a client that speaks plain HTTP to
 * it gets a short 400 telling it to use https:// instead of a hung socket.
 * Without TLS (`--insecure-http`, for local development) it serves cleartext
 * HTTP/1.1 and HTTP/2 with prior knowledge on the same port. The first bytes
 * of a connection decide: 0x16 opens a TLS handshake, "PRI * HTTP/2.0" an
 * HTTP/2 connection, anything else is HTTP/1.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log.ts';
import type { TlsMaterial } from '../tls/context.ts';
import { verifiedClientFingerprint, type CertificateOwnerOf } from './client-certificate.ts';
import { ConnectionGuard, handshakeMsMax, headersMsMax, streamsPerSessionMax, type ShedReason } from './connections.ts';

export interface ListenerOptions {
  host: string;
  port: number;
  /** With `mutual`, `certificateOwner` tells which client certificates belong to an active principal (client-certificate.ts). */
  tls?: { material: TlsMaterial; mutual: boolean; certificateOwner?: CertificateOwnerOf };
  /** Open connections in total, and per client address (connections.ts). */
  connectionsMax: number;
  connectionsPerAddressMax: number;
  log: Logger;
  onShed?(reason: ShedReason): void;
  /** A connection closed after its handshake: its client certificate belongs to no active principal. */
  onCertificateRefused?(): void;
}

export interface Listener {
  server: net.Server;
  port: number;
  /** Swaps the certificate and key for new handshakes; open connections are untouched. */
  reloadTls(material: TlsMaterial): void;
  closeConnections(): void;
}

const plainHttpMessage = 'This port serves HTTPS. Use an https:// endpoint URL instead.\n';
const plainHttpToTlsPort = `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(plainHttpMessage)}\r\n\r\n${plainHttpMessage}`;

/**
 * What the gateway offers. TLS 1.3: its three suites, AES-128-GCM first.
 * TLS 1.2: forward-secret (ECDHE) AEAD suites only, for ECDSA certificates
 * (the gateway's own) and RSA ones (an operator's): no CBC or SHA-1, no CCM
 * or CCM8, no ARIA, no finite-field DHE (issue #11, item 9: Node's default
 * list ends in `HIGH`, which offers all of those). Every client from the last
 * decade speaks one of these (Mozilla's "intermediate" configuration is the
 * same list).
 */
export const cipherPreference = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The secure context's options: at the start and on every reload. */
function secureContextOptions(material: TlsMaterial): tls.SecureContextOptions {
  return {
    key: material.key,
    cert: material.cert,
    ca: material.ca,
    // TLS 1.2 at least; prefer AES-128-GCM, strong and cheaper per byte than AES-256 on bulk uploads.
    minVersion: 'TLSv1.2',
    ciphers: cipherPreference,
    honorCipherOrder: true,
  };
}

export async function listen(listener: http.RequestListener, o: ListenerOptions): Promise<Listener> {
  const guard = new ConnectionGuard({ connectionsMax: o.connectionsMax, connectionsPerAddressMax: o.connectionsPerAddressMax, log: o.log, ...(o.onShed ? { onShed: o.onShed } : {}) });
  const onRequest = (req: { socket: { remoteAddress?: string; remotePort?: number } }) => guard.active(req.socket);
  const h2Listener = listener as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;
  const h1 = http.createServer({ keepAlive: true, requestTimeout: 120_000, headersTimeout: headersMsMax }, listener);
  // SDKs keep connections alive; outlive their idle timeouts so they never race a close.
  h1.keepAliveTimeout = 65_000;
  const h2Settings = { maxConcurrentStreams: streamsPerSessionMax };
  const h2 = http2.createServer({ maxSessionMemory: 64, settings: h2Settings }, h2Listener);
  h2.setTimeout(120_000);
  const secure = o.tls
    ? http2.createSecureServer(
        {
          ...secureContextOptions(o.tls.material),
          allowHTTP1: true,
          maxSessionMemory: 64,
          settings: h2Settings,
          handshakeTimeout: handshakeMsMax,
          // Mutual TLS asks every client for a certificate but decides per request
          // (the front door), so that devices without one yet can still pair.
          requestCert: o.tls.mutual,
          rejectUnauthorized: false,
        },
        h2Listener,
      )
    : undefined;
  if (secure) secure.setTimeout(120_000);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  for (const s of [h2, secure]) {
    s?.on('session', (session) => {
      sessions.add(session);
      guard.watchSession(session);
      session.once('close', () => sessions.delete(session));
    });
  }
  for (const s of [h1, h2, secure]) s?.on('request', onRequest);
  // Mutual TLS: a certificate of a revoked principal (or one never issued to a principal) ends its connection
  // as the handshake completes, before the HTTP servers see it. Certificates from other CAs, and none, are
  // left to the front door, which lets them reach /pairing and /health only.
  const owner = o.tls?.mutual ? o.tls.certificateOwner : undefined;
  if (secure && owner) secure.prependListener('secureConnection', (socket: tls.TLSSocket) => refuseUnowned(socket, owner));
  const refusedLogged = new Map<string, number>();
  function refuseUnowned(socket: tls.TLSSocket, ownerOf: CertificateOwnerOf): void {
    const fingerprint = verifiedClientFingerprint(socket);
    if (fingerprint === undefined || ownerOf(fingerprint)) return;
    const subject = socket.getPeerCertificate()?.subject?.CN;
    const address = socket.remoteAddress;
    socket.destroy();
    o.onCertificateRefused?.();
    // Once a minute per certificate: a revoked device retrying must not flood the log.
    const now = Date.now();
    if ((refusedLogged.get(fingerprint) ?? 0) > now - 60_000) return;
    if (refusedLogged.size > 10_000) refusedLogged.clear();
    refusedLogged.set(fingerprint, now);
    o.log.warn('refused a client certificate of no active principal (revoked device or operator)', { address, fingerprint, subject });
  }
  // A failed handshake (wrong CA, missing client certificate, too slow) closes that socket only.
  secure?.on('tlsClientError', (err, socket) => guard.handshakeFailed(socket, (err as NodeJS.ErrnoException).code === 'ERR_TLS_HANDSHAKE_TIMEOUT'));

  // Sockets accepted here are handed to the HTTP servers, which never see the accept and so never
  // set their own TCP_NODELAY: without it, Nagle and delayed ACKs hold small responses for up to 40 ms.
  const server = net.createServer({ noDelay: true, keepAlive: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    if (!guard.admit(socket)) return;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const silent = guard.firstBytesDeadline(socket);
    let seen = Buffer.alloc(0);
    const sniff = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      if (seen.length < 3 && seen[0] !== 0x16) return;
      silent();
      socket.off('data', sniff);
      socket.pause();
      socket.unshift(seen);
      if (secure) {
        if (seen[0] === 0x16) secure.emit('connection', socket);
        else socket.end(plainHttpToTlsPort);
      } else {
        (seen.toString('latin1', 0, 3) === 'PRI' ? h2 : h1).emit('connection', socket);
      }
      process.nextTick(() => socket.resume());
    };
    socket.on('data', sniff);
  });
  // Past the total, Node closes new connections at once.
  server.maxConnections = o.connectionsMax;
  server.on('drop', (d) => guard.shed('total', { address: d?.remoteAddress, connectionsMax: o.connectionsMax }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as net.AddressInfo).port,
    reloadTls(material) {
      if (!secure || !o.tls) throw new Error('TLS is off: nothing to reload');
      // Everything the context holds, not only the new files: setSecureContext resets what it is not given
      // (the suites would fall back to Node's defaults, CBC and all).
      secure.setSecureContext(secureContextOptions(material));
    },
    closeConnections() {
      guard.close();
      h1.closeIdleConnections();
      for (const s of sessions) s.close();
      setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, 2000).unref();
    },
  };
}
