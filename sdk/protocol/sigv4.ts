/**
 * AWS Signature Version 4: the canonical request, the string to sign and the
 * signing key, shared by our clients (which sign) and the gateway (which
 * verifies). Pure: the caller passes the clock and the body hash.
 *
 * Reference: AWS General Reference, "Create a signed AWS API request".
 */
import { createHash, createHmac } from 'node:crypto';

export const algorithm = 'AWS4-HMAC-SHA256';
export const unsignedPayload = 'UNSIGNED-PAYLOAD';
export const streamingPayload = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';

export interface CanonicalInput {
  method: string;
  /** The request path, as sent (percent-encoded). */
  path: string;
  /** Query parameters (decoded), excluding X-Amz-Signature for presigned requests. */
  query: Array<[string, string]>;
  /** Header names lower-case. */
  headers: Record<string, string | string[] | undefined>;
  signedHeaders: string[];
  payloadHash: string;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** RFC 3986 percent-encoding as SigV4 requires (unreserved characters kept). */
export function uriEncode(s: string, encodeSlash = true): string {
  let out = '';
  for (const ch of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(ch);
    if (/[A-Za-z0-9\-._~]/.test(c) || (!encodeSlash && c === '/')) out += c;
    else out += '%' + ch.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * The canonical URI for services other than S3: each segment normalised and
 * encoded twice (once by the client, once by the signer), as the SDKs do.
 */
export function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const normal = '/' + segments.join('/') + (path.endsWith('/') && segments.length ? '/' : '');
  return uriEncode(normal, false);
}

export function canonicalQuery(query: Array<[string, string]>): string {
  return query
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function headerValue(v: string | string[] | undefined): string {
  const joined = Array.isArray(v) ? v.join(',') : (v ?? '');
  return joined.trim().replace(/\s+/g, ' ');
}

export function canonicalRequest(c: CanonicalInput): string {
  const names = [...c.signedHeaders].sort();
  return [
    c.method.toUpperCase(),
    canonicalPath(c.path),
    canonicalQuery(c.query),
    names.map((n) => `${n}:${headerValue(c.headers[n])}\n`).join(''),
    names.join(';'),
    c.payloadHash,
  ].join('\n');
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return [algorithm, amzDate, scope, sha256Hex(canonical)].join('\n');
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac('sha256', 'AWS4' + secret).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}

export function signature(key: Buffer, toSign: string): string {
  return createHmac('sha256', key).update(toSign).digest('hex');
}

/** `20260102T030405Z` from epoch ms. */
export function amzDateOf(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** Epoch ms from `20260102T030405Z`, or NaN. */
export function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
}

export interface SignOptions {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | Uint8Array;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  service: string;
  now: number;
  /** Signs this instead of the body's hash (`UNSIGNED-PAYLOAD` for a streamed body, sent as x-amz-content-sha256). */
  payloadHash?: string;
}

/** Signs a request (header form); returns the headers to send. */
export function signRequest(o: SignOptions): Record<string, string> {
  const amzDate = amzDateOf(o.now);
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...o.headers, host: o.url.host, 'x-amz-date': amzDate };
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  const signedHeaders = Object.keys(lower).filter((k) => k === 'host' || k.startsWith('x-amz-') || k === 'content-type').sort();
  const scope = `${date}/${o.region}/${o.service}/aws4_request`;
  const canonical = canonicalRequest({
    method: o.method,
    path: o.url.pathname,
    query: [...o.url.searchParams.entries()],
    headers: lower,
    signedHeaders,
    payloadHash: o.payloadHash ?? sha256Hex(o.body),
  });
  const sig = signature(signingKey(o.secretAccessKey, date, o.region, o.service), stringToSign(amzDate, scope, canonical));
  headers.authorization = `${algorithm} Credential=${o.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${sig}`;
  delete headers.host;
  return headers;
}
