// Proves the gateway's security end to end with real clients over real TLS:
// SigV4 failures answer with AWS's exact errors (stock SDK, AWS CLI, raw
// requests), devices pair over CA-pinned HTTPS with single-use, expiring,
// rate-limited codes, policies keep devices to their own streams, revocation
// bites on the next request, and TLS refuses plain HTTP, wrong CAs and (with
// mutual TLS) clients without certificates; certificates reload in place.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListStreamsCommand, PutRecordCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { kinesisClient, tempDir, testGateway, testOperator, waitActive } from '../helpers/gateway.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { issueServerCertificate } from '../../gateway/tls/certificates.ts';
import { pairDevice } from '../../sdk/devices/pairing.ts';
import { JsonRpcClient } from '../../sdk/http/json-rpc-client.ts';
import { signRequest } from '../../sdk/protocol/sigv4.ts';

const run = promisify(execFile);
type TestGateway = Gateway & { dataDir: string };

const mismatch = 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

function tlsClient(gw: TestGateway, credentials: { accessKeyId: string; secretAccessKey: string }, extra: { cert?: string; key?: string } = {}): KinesisClient {
  const ca = fs.readFileSync(path.join(gw.dataDir, 'tls', 'ca.crt'), 'utf8');
  return new KinesisClient({
    endpoint: gw.url,
    region: 'us-east-1',
    credentials: { ...credentials },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca, ...extra }) }),
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

describe('SigV4 authentication (plain HTTP gateway)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await testGateway();
  });
  afterAll(() => gw.close());

  it('accepts good keys and refuses wrong secrets, unknown keys and stale dates with AWS errors', async () => {
    await kinesisClient(gw.url).send(new ListStreamsCommand({}));
    const wrongSecret = await errorOf(kinesisClient(gw.url, { accessKeyId: testOperator.accessKeyId, secretAccessKey: 'not-the-secret-at-all' }).send(new ListStreamsCommand({})));
    expect(wrongSecret).toEqual({ name: 'InvalidSignatureException', message: mismatch, status: 400 });
    const unknown = await errorOf(kinesisClient(gw.url, { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'whatever-whatever' }).send(new ListStreamsCommand({})));
    expect(unknown).toEqual({ name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.', status: 400 });
    // A client whose clock is 10 minutes slow signs with a stale date.
    const stale = new KinesisClient({ endpoint: gw.url, region: 'us-east-1', credentials: { ...testOperator }, maxAttempts: 1, systemClockOffset: -10 * 60_000 });
    const expired = await errorOf(stale.send(new ListStreamsCommand({})));
    expect(expired.name).toBe('InvalidSignatureException');
    expect(expired.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
    const wrongRegion = await errorOf(new KinesisClient({ endpoint: gw.url, region: 'eu-west-1', credentials: { ...testOperator }, maxAttempts: 1 }).send(new ListStreamsCommand({})));
    expect(wrongRegion).toEqual({ name: 'InvalidSignatureException', message: "Credential should be scoped to a valid region, not 'eu-west-1'. ", status: 400 });
  });

  it('refuses tampered bodies, missing and incomplete signatures', async () => {
    const url = new URL(gw.url);
    const rawCall = (headers: Record<string, string>, body: string) =>
      new Promise<{ status: number; body: Record<string, string> }>((resolve, reject) => {
        const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, string> }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const base = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.ListStreams' };
    const signed = signRequest({ method: 'POST', url: new URL('/', url), headers: base, body: '{}', ...testOperator, region: 'us-east-1', service: 'kinesis', now: Date.now() });
    expect((await rawCall({ ...signed, host: url.host }, '{}')).status).toBe(200);
    // Same signature, different body: the body hash no longer matches.
    const tampered = await rawCall({ ...signed, host: url.host }, '{"Limit":1}');
    expect(tampered).toEqual({ status: 400, body: { __type: 'InvalidSignatureException', message: mismatch } });
    const missing = await rawCall(base, '{}');
    expect(missing).toEqual({ status: 400, body: { __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' } });
    const incomplete = await rawCall({ ...base, authorization: 'AWS4-HMAC-SHA256 SignedHeaders=host', 'x-amz-date': signed['x-amz-date']! }, '{}');
    expect(incomplete.status).toBe(400);
    expect(incomplete.body).toEqual({
      __type: 'IncompleteSignatureException',
      message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 SignedHeaders=host",
    });
  });

  it('accepts the query-string (presigned) form the SDK signer makes, and refuses it expired or tampered', async () => {
    const { SignatureV4 } = await import('@smithy/signature-v4');
    const { createHash, createHmac } = await import('node:crypto');
    class Sha256 {
      private h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
      constructor(secret?: string | Uint8Array) {
        this.h = secret ? createHmac('sha256', secret) : createHash('sha256');
      }
      update(d: string | Uint8Array): void {
        this.h.update(d);
      }
      async digest(): Promise<Uint8Array> {
        return new Uint8Array(this.h.digest());
      }
      reset(): void {}
    }
    const url = new URL(gw.url);
    const body = '{}';
    const signer = new SignatureV4({ credentials: { ...testOperator }, region: 'us-east-1', service: 'kinesis', sha256: Sha256 as never });
    const presign = async (signingDate: Date, expiresIn: number) =>
      (await signer.presign(
        { method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.ListStreams' }, body } as never,
        { signingDate, expiresIn, unhoistableHeaders: new Set(['x-amz-target', 'content-type']) },
      )) as { query: Record<string, string>; headers: Record<string, string> };
    const send = (p: { query: Record<string, string>; headers: Record<string, string> }, payload: string) =>
      new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        const qs = new URLSearchParams(p.query).toString();
        const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: `/?${qs}`, headers: { ...p.headers, 'content-length': String(Buffer.byteLength(payload)) } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown> }));
        });
        req.on('error', reject);
        req.end(payload);
      });
    const good = await presign(new Date(), 300);
    expect(good.query['X-Amz-Signature']).toMatch(/^[0-9a-f]{64}$/);
    expect(await send(good, body)).toMatchObject({ status: 200, body: { StreamNames: [] } });
    expect((await send(good, '{"Limit":1}')).body).toEqual({ __type: 'InvalidSignatureException', message: mismatch });
    const old = await presign(new Date(Date.now() - 20 * 60_000), 60);
    const expired = await send(old, body);
    expect(expired.body.__type).toBe('InvalidSignatureException');
    expect(String(expired.body.message)).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 60 sec\.\)$/);
  });

  it('works with the AWS CLI given good keys and reports a wrong secret as AWS does', async () => {
    const aws = (secret: string) =>
      run('/usr/bin/aws', ['--endpoint-url', gw.url, 'kinesis', 'list-streams'], {
        env: { ...process.env, AWS_ACCESS_KEY_ID: testOperator.accessKeyId, AWS_SECRET_ACCESS_KEY: secret, AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_PAGER: '' },
      });
    expect(JSON.parse((await aws(testOperator.secretAccessKey)).stdout)).toHaveProperty('StreamNames');
    const err = (await aws('wrong-secret-wrong-secret').catch((e: unknown) => e)) as { stderr: string };
    expect(err.stderr).toContain(`An error occurred (InvalidSignatureException) when calling the ListStreams operation: ${mismatch}`);
  });
});

describe('pairing, policies and revocation over HTTPS', () => {
  let gw: TestGateway;
  let admin: JsonRpcClient;
  let ca: string;
  beforeAll(async () => {
    gw = await testGateway({ tlsEnabled: true, enforceLimits: false });
    ca = fs.readFileSync(path.join(gw.dataDir, 'tls', 'ca.crt'), 'utf8');
    admin = new JsonRpcClient({ endpoint: gw.url, region: 'us-east-1', service: 'tributary', targetPrefix: 'Tributary_20261125', credentials: testOperator, ca });
  });
  afterAll(async () => {
    admin.close();
    await gw.close();
  });

  const pairCode = (name: string) => admin.call<{ Code: string; CaFingerprint: string }>('CreatePairingCode', { DeviceName: name, Policy: 'device', TtlSeconds: 600 });

  it('pairs a device with a pinned CA and keeps it to its own streams', async () => {
    const op = tlsClient(gw, testOperator);
    for (const s of ['telemetry-cam-01', 'telemetry-cam-02']) {
      await op.send(new CreateStreamCommand({ StreamName: s, ShardCount: 1 }));
      await waitActive(op, s);
    }
    const { Code, CaFingerprint } = await pairCode('cam-01');
    expect(CaFingerprint).toBe(gw.caFingerprint);
    const dir = tempDir('trb-device-');
    const creds = await pairDevice({ endpoint: gw.url, code: Code, caFingerprint: CaFingerprint, directory: dir });
    expect(creds.name).toBe('cam-01');
    expect(fs.statSync(path.join(dir, 'credentials.json')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'credentials.json'), 'utf8')).secretAccessKey).toBe(creds.secretAccessKey);

    const device = tlsClient(gw, creds);
    const put = await device.send(new PutRecordCommand({ StreamName: 'telemetry-cam-01', PartitionKey: 'p', Data: Buffer.from('from cam-01') }));
    expect(put.SequenceNumber).toMatch(/^\d{56}$/);
    const denied = await errorOf(device.send(new PutRecordCommand({ StreamName: 'telemetry-cam-02', PartitionKey: 'p', Data: Buffer.from('x') })));
    expect(denied).toEqual({
      name: 'AccessDeniedException',
      status: 400,
      message: 'User: arn:aws:iam::000000000000:user/cam-01 is not authorized to perform: kinesis:PutRecord on resource: arn:aws:kinesis:us-east-1:000000000000:stream/telemetry-cam-02 because no identity-based policy allows the kinesis:PutRecord action',
    });
    // Devices read nothing, not even their own stream; the operator reads everything.
    const it = await op.send(new GetShardIteratorCommand({ StreamName: 'telemetry-cam-01', ShardId: put.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    expect((await errorOf(device.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator })))).name).toBe('AccessDeniedException');
    expect((await errorOf(device.send(new ListStreamsCommand({})))).name).toBe('AccessDeniedException');
    const got = await op.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
    expect(Buffer.from(got.Records![0]!.Data!).toString()).toBe('from cam-01');

    // A revoked device is refused on its very next request.
    await admin.call('RevokePrincipal', { Id: 'cam-01' });
    expect(await errorOf(device.send(new PutRecordCommand({ StreamName: 'telemetry-cam-01', PartitionKey: 'p', Data: Buffer.from('x') })))).toEqual({
      name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.', status: 400,
    });
  });

  it('rotates a device key: the old key stops at once, the new one works', async () => {
    const { Code, CaFingerprint } = await pairCode('cam-02');
    const creds = await pairDevice({ endpoint: gw.url, code: Code, caFingerprint: CaFingerprint });
    const rotated = await admin.call<{ Principal: { AccessKeyId: string }; SecretAccessKey: string }>('RotatePrincipal', { Id: creds.deviceId });
    expect((await errorOf(tlsClient(gw, creds).send(new PutRecordCommand({ StreamName: 'telemetry-cam-02', PartitionKey: 'p', Data: Buffer.from('x') })))).name).toBe('UnrecognizedClientException');
    const fresh = tlsClient(gw, { accessKeyId: rotated.Principal.AccessKeyId, secretAccessKey: rotated.SecretAccessKey });
    expect((await fresh.send(new PutRecordCommand({ StreamName: 'telemetry-cam-02', PartitionKey: 'p', Data: Buffer.from('y') }))).ShardId).toBe('shardId-000000000000');
  });

  it('refuses wrong, reused and expired codes alike', async () => {
    const { Code, CaFingerprint } = await pairCode('cam-03');
    const wrong = await pairDevice({ endpoint: gw.url, code: 'AAAAA-BBBBB', caFingerprint: CaFingerprint }).catch((e: Error & { code: string }) => e);
    expect(wrong).toMatchObject({ code: 'PAIRING_REFUSED', message: 'pairing refused: Invalid or expired pairing code.' });
    await pairDevice({ endpoint: gw.url, code: Code, caFingerprint: CaFingerprint });
    const reused = await pairDevice({ endpoint: gw.url, code: Code, caFingerprint: CaFingerprint }).catch((e: Error & { code: string }) => e);
    expect(reused).toMatchObject({ code: 'PAIRING_REFUSED', message: 'pairing refused: Invalid or expired pairing code.' });
    const { code: shortLived } = await gw.principals.createPairingCode('cam-04', 'device', 1);
    await new Promise((r) => setTimeout(r, 20));
    const expired = await pairDevice({ endpoint: gw.url, code: shortLived, caFingerprint: CaFingerprint }).catch((e: Error & { code: string }) => e);
    expect(expired).toMatchObject({ code: 'PAIRING_REFUSED', message: 'pairing refused: Invalid or expired pairing code.' });
  });

  it('never sends keys to a gateway whose CA does not match the pinned fingerprint', async () => {
    const { Code } = await pairCode('cam-05');
    const before = gw.principals.list().length;
    const err = await pairDevice({ endpoint: gw.url, code: Code, caFingerprint: 'SHA256:' + '00:'.repeat(31) + '00' }).catch((e: Error & { code: string }) => e);
    expect(err).toMatchObject({ code: 'PAIRING_FINGERPRINT_MISMATCH' });
    expect(gw.principals.list().length).toBe(before);
    // The code was never presented, so it still works with the right fingerprint.
    expect((await pairDevice({ endpoint: gw.url, code: Code, caFingerprint: gw.caFingerprint! })).name).toBe('cam-05');
  });

  it('rate-limits brute force per address', async () => {
    const fresh = await testGateway({ tlsEnabled: true });
    try {
      const outcomes: string[] = [];
      for (let i = 0; i < 8; i++) {
        const e = await pairDevice({ endpoint: fresh.url, code: `ZZZZZ-${String(i).padStart(5, 'Z')}`, caFingerprint: fresh.caFingerprint! }).catch((x: Error & { code: string }) => x);
        outcomes.push((e as { code: string }).code);
      }
      expect(outcomes.slice(0, 5)).toEqual(Array(5).fill('PAIRING_REFUSED'));
      expect(outcomes.slice(5)).toEqual(Array(3).fill('PAIRING_RATE_LIMITED'));
    } finally {
      await fresh.close();
    }
  });
});

describe('TLS', () => {
  it('answers plain HTTP on the TLS port with a pointer to https', async () => {
    const gw = await testGateway({ tlsEnabled: true });
    try {
      const url = new URL(gw.url);
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        http.get({ host: url.hostname, port: url.port, path: '/health' }, (r) => {
          let body = '';
          r.on('data', (c) => (body += c));
          r.on('end', () => resolve({ status: r.statusCode!, body }));
        }).on('error', reject);
      });
      expect(res).toEqual({ status: 400, body: 'This port serves HTTPS. Use an https:// endpoint URL instead.\n' });
      // A client that trusts another CA refuses the gateway's certificate.
      const other = await testGateway({ tlsEnabled: true });
      const stranger = new JsonRpcClient({ endpoint: gw.url, region: 'us-east-1', service: 'kinesis', targetPrefix: 'Kinesis_20131202', credentials: testOperator, ca: fs.readFileSync(path.join(other.dataDir, 'tls', 'ca.crt'), 'utf8') });
      await expect(stranger.call('ListStreams', {})).rejects.toThrow(/unable to verify|self[- ]signed|certificate/i);
      stranger.close();
      await other.close();
    } finally {
      await gw.close();
    }
  });

  it('with mutual TLS refuses clients without a certificate from its CA', async () => {
    const gw = await testGateway({ tlsEnabled: true, tlsMutual: true, enforceLimits: false });
    try {
      const noCert = await errorOf(tlsClient(gw, testOperator).send(new ListStreamsCommand({})));
      expect(noCert).toEqual({ name: 'AccessDeniedException', message: "A client certificate issued by this gateway's CA is required.", status: 403 });
      // Pairing works without a certificate; the device gets one and is let in with it.
      const { code } = await gw.principals.createPairingCode('cam-10', 'admin', 60_000);
      const creds = await pairDevice({ endpoint: gw.url, code, caFingerprint: gw.caFingerprint! });
      const withCert = tlsClient(gw, creds, { cert: creds.clientCertificate, key: creds.clientKey });
      expect((await withCert.send(new ListStreamsCommand({}))).StreamNames).toEqual([]);
      // A certificate alone is not enough: requests are still signed and checked.
      const certWrongKey = tlsClient(gw, { accessKeyId: creds.accessKeyId, secretAccessKey: 'wrong-wrong-wrong-wrong' }, { cert: creds.clientCertificate, key: creds.clientKey });
      expect((await errorOf(certWrongKey.send(new ListStreamsCommand({})))).name).toBe('InvalidSignatureException');
    } finally {
      await gw.close();
    }
  });

  it('reloads its certificate without dropping open connections', async () => {
    const gw = await testGateway({ tlsEnabled: true });
    try {
      const url = new URL(gw.url);
      const ca = fs.readFileSync(path.join(gw.dataDir, 'tls', 'ca.crt'), 'utf8');
      const peerFingerprint = () =>
        new Promise<string>((resolve, reject) => {
          const s = tls.connect({ host: url.hostname, port: Number(url.port), ca, servername: 'localhost' }, () => {
            resolve(s.getPeerCertificate().fingerprint256);
            s.end();
          });
          s.on('error', reject);
        });
      const agent = new https.Agent({ keepAlive: true, ca, maxSockets: 1 });
      const get = () =>
        new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
          const req = https.get({ host: url.hostname, port: url.port, path: '/health', agent }, (r) => {
            r.resume();
            r.on('end', () => resolve({ status: r.statusCode!, socket: req.socket }));
          });
          req.on('error', reject);
        });
      const first = await get();
      const before = await peerFingerprint();
      await issueServerCertificate(path.join(gw.dataDir, 'tls'), ['localhost'], ['127.0.0.1']);
      gw.reloadTls();
      const after = await peerFingerprint();
      expect(after).not.toBe(before);
      const second = await get();
      expect(second.status).toBe(200);
      expect(second.socket).toBe(first.socket); // the kept-alive connection survived the reload
      agent.destroy();
    } finally {
      await gw.close();
    }
  });
});
