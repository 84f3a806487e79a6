/**
 * The subset of jq (1.6) that Firehose's MetadataExtraction processor needs
 * to pull partition keys out of JSON records. AWS's examples are object
 * constructions of paths, sometimes piped through a filter:
 *
 *   {customer_id: .customer_id, device: .type.device, year: .ts | strftime("%Y")}
 *
 * Supported: `.`, field paths (`.a.b`, `."a-b"`, `.["a"]`, `.a[0]`, `.a[-1]`,
 * `?` after a step), string / number / true / false / null literals, object
 * construction with identifier, string or `$__loc__`-free keys, `|`, `//`
 * (alternative), parentheses, and the filters `tostring`, `tojson`,
 * `ascii_downcase`, `ascii_upcase`, `length`, `keys`, `strftime(fmt)` and
 * `todate` (UTC, epoch seconds). Anything else is refused when the query is
 * compiled (at CreateDeliveryStream / UpdateDestination) with the position
 * and the construct, never half-evaluated at delivery.
 *
 * Pure: no I/O, no clock. Evaluation yields exactly one value per query (the
 * subset has no generators), which is what a partition key needs.
 */
import { TributaryError } from '../../sdk/protocol/errors.ts';

/** Queries longer than this are refused (the processor parameter caps at 5,120 characters anyway). */
export const jqQueryLengthMax = 5120;
/** Nesting depth of parentheses, objects and pipes, so a hostile query cannot exhaust the stack. */
export const jqDepthMax = 32;

export type JqValue = null | boolean | number | string | JqValue[] | { [key: string]: JqValue };

/** A query that does not parse or uses something outside the subset. */
export class JqSyntaxError extends TributaryError {
  constructor(message: string) {
    super('JQ_SYNTAX', message);
    this.name = 'JqSyntaxError';
  }
}

/** A query that parsed but cannot be applied to this input (indexing a string, strftime of a string...). */
export class JqRuntimeError extends TributaryError {
  constructor(message: string) {
    super('JQ_RUNTIME', message);
    this.name = 'JqRuntimeError';
  }
}

type Step = { kind: 'field'; name: string; optional: boolean } | { kind: 'index'; index: number; optional: boolean };
type Node =
  | { kind: 'identity' }
  | { kind: 'path'; steps: Step[] }
  | { kind: 'literal'; value: JqValue }
  | { kind: 'object'; entries: Array<{ key: string; value: Node }> }
  | { kind: 'pipe'; left: Node; right: Node }
  | { kind: 'alt'; left: Node; right: Node }
  | { kind: 'call'; name: string; args: Node[] };

/** Filters of the subset with their arity. */
const builtins: Record<string, number> = { tostring: 0, tojson: 0, ascii_downcase: 0, ascii_upcase: 0, length: 0, keys: 0, todate: 0, strftime: 1 };

/** A compiled query. */
export interface JqQuery {
  readonly source: string;
  /** The keys when the query is an object construction at the top (what MetadataExtraction needs), else undefined. */
  readonly objectKeys: readonly string[] | undefined;
  /** Applies the query to one JSON value; throws JqRuntimeError when it cannot. */
  evaluate(input: JqValue): JqValue;
}

/**
 * Compiles a query of the subset; throws JqSyntaxError naming the position
 * and the unsupported construct.
 *
 * @example
 * const q = compileJq('{device: .device, zone: .site.zone}');
 * q.evaluate({ device: 'd1', site: { zone: 3 } }); // { device: 'd1', zone: 3 }
 */
export function compileJq(source: string): JqQuery {
  if (source.length > jqQueryLengthMax) throw new JqSyntaxError(`jq query longer than ${jqQueryLengthMax} characters`);
  const p = new Parser(source);
  const node = p.parsePipe(0);
  p.skipSpace();
  if (source[p.pos] === ',') p.fail("',' (several outputs) is not supported");
  if (p.pos < source.length) p.fail(`unexpected '${source[p.pos]}'`);
  const objectKeys = node.kind === 'object' ? node.entries.map((e) => e.key) : undefined;
  return { source, objectKeys, evaluate: (input) => evaluate(node, input) };
}

class Parser {
  pos = 0;
  constructor(private readonly s: string) {}

  fail(what: string): never {
    throw new JqSyntaxError(`jq query: ${what} at position ${this.pos + 1} of ${JSON.stringify(this.s)} (supported: paths, literals, {key: query}, |, //, and ${Object.keys(builtins).join(', ')})`);
  }

  skipSpace(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++;
  }

  private peek(text: string): boolean {
    this.skipSpace();
    return this.s.startsWith(text, this.pos);
  }

  private eat(text: string): boolean {
    if (!this.peek(text)) return false;
    this.pos += text.length;
    return true;
  }

  private expect(text: string): void {
    if (!this.eat(text)) this.fail(`expected '${text}'`);
  }

  /** pipe := alt ('|' alt)* */
  parsePipe(depth: number): Node {
    if (depth > jqDepthMax) this.fail(`nesting deeper than ${jqDepthMax}`);
    let left = this.parseAlt(depth);
    while (this.peek('|') && !this.peek('||')) {
      this.pos++;
      left = { kind: 'pipe', left, right: this.parseAlt(depth + 1) };
    }
    return left;
  }

  /** alt := term ('//' term)* (right-associative in jq; the result is the same for single values). */
  private parseAlt(depth: number): Node {
    const left = this.parseTerm(depth);
    if (this.eat('//')) return { kind: 'alt', left, right: this.parseAlt(depth + 1) };
    this.skipSpace();
    const c = this.s[this.pos];
    if (c !== undefined && '+-*/%<>=!'.includes(c)) this.fail(`operator '${c}' is not supported`);
    if (this.s.startsWith('as ', this.pos) || this.s.startsWith('and ', this.pos) || this.s.startsWith('or ', this.pos)) this.fail('this operator is not supported');
    return left;
  }

  private parseTerm(depth: number): Node {
    this.skipSpace();
    const c = this.s[this.pos];
    if (c === undefined) this.fail('unexpected end of query');
    if (c === '.') return this.parsePath();
    if (c === '"') return { kind: 'literal', value: this.parseString() };
    if (c === '{') return this.parseObject(depth);
    if (c === '(') {
      this.pos++;
      const inner = this.parsePipe(depth + 1);
      this.expect(')');
      return inner;
    }
    if (/[0-9]/.test(c)) return { kind: 'literal', value: this.parseNumber() };
    if (c === '$') this.fail('variables are not supported');
    if (c === '[') this.fail('array construction is not supported');
    const ident = this.parseIdent();
    if (ident === 'true' || ident === 'false') return { kind: 'literal', value: ident === 'true' };
    if (ident === 'null') return { kind: 'literal', value: null };
    const arity = builtins[ident];
    if (arity === undefined) this.fail(`function '${ident}' is not supported`);
    const args: Node[] = [];
    if (this.eat('(')) {
      do args.push(this.parsePipe(depth + 1));
      while (this.eat(';'));
      this.expect(')');
    }
    if (args.length !== arity) this.fail(`${ident} takes ${arity} argument(s)`);
    return { kind: 'call', name: ident, args };
  }

  private parseIdent(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.pos));
    if (!m) this.fail(`unexpected '${this.s[this.pos]}'`);
    this.pos += m[0].length;
    return m[0];
  }

  private parseNumber(): number {
    const m = /^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.s.slice(this.pos));
    if (!m) this.fail('bad number');
    this.pos += m[0].length;
    return Number(m[0]);
  }

  private parseString(): string {
    const start = this.pos;
    this.pos++; // opening quote
    while (this.pos < this.s.length && this.s[this.pos] !== '"') {
      if (this.s[this.pos] === '\\') {
        if (this.s[this.pos + 1] === '(') this.fail('string interpolation is not supported');
        this.pos++;
      }
      this.pos++;
    }
    if (this.pos >= this.s.length) this.fail('unterminated string');
    this.pos++;
    try {
      return JSON.parse(this.s.slice(start, this.pos)) as string;
    } catch {
      this.pos = start;
      return this.fail('bad string escape');
    }
  }

  /** path := '.' | ('.' field | '.' string | '[' index ']' | '[' string ']') '?'? ... */
  private parsePath(): Node {
    const steps: Step[] = [];
    this.pos++; // the leading '.'
    let first = true;
    for (;;) {
      const c = this.s[this.pos];
      let step: Step | undefined;
      if (first && c !== undefined && /[A-Za-z_]/.test(c)) step = { kind: 'field', name: this.parseIdent(), optional: false };
      else if (first && c === '"') step = { kind: 'field', name: this.parseString(), optional: false };
      else if (!first && c === '.' && /[A-Za-z_"]/.test(this.s[this.pos + 1] ?? '')) {
        this.pos++;
        step = { kind: 'field', name: this.s[this.pos] === '"' ? this.parseString() : this.parseIdent(), optional: false };
      } else if (c === '[') step = this.parseBracket();
      else if (!first && c === '.') this.fail('expected a field name after "."');
      if (!step) break;
      if (this.s[this.pos] === '?') {
        step.optional = true;
        this.pos++;
      }
      steps.push(step);
      first = false;
    }
    if (this.s.startsWith('..', this.pos - 1) && steps.length === 0) this.fail('recursive descent (..) is not supported');
    return steps.length ? { kind: 'path', steps } : { kind: 'identity' };
  }

  private parseBracket(): Step {
    this.pos++; // '['
    this.skipSpace();
    let step: Step;
    if (this.s[this.pos] === '"') step = { kind: 'field', name: this.parseString(), optional: false };
    else if (/[-0-9]/.test(this.s[this.pos] ?? '')) {
      const n = this.parseNumber();
      if (!Number.isInteger(n)) this.fail('array index must be an integer');
      step = { kind: 'index', index: n, optional: false };
    } else return this.fail(this.s[this.pos] === ']' ? 'iteration ([]) is not supported' : 'only literal indexes and keys are supported in [...]');
    this.skipSpace();
    if (this.s[this.pos] === ':') this.fail('slices are not supported');
    this.expect(']');
    return step;
  }

  /** object := '{' (key ':' pipe) (',' key ':' pipe)* '}' */
  private parseObject(depth: number): Node {
    this.pos++; // '{'
    const entries: Array<{ key: string; value: Node }> = [];
    if (this.eat('}')) return { kind: 'object', entries };
    do {
      this.skipSpace();
      const c = this.s[this.pos];
      let key: string;
      if (c === '"') key = this.parseString();
      else if (c !== undefined && /[A-Za-z_]/.test(c)) key = this.parseIdent();
      else if (c === '$') return this.fail('variables are not supported');
      else if (c === '(') return this.fail('computed object keys are not supported');
      else return this.fail('expected an object key');
      if (!this.peek(':')) this.fail(`the shorthand {${key}} is not supported; write {${key}: .${key}}`);
      this.expect(':');
      entries.push({ key, value: this.parseObjectValue(depth + 1) });
    } while (this.eat(','));
    this.expect('}');
    return { kind: 'object', entries };
  }

  /** An object value is a pipe of terms without ',' (jq's ExpD). */
  private parseObjectValue(depth: number): Node {
    let left = this.parseAlt(depth);
    while (this.peek('|')) {
      this.pos++;
      left = { kind: 'pipe', left, right: this.parseAlt(depth + 1) };
    }
    return left;
  }
}

function typeName(v: JqValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

function step(input: JqValue, s: Step): JqValue | undefined {
  if (input === null) return null;
  if (s.kind === 'field') {
    if (typeof input === 'object' && !Array.isArray(input)) return Object.hasOwn(input, s.name) ? input[s.name]! : null;
    if (s.optional) return undefined;
    throw new JqRuntimeError(`Cannot index ${typeName(input)} with string "${s.name}"`);
  }
  if (Array.isArray(input)) {
    const i = s.index < 0 ? input.length + s.index : s.index;
    return input[i] ?? null;
  }
  if (s.optional) return undefined;
  throw new JqRuntimeError(`Cannot index ${typeName(input)} with number`);
}

function evaluate(node: Node, input: JqValue): JqValue {
  switch (node.kind) {
    case 'identity':
      return input;
    case 'literal':
      return node.value;
    case 'path': {
      let v: JqValue | undefined = input;
      for (const s of node.steps) {
        v = step(v, s);
        // `?` on a failed step makes jq produce no output; for a partition key that is "no value".
        if (v === undefined) return null;
      }
      return v;
    }
    case 'object': {
      const out: { [key: string]: JqValue } = {};
      for (const e of node.entries) out[e.key] = evaluate(e.value, input);
      return out;
    }
    case 'pipe':
      return evaluate(node.right, evaluate(node.left, input));
    case 'alt': {
      // jq 1.6 (the version Firehose runs) lets an error on the left of `//` through; only null and false fall back.
      const left = evaluate(node.left, input);
      return left === null || left === false ? evaluate(node.right, input) : left;
    }
    case 'call':
      return call(node.name, node.args.map((a) => evaluate(a, input)), input);
  }
}

function call(name: string, args: JqValue[], input: JqValue): JqValue {
  switch (name) {
    case 'tostring':
      return typeof input === 'string' ? input : JSON.stringify(input);
    case 'tojson':
      return JSON.stringify(input);
    case 'ascii_downcase':
    case 'ascii_upcase':
      if (typeof input !== 'string') throw new JqRuntimeError(`${name} input must be a string`);
      return name === 'ascii_downcase' ? input.replace(/[A-Z]/g, (c) => c.toLowerCase()) : input.replace(/[a-z]/g, (c) => c.toUpperCase());
    case 'length':
      if (input === null) return 0;
      if (typeof input === 'string' || Array.isArray(input)) return input.length;
      if (typeof input === 'object') return Object.keys(input).length;
      if (typeof input === 'number') return Math.abs(input);
      throw new JqRuntimeError('boolean has no length');
    case 'keys':
      if (Array.isArray(input)) return input.map((_, i) => i);
      if (input !== null && typeof input === 'object') return Object.keys(input).sort();
      throw new JqRuntimeError(`${typeName(input)} has no keys`);
    case 'todate':
      return strftime(input, '%Y-%m-%dT%H:%M:%SZ');
    case 'strftime':
      if (typeof args[0] !== 'string') throw new JqRuntimeError('strftime/1 requires a string format');
      return strftime(input, args[0]);
  }
  throw new JqRuntimeError(`unknown function ${name}`);
}

/** strftime on epoch seconds in UTC, for the conversions AWS's partitioning examples use. */
export function strftime(input: JqValue, format: string): string {
  if (typeof input !== 'number' || !Number.isFinite(input)) throw new JqRuntimeError('strftime/1 requires parsed datetime inputs');
  const d = new Date(input * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const fields: Record<string, () => string> = {
    Y: () => String(d.getUTCFullYear()),
    y: () => pad(d.getUTCFullYear() % 100),
    m: () => pad(d.getUTCMonth() + 1),
    d: () => pad(d.getUTCDate()),
    H: () => pad(d.getUTCHours()),
    M: () => pad(d.getUTCMinutes()),
    S: () => pad(d.getUTCSeconds()),
    j: () => pad(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1, 3),
    s: () => String(Math.floor(input)),
    Z: () => 'UTC',
    '%': () => '%',
  };
  return format.replace(/%(.)/g, (all, c: string) => {
    const f = fields[c];
    if (!f) throw new JqRuntimeError(`strftime: %${c} is not supported`);
    return f();
  });
}
