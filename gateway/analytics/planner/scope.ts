/**
 * Relations (what a FROM item or a query produces) and name resolution over
 * them. A relation's rows are arrays with ROWTIME at index 0; each field
 * knows its index, the qualifier it answers to (the stream name or alias)
 * and its type. `fieldScope` turns a relation into the Scope the expression
 * compiler resolves column references with.
 */
import type { Expr, Ident, WindowSpec } from '../sql/ast.ts';
import type { Code, ExprCompiler, Scope } from '../sql/compile-expr.ts';
import { SqlError } from '../sql/errors.ts';
import { T, type SqlType } from '../sql/types.ts';
import type { Row, Sink } from '../operators/stream.ts';

export interface Field {
  qualifier?: string;
  name: string;
  type: SqlType;
  index: number;
  hidden?: boolean;
  nullable?: boolean;
}

export interface Relation {
  fields: Field[];
  /** Row length (1 + the number of fields). */
  width: number;
  kind: 'stream' | 'table';
  /** Builds the operators behind this relation and connects their output to `sink`. */
  open(sink: Sink): void;
  /** A table's rows (reference data). */
  rows?: Row[];
  /** The window a stream carries in a join: `FROM s OVER (RANGE INTERVAL '1' MINUTE PRECEDING)`. */
  window?: WindowSpec;
}

export const identName = (i: Ident) => i.name;

/** Fields visible to `*` (or `q.*`). */
export function starFields(rel: Relation, qualifier?: Ident): Field[] {
  const out = rel.fields.filter((f) => !f.hidden && (!qualifier || f.qualifier === qualifier.name));
  if (qualifier && !rel.fields.some((f) => f.qualifier === qualifier.name)) throw new SqlError(`unknown stream or alias '${qualifier.name}'`, qualifier.pos);
  return out;
}

function rowFieldAccess(base: Code, name: Ident): Code {
  if (base.type.kind !== 'ROW') throw new SqlError(`'${name.name}' is not a field: the column is ${base.type.kind}, not a ROW`, name.pos);
  const k = base.type.fields.findIndex((f) => f.name === name.name);
  if (k < 0) throw new SqlError(`ROW has no field '${name.name}' (fields: ${base.type.fields.map((f) => f.name).join(', ')})`, name.pos);
  return { code: `h.field(${base.code}, ${k})`, type: base.type.fields[k]!.type, nullable: true };
}

const fieldCode = (f: Field, row: string): Code => ({ code: `${row}[${f.index}]`, type: f.type, nullable: f.nullable !== false });

/** Looks up `[qualifier.]name[.field...]` among the relation's fields; undefined when nothing matches the first part. */
export function resolveRef(rel: Pick<Relation, 'fields'>, parts: Ident[], row = 'r'): Code | undefined {
  const [first, second] = parts;
  const qualified = parts.length >= 2 && rel.fields.some((f) => f.qualifier === first!.name);
  if (qualified) {
    if (second!.name === 'ROWTIME' && !rel.fields.some((f) => f.qualifier === first!.name && f.name === 'ROWTIME')) return chain({ code: `${row}[0]`, type: T.timestamp, nullable: false }, parts.slice(2));
    const f = rel.fields.find((x) => x.qualifier === first!.name && x.name === second!.name);
    if (!f) throw new SqlError(`column '${second!.name}' not found in '${first!.name}'`, second!.pos);
    return chain(fieldCode(f, row), parts.slice(2));
  }
  if (first!.name === 'ROWTIME' && !rel.fields.some((f) => f.name === 'ROWTIME')) return chain({ code: `${row}[0]`, type: T.timestamp, nullable: false }, parts.slice(1));
  const matches = rel.fields.filter((f) => f.name === first!.name);
  if (matches.length === 0) return undefined;
  if (new Set(matches.map((m) => m.index)).size > 1) throw new SqlError(`column '${first!.name}' is ambiguous; qualify it with a stream name or alias`, first!.pos);
  return chain(fieldCode(matches[0]!, row), parts.slice(1));
}

function chain(base: Code, rest: Ident[]): Code {
  let c = base;
  for (const p of rest) c = rowFieldAccess(c, p);
  return c;
}

export function fieldScope(rel: Pick<Relation, 'fields'>, aggregateMisuse: string, replace?: Scope['replace']): Scope {
  return {
    resolve: (e) => resolveRef(rel, e.parts),
    ...(replace ? { replace } : {}),
    aggregateMisuse,
  };
}

/**
 * A canonical text for an expression, used to recognise the same expression
 * written twice (a GROUP BY key in the select list, a repeated aggregate).
 * Column references canonicalise to the field they resolve to, so `price`
 * and `"s".PRICE` match.
 */
export function canonical(e: Expr, scope: Scope, c: ExprCompiler): string {
  return JSON.stringify(e, (key, value: unknown) => {
    if (key === 'pos') return undefined;
    if (value && typeof value === 'object' && (value as Expr).kind === 'ref') {
      try {
        const r = scope.resolve(value as Extract<Expr, { kind: 'ref' }>, c);
        if (r) return { ref: r.code };
      } catch {
        // An unresolvable name canonicalises to its spelling; compiling it later reports the error.
      }
    }
    return value;
  });
}

/** The name a select item's column gets: its alias, the column it reads, or EXPR$n. */
export function columnName(e: Expr, alias: Ident | undefined, k: number): string {
  if (alias) return alias.name;
  if (e.kind === 'ref') return e.parts[e.parts.length - 1]!.name;
  return `EXPR$${k}`;
}
