/**
 * Expression and type parsing, the lower half of the recursive-descent
 * parser (parser.ts adds queries and statements on top). Precedence, loosest
 * first: OR, AND, NOT, comparison / IS / BETWEEN / IN / LIKE / SIMILAR TO,
 * `+ - ||`, `* / %`, unary sign, primary.
 */
import type { BinaryOp, Expr, Ident, OrderItem, Query, TimeUnit, TypeSpec, WindowFrame, WindowSpec } from './ast.ts';
import { SqlError, type SourcePos } from './errors.ts';
import type { Token } from './lexer.ts';

/** Keywords that never name a column, stream or alias without quotes. */
export const reservedWords = new Set(
  ('SELECT FROM WHERE GROUP HAVING WINDOW WINDOWED ORDER UNION EXCEPT INTERSECT JOIN INNER LEFT RIGHT FULL OUTER CROSS NATURAL ' +
    'ON USING AS AND OR NOT IN IS LIKE SIMILAR BETWEEN CASE WHEN THEN ELSE END NULL TRUE FALSE OVER PARTITION BY ' +
    'ROWS RANGE LIMIT FETCH OFFSET STREAM DISTINCT ALL INTO VALUES CREATE INSERT PUMP WITH ESCAPE CAST INTERVAL CURSOR').split(' '),
);

export const timeUnits = new Set<TimeUnit>(['YEAR', 'MONTH', 'DAY', 'HOUR', 'MINUTE', 'SECOND', 'MILLISECOND', 'WEEK', 'QUARTER', 'DOW', 'DOY', 'EPOCH', 'MICROSECOND', 'DECADE', 'CENTURY', 'MILLENNIUM']);
const intervalUnits = new Set(['YEAR', 'MONTH', 'DAY', 'HOUR', 'MINUTE', 'SECOND']);

/** Functions written without parentheses. */
const niladic = new Set(['CURRENT_DATE', 'CURRENT_TIME', 'CURRENT_TIMESTAMP', 'LOCALTIME', 'LOCALTIMESTAMP', 'CURRENT_ROW_TIMESTAMP']);

const comparisonOps = new Set(['=', '<>', '!=', '<', '<=', '>', '>=']);

/** Nesting depth of expressions and queries, so that hostile code cannot exhaust the stack. */
export const sqlNestingMax = 200;

export abstract class ExprParser {
  protected i = 0;
  private depth = 0;

  constructor(protected readonly tokens: Token[]) {}

  abstract parseQuery(): Query;

  // ------------------------------------------------------------ tokens

  protected get tok(): Token {
    return this.tokens[this.i]!;
  }
  protected peek(n = 1): Token {
    return this.tokens[Math.min(this.i + n, this.tokens.length - 1)]!;
  }
  protected pos(t: Token = this.tok): SourcePos {
    return { line: t.line, column: t.column, offset: t.offset };
  }
  protected next(): Token {
    const t = this.tok;
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  /** True if the current token is the unquoted keyword `word`. */
  protected is(word: string, t: Token = this.tok): boolean {
    return t.kind === 'ident' && t.value === word;
  }
  protected isOp(op: string, t: Token = this.tok): boolean {
    return t.kind === 'op' && t.value === op;
  }
  protected accept(word: string): boolean {
    if (!this.is(word)) return false;
    this.i++;
    return true;
  }
  protected acceptOp(op: string): boolean {
    if (!this.isOp(op)) return false;
    this.i++;
    return true;
  }
  protected expect(word: string): Token {
    if (!this.is(word)) this.fail(`expected ${word}`);
    return this.next();
  }
  protected expectOp(op: string): Token {
    if (!this.isOp(op)) this.fail(`expected '${op}'`);
    return this.next();
  }
  protected atEnd(): boolean {
    return this.tok.kind === 'eof';
  }
  expectEnd(): void {
    if (this.tok.kind !== 'eof') this.fail('expected end of input');
  }
  protected fail(what: string, t: Token = this.tok): never {
    const found = t.kind === 'eof' ? 'end of input' : t.kind === 'string' ? `'${t.value}'` : t.kind === 'qident' ? `"${t.value}"` : `"${t.value}"`;
    throw new SqlError(`${what}, found ${found}`, this.pos(t));
  }
  protected nest<T>(f: () => T): T {
    if (++this.depth > sqlNestingMax) throw new SqlError(`expression nested deeper than ${sqlNestingMax} levels`, this.pos());
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  /** An identifier (quoted, or unquoted and not reserved). */
  protected ident(what = 'identifier'): Ident {
    const t = this.tok;
    if (t.kind === 'qident' || (t.kind === 'ident' && !reservedWords.has(t.value))) {
      this.i++;
      return { name: t.value, quoted: t.kind === 'qident', pos: this.pos(t) };
    }
    return this.fail(`expected ${what}`);
  }
  protected isIdentStart(t: Token = this.tok): boolean {
    return t.kind === 'qident' || (t.kind === 'ident' && !reservedWords.has(t.value));
  }

  // ------------------------------------------------------------ expressions

  parseExpr(): Expr {
    return this.nest(() => this.parseOr());
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.is('OR')) {
      const pos = this.pos(this.next());
      left = { kind: 'binary', op: 'OR', left, right: this.parseAnd(), pos };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.is('AND')) {
      const pos = this.pos(this.next());
      left = { kind: 'binary', op: 'AND', left, right: this.parseNot(), pos };
    }
    return left;
  }

  private parseNot(): Expr {
    if (this.is('NOT')) {
      const pos = this.pos(this.next());
      return { kind: 'unary', op: 'NOT', arg: this.nest(() => this.parseNot()), pos };
    }
    return this.parseComparison();
  }

  private parseComparison(): Expr {
    let left = this.parseAdditive();
    for (;;) {
      const t = this.tok;
      if (t.kind === 'op' && comparisonOps.has(t.value)) {
        this.next();
        const op = (t.value === '!=' ? '<>' : t.value) as BinaryOp;
        left = { kind: 'binary', op, left, right: this.parseAdditive(), pos: this.pos(t) };
        continue;
      }
      if (this.is('IS')) {
        this.next();
        const not = this.accept('NOT');
        const w = this.tok;
        if (this.is('NULL') || this.is('TRUE') || this.is('FALSE') || this.is('UNKNOWN')) {
          this.next();
          left = { kind: 'is', arg: left, test: w.value as 'NULL', not, pos: this.pos(t) };
          continue;
        }
        this.fail('expected NULL, TRUE, FALSE or UNKNOWN after IS');
      }
      const not = this.is('NOT') && (this.is('BETWEEN', this.peek()) || this.is('IN', this.peek()) || this.is('LIKE', this.peek()) || this.is('SIMILAR', this.peek()));
      if (not) this.next();
      if (this.accept('BETWEEN')) {
        const symmetric = this.accept('SYMMETRIC');
        if (!symmetric) this.accept('ASYMMETRIC');
        const low = this.parseAdditive();
        this.expect('AND');
        left = { kind: 'between', arg: left, low, high: this.parseAdditive(), not, symmetric, pos: this.pos(t) };
        continue;
      }
      if (this.accept('IN')) {
        this.expectOp('(');
        const list = [this.parseExpr()];
        while (this.acceptOp(',')) list.push(this.parseExpr());
        this.expectOp(')');
        left = { kind: 'in', arg: left, list, not, pos: this.pos(t) };
        continue;
      }
      const similar = this.is('SIMILAR');
      if (this.accept('LIKE') || (similar && this.next() && this.expect('TO'))) {
        const pattern = this.parseAdditive();
        const escape = this.accept('ESCAPE') ? this.parseAdditive() : undefined;
        left = { kind: 'like', arg: left, pattern, ...(escape ? { escape } : {}), not, similar, pos: this.pos(t) };
        continue;
      }
      if (not) this.fail('expected BETWEEN, IN, LIKE or SIMILAR TO after NOT');
      return left;
    }
  }

  private parseAdditive(): Expr {
    let left = this.parseMultiplicative();
    for (;;) {
      const t = this.tok;
      if (this.isOp('+') || this.isOp('-') || this.isOp('||')) {
        this.next();
        left = { kind: 'binary', op: t.value as BinaryOp, left, right: this.parseMultiplicative(), pos: this.pos(t) };
        continue;
      }
      return left;
    }
  }

  private parseMultiplicative(): Expr {
    let left = this.parseUnary();
    for (;;) {
      const t = this.tok;
      if (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
        this.next();
        left = { kind: 'binary', op: t.value as BinaryOp, left, right: this.parseUnary(), pos: this.pos(t) };
        continue;
      }
      return left;
    }
  }

  private parseUnary(): Expr {
    const t = this.tok;
    if (this.isOp('-') || this.isOp('+')) {
      this.next();
      const arg = this.nest(() => this.parseUnary());
      if (t.value === '-' && arg.kind === 'number') return { ...arg, text: arg.text.startsWith('-') ? arg.text.slice(1) : '-' + arg.text, pos: this.pos(t) };
      return { kind: 'unary', op: t.value as '-', arg, pos: this.pos(t) };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Expr {
    const t = this.tok;
    const pos = this.pos(t);
    switch (t.kind) {
      case 'number':
        this.next();
        return { kind: 'number', text: t.value, pos };
      case 'string':
        this.next();
        return { kind: 'string', value: t.value, pos };
      case 'binary':
        this.next();
        return { kind: 'binaryString', hex: t.value, pos };
      case 'qident':
        return this.parseRef();
      case 'op':
        if (t.value === '(') return this.parseParenthesized();
        if (t.value === '*') {
          this.next();
          return { kind: 'star', pos };
        }
        return this.fail('expected an expression');
      case 'eof':
        return this.fail('expected an expression');
    }
    return this.parseKeywordPrimary(t, pos);
  }

  private parseParenthesized(): Expr {
    const open = this.next();
    if (this.is('SELECT')) this.fail('scalar sub-queries are not supported; use a join');
    const inner = this.parseExpr();
    this.expectOp(')');
    // `(ts1 - ts2) SECOND` and `(a - b) DAY TO SECOND`: an interval from a datetime difference.
    if (this.tok.kind === 'ident' && intervalUnits.has(this.tok.value)) {
      const [startUnit, endUnit] = this.intervalQualifier();
      return { kind: 'intervalOf', arg: inner, startUnit, ...(endUnit ? { endUnit } : {}), pos: this.pos(open) };
    }
    return inner;
  }

  private parseKeywordPrimary(t: Token, pos: SourcePos): Expr {
    const w = t.value;
    switch (w) {
      case 'NULL':
        this.next();
        return { kind: 'null', pos };
      case 'TRUE':
      case 'FALSE':
      case 'UNKNOWN':
        this.next();
        return { kind: 'boolean', value: w === 'UNKNOWN' ? null : w === 'TRUE', pos };
      case 'CASE':
        return this.parseCase();
      case 'CAST':
        return this.parseCast();
      case 'INTERVAL':
        return this.parseInterval();
      case 'CURSOR': {
        this.next();
        this.expectOp('(');
        const query = this.nest(() => this.parseQuery());
        this.expectOp(')');
        return { kind: 'cursor', query, pos };
      }
    }
    if ((w === 'TIMESTAMP' || w === 'DATE' || w === 'TIME') && this.peek().kind === 'string') {
      this.next();
      return { kind: 'typedLiteral', type: w, text: this.next().value, pos };
    }
    if (niladic.has(w) && !this.isOp('(', this.peek())) {
      this.next();
      return { kind: 'call', name: w, args: [], distinct: false, star: false, pos };
    }
    if (this.isOp('(', this.peek()) && !reservedWords.has(w)) return this.parseCall();
    return this.parseRef();
  }

  /** A column reference `a`, `s.a`, `t.r.COLUMN1`, `s.*`, or ROWTIME. */
  private parseRef(): Expr {
    const first = this.ident('an expression');
    const parts = [first];
    while (this.isOp('.')) {
      this.next();
      if (this.isOp('*')) {
        this.next();
        if (parts.length > 1) this.fail('expected a column name');
        return { kind: 'star', qualifier: first, pos: first.pos };
      }
      parts.push(this.ident('a column name'));
    }
    return { kind: 'ref', parts, pos: first.pos };
  }

  private parseCase(): Expr {
    const pos = this.pos(this.next());
    const operand = this.is('WHEN') ? undefined : this.parseExpr();
    const whens: Array<{ when: Expr; then: Expr }> = [];
    while (this.accept('WHEN')) {
      const when = this.parseExpr();
      this.expect('THEN');
      whens.push({ when, then: this.parseExpr() });
    }
    if (whens.length === 0) this.fail('expected WHEN');
    const elseExpr = this.accept('ELSE') ? this.parseExpr() : undefined;
    this.expect('END');
    return { kind: 'case', ...(operand ? { operand } : {}), whens, ...(elseExpr ? { else: elseExpr } : {}), pos };
  }

  private parseCast(): Expr {
    const pos = this.pos(this.next());
    this.expectOp('(');
    const arg = this.parseExpr();
    this.expect('AS');
    const type = this.parseType();
    this.expectOp(')');
    return { kind: 'cast', arg, type, pos };
  }

  private parseInterval(): Expr {
    const pos = this.pos(this.next());
    let negative = false;
    if (this.isOp('-') || this.isOp('+')) negative = this.next().value === '-';
    if (this.tok.kind !== 'string') this.fail("expected an interval string such as '1'");
    let text = this.next().value.trim();
    if (text.startsWith('-')) {
      negative = !negative;
      text = text.slice(1).trim();
    } else if (text.startsWith('+')) text = text.slice(1).trim();
    const [startUnit, endUnit] = this.intervalQualifier();
    return { kind: 'interval', text, negative, startUnit, ...(endUnit ? { endUnit } : {}), pos };
  }

  /** `MINUTE`, `SECOND(3)`, `DAY TO SECOND`, `HOUR(2) TO MINUTE`. */
  protected intervalQualifier(): [TimeUnit, TimeUnit | undefined] {
    const unit = (): TimeUnit => {
      const t = this.tok;
      if (t.kind !== 'ident' || !intervalUnits.has(t.value)) this.fail('expected YEAR, MONTH, DAY, HOUR, MINUTE or SECOND');
      this.next();
      if (this.isOp('(')) {
        this.next();
        this.number();
        if (this.acceptOp(',')) this.number();
        this.expectOp(')');
      }
      return t.value as TimeUnit;
    };
    const start = unit();
    return [start, this.accept('TO') ? unit() : undefined];
  }

  protected number(): number {
    const t = this.tok;
    if (t.kind !== 'number' || !/^\d+$/.test(t.value)) this.fail('expected an integer');
    this.next();
    return Number(t.value);
  }

  private timeUnit(): Expr {
    const t = this.tok;
    if (t.kind !== 'ident' || !timeUnits.has(t.value as TimeUnit)) this.fail('expected a time unit such as MINUTE');
    this.next();
    return { kind: 'unit', unit: t.value as TimeUnit, pos: this.pos(t) };
  }

  private parseCall(): Expr {
    const nameTok = this.next();
    const name = nameTok.value;
    const pos = this.pos(nameTok);
    this.expectOp('(');
    const special = this.parseSpecialArgs(name);
    let args: Expr[];
    let distinct = false;
    let star = false;
    if (special) args = special;
    else if (this.isOp(')')) args = [];
    else if (this.isOp('*') && this.isOp(')', this.peek())) {
      this.next();
      star = true;
      args = [];
    } else {
      if (this.accept('DISTINCT')) distinct = true;
      else this.accept('ALL');
      args = [this.parseExpr()];
      while (this.acceptOp(',')) args.push(this.parseExpr());
    }
    this.expectOp(')');
    const call: Extract<Expr, { kind: 'call' }> = { kind: 'call', name, args, distinct, star, pos };
    if (name === 'NTH_VALUE' && this.accept('FROM')) {
      if (this.accept('LAST')) call.fromLast = true;
      else this.expect('FIRST');
    }
    if (this.is('IGNORE') || this.is('RESPECT')) {
      call.ignoreNulls = this.next().value === 'IGNORE';
      this.expect('NULLS');
    }
    if (this.accept('OVER')) call.over = this.parseWindowRef();
    return call;
  }

  /** Argument lists with keywords inside: EXTRACT, POSITION, SUBSTRING, TRIM, OVERLAY, FLOOR/CEIL ... TO, STEP ... BY. */
  private parseSpecialArgs(name: string): Expr[] | undefined {
    switch (name) {
      case 'EXTRACT': {
        const unit = this.timeUnit();
        this.expect('FROM');
        return [unit, this.parseExpr()];
      }
      case 'POSITION': {
        const needle = this.parseAdditive();
        this.expect('IN');
        return [needle, this.parseExpr()];
      }
      case 'SUBSTRING': {
        const s = this.parseExpr();
        if (this.accept('FROM')) {
          const from = this.parseExpr();
          return this.accept('FOR') ? [s, from, this.parseExpr()] : [s, from];
        }
        return this.restArgs([s]);
      }
      case 'OVERLAY': {
        const s = this.parseExpr();
        this.expect('PLACING');
        const r = this.parseExpr();
        this.expect('FROM');
        const from = this.parseExpr();
        return this.accept('FOR') ? [s, r, from, this.parseExpr()] : [s, r, from];
      }
      case 'TRIM':
        return this.parseTrimArgs();
      case 'FLOOR':
      case 'CEIL':
      case 'CEILING': {
        const x = this.parseExpr();
        return this.accept('TO') ? [x, this.timeUnit()] : this.restArgs([x]);
      }
      case 'STEP': {
        const x = this.parseExpr();
        this.expect('BY');
        return [x, this.parseExpr()];
      }
    }
    return undefined;
  }

  private restArgs(args: Expr[]): Expr[] {
    while (this.acceptOp(',')) args.push(this.parseExpr());
    return args;
  }

  private parseTrimArgs(): Expr[] {
    const pos = this.pos();
    let where: 'BOTH' | 'LEADING' | 'TRAILING' = 'BOTH';
    let explicit = false;
    if (this.is('BOTH') || this.is('LEADING') || this.is('TRAILING')) {
      where = this.next().value as typeof where;
      explicit = true;
    }
    const spec: Expr = { kind: 'trimSpec', where, pos };
    if (explicit && this.accept('FROM')) return [spec, { kind: 'string', value: ' ', pos }, this.parseExpr()];
    const first = this.parseExpr();
    if (this.accept('FROM')) return [spec, first, this.parseExpr()];
    return [spec, { kind: 'string', value: ' ', pos }, first];
  }

  // ------------------------------------------------------------ windows

  /** After OVER: a window name, or a parenthesised specification. */
  protected parseWindowRef(): WindowSpec {
    const pos = this.pos();
    if (!this.isOp('(')) return { base: this.ident('a window name'), partitionBy: [], orderBy: [], pos };
    this.next();
    const spec = this.parseWindowSpecBody(pos);
    this.expectOp(')');
    return spec;
  }

  /** The inside of `( [w] [PARTITION BY ...] [ORDER BY ...] [RANGE|ROWS ...] )`. */
  protected parseWindowSpecBody(pos: SourcePos): WindowSpec {
    const spec: WindowSpec = { partitionBy: [], orderBy: [], pos };
    if (this.isIdentStart() && !this.is('PARTITION') && !this.is('ORDER') && !this.is('RANGE') && !this.is('ROWS')) spec.base = this.ident();
    if (this.accept('PARTITION')) {
      this.expect('BY');
      spec.partitionBy.push(this.parseExpr());
      while (this.acceptOp(',')) spec.partitionBy.push(this.parseExpr());
    }
    if (this.accept('ORDER')) {
      this.expect('BY');
      spec.orderBy = this.parseOrderList();
    }
    if (this.is('RANGE') || this.is('ROWS')) spec.frame = this.parseFrame();
    return spec;
  }

  protected parseOrderList(): OrderItem[] {
    const items: OrderItem[] = [];
    do {
      const expr = this.parseExpr();
      let desc = false;
      if (this.accept('DESC')) desc = true;
      else this.accept('ASC');
      items.push({ expr, desc });
    } while (this.acceptOp(','));
    return items;
  }

  private parseFrame(): WindowFrame {
    const t = this.next();
    const unit = t.value as 'RANGE' | 'ROWS';
    const pos = this.pos(t);
    if (this.accept('BETWEEN')) {
      const preceding = this.frameBound();
      this.expect('AND');
      if (this.accept('CURRENT')) {
        this.expect('ROW');
        return { unit, preceding, pos };
      }
      const following = this.is('UNBOUNDED') ? (this.next(), this.expect('FOLLOWING'), 'UNBOUNDED' as const) : this.parseAdditive();
      if (following !== 'UNBOUNDED') this.expect('FOLLOWING');
      return { unit, preceding, following, pos };
    }
    return { unit, preceding: this.frameBound(), pos };
  }

  private frameBound(): Expr | 'UNBOUNDED' | 'CURRENT' {
    if (this.accept('UNBOUNDED')) {
      if (this.is('FOLLOWING')) this.fail('UNBOUNDED FOLLOWING windows are not allowed on streams');
      this.expect('PRECEDING');
      return 'UNBOUNDED';
    }
    if (this.accept('CURRENT')) {
      this.expect('ROW');
      return 'CURRENT';
    }
    const e = this.parseAdditive();
    if (this.is('FOLLOWING')) this.fail('windows that end after the current row are not allowed on streams');
    this.expect('PRECEDING');
    return e;
  }

  // ------------------------------------------------------------ types

  /** `VARCHAR(4)`, `DECIMAL(5,2)`, `DOUBLE PRECISION`, `CHARACTER VARYING(8)`, `INTERVAL DAY TO SECOND`. */
  parseType(): TypeSpec {
    const t = this.tok;
    if (t.kind !== 'ident' && t.kind !== 'qident') this.fail('expected a data type');
    this.next();
    let name = t.value.toUpperCase();
    const pos = this.pos(t);
    if (name === 'DOUBLE') this.accept('PRECISION');
    if ((name === 'CHARACTER' || name === 'CHAR') && this.accept('VARYING')) name = 'VARCHAR';
    if (name === 'INTERVAL') {
      const [startUnit, endUnit] = this.intervalQualifier();
      return { name, startUnit, ...(endUnit ? { endUnit } : {}), pos };
    }
    const spec: TypeSpec = { name, pos };
    if (this.isOp('(')) {
      this.next();
      spec.precision = this.number();
      if (this.acceptOp(',')) spec.scale = this.number();
      this.expectOp(')');
    }
    if (name === 'TIMESTAMP' || name === 'TIME') {
      if (this.accept('WITHOUT') || this.accept('WITH')) {
        this.expect('TIME');
        this.expect('ZONE');
      }
    }
    return spec;
  }
}
