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

/** HMAC-SHA256 cut to 128 bits: plenty against forgery, and it keeps URLs short. */
function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest().subarray(0, 16);
}

export function newSessionId(): string {
  return randomBytes(6).toString('base64url');
}

// Compact wire form: one letter per field and per enum value. Session URLs
// are repeated in every playlist line, and some players (ffmpeg's DASH reader)
// cut URLs past a length they derive from the manifest.
const modes = { L: 'LIVE', R: 'LIVE_REPLAY', O: 'ON_DEMAND' } as const;
const selectors = { S: 'SERVER_TIMESTAMP', P: 'PRODUCER_TIMESTAMP' } as const;
const containers = { F: 'FRAGMENTED_MP4', T: 'MPEG_TS' } as const;
const discontinuities = { A: 'ALWAYS', N: 'NEVER', D: 'ON_DISCONTINUITY' } as const;
const flags = { A: 'ALWAYS', N: 'NEVER' } as const;
const keyOf = <T extends Record<string, string>>(table: T, value: string): string => Object.entries(table).find(([, v]) => v === value)![0];

type Wire = [kind: string, arn: string, principal: string, mode: string, selector: string, start: number | null, end: number | null, container: string, discontinuity: string, ts: string, fn: string, max: number, created: number, expires: number, id: string];

function toWire(s: PlaybackSession): Wire {
  return [
    s.kind === 'hls' ? 'h' : 'd', s.streamArn, s.principal, keyOf(modes, s.mode), keyOf(selectors, s.selector), s.startMs ?? null, s.endMs ?? null,
    keyOf(containers, s.container), keyOf(discontinuities, s.discontinuity), keyOf(flags, s.displayTimestamp), keyOf(flags, s.displayNumber ?? 'NEVER'),
    s.fragmentsMax, s.createdMs, s.expiresMs, s.id,
  ];
}

function fromWire(w: Wire): PlaybackSession | undefined {
  if (!Array.isArray(w) || w.length !== 15) return undefined;
  const [kind, arn, principal, mode, selector, start, end, container, discontinuity, ts, fn, max, created, expires, id] = w;
  const streamName = /stream\/([^/]+)\/\d+$/.exec(String(arn))?.[1];
  const m = modes[mode as keyof typeof modes];
  const sel = selectors[selector as keyof typeof selectors];
  const c = containers[container as keyof typeof containers];
  const d = discontinuities[discontinuity as keyof typeof discontinuities];
  const t = flags[ts as keyof typeof flags];
  const n = flags[fn as keyof typeof flags];
  if (!streamName || !m || !sel || !c || !d || !t || !n || typeof expires !== 'number' || typeof created !== 'number' || typeof max !== 'number') return undefined;
  return {
    kind: kind === 'h' ? 'hls' : 'dash', streamName, streamArn: arn, principal, mode: m, selector: sel,
    ...(typeof start === 'number' ? { startMs: start } : {}), ...(typeof end === 'number' ? { endMs: end } : {}),
    container: c, discontinuity: d, displayTimestamp: t, ...(kind === 'd' ? { displayNumber: n } : {}),
    fragmentsMax: max, createdMs: created, expiresMs: expires, id,
  };
}

/** `<payload>.<mac>`, both base64url: safe in a query string without escaping. */
export function signSession(key: Buffer, session: PlaybackSession): string {
  const payload = Buffer.from(JSON.stringify(toWire(session))).toString('base64url');
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

/** Checks the signature first, then the expiry against `nowMs`. */
export function verifySession(key: Buffer, token: string, nowMs: number): TokenCheck {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > 2048) return { ok: false, reason: 'malformed' };
  const payload = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = mac(key, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature' };
  let session: PlaybackSession | undefined;
  try {
    session = fromWire(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Wire);
  } catch {
    session = undefined;
  }
  if (!session) return { ok: false, reason: 'malformed' };
  if (nowMs >= session.expiresMs) return { ok: false, reason: 'expired', session };
  return { ok: true, session };
}

/** How many verified tokens a SessionVerifier remembers (a few hundred bytes each). */
export const verifiedTokensMax = 4096;

/**
 * verifySession with a memory: a player sends the same token with every
 * playlist and segment request, so the HMAC and the decoding are done once
 * per token, not once per request. Only tokens whose signature checked out
 * are remembered (the key never changes while the gateway runs), and the
 * expiry is checked against `nowMs` on every call, so an answer is always
 * the one verifySession would give.
 */
export class SessionVerifier {
  private readonly verified = new Map<string, PlaybackSession>();

  constructor(
    private readonly key: Buffer,
    private readonly entriesMax = verifiedTokensMax,
  ) {}

  verify(token: string, nowMs: number): TokenCheck {
    const session = this.verified.get(token);
    if (session) return nowMs >= session.expiresMs ? { ok: false, reason: 'expired', session } : { ok: true, session };
    const check = verifySession(this.key, token, nowMs);
    if (check.ok) {
      // Map order is insertion order: the oldest entry goes first.
      if (this.verified.size >= this.entriesMax) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, check.session);
    }
    return check;
  }
}
