/**
 * `--partition-key`: keep each record's key (default), take it from the
 * record's JSON data with a path (`$.deviceId`, `$.meta.site`, `$.tags[0]`,
 * `$['odd key']`), or use one fixed key for every record.
 */
import { TributaryError } from '../sdk/protocol/errors.ts';
import { partitionKeyLengthMax } from '../sdk/protocol/streams/limits.ts';

export type KeyRule = { kind: 'keep' } | { kind: 'path'; path: Array<string | number>; text: string } | { kind: 'fixed'; key: string };

const stepPattern = /^(?:\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\])/;

export function parseKeyRule(spec: string | undefined): KeyRule {
  if (spec === undefined) return { kind: 'keep' };
  if (!spec.startsWith('$')) {
    if (spec.length === 0 || spec.length > partitionKeyLengthMax) throw new TributaryError('REPLAY_OPTION_INVALID', `--partition-key must be a JSON path ($.field) or a key of 1-${partitionKeyLengthMax} characters`);
    return { kind: 'fixed', key: spec };
  }
  const path: Array<string | number> = [];
  let rest = spec.slice(1);
  while (rest.length > 0) {
    const m = stepPattern.exec(rest);
    if (!m) throw new TributaryError('REPLAY_OPTION_INVALID', `--partition-key ${spec}: cannot read the path at "${rest}" (use $.field, $.a.b, $.list[0] or $['field name'])`);
    path.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (m[3] ?? m[4])!.replace(/\\(.)/g, '$1')));
    rest = rest.slice(m[0].length);
  }
  if (path.length === 0) throw new TributaryError('REPLAY_OPTION_INVALID', `--partition-key ${spec}: the path names no field`);
  return { kind: 'path', path, text: spec };
}

/** The key for a record under `rule`, or a reason it has none. */
export function keyFor(rule: KeyRule, current: string, data64: string): { key: string } | { problem: string } {
  if (rule.kind === 'keep') return { key: current };
  if (rule.kind === 'fixed') return { key: rule.key };
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(data64, 'base64').toString('utf8'));
  } catch {
    return { problem: `data is not JSON, so ${rule.text} cannot be read` };
  }
  for (const step of rule.path) {
    if (v === null || typeof v !== 'object') return { problem: `${rule.text} not found in the data` };
    v = (v as Record<string | number, unknown>)[step];
  }
  if (typeof v === 'number' || typeof v === 'boolean') v = String(v);
  if (typeof v !== 'string' || v.length === 0) return { problem: `${rule.text} is ${v === undefined ? 'not found' : 'not a non-empty string or number'} in the data` };
  if (v.length > partitionKeyLengthMax) return { problem: `${rule.text} is ${v.length} characters, over the ${partitionKeyLengthMax}-character partition key limit` };
  return { key: v };
}
