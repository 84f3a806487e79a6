/**
 * Declarative validation of YAML configuration files with messages that name
 * the file, line and field, as every Tributary config reports errors:
 *
 *   /etc/tributary/agent.yaml:14: uplink.batchBytesMax must be at most 5242880 (got 8388608)
 *
 * A schema describes objects (unknown keys are errors; renamed keys point to
 * their replacement), lists, and scalars with their constraints; `parseConfig`
 * returns plain values with defaults filled in.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type Pair } from 'yaml';
import { TributaryError } from '../protocol/errors.ts';

export type Schema =
  /** `optional`: an absent object stays absent (by default it is filled with its fields' defaults). */
  | { kind: 'object'; fields: Record<string, Schema>; required?: string[]; renamed?: Record<string, string>; optional?: boolean }
  | { kind: 'list'; item: Schema; min?: number; max?: number }
  | { kind: 'map'; value: Schema; keyPattern?: RegExp; keyHint?: string }
  | { kind: 'string'; pattern?: RegExp; hint?: string; default?: string }
  | { kind: 'enum'; values: readonly string[]; default?: string }
  | { kind: 'integer'; min: number; max: number; default?: number }
  | { kind: 'boolean'; default?: boolean }
  /** A scalar checked against `scalar`, or a mapping checked against `mapping` (a short and a long form of one setting). */
  | { kind: 'either'; scalar: Schema; mapping: Schema }
  /** A string checked and converted by `parse`, which returns an error text or the value. */
  | { kind: 'custom'; describe: string; parse: (v: string) => { ok: true; value: unknown } | { ok: false; error: string }; default?: string };

export class ConfigError extends TributaryError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/** Parses `text` (from `file`) against `schema`; throws ConfigError naming file:line: path. */
export function parseConfig<T>(text: string, file: string, schema: Schema & { kind: 'object' }): T {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new ConfigError(`${file}:${lines.linePos(e.pos[0]).line}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const ctx = { file, line: (n: Node | null | undefined) => (n?.range ? lines.linePos(n.range[0]).line : 1) };
  return check(schema, doc.contents as Node | null, '', ctx, 1) as T;
}

interface Ctx {
  file: string;
  line(n: Node | null | undefined): number;
}

function check(schema: Schema, node: Node | null, path: string, ctx: Ctx, fallbackLine: number): unknown {
  const line = node ? ctx.line(node) : fallbackLine;
  const where = `${ctx.file}:${line}: ${path || '(top level)'}`;
  const scalar = isScalar(node) ? node.value : undefined;
  const got = node === null || node === undefined ? 'nothing' : isScalar(node) ? JSON.stringify(scalar) : isSeq(node) ? 'a list' : 'a mapping';
  switch (schema.kind) {
    case 'object':
      return checkObject(schema, node, path, ctx, line);
    case 'list': {
      if (!isSeq(node)) throw new ConfigError(`${where} must be a list (got ${got})`);
      if (schema.min !== undefined && node.items.length < schema.min) throw new ConfigError(`${where} needs at least ${schema.min} entries (got ${node.items.length})`);
      if (schema.max !== undefined && node.items.length > schema.max) throw new ConfigError(`${where} takes at most ${schema.max} entries (got ${node.items.length})`);
      return node.items.map((item, i) => check(schema.item, item as Node, `${path}[${i}]`, ctx, line));
    }
    case 'map': {
      if (!isMap(node)) throw new ConfigError(`${where} must be a mapping (got ${got})`);
      const out: Record<string, unknown> = {};
      for (const pair of node.items as Pair<Node, Node>[]) {
        const key = String((pair.key as { value?: unknown })?.value);
        if (schema.keyPattern && !schema.keyPattern.test(key)) throw new ConfigError(`${ctx.file}:${ctx.line(pair.key)}: ${path}.${key}: keys must be ${schema.keyHint ?? schema.keyPattern}`);
        out[key] = check(schema.value, pair.value, `${path}.${key}`, ctx, ctx.line(pair.key));
      }
      return out;
    }
    case 'string':
      if (typeof scalar !== 'string' && typeof scalar !== 'number') throw new ConfigError(`${where} must be a string (got ${got})`);
      if (schema.pattern && !schema.pattern.test(String(scalar))) throw new ConfigError(`${where} must be ${schema.hint ?? `like ${schema.pattern}`} (got ${got})`);
      return String(scalar);
    case 'enum':
      if (typeof scalar !== 'string' || !schema.values.includes(scalar)) throw new ConfigError(`${where} must be one of ${schema.values.join(', ')} (got ${got})`);
      return scalar;
    case 'integer':
      if (typeof scalar !== 'number' || !Number.isInteger(scalar)) throw new ConfigError(`${where} must be an integer (got ${got})`);
      if (scalar < schema.min) throw new ConfigError(`${where} must be at least ${schema.min} (got ${scalar})`);
      if (scalar > schema.max) throw new ConfigError(`${where} must be at most ${schema.max} (got ${scalar})`);
      return scalar;
    case 'boolean':
      if (typeof scalar !== 'boolean') throw new ConfigError(`${where} must be true or false (got ${got})`);
      return scalar;
    case 'either':
      return check(isMap(node) ? schema.mapping : schema.scalar, node, path, ctx, fallbackLine);
    case 'custom': {
      if (typeof scalar !== 'string' && typeof scalar !== 'number') throw new ConfigError(`${where} must be ${schema.describe} (got ${got})`);
      const r = schema.parse(String(scalar));
      if (!r.ok) throw new ConfigError(`${where} ${r.error} (got ${got})`);
      return r.value;
    }
  }
}

function checkObject(schema: Schema & { kind: 'object' }, node: Node | null, path: string, ctx: Ctx, line: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  if (node !== null && node !== undefined && !(isScalar(node) && node.value === null)) {
    if (!isMap(node)) throw new ConfigError(`${ctx.file}:${line}: ${path || 'the top level'} must be a mapping of ${Object.keys(schema.fields).join(', ')}`);
    for (const pair of node.items as Pair<Node, Node>[]) {
      const key = String((pair.key as { value?: unknown })?.value);
      const full = path ? `${path}.${key}` : key;
      const field = schema.fields[key];
      if (!field) {
        const moved = schema.renamed?.[key];
        const hint = moved ? `; it is now ${path ? `${path}.` : ''}${moved}` : `; known keys: ${Object.keys(schema.fields).join(', ')}`;
        throw new ConfigError(`${ctx.file}:${ctx.line(pair.key)}: unknown key ${full}${hint}`);
      }
      seen.add(key);
      // An empty value (`key:`) takes the default, as if the key were absent.
      if (isScalar(pair.value) && pair.value.value === null && field.kind !== 'object') continue;
      out[key] = check(field, pair.value, full, ctx, ctx.line(pair.key));
    }
  }
  for (const [key, field] of Object.entries(schema.fields)) {
    if (seen.has(key) && out[key] !== undefined) continue;
    const full = path ? `${path}.${key}` : key;
    if (schema.required?.includes(key)) throw new ConfigError(`${ctx.file}:${line}: ${full} is required`);
    if (field.kind === 'object') {
      if (!field.optional) out[key] = checkObject(field, null, full, ctx, line);
    }
    else if ('default' in field && field.default !== undefined) out[key] = field.kind === 'custom' ? (field.parse(field.default) as { value: unknown }).value : field.default;
  }
  return out;
}
