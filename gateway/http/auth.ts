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

/** What the headers (or query) of a signed request say, once everything checkable without the body is checked. */
export interface SignatureHeaders {
  accessKeyId: string;
  secret: string;
  url: URL;
  headers: Record<string, string | string[] | undefined>;
  signedHeaders: string[];
  givenSignature: string;
  amzDateText: string;
  scope: { date: string; region: string; service: string };
}

/**
 * Verifies a request's SigV4 signature: the header stage (checkSignatureHeaders),
 * then the payload hash and the signature itself.
 */
export function verifySigV4(req: AuthRequest, body: Buffer, o: VerifyOptions): Verified {
  const h = checkSignatureHeaders(req, o);
  checkSignature(req, h, payloadHashOf(req, body, o));
  return { accessKeyId: h.accessKeyId };
}

/**
 * Everything the gateway can check before it reads a byte of the body: the
 * signature's form, scope, date and key, and which headers it covers. When the
 * client signed the payload hash in `x-amz-content-sha256`, the signature
 * itself too (`verified`); the body is then only compared with that hash. The
 * stock SDKs sign the payload hash inside the canonical request only, so
 * their signatures wait for the body.
 */
export function checkSigV4BeforeBody(req: AuthRequest, o: VerifyOptions): Verified & { verified: boolean } {
  const h = checkSignatureHeaders(req, o);
  const declared = one(req.headers['x-amz-content-sha256']);
  if (declared === undefined || !h.signedHeaders.includes('x-amz-content-sha256')) return { accessKeyId: h.accessKeyId, verified: false };
  if (!/^[0-9a-f]{64}$/.test(declared) && !((declared === unsignedPayload || declared === streamingPayload) && o.allowUnsignedPayload)) {
    return { accessKeyId: h.accessKeyId, verified: false };
  }
  checkSignature(req, h, declared);
  return { accessKeyId: h.accessKeyId, verified: true };
}

function checkSignatureHeaders(req: AuthRequest, o: VerifyOptions): SignatureHeaders {
  const url = new URL(req.url, 'http://localhost');
  const authHeader = one(req.headers.authorization);
  const query = url.searchParams;
  const presigned = query.has('X-Amz-Algorithm');
  if (authHeader && presigned) {
    throw new AwsError('InvalidSignatureException', "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
  }
  if (!authHeader && !presigned) throw new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const form = authHeader ? headerForm(authHeader, req) : queryForm(query);
  const { credential, signedHeadersText, givenSignature, amzDateText, expiresSeconds } = form;

  // Credential: AKID/yyyymmdd/region/service/aws4_request
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1]!)) {
    throw new AwsError('IncompleteSignatureException', `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`);
  }
  const [accessKeyId, scopeDate, region, service] = parts as [string, string, string, string, string];
  if (service !== o.service) throw new AwsError('InvalidSignatureException', `Credential should be scoped to correct service: '${o.service}'. `);
  if (region !== o.region) throw new AwsError('InvalidSignatureException', `Credential should be scoped to a valid region, not '${region}'. `);
  const signedAt = parseAmzDate(amzDateText);
  if (Number.isNaN(signedAt)) throw badDate(amzDateText);
  if (amzDateText.slice(0, 8) !== scopeDate) {
    throw new AwsError('InvalidSignatureException', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDateText.slice(0, 8)}', from '${amzDateText}'.`);
  }

  const secret = o.lookupSecret(accessKeyId);
  if (secret === undefined) throw new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  checkTime(amzDateText, signedAt, expiresSeconds, o.now);

  const signedHeaders = signedHeadersText.split(';');
  const headers: Record<string, string | string[] | undefined> = { ...req.headers };
  // HTTP/2 carries the host in :authority; clients sign it as `host`.
  if (headers.host === undefined && headers[':authority'] !== undefined) headers.host = headers[':authority'];
  checkSignedHeaders(signedHeaders, headers);
  return { accessKeyId, secret, url, headers, signedHeaders, givenSignature, amzDateText, scope: { date: scopeDate, region, service } };
}

interface SignatureForm {
  credential: string;
  signedHeadersText: string;
  givenSignature: string;
  amzDateText: string;
  /** Presigned requests: how long the signature lives; undefined for the header form (5 minutes either side). */
  expiresSeconds: number | undefined;
}

function headerForm(authHeader: string, req: AuthRequest): SignatureForm {
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
  const amzDate = one(req.headers['x-amz-date']);
  const dateHeader = one(req.headers.date);
  if (!amzDate && !dateHeader) msg += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  if (msg) throw new AwsError('IncompleteSignatureException', `${msg}Authorization=${authHeader}`);
  const alg = authHeader.split(' ', 1)[0]!;
  if (alg !== algorithm) {
    throw new AwsError('IncompleteSignatureException', `Unsupported AWS 'algorithm': '${alg}'. Authorization=${authHeader}`);
  }
  return {
    credential: params.Credential!,
    signedHeadersText: params.SignedHeaders!,
    givenSignature: params.Signature!,
    amzDateText: amzDate || amzDateOfDateHeader(dateHeader!),
    expiresSeconds: undefined,
  };
}

/**
 * The signing time from a `Date` header. AWS's Common Parameters: "If the Date
 * header is specified in the ISO 8601 basic format, X-Amz-Date is not
 * required"; RFC 7231 dates are accepted as well. Anything else is the
 * ISO-8601 error (issue #11: it used to throw a RangeError, a 500).
 */
function amzDateOfDateHeader(text: string): string {
  if (!Number.isNaN(parseAmzDate(text))) return text;
  const ms = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw badDate(text);
  return amzDateOf(ms);
}

function badDate(text: string): AwsError {
  return new AwsError('IncompleteSignatureException', `Date must be in ISO-8601 'basic format'. Got '${text}'. See http://en.wikipedia.org/wiki/ISO_8601`);
}

function queryForm(query: URLSearchParams): SignatureForm {
  let msg = '';
  for (const p of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date']) {
    if (!query.get(p)) msg += `AWS query-string parameters must include '${p}'. `;
  }
  if (msg) throw new AwsError('IncompleteSignatureException', `${msg}Re-examine the query-string parameters.`);
  if (query.get('X-Amz-Algorithm') !== algorithm) {
    throw new AwsError('IncompleteSignatureException', `Unsupported AWS 'algorithm': '${query.get('X-Amz-Algorithm')}'.`);
  }
  const expiresText = query.get('X-Amz-Expires');
  // Without X-Amz-Expires a presigned request lives as long as a header-signed one (issue #11: it used to get the 7-day maximum).
  const expiresSeconds = expiresText === null ? undefined : Number(expiresText);
  if (expiresSeconds !== undefined && (!/^\d{1,9}$/.test(expiresText!) || expiresSeconds < 1)) {
    throw new AwsError('IncompleteSignatureException', `X-Amz-Expires must be a positive integer number of seconds. Got '${expiresText}'.`);
  }
  if (expiresSeconds !== undefined && expiresSeconds > presignedExpiresSecondsMax) {
    // S3's wording for the same SigV4 bound.
    throw new AwsError('InvalidSignatureException', `X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than ${presignedExpiresSecondsMax} seconds`);
  }
  return {
    credential: query.get('X-Amz-Credential')!,
    signedHeadersText: query.get('X-Amz-SignedHeaders')!,
    givenSignature: query.get('X-Amz-Signature')!,
    amzDateText: query.get('X-Amz-Date')!,
    expiresSeconds,
  };
}

function checkTime(amzDateText: string, signedAt: number, expiresSeconds: number | undefined, now: number): void {
  if (expiresSeconds !== undefined) {
    if (now > signedAt + expiresSeconds * 1000) {
      throw new AwsError('InvalidSignatureException', `Signature expired: ${amzDateText} is now earlier than ${amzDateOf(now - expiresSeconds * 1000)} (${amzDateOf(now)} - ${expiresSeconds} sec.)`);
    }
  } else if (signedAt < now - signatureSkewMsMax) {
    throw new AwsError('InvalidSignatureException', `Signature expired: ${amzDateText} is now earlier than ${amzDateOf(now - signatureSkewMsMax)} (${amzDateOf(now)} - 5 min.)`);
  }
  if (signedAt > now + signatureSkewMsMax) {
    throw new AwsError('InvalidSignatureException', `Signature not yet current: ${amzDateText} is still later than ${amzDateOf(now + signatureSkewMsMax)} (${amzDateOf(now)} + 5 min.)`);
  }
}

/**
 * The signature must cover the host, the operation and the body's type: a
 * signature that leaves out `x-amz-target` could be replayed as any other
 * action (issue #11: a presigned DescribeStreamSummary became DeleteStream).
 * As AWS requires of its `x-amz-*` headers, every one present must be signed;
 * so must `content-type`.
 */
function checkSignedHeaders(signedHeaders: string[], headers: Record<string, string | string[] | undefined>): void {
  if (!signedHeaders.includes('host') && !signedHeaders.includes(':authority')) {
    throw new AwsError('InvalidSignatureException', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  for (const name of Object.keys(headers)) {
    if ((name.startsWith('x-amz-') || name === 'content-type') && !signedHeaders.includes(name)) {
      // Not observed on AWS: worded as its message for the host header above.
      throw new AwsError('InvalidSignatureException', `'${name}' must be a 'SignedHeader' in the AWS Authorization.`);
    }
  }
  for (const h of signedHeaders) {
    if (headers[h] === undefined) throw new AwsError('InvalidSignatureException', signatureMismatch);
  }
}

const signatureMismatch =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

function payloadHashOf(req: AuthRequest, body: Buffer, o: VerifyOptions): string {
  const declared = one(req.headers['x-amz-content-sha256']);
  if (declared === unsignedPayload || declared === streamingPayload) {
    if (!o.allowUnsignedPayload) throw new AwsError('InvalidSignatureException', `'x-amz-content-sha256' value ${declared} is not supported by this service.`);
    return declared;
  }
  const payloadHash = sha256Hex(body);
  if (declared !== undefined && declared !== payloadHash) {
    throw new AwsError('InvalidSignatureException', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return payloadHash;
}

function checkSignature(req: AuthRequest, h: SignatureHeaders, payloadHash: string): void {
  const queryPairs: Array<[string, string]> = [];
  for (const [k, v] of h.url.searchParams) if (k !== 'X-Amz-Signature') queryPairs.push([k, v]);
  const canonical = canonicalRequest({ method: req.method, path: h.url.pathname, query: queryPairs, headers: h.headers, signedHeaders: h.signedHeaders, payloadHash });
  const { date, region, service } = h.scope;
  const expected = signature(cachedSigningKey(h.secret, date, region, service), stringToSign(h.amzDateText, `${date}/${region}/${service}/aws4_request`, canonical));
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(h.givenSignature, 'utf8');
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new AwsError('InvalidSignatureException', signatureMismatch);
}
