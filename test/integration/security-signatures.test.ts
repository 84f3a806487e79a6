// Issue #11, items 2 and 9 (Date header): proves against a real gateway child
// process that a signature binds the operation it was made for. A presigned
// DescribeStreamSummary (made by the stock SDK signer, which moves
// X-Amz-Target into the query) replayed with an X-Amz-Target: DeleteStream
// header, and header signatures that leave out x-amz-target or content-type,
// are refused and the stream survives; presigned URLs without X-Amz-Expires
// live 5 minutes, not 7 days, and longer than 7 days are refused; an
// unparseable Date header gets AWS's ISO-8601 error instead of a 500.
import http from 'node:http';
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { SignatureV4 } from '@smithy/signature-v4';
import { waitActive } from '../helpers/gateway.ts';
import { sdkClient, spawnTestGateway } from '../helpers/attack.ts';
import { amzDateOf, canonicalRequest, sha256Hex, signature, signingKey, stringToSign } from '../../sdk/protocol/sigv4.ts';

type Spawned = Awaited<ReturnType<typeof spawnTestGateway>>;
let gw: Spawned;
let url: URL;

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

beforeAll(async () => {
  gw = await spawnTestGateway();
  url = new URL(gw.url);
  const c = sdkClient(gw.url, gw.operator);
  await c.send(new CreateStreamCommand({ StreamName: 'victim', ShardCount: 1 }));
  await waitActive(c, 'victim');
  c.destroy();
});
afterAll(async () => {
  await gw?.kill();
});

function send(path: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function victimStatus(): Promise<string | undefined> {
  const c = sdkClient(gw.url, gw.operator);
  try {
    return (await c.send(new DescribeStreamSummaryCommand({ StreamName: 'victim' }))).StreamDescriptionSummary?.StreamStatus;
  } finally {
    c.destroy();
  }
}

const body = JSON.stringify({ StreamName: 'victim' });
const jsonType = 'application/x-amz-json-1.1';
const presignedHeaders = { 'content-type': jsonType, 'x-amz-target': 'Kinesis_20131202.DescribeStreamSummary' };
const notSigned = (h: string) => ({ __type: 'InvalidSignatureException', message: `'${h}' must be a 'SignedHeader' in the AWS Authorization.` });

describe('the operation is bound to the signature (issue #11, item 2)', () => {
  it('refuses a presigned DescribeStreamSummary replayed as DeleteStream', async () => {
    const signer = new SignatureV4({ credentials: { ...gw.operator }, region: 'us-east-1', service: 'kinesis', sha256: Sha256 as never });
    const presigned = (await signer.presign(
      { method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers: { host: url.host, 'content-type': jsonType, 'x-amz-target': 'Kinesis_20131202.DescribeStreamSummary' }, body } as never,
      { expiresIn: 300 },
    )) as { query: Record<string, string>; headers: Record<string, string> };
    // The signer moved X-Amz-Target into the query, where it is signed; the gateway routes by the header.
    expect(presigned.query['x-amz-target']).toBe('Kinesis_20131202.DescribeStreamSummary');
    const path = `/?${new URLSearchParams(presigned.query).toString()}`;
    const replay = await send(path, { ...presigned.headers, 'x-amz-target': 'Kinesis_20131202.DeleteStream' }, body);
    expect(replay).toEqual({ status: 400, body: notSigned('x-amz-target') });
    expect(await victimStatus()).toBe('ACTIVE');
  });

  it('refuses header signatures that leave out x-amz-target or content-type', async () => {
    const signer = new SignatureV4({ credentials: { ...gw.operator }, region: 'us-east-1', service: 'kinesis', sha256: Sha256 as never });
    const signWithout = async (left: string) =>
      ((await signer.sign(
        { method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers: { host: url.host, 'content-type': jsonType, 'x-amz-target': 'Kinesis_20131202.DescribeStreamSummary' }, body } as never,
        { unsignableHeaders: new Set([left]) },
      )) as { headers: Record<string, string> }).headers;
    const noTarget = await signWithout('x-amz-target');
    expect(noTarget.authorization).not.toContain('x-amz-target');
    expect(await send('/', { ...noTarget, 'x-amz-target': 'Kinesis_20131202.DeleteStream' }, body)).toEqual({ status: 400, body: notSigned('x-amz-target') });
    const noType = await signWithout('content-type');
    expect(await send('/', noType, body)).toEqual({ status: 400, body: notSigned('content-type') });
    expect(await victimStatus()).toBe('ACTIVE');
  });

  /** A presigned request built by hand, so that X-Amz-Expires can be left out or set out of range. */
  function presignByHand(signedAt: number, expires?: string): string {
    const date = amzDateOf(signedAt);
    const scope = `${date.slice(0, 8)}/us-east-1/kinesis/aws4_request`;
    const query: Array<[string, string]> = [
      ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'], ['X-Amz-Credential', `${gw.operator.accessKeyId}/${scope}`], ['X-Amz-Date', date],
      ['X-Amz-SignedHeaders', 'content-type;host;x-amz-target'], ...(expires === undefined ? [] : [['X-Amz-Expires', expires] as [string, string]]),
    ];
    const headers = { host: url.host, 'content-type': jsonType, 'x-amz-target': 'Kinesis_20131202.DescribeStreamSummary' };
    const canonical = canonicalRequest({ method: 'POST', path: '/', query, headers, signedHeaders: ['content-type', 'host', 'x-amz-target'], payloadHash: sha256Hex(body) });
    const sig = signature(signingKey(gw.operator.secretAccessKey, date.slice(0, 8), 'us-east-1', 'kinesis'), stringToSign(date, scope, canonical));
    return `/?${new URLSearchParams([...query, ['X-Amz-Signature', sig]]).toString()}`;
  }

  it('gives presigned URLs without X-Amz-Expires 5 minutes, and refuses more than 7 days', async () => {
    expect((await send(presignByHand(Date.now()), presignedHeaders, body)).status).toBe(200);
    const sixMinutesOld = await send(presignByHand(Date.now() - 6 * 60_000), presignedHeaders, body);
    expect(sixMinutesOld.status).toBe(400);
    expect(sixMinutesOld.body.__type).toBe('InvalidSignatureException');
    expect(String(sixMinutesOld.body.message)).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
    expect((await send(presignByHand(Date.now() - 6 * 60_000, '3600'), presignedHeaders, body)).status).toBe(200);
    expect(await send(presignByHand(Date.now(), '604801'), presignedHeaders, body)).toEqual({
      status: 400,
      body: { __type: 'InvalidSignatureException', message: 'X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds' },
    });
  });
});

describe('an unparseable Date header (issue #11, item 9)', () => {
  it('answers IncompleteSignatureException, not 500', async () => {
    const auth = `AWS4-HMAC-SHA256 Credential=${gw.operator.accessKeyId}/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=content-type;date;host;x-amz-target, Signature=${'0'.repeat(64)}`;
    const r = await send('/', { authorization: auth, date: 'not a date', ...presignedHeaders }, body);
    expect(r).toEqual({
      status: 400,
      body: { __type: 'IncompleteSignatureException', message: "Date must be in ISO-8601 'basic format'. Got 'not a date'. See http://en.wikipedia.org/wiki/ISO_8601" },
    });
  });
});
