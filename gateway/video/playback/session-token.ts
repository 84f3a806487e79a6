/**
 * Streaming session tokens: what a GetHLSStreamingSessionURL or
 * GetDASHStreamingSessionURL call granted, signed with the gateway's playback
 * key (HMAC-SHA256) and carried in the `SessionToken` query parameter of every
 * playlist, manifest and fragment URL. Browsers do not sign requests; the
 * token is their authorization. It names the stream (by ARN, so a token dies
 * with its stream even if one of the same name is created again), the
 * principal whose policy allowed it (re-checked on every GET, so revoking the
 * key ends its sessions), the selection, and an expiry that is enforced.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface PlaybackSession {
  kind: 'hls' | 'dash';
  streamName: string;
  streamArn: string;
  /** Access key of the caller that created the session. */
  principal: string;
  mode: 'LIVE' | 'LIVE_REPLAY' | 'ON_DEMAND';
  selector: 'SERVER_TIMESTAMP' | 'PRODUCER_TIMESTAMP';
  startMs?: number;
  endMs?: number;
  container: 'FRAGMENTED_MP4' | 'MPEG_TS';
  discontinuity: 'ALWAYS' | 'NEVER' | 'ON_DISCONTINUITY';
  displayTimestamp: 'ALWAYS' | 'NEVER';
  /** DASH only: DisplayFragmentNumber. */
  displayNumber?: 'ALWAYS' | 'NEVER';
  fragmentsMax: number;
  createdMs: number;
  expiresMs: number;
  /** Distinguishes sessions created in the same millisecond. */
  id: string;
}

export type TokenCheck = { ok: true; session: PlaybackSession } | { ok: false; reason: 'malformed' | 'signature' | 'expired'; session?: PlaybackSession };

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

export function newSessionId(): string {
  return randomBytes(9).toString('base64url');
}

/** `<payload>.<mac>`, both base64url: safe in a query string without escaping. */
export function signSession(key: Buffer, session: PlaybackSession): string {
  const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

/** Checks the signature first, then the expiry against `nowMs`. */
export function verifySession(key: Buffer, token: string, nowMs: number): TokenCheck {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > 4096) return { ok: false, reason: 'malformed' };
  const payload = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = mac(key, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature' };
  let session: PlaybackSession;
  try {
    session = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as PlaybackSession;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof session?.expiresMs !== 'number') return { ok: false, reason: 'malformed' };
  if (nowMs >= session.expiresMs) return { ok: false, reason: 'expired', session };
  return { ok: true, session };
}
