/**
 * The gateway's own admin API (`X-Amz-Target: Tributary_20261125.<Action>`,
 * SigV4 with signing name `tributary`), used by the `tributary devices`,
 * `credentials` and `policies` commands. Only principals whose policy grants
 * `tributary:<Action>` may call it (the built-in `admin` policy does).
 */
import { AwsError, TributaryError } from '../../sdk/protocol/errors.ts';
import type { StructureShape } from '../http/validate.ts';
import { parsePolicy } from './policies.ts';
import type { Principal, PrincipalStore } from './principals.ts';

export const adminTargetPrefix = 'Tributary_20261125';
export const adminSigningName = 'tributary';

export interface AdminContext {
  principals: PrincipalStore;
  caFingerprint(): string | undefined;
}

interface AdminAction {
  shape: StructureShape;
  handle(ctx: AdminContext, input: Record<string, unknown>): unknown;
}

const s = (members: StructureShape['members']): StructureShape => ({ type: 'structure', members });
const name = { type: 'string', min: 1, max: 64, pattern: '[a-zA-Z0-9_.-]+' } as const;
const id = { type: 'string', required: true, min: 1, max: 128 } as const;

/** Public view of a principal: never the secret. */
function view(p: Principal): Record<string, unknown> {
  return {
    AccessKeyId: p.accessKeyId,
    Kind: p.kind,
    Name: p.name,
    Policy: p.policy,
    DeviceId: p.deviceId,
    CreatedAt: new Date(p.createdMs),
    RevokedAt: p.revokedMs !== undefined ? new Date(p.revokedMs) : undefined,
    Status: p.revokedMs !== undefined ? 'REVOKED' : 'ACTIVE',
  };
}

/** Operating errors from the store become AWS-style errors on the wire. */
async function wrap<T>(f: () => Promise<T> | T): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof TributaryError) {
      throw new AwsError(err.code.endsWith('NOT_FOUND') ? 'ResourceNotFoundException' : 'InvalidArgumentException', err.message);
    }
    throw err;
  }
}

const ttlMsMax = 7 * 24 * 3600 * 1000;

export const adminActions: Record<string, AdminAction> = {
  CreatePairingCode: {
    shape: s({ DeviceName: { ...name, required: true }, Policy: { ...name }, TtlSeconds: { type: 'integer', min: 30, max: ttlMsMax / 1000 } }),
    handle: (ctx, input) =>
      wrap(async () => {
        const policy = (input.Policy as string | undefined) ?? 'device';
        const ttlMs = ((input.TtlSeconds as number | undefined) ?? 600) * 1000;
        const { code, expiresMs } = await ctx.principals.createPairingCode(input.DeviceName as string, policy, ttlMs);
        return { Code: code, ExpiresAt: new Date(expiresMs), CaFingerprint: ctx.caFingerprint(), DeviceName: input.DeviceName, Policy: policy };
      }),
  },
  ListPrincipals: {
    shape: s({ Kind: { type: 'string', enum: ['operator', 'device'] } }),
    handle: (ctx, input) => ({ Principals: ctx.principals.list().filter((p) => !input.Kind || p.kind === input.Kind).map(view) }),
  },
  RevokePrincipal: {
    shape: s({ Id: id }),
    handle: (ctx, input) => wrap(async () => ({ Principal: view(await ctx.principals.revoke(input.Id as string)) })),
  },
  RotatePrincipal: {
    shape: s({ Id: id }),
    handle: (ctx, input) =>
      wrap(async () => {
        const { principal, secretAccessKey } = await ctx.principals.rotate(input.Id as string);
        return { Principal: view(principal), SecretAccessKey: secretAccessKey };
      }),
  },
  CreateOperator: {
    shape: s({ Name: { ...name, required: true }, Policy: { ...name } }),
    handle: (ctx, input) =>
      wrap(async () => {
        const { principal, secretAccessKey } = await ctx.principals.createOperator(input.Name as string, (input.Policy as string | undefined) ?? 'admin');
        return { Principal: view(principal), SecretAccessKey: secretAccessKey };
      }),
  },
  ListPolicies: {
    shape: s({}),
    handle: (ctx) => ({ Policies: ctx.principals.policies().map((p) => ({ Name: p.name, Description: p.description, BuiltIn: p.builtIn ?? false, Statements: p.statements })) }),
  },
  PutPolicy: {
    shape: s({ Name: { ...name, required: true }, Document: { type: 'string', required: true, min: 2, max: 64 * 1024 } }),
    handle: (ctx, input) =>
      wrap(async () => {
        let doc: unknown;
        try {
          doc = JSON.parse(input.Document as string);
        } catch {
          throw new TributaryError('POLICY_INVALID', `policy ${String(input.Name)}: the document is not JSON`);
        }
        await ctx.principals.putPolicy(parsePolicy(input.Name as string, doc));
        return {};
      }),
  },
  DeletePolicy: {
    shape: s({ Name: { ...name, required: true } }),
    handle: (ctx, input) => wrap(async () => (await ctx.principals.deletePolicy(input.Name as string), {})),
  },
};
