/**
 * Request validation in AWS's three stages (as kinesalite reproduces them from
 * the real service):
 *
 * 1. Types: a value of the wrong JSON type is a `SerializationException`
 *    naming the Java conversion that failed ("class java.lang.String can not
 *    be converted to an Integer").
 * 2. Constraints: every violated min/max/pattern/enum/not-null is gathered
 *    (at most 10) into one `ValidationException`: "2 validation errors
 *    detected: Value 'x' at 'streamName' failed to satisfy constraint: ...".
 * 3. Semantics: the action's own checks (`InvalidArgumentException`, ...).
 *
 * Stages 1 and 2 live here, driven by declarative shapes. The output is the
 * normalised input: blobs as Buffers, timestamps as epoch milliseconds.
 */
import { AwsError } from '../../sdk/protocol/errors.ts';

export type Shape =
  | { type: 'string'; required?: boolean; min?: number; max?: number; pattern?: string; enum?: readonly string[] }
  | { type: 'integer' | 'long'; required?: boolean; min?: number; max?: number }
  | { type: 'boolean'; required?: boolean }
  | { type: 'blob'; required?: boolean; min?: number; max?: number }
  | { type: 'timestamp'; required?: boolean }
  | { type: 'list'; required?: boolean; member: Shape; min?: number; max?: number; memberStr?: string }
  | { type: 'map'; required?: boolean; key: Shape & { type: 'string' }; value: Shape; min?: number; max?: number }
  | { type: 'structure'; required?: boolean; members: Record<string, Shape> };

export type StructureShape = Extract<Shape, { type: 'structure' }>;

const validationErrorsMax = 10;

function serializationError(message: string): AwsError {
  // AWS sends this one with a capital-M "Message" (kinesalite records it); the
  // SDKs read either spelling, so we keep the lowercase wire field and message text.
  return new AwsError('SerializationException', message);
}

/** Runs stages 1 and 2; returns the normalised input. */
export function validateInput(shape: StructureShape, input: unknown): Record<string, unknown> {
  const value = checkStructure(shape, input ?? {});
  const errors: string[] = [];
  checkConstraints(shape, value, '', errors);
  if (errors.length) {
    const n = errors.length;
    throw new AwsError('ValidationException', `${n} validation error${n > 1 ? 's' : ''} detected: ${errors.join('; ')}`);
  }
  return value;
}

const lowerFirst = (s: string) => s[0]!.toLowerCase() + s.slice(1);

/** Member lists, computed once per shape: validation runs per record on the hot path. */
const memberCache = new WeakMap<StructureShape, Array<[string, Shape, string]>>();
function membersOf(shape: StructureShape): Array<[string, Shape, string]> {
  let m = memberCache.get(shape);
  if (!m) {
    m = Object.entries(shape.members).map(([k, v]) => [k, v, lowerFirst(k)]);
    memberCache.set(shape, m);
  }
  return m;
}

function checkStructure(shape: StructureShape, val: unknown): Record<string, unknown> {
  const src = val as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, member] of membersOf(shape)) {
    const v = src[key];
    if (v === null || v === undefined) continue;
    const checked = checkType(member, v);
    if (checked !== undefined) out[key] = checked;
  }
  return out;
}

function structureMismatch(val: unknown): AwsError {
  return Array.isArray(val)
    ? serializationError('Start of list found where not expected')
    : serializationError('Start of structure or map found where not expected.');
}

function checkType(shape: Shape, val: unknown): unknown {
  if (val === null || val === undefined) return undefined;
  const t = typeof val;
  switch (shape.type) {
    case 'boolean':
      if (t === 'boolean') return val;
      if (t === 'number' || t === 'bigint') throw serializationError('class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean');
      if (t === 'string') throw serializationError(`'${(val as string).toUpperCase()}' can not be converted to an Boolean`);
      throw structureMismatch(val);
    case 'integer':
    case 'long': {
      const name = shape.type === 'integer' ? 'Integer' : 'Long';
      if (t === 'number') {
        const n = Math.floor(val as number);
        return shape.type === 'integer' ? Math.min(n, 2147483647) : n;
      }
      if (t === 'bigint') return Number(val);
      if (t === 'boolean') throw serializationError(`class java.lang.Boolean can not be converted to an ${name}`);
      if (t === 'string') throw serializationError(`class java.lang.String can not be converted to an ${name}`);
      if (val instanceof Uint8Array) throw serializationError(`class [B can not be converted to an ${name}`);
      throw structureMismatch(val);
    }
    case 'string':
      if (t === 'string') return val;
      if (t === 'boolean') throw serializationError('class java.lang.Boolean can not be converted to an String');
      if (t === 'number' || t === 'bigint') throw serializationError('class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String');
      if (val instanceof Uint8Array) return Buffer.from(val).toString('utf8');
      throw structureMismatch(val);
    case 'blob':
      if (val instanceof Uint8Array) return Buffer.isBuffer(val) ? val : Buffer.from(val.buffer, val.byteOffset, val.byteLength);
      if (t === 'string') return decodeBase64Blob(val as string);
      if (t === 'boolean') throw serializationError('class java.lang.Boolean can not be converted to a Blob');
      if (t === 'number' || t === 'bigint') throw serializationError('class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob');
      throw structureMismatch(val);
    case 'timestamp':
      if (val instanceof Date) return val.getTime();
      if (t === 'number') return Math.round((val as number) * 1000);
      if (t === 'boolean') throw serializationError('class java.lang.Boolean can not be converted to milliseconds since epoch');
      if (t === 'string') throw serializationError('class java.lang.String can not be converted to milliseconds since epoch');
      throw structureMismatch(val);
    case 'list':
      if (t !== 'object' || val instanceof Uint8Array) throw serializationError('Expected list or null');
      if (!Array.isArray(val)) throw serializationError('Start of structure or map found where not expected.');
      return val.map((v) => checkType(shape.member, v));
    case 'map': {
      if (t !== 'object' || val instanceof Uint8Array) throw serializationError('Expected map or null');
      if (Array.isArray(val)) throw serializationError('Start of list found where not expected');
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(val as Record<string, unknown>)) out[k] = checkType(shape.value, v);
      return out;
    }
    case 'structure':
      if (t !== 'object' || val instanceof Uint8Array || val instanceof Date) throw serializationError('Expected null');
      if (Array.isArray(val)) throw serializationError('Start of list found where not expected');
      return checkStructure(shape, val);
  }
}

/**
 * Base64 as AWS's JSON parser takes it: length a multiple of 4, only the
 * base64 alphabet, padding only at the end. Node's decoder skips bad
 * characters silently, so a length mismatch after decoding finds them cheaply
 * and the slow scan runs only to word the error.
 */
const base64Junk = /[^a-zA-Z0-9+/=]|=[^=]/;

export function decodeBase64Blob(s: string): Buffer {
  if (s.length % 4) {
    throw serializationError(`'${s}' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: ${s.length}`);
  }
  const buf = Buffer.from(s, 'base64');
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  // Node's decoder skips junk silently (so the length comes out short) and also
  // takes the URL-safe alphabet (so look for '-' and '_'); only a suspect
  // string pays for the regular expression that words the error.
  if (buf.length !== (s.length / 4) * 3 - pad || s.indexOf('-') >= 0 || s.indexOf('_') >= 0) {
    const m = base64Junk.exec(s);
    if (m) throw serializationError(`'${s}' can not be converted to a Blob: Invalid Base64 character: '${m[0][0]}'`);
  }
  if (pad) {
    const last = s.charCodeAt(s.length - pad - 1);
    const bits = base64Value(last);
    if ((pad === 2 && bits & 0x0f) || (pad === 1 && bits & 0x03)) {
      throw serializationError(`'${s}' can not be converted to a Blob: Invalid last non-pad Base64 character dectected`);
    }
  }
  return buf;
}

function base64Value(c: number): number {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  return c === 43 ? 62 : 63;
}

const regexCache = new Map<string, RegExp>();
function fullMatch(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    re = new RegExp(`^(?:${pattern})$`, 'u');
    regexCache.set(pattern, re);
  }
  return re;
}


function checkConstraints(shape: StructureShape, value: Record<string, unknown>, parent: string, errors: string[]): void {
  for (const [key, member, wireName] of membersOf(shape)) {
    const v = value[key];
    // Paths are built only for members that can fail, keeping the per-record cost low.
    if ((v === undefined || v === null) && !member.required) continue;
    checkMember(member, v, parent ? `${parent}.${wireName}` : wireName, errors);
  }
}

function checkMember(shape: Shape, v: unknown, path: string, errors: string[]): void {
  const fail = (msg: string) => {
    if (errors.length < validationErrorsMax) errors.push(`Value ${valueStr(shape, v)} at '${path}' failed to satisfy constraint: ${msg}`);
  };
  if (v === undefined || v === null) {
    if (shape.required) fail('Member must not be null');
    return;
  }
  switch (shape.type) {
    case 'string': {
      const s = v as string;
      if (shape.enum && !shape.enum.includes(s)) fail(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
      if (shape.pattern !== undefined && !fullMatch(shape.pattern).test(s)) fail(`Member must satisfy regular expression pattern: ${shape.pattern}`);
      // Lengths count code points; UTF-16 length is an upper bound, so the exact
      // count is needed only near the limits.
      const n = (shape.max !== undefined && s.length > shape.max) || (shape.min !== undefined && s.length < 2 * shape.min) ? [...s].length : s.length;
      lengthChecks(shape, n, fail);
      return;
    }
    case 'integer':
    case 'long':
      if (shape.min !== undefined && (v as number) < shape.min) fail(`Member must have value greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && (v as number) > shape.max) fail(`Member must have value less than or equal to ${shape.max}`);
      return;
    case 'blob':
      lengthChecks(shape, (v as Buffer).length, fail);
      return;
    case 'list': {
      const list = v as unknown[];
      lengthChecks(shape, list.length, fail);
      list.forEach((item, i) => {
        const at = `${path}.${i + 1}.member`;
        // A null list member is never valid (the actions index into it): report it instead of crashing.
        if (item === undefined || item === null) checkMember({ ...shape.member, required: true }, item, at, errors);
        else if (shape.member.type === 'structure') checkConstraints(shape.member, item as Record<string, unknown>, at, errors);
        else checkMember(shape.member, item, at, errors);
      });
      return;
    }
    case 'map': {
      const map = v as Record<string, unknown>;
      const keys = Object.keys(map);
      lengthChecks(shape, keys.length, fail);
      const kMin = shape.key.min ?? 0;
      const kMax = shape.key.max ?? Infinity;
      if (!keys.every((k) => k.length >= kMin && k.length <= kMax)) {
        fail(`Map keys must satisfy constraint: [Member must have length less than or equal to ${kMax}, Member must have length greater than or equal to ${kMin}]`);
      }
      const val = shape.value;
      if (val.type === 'string') {
        const vMin = val.min ?? 0;
        const vMax = val.max ?? Infinity;
        if (!keys.every((k) => { const s = map[k] as string | undefined; return s === undefined || (s.length >= vMin && s.length <= vMax); })) {
          fail(`Map value must satisfy constraint: [Member must have length less than or equal to ${vMax}, Member must have length greater than or equal to ${vMin}]`);
        }
      }
      return;
    }
    case 'structure':
      checkConstraints(shape, v as Record<string, unknown>, path, errors);
      return;
    default:
      return;
  }
}

function lengthChecks(shape: { min?: number; max?: number }, length: number, fail: (m: string) => void): void {
  if (shape.min !== undefined && length < shape.min) fail(`Member must have length greater than or equal to ${shape.min}`);
  if (shape.max !== undefined && length > shape.max) fail(`Member must have length less than or equal to ${shape.max}`);
}

/** How AWS's Java validator prints the offending value. */
function valueStr(shape: Shape, v: unknown): string {
  if (v === undefined || v === null) return 'null';
  switch (shape.type) {
    case 'blob': {
      const n = (v as Buffer).length;
      return `'java.nio.HeapByteBuffer[pos=0 lim=${n} cap=${n}]'`;
    }
    case 'list':
      return `'[${(v as unknown[]).map((x) => shape.memberStr ?? String(x)).join(', ')}]'`;
    case 'map':
      return `'{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}=${x}`).join(', ')}}'`;
    case 'structure':
      return `'${JSON.stringify(v)}'`;
    default:
      return `'${String(v)}'`;
  }
}
