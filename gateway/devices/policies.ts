/**
 * Policies: which actions on which resources a principal may use. A policy is
 * a list of statements; a request is allowed when some statement matches
 * both its action and its resource (there are no deny statements: what is not
 * granted is refused). Resource patterns may use `*` and `${device}` (the
 * principal's device name), e.g. `stream/telemetry-${device}`.
 *
 * Actions are written `<service>:<Action>` with `*` wildcards
 * (`kinesis:Put*`, `firehose:*`, `kinesisanalytics:*`). Resources are
 * `stream/<name>`, `deliverystream/<name>`, `videostream/<name>`,
 * `application/<name>` (Kinesis Data Analytics), or `*`.
 */
import { TributaryError } from '../../sdk/protocol/errors.ts';

export interface PolicyStatement {
  actions: string[];
  resources: string[];
}

export interface Policy {
  name: string;
  description: string;
  statements: PolicyStatement[];
  builtIn?: boolean;
}

/** Actions that read record data or describe resources without changing them. */
const readActions = [
  'kinesis:Describe*', 'kinesis:List*', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:SubscribeToShard',
  'firehose:Describe*', 'firehose:List*',
  'kinesisvideo:Describe*', 'kinesisvideo:List*', 'kinesisvideo:Get*',
  'kinesisanalytics:Describe*', 'kinesisanalytics:List*',
  'tributary:GetMetricHistory', 'tributary:ListHeartbeats',
];

/** What a device needs to produce: writes, plus the metadata producers read to plan batches (never record data). */
const deviceActions = [
  'kinesis:PutRecord', 'kinesis:PutRecords', 'kinesis:DescribeStreamSummary', 'kinesis:DescribeStream', 'kinesis:ListShards',
  'firehose:PutRecord', 'firehose:PutRecordBatch', 'firehose:DescribeDeliveryStream',
  'kinesisvideo:PutMedia', 'kinesisvideo:GetDataEndpoint', 'kinesisvideo:DescribeStream',
];

/** The gateway's lease API (gateway/leases), for consumers that keep leases and checkpoints there. */
const leaseActions = ['tributary:CreateLeaseTable', 'tributary:ListLeases', 'tributary:PutLease', 'tributary:DeleteLease'];

/**
 * A device's own resources: named `<device>` or `*-<device>`. Only one of the
 * two affix forms can be unambiguous: with `<device>-*` as well, any `a-x-b`
 * belonged to both devices `a` and `b` (issue #11, item 5). Pairing refuses
 * names where one ends with `-` and the other (principals.ts), so no resource
 * name belongs to two devices.
 */
const ownResources = ['*/${device}', '*/*-${device}'];

export const builtInPolicies: readonly Policy[] = Object.freeze([
  { name: 'admin', description: 'Every action on every resource (operators).', builtIn: true, statements: [{ actions: ['*'], resources: ['*'] }] },
  {
    name: 'device',
    description: "Write to the device's own resources (named <device> or *-<device>); read no records.",
    builtIn: true,
    // The heartbeat names no resource: it stores the caller's own (heartbeats.ts).
    statements: [{ actions: deviceActions, resources: ownResources }, { actions: ['tributary:PutHeartbeat'], resources: ['*'] }],
  },
  { name: 'reader', description: 'Read and describe every resource; change nothing.', builtIn: true, statements: [{ actions: readActions, resources: ['*'] }] },
  {
    name: 'consumer',
    description: 'Read every stream and use lease tables (stream consumers with gateway-kept leases and checkpoints).',
    builtIn: true,
    statements: [{ actions: [...readActions, ...leaseActions], resources: ['*'] }],
  },
]);

const globCache = new Map<string, RegExp>();
function glob(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (!re) {
    re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*') + '$');
    globCache.set(pattern, re);
  }
  return re;
}

export interface PrincipalContext {
  /** The device name for device principals; `${device}` never matches otherwise. */
  device?: string;
}

/** True when `policy` grants `action` (`kinesis:PutRecord`) on `resource` (`stream/x`, or `*` for account-level calls). */
export function allows(policy: Policy, action: string, resource: string, ctx: PrincipalContext): boolean {
  for (const st of policy.statements) {
    if (!st.actions.some((a) => glob(a).test(action))) continue;
    for (const r of st.resources) {
      if (r.includes('${device}')) {
        if (ctx.device === undefined) continue;
        if (glob(r.split('${device}').join(ctx.device.replace(/\*/g, ''))).test(resource)) return true;
      } else if (r === '*' || glob(r).test(resource)) return true;
    }
  }
  return false;
}

/** Validates a user-supplied policy document (from `tributary policies put`). */
export function parsePolicy(name: string, doc: unknown): Policy {
  const bad = (msg: string) => new TributaryError('POLICY_INVALID', `policy ${name}: ${msg}`);
  if (!/^[a-zA-Z0-9_.-]{1,64}$/.test(name)) throw bad('names are 1-64 of [a-zA-Z0-9_.-]');
  if (builtInPolicies.some((p) => p.name === name)) throw bad('is built in and cannot be replaced');
  const d = doc as { description?: unknown; statements?: unknown };
  if (!d || typeof d !== 'object' || !Array.isArray(d.statements) || d.statements.length === 0) throw bad('needs a non-empty "statements" list');
  const statements = d.statements.map((s: unknown, i: number) => {
    const st = s as { actions?: unknown; resources?: unknown };
    const strings = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 256);
    if (!strings(st?.actions)) throw bad(`statements[${i}].actions must be a non-empty list of strings such as "kinesis:PutRecord"`);
    if (!strings(st?.resources)) throw bad(`statements[${i}].resources must be a non-empty list of strings such as "stream/telemetry-\${device}"`);
    for (const a of st.actions as string[]) if (a !== '*' && !/^[a-z0-9]+:[A-Za-z*]+$/.test(a)) throw bad(`statements[${i}].actions: "${a}" is not <service>:<Action>`);
    return { actions: st.actions as string[], resources: st.resources as string[] };
  });
  return { name, description: typeof d.description === 'string' ? d.description : '', statements };
}

/**
 * True when two device names would share resources under `<device>` /
 * `*-<device>` naming: one ends with `-` and the other (`cam` and `yard-cam`).
 * The same name is no collision (re-pairing replaces the device).
 */
export function deviceNamesOverlap(a: string, b: string): boolean {
  return a !== b && (a.endsWith(`-${b}`) || b.endsWith(`-${a}`));
}
