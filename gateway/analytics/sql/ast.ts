/**
 * Syntax tree of the KDA SQL dialect, as the parser builds it. Every node
 * carries the position of its first token so that the planner's errors can
 * point at it. Special syntactic forms of SQL functions are normalised into
 * plain calls: `POSITION(a IN b)` is `POSITION(a, b)`, `SUBSTRING(s FROM i
 * FOR n)` is `SUBSTRING(s, i, n)`, `FLOOR(t TO MINUTE)` is `FLOOR(t, MINUTE)`
 * with a `unit` node, `STEP(t BY i)` is `STEP(t, i)`, `EXTRACT(u FROM t)` is
 * `EXTRACT(u, t)`, `TRIM(LEADING c FROM s)` is `TRIM(LEADING, c, s)`.
 */
import type { SourcePos } from './errors.ts';

/** An identifier: unquoted ones are upper-cased by the lexer, quoted ones keep their case. */
export interface Ident {
  name: string;
  quoted: boolean;
  pos: SourcePos;
}

export type TimeUnit = 'YEAR' | 'MONTH' | 'DAY' | 'HOUR' | 'MINUTE' | 'SECOND' | 'MILLISECOND' | 'WEEK' | 'QUARTER' | 'DOW' | 'DOY' | 'EPOCH' | 'MICROSECOND' | 'DECADE' | 'CENTURY' | 'MILLENNIUM';

/** A type as written: `VARCHAR(4)`, `DECIMAL(5,2)`, `INTERVAL DAY TO SECOND`. */
export interface TypeSpec {
  name: string;
  precision?: number;
  scale?: number;
  startUnit?: TimeUnit;
  endUnit?: TimeUnit;
  pos: SourcePos;
}

export type Expr =
  | { kind: 'number'; text: string; pos: SourcePos }
  | { kind: 'string'; value: string; pos: SourcePos }
  | { kind: 'binaryString'; hex: string; pos: SourcePos }
  | { kind: 'boolean'; value: boolean | null; pos: SourcePos }
  | { kind: 'null'; pos: SourcePos }
  | { kind: 'typedLiteral'; type: 'TIMESTAMP' | 'DATE' | 'TIME'; text: string; pos: SourcePos }
  | { kind: 'interval'; text: string; negative: boolean; startUnit: TimeUnit; endUnit?: TimeUnit; pos: SourcePos }
  | { kind: 'intervalOf'; arg: Expr; startUnit: TimeUnit; endUnit?: TimeUnit; pos: SourcePos }
  | { kind: 'ref'; parts: Ident[]; pos: SourcePos }
  | { kind: 'star'; qualifier?: Ident; pos: SourcePos }
  | { kind: 'unit'; unit: TimeUnit; pos: SourcePos }
  | { kind: 'unary'; op: '-' | '+' | 'NOT'; arg: Expr; pos: SourcePos }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr; pos: SourcePos }
  | { kind: 'is'; arg: Expr; test: 'NULL' | 'TRUE' | 'FALSE' | 'UNKNOWN'; not: boolean; pos: SourcePos }
  | { kind: 'between'; arg: Expr; low: Expr; high: Expr; not: boolean; symmetric: boolean; pos: SourcePos }
  | { kind: 'in'; arg: Expr; list: Expr[]; not: boolean; pos: SourcePos }
  | { kind: 'like'; arg: Expr; pattern: Expr; escape?: Expr; not: boolean; similar: boolean; pos: SourcePos }
  | { kind: 'case'; operand?: Expr; whens: Array<{ when: Expr; then: Expr }>; else?: Expr; pos: SourcePos }
  | { kind: 'cast'; arg: Expr; type: TypeSpec; pos: SourcePos }
  | { kind: 'call'; name: string; args: Expr[]; distinct: boolean; star: boolean; over?: WindowSpec; ignoreNulls?: boolean; fromLast?: boolean; pos: SourcePos }
  | { kind: 'cursor'; query: Query; pos: SourcePos }
  | { kind: 'trimSpec'; where: 'BOTH' | 'LEADING' | 'TRAILING'; pos: SourcePos };

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '||' | '=' | '<>' | '<' | '<=' | '>' | '>=' | 'AND' | 'OR';

export interface WindowFrame {
  unit: 'RANGE' | 'ROWS';
  /** The PRECEDING bound: an interval (RANGE) or a row count (ROWS); `null` for UNBOUNDED, 0 for CURRENT ROW. */
  preceding: Expr | 'UNBOUNDED' | 'CURRENT';
  /** A FOLLOWING bound other than CURRENT ROW; the planner refuses it. */
  following?: Expr | 'UNBOUNDED';
  pos: SourcePos;
}

export interface WindowSpec {
  /** `OVER w` or `(w PARTITION BY ...)`: the named window this one extends. */
  base?: Ident;
  partitionBy: Expr[];
  orderBy: OrderItem[];
  frame?: WindowFrame;
  pos: SourcePos;
}

export interface OrderItem {
  expr: Expr;
  desc: boolean;
}

export interface SelectItem {
  expr: Expr;
  alias?: Ident;
  pos: SourcePos;
}

export type FromItem =
  | { kind: 'stream'; name: Ident; alias?: Ident; columnAliases?: Ident[]; over?: WindowSpec; pos: SourcePos }
  | { kind: 'subquery'; query: Query; alias?: Ident; columnAliases?: Ident[]; over?: WindowSpec; pos: SourcePos }
  | { kind: 'tableFunction'; call: Extract<Expr, { kind: 'call' }>; alias?: Ident; columnAliases?: Ident[]; pos: SourcePos }
  | { kind: 'join'; type: JoinType; left: FromItem; right: FromItem; on?: Expr; pos: SourcePos };

export type JoinType = 'INNER' | 'LEFT' | 'RIGHT' | 'FULL' | 'CROSS';

export interface Select {
  kind: 'select';
  stream: boolean;
  distinct: boolean;
  items: SelectItem[];
  from?: FromItem;
  where?: Expr;
  groupBy?: Expr[];
  stagger?: { partitionBy: Expr[]; range: Expr; pos: SourcePos };
  having?: Expr;
  windows: Array<{ name: Ident; spec: WindowSpec }>;
  orderBy?: OrderItem[];
  pos: SourcePos;
}

export type Query = Select | { kind: 'union'; all: boolean; left: Query; right: Query; pos: SourcePos };

export interface ColumnDef {
  name: Ident;
  type: TypeSpec;
  notNull: boolean;
  pos: SourcePos;
}

export type Statement =
  | { kind: 'createStream'; name: Ident; columns: ColumnDef[]; orReplace: boolean; description?: string; pos: SourcePos }
  | { kind: 'createPump'; name: Ident; orReplace: boolean; target: Ident; columns?: Ident[]; query: Query; pos: SourcePos }
  | { kind: 'createView'; name: Ident; columns?: Ident[]; orReplace: boolean; query: Query; pos: SourcePos }
  | { kind: 'createFunction'; name: Ident; params: Array<{ name: Ident; type: TypeSpec }>; returns: TypeSpec; body: Expr; orReplace: boolean; pos: SourcePos };
