/**
 * The front door's guard: SigV4 authentication against the principal store,
 * then policy authorization. A revoked or rotated-out key is gone from the
 * store's index, so it fails on its very next request.
 */
import type http from 'node:http';
import { AwsError } from '../../sdk/protocol/errors.ts';
import { checkSigV4BeforeBody, verifySigV4 } from '../http/auth.ts';
import type { Caller, Guard, RpcService } from '../http/server.ts';
import { allows } from './policies.ts';
import type { PrincipalStore } from './principals.ts';

export interface GuardOptions {
  principals: PrincipalStore;
  region: string;
  accountId: string;
  now?: () => number;
}

export function createGuard(o: GuardOptions): Guard {
  const now = o.now ?? Date.now;
  const verifyOptions = (service: RpcService) => ({
    service: service.signingName,
    region: o.region,
    now: now(),
    allowUnsignedPayload: false,
    lookupSecret: (id: string) => o.principals.lookup(id)?.secret,
  });
  return {
    region: o.region,
    secretOf: (accessKeyId) => o.principals.lookup(accessKeyId)?.secret,
    callerOf(accessKeyId: string): Caller {
      const entry = o.principals.lookup(accessKeyId);
      // Revoked between verification and now: the key is no longer valid.
      if (!entry) throw new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
      return { accessKeyId, name: entry.principal.name, kind: entry.principal.kind };
    },
    authenticateHeaders(req: http.IncomingMessage, service: RpcService): void {
      checkSigV4BeforeBody({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers }, verifyOptions(service));
    },
    authenticate(req: http.IncomingMessage, body: Buffer, service: RpcService): Caller {
      const { accessKeyId } = verifySigV4({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers }, body, verifyOptions(service));
      const { principal } = o.principals.lookup(accessKeyId)!;
      return { accessKeyId, name: principal.name, kind: principal.kind };
    },
    authorize(caller: Caller, action: string, resource: string): void {
      const entry = o.principals.lookup(caller.accessKeyId);
      const policy = entry && o.principals.policy(entry.principal.policy);
      if (policy && allows(policy, action, resource, { ...(caller.kind === 'device' ? { device: caller.name } : {}) })) return;
      const service = action.split(':')[0];
      const arn = arnOf(service!, resource, o);
      throw new AwsError(
        'AccessDeniedException',
        `User: arn:aws:iam::${o.accountId}:user/${caller.name} is not authorized to perform: ${action} on resource: ${arn} because no identity-based policy allows the ${action} action`,
      );
    },
  };
}

/** The ARN an AccessDeniedException names: AWS's form for buckets and functions, `arn:aws:<service>:<region>:<account>:<resource>` otherwise. */
function arnOf(service: string, resource: string, o: GuardOptions): string {
  if (service === 's3' && resource.startsWith('bucket/')) return `arn:aws:s3:::${resource.slice('bucket/'.length)}`;
  if (service === 'lambda' && resource.startsWith('function/')) return `arn:aws:lambda:${o.region}:${o.accountId}:function:${resource.slice('function/'.length)}`;
  return `arn:aws:${service}:${o.region}:${o.accountId}:${resource}`;
}
