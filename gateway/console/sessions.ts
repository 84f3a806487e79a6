/**
 * Temporary credentials for the web console (an STS GetSessionToken-like
 * action): a caller signs `Tributary_20261125.GetSessionToken` with its
 * long-term key and receives an access key, secret and session token valid
 * for one hour (by default), acting with the caller's own principal and
 * policy. Sessions live in the gateway's memory only (a restart signs every
 * console out), end when their parent principal is revoked or rotated, and
 * can be revoked one by one (`RevokeSession`). A session cannot mint further
 * sessions (as with AWS STS, GetSessionToken needs long-term credentials).
 */
import { randomBytes } from 'node:crypto';
import { AwsError } from '../../sdk/protocol/errors.ts';
import type { Principal, PrincipalStore } from '../devices/principals.ts';
import type { Caller } from '../http/server.ts';
import type { StructureShape } from '../http/validate.ts';

/** AWS GetSessionToken: 900 s to 129600 s for IAM users; ours defaults to and caps at 1 h as the console needs no more. */
export const sessionSecondsDefault = 3600;
export const sessionSecondsMin = 900;
export const sessionSecondsMax = 3600;
/** Sessions held at once; past it the oldest goes (a console signs in again). */
export const sessionsMax = 10_000;

interface Session {
  accessKeyId: string;
  secret: string;
  sessionToken: string;
  parentAccessKeyId: string;
  expiresMs: number;
}

const keyAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function sessionKeyId(): string {
  // AWS temporary keys start with ASIA; 16 random base32 characters after it.
  let id = 'ASIA';
  for (const b of randomBytes(16)) id += keyAlphabet[b & 31];
  return id;
}

export class SessionStore {
  private sessions = new Map<string, Session>();

  constructor(
    private readonly principals: PrincipalStore,
    private readonly now: () => number = Date.now,
  ) {}

  isSession(accessKeyId: string): boolean {
    return this.sessions.has(accessKeyId);
  }

  /** Issues a session for an active long-term key. */
  create(parentAccessKeyId: string, seconds: number): Session {
    if (!this.principals.lookup(parentAccessKeyId)) throw new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    this.sweep();
    while (this.sessions.size >= sessionsMax) this.sessions.delete(this.sessions.keys().next().value!);
    const s: Session = {
      accessKeyId: sessionKeyId(),
      secret: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(48).toString('base64'),
      parentAccessKeyId,
      expiresMs: this.now() + seconds * 1000,
    };
    this.sessions.set(s.accessKeyId, s);
    return s;
  }

  /** The session's secret and its parent principal, while both are valid (unexpired, unrevoked). */
  lookup(accessKeyId: string): { principal: Principal; secret: string } | undefined {
    const s = this.sessions.get(accessKeyId);
    if (!s) return undefined;
    if (s.expiresMs <= this.now()) {
      this.sessions.delete(accessKeyId);
      return undefined;
    }
    const parent = this.principals.lookup(s.parentAccessKeyId);
    if (!parent) {
      this.sessions.delete(accessKeyId);
      return undefined;
    }
    return { principal: parent.principal, secret: s.secret };
  }

  /** Ends a session; false when there was none. */
  revoke(accessKeyId: string): boolean {
    return this.sessions.delete(accessKeyId);
  }

  /** Ends every session of a parent key; how many ended. */
  revokeAllOf(parentAccessKeyId: string): number {
    let n = 0;
    for (const [id, s] of this.sessions) if (s.parentAccessKeyId === parentAccessKeyId && this.sessions.delete(id)) n++;
    return n;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresMs <= now) this.sessions.delete(id);
  }
}

/**
 * The principal store as the guard sees it: long-term keys first, then
 * sessions (acting as their parent principal, with its policy). Only lookup
 * is overridden; everything else is the store itself.
 */
export function withSessions(principals: PrincipalStore, sessions: SessionStore): PrincipalStore {
  const view = Object.create(principals) as PrincipalStore;
  view.lookup = (accessKeyId: string) => principals.lookup(accessKeyId) ?? sessions.lookup(accessKeyId);
  return view;
}

type Action = { shape: StructureShape; handle(input: Record<string, unknown>, caller: Caller): unknown };

/** `Tributary_20261125.GetSessionToken` and `RevokeSession`, for the admin service. */
export function sessionActions(sessions: SessionStore): Record<string, Action> {
  return {
    GetSessionToken: {
      shape: { type: 'structure', members: { DurationSeconds: { type: 'integer', min: sessionSecondsMin, max: sessionSecondsMax } } },
      handle(input, caller) {
        if (sessions.isSession(caller.accessKeyId)) {
          throw new AwsError('AccessDeniedException', 'Cannot call GetSessionToken with session credentials');
        }
        const s = sessions.create(caller.accessKeyId, (input.DurationSeconds as number | undefined) ?? sessionSecondsDefault);
        return {
          Credentials: { AccessKeyId: s.accessKeyId, SecretAccessKey: s.secret, SessionToken: s.sessionToken, Expiration: new Date(s.expiresMs) },
          Principal: { Name: caller.name, Kind: caller.kind },
        };
      },
    },
    RevokeSession: {
      // Without AccessKeyId: the caller's own session (the console's sign-out).
      shape: { type: 'structure', members: { AccessKeyId: { type: 'string', min: 16, max: 128 } } },
      handle(input, caller) {
        const id = (input.AccessKeyId as string | undefined) ?? caller.accessKeyId;
        if (!sessions.isSession(id)) throw new AwsError('ResourceNotFoundException', `Session ${id} not found.`);
        sessions.revoke(id);
        return {};
      },
    },
  };
}
