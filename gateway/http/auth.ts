/**
 * SigV4 verification of incoming requests, header and query-string
 * (presigned) forms, with AWS's error types and messages. The secret lookup
 * is injected; comparisons are constant-time; nothing here logs.
 *
 * Messages follow AWS's texts as captured by kinesalite and public bug
 * reports (e.g. "Signature expired: ... is now earlier than ... (... - 5 min.)").
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AwsError } from '../../sdk/protocol/errors.ts';
import {
  algorithm, amzDateOf, canonicalRequest, parseAmzDate, sha256Hex, signature, signingKey, streamingPayload, stringToSign, unsignedPayload,
} from '../../sdk/protocol/sigv4.ts';

/** AWS General Reference: a signed request is valid for 5 minutes either side of the server clock. */
export const signatureSkewMsMax = 5 * 60 * 1000;
/** Presigned URLs may live up to 7 days (X-Amz-Expires). */
export const presignedExpiresSecondsMax = 604800;

export interface AuthRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface VerifyOptions {
  /** The signing name the request must be scoped to (`kinesis`, `firehose`, `kinesisvideo`). */
  service: string;
  region: string;
  now: number;
  /** Whether `x-amz-content-sha256: UNSIGNED-PAYLOAD` (and streaming) may stand in for the body hash. */
  allowUnsignedPayload: boolean;
  lookupSecret(accessKeyId: string): string | undefined;
}

export interface Verified {
  accessKeyId: string;
}

const signingKeys = new Map<string, Buffer>();
function cachedSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  const k = `${createHash('sha256').update(secret).digest('hex')}/${date}/${region}/${service}`;
  let key = signingKeys.get(k);
  if (!key) {
    if (signingKeys.size > 10_000) signingKeys.clear();
    key = signingKey(secret, date, region, service);
    signingKeys.set(k, key);
  }
  return key;
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function verifySigV4(req: AuthRequest, body: Buffer, o: VerifyOptions): Verified {
  const url = new URL(req.url, 'http://localhost');
  const authHeader = one(req.headers.authorization);
  const query = url.searchParams;
  const presigned = query.has('X-Amz-Algorithm');
  if (authHeader && presigned) {
    throw new AwsError('InvalidSignatureException', "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
  }
  if (!authHeader && !presigned) throw new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token');

  let credential: string;
  let signedHeadersText: string;
  let givenSignature: string;
  let amzDateText: string;
  let expiresSeconds = 0;
  if (authHeader) {
    // kinesalite's captures: missing parts are reported before the algorithm
    // is judged ("Authorization: X" names all four), and the parameters are
    // the comma- or space-separated words after the first.
    const params: Record<string, string> = Object.create(null);
    for (const part of authHeader.split(/,| /).slice(1)) {
      const [key, value] = part.trim().split('=');
      if (key) params[key] = value ?? '';
    }
    let msg = '';
    for (const p of ['Credential', 'Signature', 'SignedHeaders']) if (!params[p]) msg += `Authorization header requires '${p}' parameter. `;
    const dateHeader = one(req.headers['x-amz-date']) ?? one(req.headers.date);
    if (!dateHeader) msg += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
    if (msg) throw new AwsError('IncompleteSignatureException', `${msg}Authorization=${authHeader}`);
    const alg = authHeader.split(' ', 1)[0]!;
    if (alg !== algorithm) {
      throw new AwsError('IncompleteSignatureException', `Unsupported AWS 'algorithm': '${alg}'. Authorization=${authHeader}`);
    }
    credential = params.Credential!;
    signedHeadersText = params.SignedHeaders!;
    givenSignature = params.Signature!;
    amzDateText = one(req.headers['x-amz-date']) ?? amzDateOf(Date.parse(one(req.headers.date)!));
  } else {
    let msg = '';
    for (const p of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date']) {
      if (!query.get(p)) msg += `AWS query-string parameters must include '${p}'. `;
    }
    if (msg) throw new AwsError('IncompleteSignatureException', `${msg}Re-examine the query-string parameters.`);
    if (query.get('X-Amz-Algorithm') !== algorithm) {
      throw new AwsError('IncompleteSignatureException', `Unsupported AWS 'algorithm': '${query.get('X-Amz-Algorithm')}'.`);
    }
    credential = query.get('X-Amz-Credential')!;
    signedHeadersText = query.get('X-Amz-SignedHeaders')!;
    givenSignature = query.get('X-Amz-Signature')!;
    amzDateText = query.get('X-Amz-Date')!;
    expiresSeconds = Number(query.get('X-Amz-Expires') ?? presignedExpiresSecondsMax);
    if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > presignedExpiresSecondsMax) {
      throw new AwsError('InvalidSignatureException', `X-Amz-Expires must be between 1 and ${presignedExpiresSecondsMax} seconds.`);
    }
  }

  // Credential: AKID/yyyymmdd/region/service/aws4_request
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1]!)) {
    throw new AwsError('IncompleteSignatureException', `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`);
  }
  const [accessKeyId, scopeDate, region, service] = parts as [string, string, string, string, string];
  if (service !== o.service) throw new AwsError('InvalidSignatureException', `Credential should be scoped to correct service: '${o.service}'. `);
  if (region !== o.region) throw new AwsError('InvalidSignatureException', `Credential should be scoped to a valid region, not '${region}'. `);
  const signedAt = parseAmzDate(amzDateText);
  if (Number.isNaN(signedAt)) throw new AwsError('IncompleteSignatureException', `Date must be in ISO-8601 'basic format'. Got '${amzDateText}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  if (amzDateText.slice(0, 8) !== scopeDate) {
    throw new AwsError('InvalidSignatureException', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDateText.slice(0, 8)}', from '${amzDateText}'.`);
  }

  const secret = o.lookupSecret(accessKeyId);
  if (secret === undefined) throw new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.');

  if (presigned) {
    if (o.now > signedAt + expiresSeconds * 1000) {
      throw new AwsError('InvalidSignatureException', `Signature expired: ${amzDateText} is now earlier than ${amzDateOf(o.now - expiresSeconds * 1000)} (${amzDateOf(o.now)} - ${expiresSeconds} sec.)`);
    }
  } else if (signedAt < o.now - signatureSkewMsMax) {
    throw new AwsError('InvalidSignatureException', `Signature expired: ${amzDateText} is now earlier than ${amzDateOf(o.now - signatureSkewMsMax)} (${amzDateOf(o.now)} - 5 min.)`);
  }
  if (signedAt > o.now + signatureSkewMsMax) {
    throw new AwsError('InvalidSignatureException', `Signature not yet current: ${amzDateText} is still later than ${amzDateOf(o.now + signatureSkewMsMax)} (${amzDateOf(o.now)} + 5 min.)`);
  }

  const signedHeaders = signedHeadersText.split(';');
  if (!signedHeaders.includes('host') && !signedHeaders.includes(':authority')) {
    throw new AwsError('InvalidSignatureException', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  const headers: Record<string, string | string[] | undefined> = { ...req.headers };
  // HTTP/2 carries the host in :authority; clients sign it as `host`.
  if (headers.host === undefined && headers[':authority'] !== undefined) headers.host = headers[':authority'];
  for (const h of signedHeaders) {
    if (headers[h] === undefined) throw new AwsError('InvalidSignatureException', `The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.`);
  }

  const declared = one(req.headers['x-amz-content-sha256']);
  let payloadHash: string;
  if (declared === unsignedPayload || declared === streamingPayload) {
    if (!o.allowUnsignedPayload) throw new AwsError('InvalidSignatureException', `'x-amz-content-sha256' value ${declared} is not supported by this service.`);
    payloadHash = declared;
  } else {
    payloadHash = sha256Hex(body);
    if (declared !== undefined && declared !== payloadHash) {
      throw new AwsError('InvalidSignatureException', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
  }

  const queryPairs: Array<[string, string]> = [];
  for (const [k, v] of query) if (k !== 'X-Amz-Signature') queryPairs.push([k, v]);
  const canonical = canonicalRequest({ method: req.method, path: url.pathname, query: queryPairs, headers, signedHeaders, payloadHash });
  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const expected = signature(cachedSigningKey(secret, scopeDate, region, service), stringToSign(amzDateText, scope, canonical));
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(givenSignature, 'utf8');
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new AwsError(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return { accessKeyId };
}
