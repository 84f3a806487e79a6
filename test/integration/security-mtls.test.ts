// Issue #11, item 8: proves that mutual TLS is tied to the caller, against a
// real `tributary gateway start --mtls` child process. The operator's own CLI
// works (its profile carries a client certificate bound to the operator); a
// paired device's certificate works with that device's keys only, on the
// generic, offloaded (PutRecords) and REST (Kinesis Video) paths, over
// HTTP/1.1 and HTTP/2; once the device is revoked, its certificate is refused
// on a connection opened before the revocation and, with anyone's keys, as a
// new connection's handshake completes.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KinesisClient, ListStreamsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { spawnTestGateway, type Keys } from '../helpers/attack.ts';
import { tributaryBundle } from '../helpers/bundles.ts';
import { waitActive } from '../helpers/gateway.ts';
import { pairDevice, type DeviceCredentials } from '../../sdk/devices/pairing.ts';
import { signRequest } from '../../sdk/protocol/sigv4.ts';
import { certificateNotCallersMessage, certificateRequiredMessage, certificateRevokedMessage } from '../../gateway/http/client-certificate.ts';

const run = promisify(execFile);
type Spawned = Awaited<ReturnType<typeof spawnTestGateway>>;

let gw: Spawned;
let ca: string;
let profile: string;
let camA: DeviceCredentials;
let camB: DeviceCredentials;

/** The real CLI, as the operator runs it, with the profile the gateway wrote. */
async function cli(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [tributaryBundle(), ...args, '--profile', profile], { timeout: 60_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

async function pair(name: string): Promise<DeviceCredentials> {
  const { code, caFingerprint } = (await cli('devices', 'pair-code', '--name', name, '--policy', 'admin')) as { code: string; caFingerprint: string };
  return pairDevice({ endpoint: gw.url, code, caFingerprint });
}

/** A stock SDK client presenting `cert` (or none) and signing with `keys`; `agent` to share one connection. */
function client(keys: Keys, cert?: { clientCertificate: string; clientKey: string }, agent?: https.Agent): KinesisClient {
  return new KinesisClient({
    endpoint: gw.url, region: 'us-east-1', credentials: { ...keys }, maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpsAgent: agent ?? new https.Agent({ ca, ...(cert ? { cert: cert.clientCertificate, key: cert.clientKey } : {}) }) }),
  });
}

async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: err.name, message: err.message, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

/** A signed Kinesis Video REST call (the REST front door's path) over HTTPS with a client certificate. */
function videoCall(keys: Keys, cert: DeviceCredentials): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL('/listStreams', gw.url);
  const body = '{}';
  const headers = signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body, ...keys, region: 'us-east-1', service: 'kinesisvideo', now: Date.now() });
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, ca, cert: cert.clientCertificate, key: cert.clientKey }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A signed ListStreams over HTTP/2 (one session) presenting `cert`: the status and error type. */
async function h2ListStreams(keys: Keys, cert: DeviceCredentials): Promise<{ status: number; type: string | undefined }> {
  const session = http2.connect(gw.url, { ca, cert: cert.clientCertificate, key: cert.clientKey });
  session.on('error', () => {});
  try {
    const body = '{}';
    const headers = signRequest({ method: 'POST', url: new URL('/', gw.url), headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.ListStreams' }, body, ...keys, region: 'us-east-1', service: 'kinesis', now: Date.now() });
    const { host: _host, ...rest } = headers as Record<string, string>;
    return await new Promise((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/', ...rest });
      let status = 0;
      let type: string | undefined;
      req.on('response', (h) => {
        status = Number(h[':status']);
        type = h['x-amzn-errortype'] as string | undefined;
      });
      req.on('error', reject);
      req.on('end', () => resolve({ status, type }));
      req.resume();
      req.end(body);
    });
  } finally {
    session.close();
  }
}

/** Opens TLS with a client certificate: resolves how the connection ended once the gateway had a moment to judge it. */
function handshakeWith(cert: DeviceCredentials): Promise<'closed by the gateway' | 'open'> {
  const u = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: u.hostname, port: Number(u.port), ca, cert: cert.clientCertificate, key: cert.clientKey, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    s.on('error', () => {});
    s.once('close', () => resolve('closed by the gateway'));
    s.once('secureConnect', () => {
      // A request the gateway answers when it keeps the connection: /health is open to any certificate.
      s.write(`GET /health HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`);
      s.once('data', () => {
        resolve('open');
        s.destroy();
      });
    });
    setTimeout(() => reject(new Error('the gateway neither answered nor closed')), 20_000).unref();
  });
}

beforeAll(async () => {
  gw = await spawnTestGateway(['--mtls'], { tls: true });
  ca = fs.readFileSync(path.join(gw.dataDir, 'tls', 'ca.crt'), 'utf8');
  profile = path.join(gw.dataDir, 'operator.json');
  camA = await pair('cam-a');
  camB = await pair('cam-b');
});
afterAll(async () => {
  await gw?.kill();
});

describe('mutual TLS tied to the caller (issue #11, item 8)', () => {
  it("keeps the operator's CLI working: its profile carries a certificate bound to the operator", async () => {
    const written = JSON.parse(fs.readFileSync(profile, 'utf8')) as { clientCertificate?: string; clientKey?: string };
    expect(written.clientCertificate).toContain('BEGIN CERTIFICATE');
    expect(written.clientKey).toContain('PRIVATE KEY');
    expect(fs.statSync(profile).mode & 0o777).toBe(0o600);
    expect(await cli('streams', 'create', 'mtls-s', '--shards', '1')).toEqual({ created: 'mtls-s' });
    const op = client(gw.operator, { clientCertificate: written.clientCertificate!, clientKey: written.clientKey! });
    await waitActive(op, 'mtls-s');
    // The operator's keys without its certificate are refused as before.
    expect(await errorOf(client(gw.operator).send(new ListStreamsCommand({})))).toEqual({ name: 'AccessDeniedException', message: certificateRequiredMessage, status: 403 });
  });

  it("refuses one device's certificate with another principal's keys, on every path", async () => {
    expect((await client(camA, camA).send(new ListStreamsCommand({}))).StreamNames).toContain('mtls-s');
    const borrowed = await errorOf(client(camB, camA).send(new ListStreamsCommand({})));
    expect(borrowed).toEqual({ name: 'AccessDeniedException', message: certificateNotCallersMessage, status: 403 });
    // The operator's keys behind a device's certificate: refused too.
    expect((await errorOf(client(gw.operator, camA).send(new ListStreamsCommand({})))).message).toBe(certificateNotCallersMessage);
    // PutRecords is parsed and verified in the offload workers; the binding holds there too.
    const put = new PutRecordsCommand({ StreamName: 'mtls-s', Records: [{ PartitionKey: 'k', Data: Buffer.from('x') }] });
    expect((await client(camA, camA).send(put)).FailedRecordCount).toBe(0);
    expect((await errorOf(client(camB, camA).send(put))).message).toBe(certificateNotCallersMessage);
    // HTTP/2, as the agent's uplink speaks it.
    expect(await h2ListStreams(camA, camA)).toEqual({ status: 200, type: undefined });
    expect(await h2ListStreams(camB, camA)).toEqual({ status: 403, type: 'AccessDeniedException' });
    // Kinesis Video's REST front door.
    expect((await videoCall(camA, camA)).status).toBe(200);
    expect(await videoCall(camB, camA)).toEqual({ status: 403, body: { message: certificateNotCallersMessage } });
  });

  it("refuses a revoked device's certificate on open connections and at the handshake, whoever signs", async () => {
    const agent = new https.Agent({ ca, cert: camA.clientCertificate, key: camA.clientKey, keepAlive: true, maxSockets: 1 });
    const kept = client(camA, camA, agent);
    await kept.send(new ListStreamsCommand({}));
    expect(await handshakeWith(camA)).toBe('open');

    expect(await cli('devices', 'revoke', 'cam-a')).toMatchObject({ Principal: { Name: 'cam-a', Status: 'REVOKED' } });

    // The connection opened before the revocation: the next request is refused at the certificate, before the signature.
    const stale = await errorOf(client(camB, camA, agent).send(new ListStreamsCommand({})));
    expect(stale).toEqual({ name: 'AccessDeniedException', message: certificateRevokedMessage, status: 403 });
    agent.destroy();
    // A new connection with the revoked certificate ends as its handshake completes (HTTP/1.1 and HTTP/2 alike),
    // and so every request over it fails, even one signed with another device's good keys.
    expect(await handshakeWith(camA)).toBe('closed by the gateway');
    const session = http2.connect(gw.url, { ca, cert: camA.clientCertificate, key: camA.clientKey });
    session.on('error', () => {});
    await new Promise((resolve) => session.once('close', resolve));
    const borrowed = await errorOf(client(camB, camA).send(new ListStreamsCommand({})));
    expect(borrowed.status).toBeUndefined(); // no HTTP answer at all: the socket was closed
    // The other device is unaffected, and the refusal was logged (once) with the certificate's subject.
    expect((await client(camB, camB).send(new ListStreamsCommand({}))).StreamNames).toContain('mtls-s');
    expect(gw.logs.filter((l) => l.includes('refused a client certificate of no active principal') && l.includes('"subject":"cam-a"'))).toHaveLength(1);
  });
});
