/**
 * MQTT topic-to-destination rules, pure: filter validation and matching
 * (MQTT 5.0 section 4.7), and partition key extraction from a topic or a
 * JSON payload. The MQTT input does the I/O around these.
 */
import { clampPartitionKey, configError, contentPartitionKey, destinationField, intField, objectWithKeys, sourceField, stringField } from './common.ts';

export type MqttPartitionKeySpec =
  | { readonly topic: true }
  | { readonly topicLevel: number }
  | { readonly jsonField: string }
  | { readonly fixed: string }
  /** A hash of the payload: messages spread over the stream's shards, with no order between them. */
  | { readonly hash: true };

export interface MqttRule {
  readonly filter: string;
  readonly destination: string;
  readonly partitionKey: MqttPartitionKeySpec;
  /** `mqtt:<filter>`, the records' source. */
  readonly source: string;
}

/** MQTT 5.0 4.7.3: topic names and filters are at most 65535 bytes; ours become record sources. */
export function validateFilter(where: string, filter: string): void {
  const levels = filter.split('/');
  levels.forEach((level, i) => {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      throw configError(where, `"#" must be a whole last level (got ${filter})`);
    }
    if (level.includes('+') && level !== '+') throw configError(where, `"+" must be a whole level (got ${filter})`);
  });
  if (filter.includes('\u0000')) throw configError(where, 'must not contain NUL');
}

/** MQTT 5.0 4.7: `+` matches one level, `#` the rest (including none); `$` topics need an explicit first level. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** The first rule whose filter matches, in config order. */
export function findRule(rules: readonly MqttRule[], topic: string): MqttRule | undefined {
  return rules.find((r) => topicMatches(r.filter, topic));
}

/**
 * The record's partition key, or undefined when the spec finds nothing
 * usable (missing level or field, empty value, payload not JSON); the caller
 * then falls back to the topic.
 */
export function extractPartitionKey(spec: MqttPartitionKeySpec, topic: string, payload: Uint8Array): string | undefined {
  if ('fixed' in spec) return spec.fixed;
  if ('hash' in spec) return contentPartitionKey(payload);
  if ('topic' in spec) return fallbackPartitionKey(topic);
  if ('topicLevel' in spec) {
    const level = topic.split('/')[spec.topicLevel];
    return level ? clampPartitionKey(level) : undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8'));
  } catch {
    return undefined; // Not JSON: the documented fallback applies, and the caller counts it.
  }
  for (const part of spec.jsonField.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  if (typeof value === 'number' && Number.isFinite(value)) value = String(value);
  return typeof value === 'string' && value.length > 0 ? clampPartitionKey(value) : undefined;
}

/** The fallback key: the topic itself, cut to the partition key limit. */
export function fallbackPartitionKey(topic: string): string {
  return clampPartitionKey(topic);
}

function parsePartitionKeySpec(where: string, raw: unknown): MqttPartitionKeySpec {
  if (raw === undefined) return { topic: true };
  const o = objectWithKeys(where, raw, ['topic', 'topicLevel', 'jsonField', 'fixed', 'hash']);
  const keys = Object.keys(o);
  if (keys.length !== 1) throw configError(where, 'must have exactly one of topic, topicLevel, jsonField, fixed, hash');
  for (const flag of ['topic', 'hash'] as const) {
    if (!(flag in o)) continue;
    if (o[flag] !== true) throw configError(`${where}.${flag}`, 'must be true');
    return flag === 'topic' ? { topic: true } : { hash: true };
  }
  if ('topicLevel' in o) return { topicLevel: intField(`${where}.topicLevel`, o.topicLevel, 0, 0, 1000) };
  if ('jsonField' in o) return { jsonField: stringField(`${where}.jsonField`, o.jsonField) };
  const fixed = stringField(`${where}.fixed`, o.fixed);
  if (clampPartitionKey(fixed) !== fixed) throw configError(`${where}.fixed`, 'is longer than 256 characters');
  return { fixed };
}

export function parseRule(where: string, raw: unknown): MqttRule {
  const o = objectWithKeys(where, raw, ['filter', 'destination', 'partitionKey']);
  const filter = stringField(`${where}.filter`, o.filter);
  validateFilter(`${where}.filter`, filter);
  return Object.freeze({
    filter,
    destination: destinationField(`${where}.destination`, o.destination),
    partitionKey: Object.freeze(parsePartitionKeySpec(`${where}.partitionKey`, o.partitionKey)),
    source: sourceField(`${where}.filter`, `mqtt:${filter}`),
  });
}
