/**
 * Calls to the gateway from the browser: JSON-RPC (`X-Amz-Target`) over
 * fetch to the page's own origin, each SigV4-signed with the SDK's signer
 * (sdk/protocol/sigv4.ts, bundled as is). Session credentials live only in
 * sessionStorage (gone when the tab closes).
 */
import { signRequest } from '../../sdk/protocol/sigv4.ts';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Epoch ms. */
  expiresMs: number;
  name: string;
}

const storageKey = 'tributary.console.session';

export function loadSession(): Credentials | undefined {
  const text = sessionStorage.getItem(storageKey);
  if (!text) return undefined;
  const c = JSON.parse(text) as Credentials;
  if (c.expiresMs <= Date.now()) {
    sessionStorage.removeItem(storageKey);
    return undefined;
  }
  return c;
}

export function saveSession(c: Credentials | undefined): void {
  if (c) sessionStorage.setItem(storageKey, JSON.stringify(c));
  else sessionStorage.removeItem(storageKey);
}

export class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status: number,
  ) {
    super(`${type}: ${message}`);
  }
}

const services = {
  kinesis: { target: 'Kinesis_20131202', signingName: 'kinesis' },
  admin: { target: 'Tributary_20261125', signingName: 'tributary' },
  firehose: { target: 'Firehose_20150804', signingName: 'firehose' },
  analytics: { target: 'KinesisAnalytics_20150814', signingName: 'kinesisanalytics' },
} as const;

type Signer = Pick<Credentials, 'accessKeyId' | 'secretAccessKey' | 'region'>;

function signedHeaders(creds: Signer, url: URL, headers: Record<string, string>, body: string, service: string): Record<string, string> {
  return signRequest({
    method: 'POST', url, headers, body, service, now: Date.now(),
    accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, region: creds.region,
  });
}

/**
 * A Kinesis Video Streams REST-JSON call (`POST /listStreams`, ...), signed
 * as `kinesisvideo`; `base` is a data endpoint (GetDataEndpoint), else the
 * page's origin. Errors come as `x-amzn-ErrorType` and `{"Message": ...}`.
 */
export async function rest<T = any>(creds: Signer, path: string, input: Record<string, unknown> = {}, base = location.origin): Promise<T> {
  const text = await (await restResponse(creds, path, input, base)).text();
  return (text ? JSON.parse(text) : {}) as T;
}

/** A REST-JSON call whose answer is binary (GetClip's MP4). */
export async function restBlob(creds: Signer, path: string, input: Record<string, unknown>, base = location.origin): Promise<Blob> {
  return (await restResponse(creds, path, input, base)).blob();
}

async function restResponse(creds: Signer, path: string, input: Record<string, unknown>, base: string): Promise<Response> {
  const url = new URL(path, base);
  const body = JSON.stringify(input);
  const headers = signedHeaders(creds, url, { 'content-type': 'application/json' }, body, 'kinesisvideo');
  const res = await fetch(url, { method: 'POST', headers, body });
  if (res.ok) return res;
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { Message: text };
  }
  const type = (res.headers.get('x-amzn-ErrorType') ?? String(json.__type ?? 'Error')).split(':')[0]!.split('#').pop()!;
  throw new ApiError(type, String(json.Message ?? json.message ?? res.statusText), res.status);
}

export async function call<T = any>(
  creds: Signer,
  service: keyof typeof services,
  action: string,
  input: Record<string, unknown> = {},
): Promise<T> {
  const svc = services[service];
  const body = JSON.stringify(input);
  const url = new URL('/', location.origin);
  const headers = signedHeaders(creds, url, { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${svc.target}.${action}` }, body, svc.signingName);
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  const json = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const type = String(json.__type ?? 'Error').split('#').pop()!;
    throw new ApiError(type, String(json.message ?? json.Message ?? res.statusText), res.status);
  }
  return json as T;
}

/** Exchanges long-term keys for 1-hour session credentials; the long-term secret is not kept. */
export async function signIn(accessKeyId: string, secretAccessKey: string, region: string): Promise<Credentials> {
  const out = await call<{ Credentials: { AccessKeyId: string; SecretAccessKey: string; Expiration: number }; Principal: { Name: string } }>(
    { accessKeyId, secretAccessKey, region },
    'admin',
    'GetSessionToken',
  );
  const c: Credentials = {
    accessKeyId: out.Credentials.AccessKeyId,
    secretAccessKey: out.Credentials.SecretAccessKey,
    region,
    expiresMs: out.Credentials.Expiration * 1000,
    name: out.Principal.Name,
  };
  saveSession(c);
  return c;
}

export function decodeData(b64: string): string {
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

export function encodeData(text: string): string {
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** JSON pretty-printed when the data is JSON, else the text as is. */
export function pretty(text: string): { text: string; json: boolean } {
  try {
    return { text: JSON.stringify(JSON.parse(text), null, 2), json: true };
  } catch {
    return { text, json: false };
  }
}
